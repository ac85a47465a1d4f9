"""Runs tests/fake_telegram/server.py in its own process for the benchmarks.

    python -m bench.fake_server [--token T] [--rate-limit N]

Prints the base URL on stdout, then serves until stdin is closed. Besides the Bot API it
answers methods of its own (POST /bot<token>/<method>, JSON body), never delayed by a latency:

* ``benchStats``: sendMessage counts (HTTP 200 / 429 / other), distinct chats answered 200,
  chats answered 200 more than once, the first/last 200 send times (``time.monotonic()``, the
  same clock in every process on Linux) and the most 200 sends seen in any 1 s window;
* ``benchReset``: forgets recorded requests, messages and pushed updates, and sets
  ``rate_limit``; it is the mark answers are measured from;
* ``benchTimes``: ``[arrival time, HTTP status, chat_id]`` of every sendMessage (diagnostics);
* ``benchLatency``: ``seconds`` before every answer but ``getUpdates``'s (0: none), as
  ``FakeTelegramServer.set_latency``;
* ``benchPush``: queues ``updates`` (a list of Update dicts; their ``update_id`` is replaced
  by the server's own) in one go and answers ``{"count", "at"}``, ``at`` being the moment they
  were queued;
* ``benchPolling``: how many ``getUpdates`` long polls are waiting (a bot is ready for updates);
* ``benchAnswers``: for each update pushed since the mark, in push order,
  ``[pushed at, kind, ack at, reply at]``: ``kind`` "message" or "callback_query", ``ack at``
  the arrival of the ``answerCallbackQuery`` for it (callbacks only), ``reply at`` the arrival
  of the sendMessage to its chat paired with it (the k-th update pushed to a chat gets the
  k-th sendMessage that chat received after that push), ``null`` while missing. With
  ``summary`` true only ``{"pushed", "handled"}``: handled = has its reply (and its ack).
  Arrival, not answer: with a latency the server *receives* the request when the bot made it;
* ``benchSent``: ``{text: count}`` of the sendMessage requests since the mark (what was said);
* ``benchWebhook``: from now on, while a webhook is registered (``setWebhook``), pushed
  updates are POSTed to ``targets`` (``FakeTelegramServer.deliver_webhooks``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from tests.fake_telegram.server import FakeTelegramServer

BENCH_METHODS = (
    "benchStats",
    "benchReset",
    "benchTimes",
    "benchLatency",
    "benchPush",
    "benchPolling",
    "benchAnswers",
    "benchSent",
    "benchWebhook",
)


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


@dataclass
class _Push:
    at: float
    kind: str
    chat: Any
    callback_id: str | None


@dataclass
class _Pushes:
    """Updates pushed through ``benchPush`` since the last ``benchReset``."""

    items: list[_Push] = field(default_factory=list)


def _reset(server: FakeTelegramServer, pushes: _Pushes, params: dict[str, Any]) -> bool:
    server.reset()
    server.rate_limit = params.get("rate_limit")
    pushes.items.clear()
    return True


def _latency(server: FakeTelegramServer, params: dict[str, Any]) -> bool:
    server.set_latency(float(params.get("seconds", 0)))
    return True


def _push(server: FakeTelegramServer, pushes: _Pushes, params: dict[str, Any]) -> dict[str, Any]:
    updates = [
        {k: v for k, v in update.items() if k != "update_id"}
        for update in params.get("updates") or []
    ]
    server.push_updates(updates)
    at = time.monotonic()
    for update in updates:
        callback = update.get("callback_query")
        if callback is not None:
            message = callback.get("message") or {}
            chat = (message.get("chat") or {}).get("id", callback["from"]["id"])
            pushes.items.append(_Push(at, "callback_query", chat, callback.get("id")))
        else:
            inner = next((v for k, v in update.items() if isinstance(v, dict)), {})
            chat = (inner.get("chat") or {}).get("id")
            pushes.items.append(_Push(at, next(iter(update), "?"), chat, None))
    return {"count": len(updates), "at": at}


def _polling(server: FakeTelegramServer) -> int:
    return sum(
        1
        for r in server.requests
        if r.method.lower() == "getupdates" and r.response_status == 0 and r.answered_at is None
    )


def _answers(
    server: FakeTelegramServer, pushes: _Pushes, params: dict[str, Any]
) -> dict[str, Any] | list[list[Any]]:
    sends: defaultdict[Any, list[float]] = defaultdict(list)
    acks: dict[str, float] = {}
    for record in server.requests:  # in arrival order
        method = record.method.lower()
        if method == "sendmessage":
            sends[record.params.get("chat_id")].append(record.at)
        elif method == "answercallbackquery":
            acks.setdefault(str(record.params.get("callback_query_id")), record.at)
    next_send: Counter[Any] = Counter()  # per chat: index of its first unpaired sendMessage
    rows: list[list[Any]] = []
    handled = 0
    for push in pushes.items:
        times = sends.get(push.chat, [])
        k = next_send[push.chat]
        while k < len(times) and times[k] < push.at:
            k += 1
        reply = times[k] if k < len(times) else None
        next_send[push.chat] = k + 1
        ack = acks.get(push.callback_id) if push.callback_id is not None else None
        if reply is not None and (push.callback_id is None or ack is not None):
            handled += 1
        rows.append([push.at, push.kind, ack, reply])
    if params.get("summary"):
        return {"pushed": len(rows), "handled": handled}
    return rows


async def _webhook(server: FakeTelegramServer, targets: list[str]) -> bool:
    await server.deliver_webhooks(targets)
    return True


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--token", default="42:BENCH")
    parser.add_argument("--rate-limit", type=float, default=None)
    args = parser.parse_args()
    server = FakeTelegramServer(token=args.token)
    server.rate_limit = args.rate_limit
    pushes = _Pushes()
    server.latency_exempt.update(m.lower() for m in BENCH_METHODS)
    server.set_handler("benchStats", lambda params: _stats(server))
    server.set_handler("benchReset", lambda params: _reset(server, pushes, params))
    server.set_handler("benchLatency", lambda params: _latency(server, params))
    server.set_handler("benchPush", lambda params: _push(server, pushes, params))
    server.set_handler("benchPolling", lambda params: _polling(server))
    server.set_handler("benchAnswers", lambda params: _answers(server, pushes, params))
    server.set_handler("benchWebhook", lambda params: _webhook(server, params.get("targets") or []))
    server.set_handler(
        "benchSent",
        lambda params: Counter(str(r.params.get("text")) for r in server.calls("sendMessage")),
    )
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
