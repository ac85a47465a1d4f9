"""The updates the fake server hands out through ``getUpdates``, kept as Telegram keeps them:
until a later ``offset`` confirms them, so a restarted bot gets the unconfirmed ones again."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any

from .updates import ensure_update_ids_above, next_update_id


class UpdateQueue:
    def __init__(self) -> None:
        self._updates: list[dict[str, Any]] = []  # unconfirmed, sorted by id
        self._confirmed_below = 0  # ids below this were confirmed by an offset
        self._changed = asyncio.Event()
        self._closed = False

    def push(self, updates: Iterable[dict[str, Any]]) -> list[int]:
        """Queue copies of ``updates`` (an ``update_id`` is kept, or assigned); wake long polls."""
        queued: list[dict[str, Any]] = []
        for original in updates:
            update = dict(original)
            if "update_id" in update:
                update_id = int(update["update_id"])
                if update_id < self._confirmed_below:
                    msg = (
                        f"update_id {update_id} is below the already confirmed offset "
                        f"{self._confirmed_below}; the bot would never see it (build the "
                        "update later or drop 'update_id' to let the server assign one)"
                    )
                    raise ValueError(msg)
                ensure_update_ids_above(update_id)
            else:
                update["update_id"] = next_update_id()
            queued.append(update)
        self._updates.extend(queued)
        self._updates.sort(key=lambda u: u["update_id"])
        self._wake()
        return [u["update_id"] for u in queued]

    async def get(self, offset: int | None, limit: int, timeout: float) -> list[dict[str, Any]]:
        """``getUpdates``: confirm what is below ``offset``, then wait up to ``timeout`` seconds
        for something to hand out (at most ``limit``)."""
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            self._confirmed_below = max(self._confirmed_below, offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (self._updates or self._closed):
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return [dict(u) for u in self._updates[:limit]]

    @property
    def pending(self) -> int:
        """Updates not confirmed yet."""
        return len(self._updates)

    def drop_pending(self) -> None:
        """Forget the unconfirmed updates (``drop_pending_updates``)."""
        taken = self.take_pending()
        if taken:
            self._confirmed_below = max(self._confirmed_below, taken[-1]["update_id"] + 1)

    def take_pending(self) -> list[dict[str, Any]]:
        """Hand the unconfirmed updates over (to a webhook): they are no longer polled."""
        taken, self._updates = self._updates, []
        return taken

    def close(self) -> None:
        """Answer every waiting long poll now (the server is stopping)."""
        self._closed = True
        self._wake()

    def _wake(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()
