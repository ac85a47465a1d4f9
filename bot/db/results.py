"""Typed reading of what a statement did."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import CursorResult, Result

__all__ = ["rows_changed"]


def rows_changed(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched (`Session.execute` types its answer as a plain
    `Result`; for those statements it is a `CursorResult`, which has the count)."""
    if not isinstance(result, CursorResult):
        raise TypeError("not the result of an UPDATE or DELETE")
    return int(result.rowcount or 0)
