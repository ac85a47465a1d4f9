"""Issue 11's log test: a whole conversation, a reminder burst and a crisis, at DEBUG in JSON,
every line of every logger scanned for what must never be logged."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.logs import configure_logging
from bot.tryout.objects import private_chat_info
from tests.conftest import DEFAULT_NOW
from tests.fake_telegram import updates
from tests.fake_telegram.server import FakeTelegramServer
from tests.integration.harness import Harness, start_harness
from tests.integration.log_scan import scan

PATIENT = 7_345_912_867
# A burst: other patients with the same visit, ids that cannot be mistaken for update ids.
OTHERS = [8_120_334_451 + 1_000_003 * i for i in range(5)]
FIRST, LAST, HANDLE = "Zebulon", "Quartermaine", "zq_privacy_probe"
BOOKED = "12/3 2:30pm"  # Thursday, December 3, 2026, 2:30 PM EST = 19:30 UTC
QUESTION = "how long is recovery after the session?"
UNMATCHED = "Biscuit the dog chewed my papers"
CRISIS = "I want to kill myself"
THREE_DAYS_BEFORE = datetime(2026, 11, 30, 19, 31, tzinfo=UTC)

TYPED = [BOOKED, QUESTION, UNMATCHED, CRISIS, "recovery after", "Biscuit", "kill myself"]
NAMES = [FIRST, LAST, HANDLE, f"{FIRST} {LAST}"]
PHONE = ["203-914-1900", "2039141900", "+12039141900", "914-1900", "(203)"]
# The visit in every rendering the code or a library might use.
VISIT = [
    "2026-12-03",
    "2026/12/03",
    "12/3",
    "12/03",
    "3/12/2026",
    "2:30",
    "14:30",
    "19:30",
    "2:30 PM",
    "December 3",
    "Dec 3",
    "3 December",
    "3 de diciembre",
    "Thursday",
    str(int(datetime(2026, 12, 3, 19, 30, tzinfo=UTC).timestamp())),
]
IDS = [str(PATIENT), *map(str, OTHERS)]


def named(update: dict[str, Any], user_id: int) -> dict[str, Any]:
    """The update as it comes from a real person: first and last name, username, in the
    sender and in the chat."""
    inner = update.get("message") or update["callback_query"]
    for person in (inner["from"], (inner.get("message") or inner)["chat"]):
        if person.get("id") == user_id:
            person.update(first_name=FIRST, last_name=LAST, username=HANDLE)
    return update


@contextmanager
def json_logs_at_debug() -> Iterator[io.StringIO]:
    """The process's logging as `run` sets it up with LOG_LEVEL=DEBUG, LOG_FORMAT=json, into
    a buffer; the root's handlers and level are given back afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    handler = configure_logging("DEBUG", "json", stream, force=True)
    assert handler is not None
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        for old in saved_handlers:
            root.addHandler(old)
        root.setLevel(saved_level)


async def say(h: Harness, user: int, text: str) -> None:
    await h.feed(named(updates.message_update(user, text), user))


async def command(h: Harness, user: int, name: str) -> None:
    await h.feed(named(updates.command_update(user, name), user))


async def tap(h: Harness, user: int, label: str) -> None:
    await h.feed(named(updates.callback_update(user, h.button(user, label)), user))


async def book(h: Harness, user: int) -> None:
    await command(h, user, "start")
    await tap(h, user, "agree")
    await command(h, user, "appointment")
    await say(h, user, BOOKED)
    await tap(h, user, "Confirm")


async def _conversation(h: Harness) -> None:
    await book(h, PATIENT)
    await say(h, PATIENT, QUESTION)
    await say(h, PATIENT, UNMATCHED)
    await command(h, PATIENT, "faq")
    await command(h, PATIENT, "prepare")
    await tap(h, PATIENT, "Ride")


async def test_a_conversation_a_burst_and_a_crisis_log_nothing_personal(
    telegram: FakeTelegramServer, tmp_path: Path
) -> None:
    # Staff alerts fetch the patient's name from Telegram: it must reach the alert only.
    telegram.set_handler(
        "getchat",
        lambda params: {
            **private_chat_info(params["chat_id"], FIRST),
            "last_name": LAST,
            "username": HANDLE,
        },
    )
    with json_logs_at_debug() as stream:
        async with start_harness(telegram, tmp_path, now=DEFAULT_NOW) as h:
            await _conversation(h)
            for other in OTHERS:
                await book(h, other)
            # The burst: the "3 days before" reminder of six patients in one pass.
            h.clock.set(THREE_DAYS_BEFORE)
            assert await h.app.reminders.run_due() == 1 + len(OTHERS)
            await tap(h, PATIENT, "Done")
            # A crisis: answered, alert queued, then sent to staff with the name from getChat.
            await say(h, PATIENT, CRISIS)
            # (the outbox's own loop may have sent it already; a pass waits for the other)
            await h.app.alerts.deliver_due()
            [alert] = telegram.sent_texts(9001)
            assert FIRST in alert  # the name went where it belongs
    output = stream.getvalue()
    entries = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert len(entries) > 50, "the run was logged at DEBUG"
    assert {"DEBUG", "INFO", "WARNING"} <= {e["level"] for e in entries}
    assert any(e.get("update_id") is not None for e in entries), "updates are traced"
    assert any(e.get("reminder_id") is not None for e in entries), "reminders are traced"
    problems = scan(output, [*TYPED, *NAMES, *PHONE, *VISIT, *IDS])
    assert problems == [], "\n".join(problems[:20])
