"""Three bot processes on one PostgreSQL and one Redis, 3,000 reminders due at once, a fake Bot
API that answers 429 above 30 messages a second; one replica is SIGKILLed mid-burst while the
three answer patients through the webhook.

What must hold (issue 11):

* every reminder is delivered: each of the 3,000 chats got its reminder, every row is `sent`;
* a chat gets its reminder twice only if its row was in flight in the killed replica (claimed
  under its lease, `lease_owner` engine-<its pid>-..., not yet written back), and those rows
  are at most one batch (REMINDER_BATCH);
* the sustained rate is within 10% of the cap (see `sustained_rate` for what is measured);
* no more than a handful (5) of 429s;
* every patient, whose updates the fake delivers round-robin to the three webhooks (and to the
  next one when a replica does not answer), got the welcome, the consent confirmation and the
  answer to their question, also after the kill.

The replicas share SEND_RATE through Redis, reminders and answers alike (an answer takes its
slot ahead of the reminders, bot/delivery/shared_rate.py). SEND_RATE is 28, not the cap: slots
are 1/28 s apart in Redis's clock, but each message then crosses a process, an event loop and
HTTP on a loaded 2-core machine, and arrives a little early or late; at exactly 30 a second
that jitter puts a 31st message into some second again and again (98 x 429 measured, each
pausing every replica for a second). At 28 a rare late message meeting an early one is the
"handful"; measured: 27.7 msg/s with 1 x 429, and 28.0 with none.

About two and a half minutes at this rate.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.config import BUNDLED_MESSAGES_DIR
from bot.content.store import Content
from tests.fake_telegram import updates as u
from tests.fake_telegram.server import FakeTelegramServer, RecordedRequest
from tests.integration.pg import fresh_postgres_database
from tests.integration.replicas import (
    Replica,
    ReplicaRig,
    leased_rows,
    migrate,
    reminder_statuses,
    seed_due_reminders,
)
from tests.redis_support import REDIS_URL, redis_prefix

REMINDERS = 3_000
FIRST_CHAT = 600_000
CAP = 30
SEND_RATE = 28
"""Reminders and answers together, shared by the replicas (see above for why not 30)."""
BATCH = 30
"""Small enough that a replica sends its batch well within the lease: at a third of the rate
(three replicas) 30 rows take about 3.5 s."""
LEASE = 10
KILL_AFTER = 1_000
"""Reminders accepted before one replica is killed."""
RAMP_SECONDS = 2.0
PATIENTS = 40
FIRST_PATIENT = 900_000
PATIENT_GAP = 1.5
"""Seconds between two patients starting their conversation (three answers each)."""
QUESTIONS = (
    "how long is recovery?",
    "what does it feel like",
    "can I drive home afterwards",
    "what should I bring",
)


@dataclass(frozen=True)
class Kill:
    replica: Replica
    at: float
    """time.monotonic() of the SIGKILL (the fake's clock)."""
    in_flight: frozenset[int]
    """The chats whose reminder rows the killed replica held at its death."""


def is_reminder(record: RecordedRequest) -> bool:
    chat = record.params.get("chat_id")
    return (
        record.method.lower() == "sendmessage"
        and isinstance(chat, int)
        and FIRST_CHAT <= chat < FIRST_CHAT + REMINDERS
    )


def reminders_accepted(server: FakeTelegramServer) -> list[RecordedRequest]:
    return [r for r in server.accepted_sends() if is_reminder(r)]


def sustained_rate(accepted: Sequence[RecordedRequest], kill: Kill) -> tuple[float, float]:
    """Messages a second the fake accepted (reminders and answers alike: Telegram counts every
    message) over the burst, and the burst's length in seconds.

    The burst runs from RAMP_SECONDS after the first reminder arrived (replicas still starting,
    the shared rate finding its pace) to the arrival of the last reminder that is not a
    recovery: a recovery is a send, after the kill, to a chat whose row the killed replica
    held; those rows come back only once their lease ran out, when everything else is sent,
    and that tail is the lease's wait, not the rate."""
    reminders = [r for r in accepted if is_reminder(r)]
    start = reminders[0].at + RAMP_SECONDS
    end = max(
        r.at
        for r in reminders
        if not (r.at > kill.at and r.params["chat_id"] in kill.in_flight)
    )
    count = sum(1 for r in accepted if start <= r.at <= end)
    return count / (end - start), end - start


def timeline(accepted: Sequence[RecordedRequest], kill: Kill, step: float = 5.0) -> str:
    """Messages accepted per `step` seconds from the first one (for a failure's message)."""
    if not accepted:
        return "nothing accepted"
    first = accepted[0].at
    buckets = Counter(int((r.at - first) // step) for r in accepted)
    counts = " ".join(str(buckets[k]) for k in range(max(buckets) + 1))
    return f"per {step:g} s from the first: {counts}; kill at {kill.at - first:.1f} s"


async def wait_until_reminded(server: FakeTelegramServer, count: int, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        chats = {r.params["chat_id"] for r in reminders_accepted(server)}
        if len(chats) >= count:
            return
        if loop.time() > deadline:
            msg = f"{len(chats)} of {count} chats reminded after {timeout:.0f}s"
            raise AssertionError(msg)
        await asyncio.sleep(0.5)


async def wait_for_accepted(server: FakeTelegramServer, count: int, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(reminders_accepted(server)) < count:
        if loop.time() > deadline:
            msg = f"fewer than {count} reminders accepted after {timeout:.0f}s"
            raise AssertionError(msg)
        await asyncio.sleep(0.1)


async def kill_one_mid_batch(rig: ReplicaRig, database_url: str) -> Kill:
    """SIGKILL the replica holding the most reminder rows right now."""
    held = {r.index: len(await leased_rows(database_url, r.pid)) for r in rig.alive()}
    victim = next(r for r in rig.alive() if r.index == max(held, key=lambda i: held[i]))
    await rig.kill(victim)
    at = time.monotonic()
    return Kill(victim, at, frozenset(await leased_rows(database_url, victim.pid)))


async def talk(server: FakeTelegramServer, patients: Iterable[int]) -> dict[int, str]:
    """Each patient: /start, the consent button, then a question, pushed for webhook delivery
    (one chat's updates go one after another); a new patient every PATIENT_GAP seconds.
    Returns each patient's button press id."""
    taps: dict[int, str] = {}
    for patient in patients:
        question = QUESTIONS[patient % len(QUESTIONS)]
        tap = u.callback_update(patient, "c:1", message_text="Welcome")
        taps[patient] = tap["callback_query"]["id"]
        server.push_updates(
            [u.command_update(patient, "start"), tap, u.message_update(patient, question)]
        )
        await asyncio.sleep(PATIENT_GAP)
    return taps


def unanswered(server: FakeTelegramServer, taps: dict[int, str]) -> dict[int, list[str]]:
    """Per patient, what is missing of the welcome, the consent's confirmation, the answer to
    their question and the acknowledgement of their button press."""
    content = Content(BUNDLED_MESSAGES_DIR, "en")
    faq = content.faq("en")
    acknowledged = {
        r.params.get("callback_query_id")
        for r in server.calls("answerCallbackQuery")
        if r.response_status == 200
    }
    missing: dict[int, list[str]] = {}
    for patient, tap in taps.items():
        texts = server.sent_texts(patient)
        entry = faq.matcher.match(QUESTIONS[patient % len(QUESTIONS)])
        assert entry is not None
        wanted = {
            "welcome": any("988" in t and "/forget" in t for t in texts),
            "consent": any("all set" in t for t in texts),
            "answer": content.render(entry.template, "en") in texts,
            "tap": tap in acknowledged,
        }
        gaps = [name for name, ok in wanted.items() if not ok]
        if gaps:
            missing[patient] = gaps
    return missing


async def test_three_replicas_one_killed_mid_burst(
    telegram: FakeTelegramServer, tmp_path: Path
) -> None:
    telegram.rate_limit = CAP
    patients = [FIRST_PATIENT + i for i in range(PATIENTS)]
    async with fresh_postgres_database("companion_replicas") as url, redis_prefix() as prefix:
        await migrate(url)
        await seed_due_reminders(url, REMINDERS, first_chat=FIRST_CHAT)
        settings = {
            "REDIS_PREFIX": prefix,
            "SEND_RATE": str(SEND_RATE),
            "REMINDER_BATCH": str(BATCH),
            "REMINDER_LEASE_SECONDS": str(LEASE),
            "SHUTDOWN_GRACE_SECONDS": "10",
        }
        async with ReplicaRig(
            telegram.base_url,
            telegram.token,
            url,
            tmp_path / "replicas",
            redis_url=REDIS_URL,
            settings=settings,
        ) as rig:
            await rig.start(3)
            delivery = await telegram.deliver_webhooks(rig.webhook_targets())
            taps = await talk(telegram, patients[: PATIENTS // 2])
            await wait_for_accepted(telegram, KILL_AFTER, timeout=120)
            kill = await kill_one_mid_batch(rig, url)
            taps |= await talk(telegram, patients[PATIENTS // 2 :])
            await wait_until_reminded(telegram, REMINDERS, timeout=240)
            await telegram.wait_delivered(timeout=60)
            codes = await rig.stop()
            logs = {r.index: r.log_tail() for r in rig.replicas}
        statuses = await reminder_statuses(url)

    report = f"exit codes {codes}; logs:\n" + "\n".join(f"[{i}] {t}" for i, t in logs.items())
    # Every reminder delivered, every row sent.
    reminded = Counter(r.params["chat_id"] for r in reminders_accepted(telegram))
    assert set(reminded) == set(range(FIRST_CHAT, FIRST_CHAT + REMINDERS))
    assert statuses == {"sent": REMINDERS}
    # Twice only what the killed replica had in flight: at most one batch.
    assert 0 < len(kill.in_flight) <= BATCH, "the kill must land while it holds a batch"
    twice = {chat for chat, n in reminded.items() if n > 1}
    assert twice <= kill.in_flight, f"{len(twice)} repeated, {len(kill.in_flight)} in flight"
    assert all(n <= 2 for n in reminded.values())
    # The cap: sustained rate within 10% of it, a handful of 429s at most.
    rate, seconds = sustained_rate(telegram.accepted_sends(), kill)
    figures = (
        f"{rate:.2f} msg/s over {seconds:.0f} s, {telegram.flood_refusals} x 429; "
        + timeline(telegram.accepted_sends(), kill)
    )
    print(f"replicas: {figures}; {len(twice)} repeated of {len(kill.in_flight)} in flight")
    assert CAP * 0.9 <= rate <= CAP, figures
    assert telegram.flood_refusals <= 5, figures
    # The survivors stop cleanly; the patients were all answered, through the webhook.
    assert [codes[r.index] for r in rig.replicas if r is not kill.replica] == [0, 0], report
    assert len(taps) == PATIENTS
    assert unanswered(telegram, taps) == {}
    assert delivery.pending == 0
    assert delivery.replies == []
    victim_url = rig.webhook_targets([kill.replica])[0]
    after = [a for a in delivery.attempts if a.target == victim_url and a.at > kill.at]
    assert after, "updates were offered to the killed replica after its death"
    assert not any(a.acknowledged for a in after)


def test_sustained_rate_leaves_out_the_ramp_and_the_recovery_tail() -> None:
    def send(chat: int, at: float) -> RecordedRequest:
        return RecordedRequest("sendMessage", {"chat_id": chat}, at, "application/json", 200)

    steady = [send(FIRST_CHAT + i, 100 + i / 10) for i in range(301)]  # 10/s, 100 s to 130 s
    answers = [send(FIRST_PATIENT, 110.05), send(FIRST_PATIENT, 120.05)]
    recovered = send(FIRST_CHAT + 5, 145.0)  # held by the killed replica, sent after its lease
    again = send(FIRST_CHAT + 6, 125.0)  # not held by it: part of the burst
    kill = Kill(replica=None, at=115.0, in_flight=frozenset({FIRST_CHAT + 5}))  # type: ignore[arg-type]
    accepted = sorted([*steady, *answers, recovered, again], key=lambda r: r.at)
    rate, seconds = sustained_rate(accepted, kill)
    assert seconds == pytest.approx(130 - 102)
    # 281 steady sends from 102 s to 130 s, the two answers and the repeat: the tail is out.
    assert rate == pytest.approx((281 + 2 + 1) / 28)
