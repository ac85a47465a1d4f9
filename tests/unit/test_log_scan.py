"""The scanner of the log privacy test finds what it is looking for (it can fail)."""

from __future__ import annotations

import io
import logging

from bot.logs import make_handler
from tests.integration.log_scan import scan


def _logged(*messages: str) -> str:
    stream = io.StringIO()
    logger = logging.getLogger("tests.log_scan")
    handler = make_handler("json", stream)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        for message in messages:
            logger.info(message)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    return stream.getvalue()


def test_a_clean_log_passes() -> None:
    assert scan(_logged("update 12 handled", "reminder pass: 3 sent"), ["Zebulon"]) == []


def test_a_planted_leak_is_found_in_any_case_and_through_escapes() -> None:
    output = _logged("fine", 'patient "ZEBULON" said: 12/3 2:30pm', "fine again")
    problems = scan(output, ["Zebulon", "12/3 2:30pm", "nowhere"])
    assert len(problems) == 2
    assert all(p.startswith("line 2:") for p in problems)


def test_a_leak_in_an_extra_field_or_a_traceback_is_found() -> None:
    output = '{"level": "ERROR", "message": "x", "exc": "ValueError: 7345912867"}\n'
    assert scan(output, ["7345912867"]) == [f"line 1: holds '7345912867': {output.strip()}"]


def test_a_line_that_is_not_json_is_a_problem() -> None:
    problems = scan('{"message": "ok"}\nplain text line\n[1, 2]\n', [])
    assert [p.split(":")[0] for p in problems] == ["line 2", "line 3"]


def test_the_timestamp_is_not_scanned() -> None:
    line = '{"time": "2026-11-23T12:30:00.000+00:00", "message": "ok"}'
    assert scan(line, ["2:30"]) == []
    assert scan(line.replace('"ok"', '"at 2:30"'), ["2:30"]) != []
