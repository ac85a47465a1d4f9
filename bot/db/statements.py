"""Running an UPDATE or DELETE and reading how many rows it matched; adding a row whose id is
wanted at once.

``AsyncSession.execute`` is typed as returning a ``Result``; for a data-changing statement it
is a ``CursorResult``, which has the count. Conditional updates (the lease fence, "only the
first tap changes the attendance") decide on that count, so it is read in one place."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, Executable
from sqlalchemy.ext.asyncio import AsyncSession


async def rows_matched(
    session: AsyncSession,
    statement: Executable,
    params: Sequence[dict[str, Any]] | dict[str, Any] | None = None,
) -> int:
    """Execute ``statement`` (with ``params``: one dict, or many for an executemany) and
    return the number of rows it matched."""
    result = cast(CursorResult[Any], await session.execute(statement, params))
    return int(result.rowcount or 0)


RowT = TypeVar("RowT")


async def flushed(session: AsyncSession, row: RowT) -> RowT:
    """Add `row` (a new model instance) in the caller's transaction and flush it, so its id
    and the database's defaults are known now; the row."""
    session.add(row)
    await session.flush()
    return row
