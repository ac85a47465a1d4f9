"""A clinic system's webhook on loopback: a real aiohttp server that receives the signed events
(bot/delivery/intake_events.py), checks each signature with bot/intake/signing.verify by the
test's clock, and answers as a script says (a status, a dropped connection, a slow answer)."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.intake.signing import SIGNATURE_HEADER, SignatureError, verify
from foundation.clock import Clock

SECRET = "s3cret-" + "x" * 40
OTHER_SECRET = "other-" + "y" * 40

DROP = "drop"
"""Close the connection without an answer."""
SLOW = "slow"
"""Answer only after SLOW_SECONDS (longer than the sender's timeout in the tests)."""
SLOW_SECONDS = 2.0


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signed_at: int | None
    """The signature's timestamp when it verified; None when it did not."""
    answered: str

    @property
    def event(self) -> dict[str, Any]:
        value = json.loads(self.body)
        assert isinstance(value, dict)
        return value


class Receiver:
    def __init__(self, clock: Clock, secrets: dict[str, str] | None = None) -> None:
        self.clock = clock
        self.secrets = secrets or {"acme": SECRET, "beta": OTHER_SECRET}
        """By source (the last part of the path): the secret its events are signed with."""
        self.received: list[Received] = []
        self.script: dict[str, deque[str]] = {}
        self.port = 0
        self._arrived = asyncio.Event()

    def url(self, source: str) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/{source}"

    def answer(self, source: str, *answers: str) -> None:
        """The next answers to `source`'s requests ("500", DROP, SLOW; then 200)."""
        self.script.setdefault(source, deque()).extend(answers)

    def events(self, source: str | None = None, *, answered: str | None = "200") -> list[dict]:
        """The bodies received (of `source`), of the requests answered so (None: all)."""
        return [
            r.event
            for r in self.received
            if (source is None or r.path.endswith("/" + source))
            and (answered is None or r.answered == answered)
        ]

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        """Until `count` requests arrived (tiny waits: the sender works in the same loop)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.received) < count:
            if loop.time() > deadline:
                raise AssertionError(f"{len(self.received)} of {count} events arrived")
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), max(deadline - loop.time(), 0.01))
            except TimeoutError:
                continue
        return self.received

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        source = request.match_info["source"]
        body = await request.read()
        header = request.headers.get(SIGNATURE_HEADER, "")
        try:
            signed_at: int | None = verify(
                self.secrets.get(source, "unknown" * 8), header, body, now=self.clock.now()
            )
        except SignatureError:
            signed_at = None
        queue = self.script.get(source)
        answer = queue.popleft() if queue else "200"
        self.received.append(Received(request.path, dict(request.headers), body, signed_at, answer))
        self._arrived.set()
        if answer == DROP:
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError
        if answer == SLOW:
            await asyncio.sleep(SLOW_SECONDS)
            return web.Response(status=200)
        if signed_at is None:
            return web.Response(status=401, text="bad signature")
        status, _, retry_after = answer.partition(":")
        headers = {"Retry-After": retry_after} if retry_after else {}
        return web.Response(status=int(status), text="ok", headers=headers)


@asynccontextmanager
async def running_receiver(clock: Clock) -> AsyncIterator[Receiver]:
    receiver = Receiver(clock)
    app = web.Application()
    app.router.add_post("/hooks/{source}", receiver._handle)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    sockets = getattr(site._server, "sockets", None) or []
    receiver.port = sockets[0].getsockname()[1]
    try:
        yield receiver
    finally:
        await runner.cleanup()
