"""Reading the TOML files staff edit, and naming the file, line and field of every problem.

Every data file under ``messages/`` (the reminder plan, and the content the bot loads) is
checked by a pydantic model; this module is the one way from a file to a model. Staff fix
what they are shown, so each problem reads ``"{file}:{line}: {field}: {message}"``, with
fields as written in the file (``step[2].at``: tables of an array count from 1, like the
``[[step]]`` headers a person counts in an editor).

tomllib gives no positions once it has parsed a document, so :class:`SourceLines` finds
them in the raw text: table headers, then the first line that assigns the field.

It lives in ``foundation/``, below both the reminder plan (``scheduler/plan_loading.py``)
and the content loader (``bot/content/loading.py``), and imports neither.
"""

from __future__ import annotations

import difflib
import re
import tomllib
import types
import typing
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

__all__ = [
    "DataFileError",
    "FieldError",
    "SourceLines",
    "field_path",
    "parse_toml",
    "problems_of",
    "read_text",
    "show",
    "suggest",
    "validate_file",
]

M = TypeVar("M", bound=BaseModel)
Loc = tuple[int | str, ...]

_HEADER_RE = re.compile(r"\s*\[\[?\s*([^\[\]#]+?)\s*\]\]?\s*(?:#.*)?")
_TOML_POSITION_RE = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)\s*$")
_UNKNOWN = frozenset({"extra_forbidden", "unexpected_keyword_argument"})
_MISSING = frozenset({"missing", "missing_keyword_argument", "missing_argument"})
# pydantic's words for a value of the wrong kind, in the words of a TOML file.
_EXPECTED = {
    "string_type": "expected text in quotes",
    "list_type": "expected a list",
    "tuple_type": "expected a list",
    "dict_type": "expected a table",
    "model_type": "expected a table",
    "model_attributes_type": "expected a table",
    "dataclass_type": "expected a table",
    "dataclass_args_type": "expected a table",
}


class DataFileError(ValueError):
    """A data file that cannot be used. ``str(e)`` is ``"{source}:{line}: {field}: {message}"``
    (``":{line}"`` is left out when the line is unknown)."""

    def __init__(self, source: str, line: int | None, field: str, message: str) -> None:
        self.source = source
        self.line = line
        self.field = field
        self.message = message
        where = source if line is None else f"{source}:{line}"
        super().__init__(f"{where}: {field}: {message}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.source, self.line, self.field, self.message))


class FieldError(ValueError):
    """Raised by a model's validator about one of its fields, or a field further in.

    pydantic reports a validator's error at the validator's own place (the model); ``loc``
    (relative to it, e.g. ``("end",)`` or ``("step", 1, "items")``) says where it belongs, so
    the line and the field shown are the ones to fix. Anything else raised by a validator is
    reported at the validator's place.
    """

    def __init__(self, loc: Loc, message: str) -> None:
        super().__init__(message)
        self.loc = loc


# --------------------------------------------------------------------------------------
# Positions in the raw text
# --------------------------------------------------------------------------------------


class SourceLines:
    """Finds where things are in the raw text: tomllib gives no positions once parsed."""

    def __init__(self, text: str) -> None:
        # Numbered like tomllib and editors do: only "\n" ends a line.
        self.lines = text.split("\n")
        if self.lines and self.lines[-1] == "":
            self.lines.pop()
        self.headers: list[tuple[int, str]] = []  # (line number, `a.b` of `[a.b]` / `[[a.b]]`)
        for number, line in enumerate(self.lines, start=1):
            if match := _HEADER_RE.fullmatch(line):
                name = re.sub(r"\s*\.\s*", ".", match.group(1))
                self.headers.append((number, name.replace('"', "").replace("'", "")))

    def _assignment(self, name: str, first: int, last: int) -> int | None:
        """The first line in [first, last] (1-based) that assigns ``name``."""
        pattern = re.compile(
            rf"""\s*(?:{re.escape(name)}|"{re.escape(name)}"|'{re.escape(name)}')\s*="""
        )
        for number in range(first, min(last, len(self.lines)) + 1):
            if pattern.match(self.lines[number - 1]):
                return number
        return None

    def _section_end(self, header_line: int) -> int:
        later = [number for number, _ in self.headers if number > header_line]
        return later[0] - 1 if later else len(self.lines)

    def table(self, name: str, occurrence: int = 1) -> int | None:
        """The line of the ``occurrence``-th header ``[name]`` or ``[[name]]``."""
        found = [number for number, header in self.headers if header == name]
        return found[occurrence - 1] if 0 < occurrence <= len(found) else None

    def top_level(self, name: str) -> int | None:
        """Where a top-level key is set: ``name = ...`` before the first table, or its table."""
        first_table = self.headers[0][0] - 1 if self.headers else len(self.lines)
        found = self._assignment(name, 1, first_table)
        if found is None:
            found = self.table(name)
        if found is None:  # dotted keys such as `quiet_hours.start = ...`, or an inline table
            found = next(
                (
                    number
                    for number, line in enumerate(self.lines, start=1)
                    if re.match(rf"\s*{re.escape(name)}\s*[.=]", line)
                ),
                None,
            )
        return found

    def in_table(self, table: str, field: str, occurrence: int = 1) -> int | None:
        """Where ``field`` is set in a table (falls back to the table's header line)."""
        header = self.table(table, occurrence)
        if header is None:
            return self.top_level(table) if occurrence == 1 else None
        found = self._assignment(field, header + 1, self._section_end(header))
        return header if found is None else found

    def of(self, loc: Loc) -> int | None:
        """The line of a pydantic location: ``("snooze",)``, ``("quiet_hours", "end")``,
        ``("step", 1, "at")`` (the second ``[[step]]``), ``("step", 50)``."""
        if not loc or not isinstance(loc[0], str):
            return None
        table = loc[0]
        rest = loc[1:]
        occurrence = 1
        if rest and isinstance(rest[0], int):
            occurrence = rest[0] + 1
            rest = rest[1:]
            if not rest or not isinstance(rest[0], str):
                return self.table(table, occurrence) or self.top_level(table)
        if not rest or not isinstance(rest[0], str):
            return self.top_level(table)
        return self.in_table(table, rest[0], occurrence)


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------


def read_text(path: Path, error: type[DataFileError] = DataFileError) -> str:
    """The file's text (a byte-order mark dropped); ``error`` if it is missing or not UTF-8."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise error(source, None, "file", "not found") from None
    except OSError as exc:
        raise error(source, None, "file", f"cannot be read ({exc.strerror or exc})") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise error(source, line, "file", "is not UTF-8 text") from exc
    return text.removeprefix("\ufeff")


def parse_toml(
    text: str, source: str, error: type[DataFileError] = DataFileError
) -> dict[str, Any]:
    """The parsed document; ``error`` naming the line tomllib reports if it is not TOML."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        line: int | None = None
        if match := _TOML_POSITION_RE.search(message):
            message = message[: match.start()]
            if match.group(1):
                line = int(match.group(1))
                message += f" (column {match.group(2)})"
            else:
                line = max(len(SourceLines(text).lines), 1)
                message += " (at the end of the file)"
        raise error(source, line, "syntax", f"not valid TOML: {message}") from exc


# --------------------------------------------------------------------------------------
# Validation errors as lines
# --------------------------------------------------------------------------------------


def show(value: object) -> str:
    """A value roughly as it was written in TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(show(item) for item in value) + "]"
    if isinstance(value, dict):
        return "a table"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return repr(value)


def suggest(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'snooze'?)`` for a close match of ``word`` among ``choices``, or ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _field_names(kind: object) -> tuple[str, ...]:
    """The names a model (or pydantic dataclass) accepts, as written in the file."""
    fields = getattr(kind, "__pydantic_fields__", None)
    if fields is None:
        return ()
    return tuple(info.alias or name for name, info in fields.items())


def _unwrap(kind: object) -> object:
    """``X`` of ``X | None`` and ``Annotated[X, ...]``."""
    origin = typing.get_origin(kind)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(kind)[0])
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(kind) if a is not type(None)]
        return _unwrap(options[0]) if len(options) == 1 else None
    return kind


def _inner(kind: object, part: int | str) -> object:
    """The type found at ``part`` inside ``kind`` (a field of a model, an item of a list)."""
    kind = _unwrap(kind)
    if isinstance(part, int):
        return typing.get_args(kind)[0] if typing.get_origin(kind) in (tuple, list) else None
    for name, info in getattr(kind, "__pydantic_fields__", {}).items():
        if part in (name, info.alias):
            return info.annotation
    return None


def _as_written(root: object, loc: Loc) -> Loc:
    """``loc`` with each field by the name the file uses (its alias): pydantic reports a
    default that failed validation by the field's Python name."""
    written: list[int | str] = []
    kind = root
    for part in loc:
        if isinstance(part, str):
            fields = getattr(_unwrap(kind), "__pydantic_fields__", {})
            info = fields.get(part)
            written.append(info.alias if info is not None and info.alias else part)
        else:
            written.append(part)
        kind = _inner(kind, part)
    return tuple(written)


def _kind_at(root: object, loc: Loc) -> object:
    kind = root
    for part in loc:
        kind = _inner(kind, part)
    return _unwrap(kind)


def field_path(loc: Sequence[int | str]) -> str:
    """``("step", 1, "at")`` as ``step[2].at``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part + 1}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(file)"


def _problem(error: ErrorDetails, root: object) -> tuple[Loc, str]:
    loc = _as_written(root, tuple(error["loc"]))
    kind = error["type"]
    cause = (error.get("ctx") or {}).get("error")  # what a validator raised
    if isinstance(cause, FieldError):
        return loc + cause.loc, str(cause)
    if isinstance(cause, Exception) and kind in ("value_error", "assertion_error"):
        return loc, str(cause)
    if kind in _UNKNOWN:
        name = str(loc[-1])
        names = _field_names(_kind_at(root, loc[:-1]))
        what = "setting" if len(loc) == 1 else "field"
        expected = f"; expected {', '.join(names)}" if names else ""
        return loc, f"unknown {what}{suggest(name, names)}{expected}"
    if kind in _MISSING:
        return loc, "missing (required)"
    if kind in _EXPECTED:
        return loc, f"{_EXPECTED[kind]}, got {show(error['input'])}"
    ctx = error.get("ctx") or {}
    if kind == "too_short":
        return loc, f"needs at least {ctx['min_length']}, has {ctx['actual_length']}"
    if kind == "too_long":
        return loc, f"may have at most {ctx['max_length']}, has {ctx['actual_length']}"
    return loc, f"{error['msg']}, got {show(error['input'])}"


def _echo(error: ErrorDetails, errors: Sequence[ErrorDetails]) -> bool:
    """A list found too short only because its items failed (pydantic reports both)."""
    if error["type"] != "too_short" or not error["input"]:
        return False
    loc = error["loc"]
    return any(len(e["loc"]) > len(loc) and e["loc"][: len(loc)] == loc for e in errors)


def problems_of(
    exc: ValidationError,
    root: object,
    source: str,
    lines: SourceLines | None = None,
    error: type[DataFileError] = DataFileError,
) -> list[DataFileError]:
    """Every problem pydantic found, as ``error``\\ s naming source, line and field.

    Unknown fields come first: a misspelt field is also a missing one, and the misspelling is
    the thing to fix.
    """
    errors = [e for e in exc.errors() if not _echo(e, exc.errors())]
    errors.sort(key=lambda e: e["type"] not in _UNKNOWN)
    found = [_problem(e, root) for e in errors]
    return [
        error(source, lines.of(loc) if lines is not None else None, field_path(loc), message)
        for loc, message in found
    ]


def validate_file(
    model: type[M],
    data: object,
    source: str,
    lines: SourceLines | None = None,
    error: type[DataFileError] = DataFileError,
) -> M:
    """``data`` (a parsed file) as ``model``; the first problem as ``error`` otherwise, with
    every other problem's line in its notes."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = problems_of(exc, model, source, lines, error)
        first = problems[0]
        for other in problems[1:]:
            first.add_note(str(other))
        raise first from exc
