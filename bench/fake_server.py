"""Runs tests/fake_telegram/server.py in its own process for the benchmarks.

    python -m bench.fake_server [--token T] [--rate-limit N]

Prints the base URL on stdout, then serves until stdin is closed. Besides the Bot API it
answers two methods of its own (POST /bot<token>/<method>, JSON body):

* ``benchStats``: sendMessage counts (HTTP 200 / 429 / other), distinct chats answered 200,
  chats answered 200 more than once, the first/last 200 send times (``time.monotonic()``, the
  same clock in every process on Linux) and the most 200 sends seen in any 1 s window;
* ``benchReset``: forgets recorded requests and messages, and sets ``rate_limit``;
* ``benchTimes``: ``[arrival time, HTTP status, chat_id]`` of every sendMessage (diagnostics).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import Counter
from typing import Any

from tests.fake_telegram.server import FakeTelegramServer


def _stats(server: FakeTelegramServer) -> dict[str, Any]:
    statuses: Counter[int] = Counter()
    per_chat: Counter[Any] = Counter()
    ok_times: list[float] = []
    text_chars = 0
    for record in server.requests:
        if record.method.lower() != "sendmessage":
            continue
        statuses[record.response_status] += 1
        if record.response_status == 200:
            per_chat[record.params.get("chat_id")] += 1
            ok_times.append(record.at)
            text_chars += len(record.params.get("text") or "")
    ok_times.sort()
    busiest, left = 0, 0
    for right, at in enumerate(ok_times):
        while ok_times[left] <= at - 1.0:
            left += 1
        busiest = max(busiest, right - left + 1)
    return {
        "ok": statuses.get(200, 0),
        "too_many": statuses.get(429, 0),
        "other": sum(n for s, n in statuses.items() if s not in (200, 429)),
        "chats": len(per_chat),
        "chats_more_than_once": sum(1 for n in per_chat.values() if n > 1),
        "first_ok_at": ok_times[0] if ok_times else None,
        "last_ok_at": ok_times[-1] if ok_times else None,
        "busiest_second": busiest,
        "mean_text_chars": text_chars / len(ok_times) if ok_times else 0,
    }


def _reset(server: FakeTelegramServer, params: dict[str, Any]) -> bool:
    server.clear_requests()
    server._messages.clear()
    server._last_message_id.clear()
    server._send_times.clear()
    server.rate_limit = params.get("rate_limit")
    return True


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--token", default="42:BENCH")
    parser.add_argument("--rate-limit", type=float, default=None)
    args = parser.parse_args()
    server = FakeTelegramServer(token=args.token)
    server.rate_limit = args.rate_limit
    server.set_handler("benchStats", lambda params: _stats(server))
    server.set_handler("benchReset", lambda params: _reset(server, params))
    server.set_handler(
        "benchTimes",
        lambda params: [
            [r.at, r.response_status, r.params.get("chat_id")]
            for r in server.requests
            if r.method.lower() == "sendmessage"
        ],
    )
    async with server:
        print(server.base_url, flush=True)
        # Serve until the parent closes our stdin (or dies).
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


if __name__ == "__main__":
    asyncio.run(main())
