"""Log lines: text or one JSON object per line, with the update and reminder they belong to."""

from __future__ import annotations

import asyncio
import io
import json
import logging

from bot.logs import JsonFormatter, TraceFilter, configure_logging, make_handler, trace_update
from scheduler.tracing import current_reminders


def _capture(log_format: str) -> tuple[logging.Logger, io.StringIO, logging.Handler]:
    stream = io.StringIO()
    handler = make_handler("json" if log_format == "json" else "text", stream)
    logger = logging.getLogger(f"tests.logs.{log_format}")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return logger, stream, handler


def test_json_lines_carry_time_level_logger_message_and_trace() -> None:
    logger, stream, handler = _capture("json")
    try:
        logger.debug("outside")
        with trace_update(77):
            logger.info("inside %d", 1)
        token = current_reminders.set((5,))
        logger.warning("one reminder")
        current_reminders.set((5, 6))
        logger.warning("two reminders")
        current_reminders.reset(token)
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [e["message"] for e in lines] == ["outside", "inside 1", "one reminder", "two reminders"]
    assert [e["level"] for e in lines] == ["DEBUG", "INFO", "WARNING", "WARNING"]
    assert {e["logger"] for e in lines} == {"tests.logs.json"}
    assert "update_id" not in lines[0] and "reminder_id" not in lines[0]
    assert lines[1]["update_id"] == 77
    assert lines[2]["reminder_id"] == 5
    assert lines[3]["reminder_id"] == [5, 6]
    assert lines[0]["time"].endswith("+00:00")


def test_an_exception_is_one_json_line_with_its_type() -> None:
    logger, stream, handler = _capture("json")
    try:
        try:
            raise KeyError("x")
        except KeyError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    [line] = stream.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["exc_type"] == "KeyError"
    assert "Traceback" in entry["exc"]


def test_text_lines_show_the_trace_when_there_is_one() -> None:
    logger, stream, handler = _capture("text")
    try:
        logger.info("plain")
        with trace_update(9):
            token = current_reminders.set((3, 4))
            logger.info("traced")
            current_reminders.reset(token)
    finally:
        logger.removeHandler(handler)
    plain, traced = stream.getvalue().splitlines()
    assert plain.endswith("INFO tests.logs.text: plain")
    assert traced.endswith("INFO tests.logs.text [update=9 reminder=3,4]: traced")


async def test_the_update_id_follows_its_task_only() -> None:
    seen: dict[str, int | None] = {}
    record_filter = TraceFilter()

    def record(name: str) -> None:
        entry = logging.LogRecord("x", logging.INFO, __file__, 1, name, None, None)
        record_filter.filter(entry)
        seen[name] = entry.update_id  # type: ignore[attr-defined]

    async def handle(update_id: int, name: str, gate: asyncio.Event) -> None:
        with trace_update(update_id):
            await gate.wait()
            record(name)

    first, second = asyncio.Event(), asyncio.Event()
    tasks = [
        asyncio.create_task(handle(1, "first", first)),
        asyncio.create_task(handle(2, "second", second)),
    ]
    await asyncio.sleep(0)
    second.set()
    first.set()
    await asyncio.gather(*tasks)
    record("after")
    assert seen == {"first": 1, "second": 2, "after": None}


def test_json_formatter_keeps_non_ascii_readable() -> None:
    entry = logging.LogRecord("x", logging.INFO, __file__, 1, "año", None, None)
    assert '"año"' in JsonFormatter().format(entry)


def test_configure_logging_leaves_a_configured_process_alone_unless_forced() -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    placeholder = logging.NullHandler()
    root.addHandler(placeholder)
    try:
        assert configure_logging("DEBUG", "json") is None
        assert placeholder in root.handlers
        assert logging.getLogger("sqlalchemy.engine").level == logging.WARNING
        stream = io.StringIO()
        handler = configure_logging("INFO", "json", stream, force=True)
        assert root.handlers == [handler]
        logging.getLogger("tests.logs.forced").info("hello")
        logging.getLogger("aiosqlite").info("executing with values")  # held at WARNING
        assert [json.loads(line)["message"] for line in stream.getvalue().splitlines()] == ["hello"]
    finally:
        for current in list(root.handlers):
            root.removeHandler(current)
        for old in saved_handlers:
            root.addHandler(old)
        root.setLevel(saved_level)
