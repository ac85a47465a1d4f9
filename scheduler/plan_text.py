"""Changing the text of a plan file the way a person would: one field of one ``[[step]]``
rewritten in place, or a step appended, every comment and the rest of the file kept as written.

Pure text work; the result is checked by :func:`scheduler.plan_loading.parse_plan` like any
plan file. Values are written as TOML (JSON's string escapes are TOML's too).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping, Sequence

__all__ = ["NoSuchStep", "append_step", "set_step_field", "toml_value"]

PlanValue = str | bool | Sequence[str]

_TABLE = re.compile(r"\s*\[")
_STEP = re.compile(r"\s*\[\[\s*step\s*\]\]\s*(?:#.*)?$")
_ASSIGNMENT = re.compile(r"\s*([A-Za-z0-9_\-]+)\s*=")


class NoSuchStep(KeyError):
    """The plan text has no ``[[step]]`` with this key."""


def toml_value(value: PlanValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in value) + "]"


def _value_lines(lines: list[str], first: int, end: int) -> int:
    """The index after the assignment starting at `first` (an array may span lines)."""
    for last in range(first, end):
        try:
            tomllib.loads("\n".join(lines[first : last + 1]))
        except tomllib.TOMLDecodeError:
            continue
        return last + 1
    return first + 1


def _step_blocks(lines: list[str]) -> list[tuple[int, int]]:
    starts = [i for i, line in enumerate(lines) if _STEP.match(line)]
    blocks = []
    for start in starts:
        end = next((j for j in range(start + 1, len(lines)) if _TABLE.match(lines[j])), len(lines))
        blocks.append((start, end))
    return blocks


def _key_of(lines: list[str], start: int, end: int) -> str | None:
    for i in range(start + 1, end):
        match = _ASSIGNMENT.match(lines[i])
        if match and match.group(1) == "key":
            try:
                value = tomllib.loads(lines[i]).get("key")
            except tomllib.TOMLDecodeError:
                return None
            return value if isinstance(value, str) else None
    return None


def set_step_field(text: str, key: str, field: str, value: PlanValue) -> str:
    """`text` with `field` of the step `key` set to `value` (its line replaced, or added after
    the step's last field); NoSuchStep if the text has no such step."""
    lines = text.splitlines()
    for start, end in _step_blocks(lines):
        if _key_of(lines, start, end) != key:
            continue
        line = f"{field} = {toml_value(value)}"
        last = start
        for i in range(start + 1, end):
            match = _ASSIGNMENT.match(lines[i])
            if match is None:
                continue
            if match.group(1) == field:
                lines[i : _value_lines(lines, i, end)] = [line]
                return "\n".join(lines) + "\n"
            last = _value_lines(lines, i, end) - 1
        lines.insert(last + 1, line)
        return "\n".join(lines) + "\n"
    raise NoSuchStep(key)


def append_step(text: str, fields: Mapping[str, PlanValue]) -> str:
    """`text` with a ``[[step]]`` of these fields at its end."""
    body = "\n".join(f"{name} = {toml_value(value)}" for name, value in fields.items())
    return f"{text.rstrip()}\n\n[[step]]\n{body}\n"
