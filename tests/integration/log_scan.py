"""Scans captured log output (LOG_FORMAT=json) for things that must never be logged."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

# The record's own timestamp is the wall clock of the test run: "…T12:30:05" would match
# "2:30" by chance. It is written by the formatter, never by a caller.
UNSCANNED_FIELDS = frozenset({"time"})


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield str(key)
            yield from _strings(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _strings(inner)
    else:
        yield str(value)


def scan(output: str, secrets: Iterable[str]) -> list[str]:
    """Every problem of `output`: a line that is not one JSON object, or a line holding one of
    `secrets` (case-insensitively, in any field but the timestamp, also as JSON escapes
    would hide it). An empty list means clean."""
    needles = [s.casefold() for s in secrets if s]
    problems: list[str] = []
    for number, line in enumerate(output.splitlines(), 1):
        try:
            entry = json.loads(line)
        except ValueError:
            problems.append(f"line {number}: not JSON: {line[:200]}")
            continue
        if not isinstance(entry, dict):
            problems.append(f"line {number}: not a JSON object: {line[:200]}")
            continue
        scanned = {k: v for k, v in entry.items() if k not in UNSCANNED_FIELDS}
        haystack = "\n".join(_strings(scanned)).casefold()
        raw = json.dumps(scanned, ensure_ascii=False).casefold()
        for needle in needles:
            if needle in haystack or needle in raw:
                problems.append(f"line {number}: holds {needle!r}: {line[:300]}")
    return problems
