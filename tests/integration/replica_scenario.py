"""The clinic-group scenario of issue 11, shared by its test (tests/integration/
test_replicas.py, which asserts on the outcome) and its rehearsal (scripts/rehearse_group.py,
which prints it): three bot processes on one PostgreSQL and one Redis, 1,000 reminders due at
once, a fake Bot API that answers 429 above 30 messages a second, one replica SIGKILLed
mid-burst while the three answer patients through the webhook; then the survivors' /healthz
and /metrics, and a clean stop.

The replicas run with the settings' defaults for everything that shapes the burst: SEND_RATE
(28, shared through Redis by reminders and answers alike; an answer takes its slot ahead of
the reminders, bot/delivery/shared_rate.py), the claim (what a replica sends in the next
2 s, scheduler/engine.py) and the lease (10 s, renewed while a claim is sent). 28, not the
cap: slots are 1/28 s apart in Redis's clock, but each message then crosses a process, an
event loop and HTTP on a loaded 2-core machine, and arrives a little early or late; at exactly
30 a second that jitter puts a 31st message into some second again and again (98 x 429
measured, each pausing every replica for a second).

About a minute: 1,000 reminders are 36 s at this rate, long enough for the kill, the lease
running out and 20 patients talking before and after it.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bot.config import BUNDLED_MESSAGES_DIR, Settings
from bot.content.store import Content
from scheduler.engine import CLAIM_SECONDS
from scheduler.plan import Preparation
from tests.fake_telegram import updates as u
from tests.fake_telegram.server import FakeTelegramServer, RecordedRequest
from tests.integration.replicas import (
    Launcher,
    Replica,
    ReplicaRig,
    leased_rows,
    migrate,
    reminder_statuses,
    seed_due_reminders,
)
from tests.redis_support import REDIS_URL

REMINDERS = 1_000
FIRST_CHAT = 600_000
CAP = 30
SEND_RATE = Settings.model_fields["send_rate"].default
"""Reminders and answers together, shared by the replicas: the default (see the module's doc
for why not 30)."""
LEASE = Settings.model_fields["reminder_lease_seconds"].default
CLAIM_BOUND = math.ceil(SEND_RATE * CLAIM_SECONDS)
"""The most reminder rows a replica holds at once: a claim is what the whole rate sends in
CLAIM_SECONDS (a replica's first claim; later ones its own share of it). A kill repeats at
most these, and delays at most these by a lease."""
RECOVERY_SECONDS = LEASE + 5
"""How long after the kill the killed replica's rows may wait: their lease (renewed until
the kill), a survivor's next wake-up, and its queue at the shared rate."""
KILL_AFTER = 300
"""Reminders accepted before one replica is killed."""
RAMP_SECONDS = 2.0
PATIENTS = 20
FIRST_PATIENT = 900_000
PATIENT_GAP = 1.0
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
        r.at for r in reminders if not (r.at > kill.at and r.params["chat_id"] in kill.in_flight)
    )
    count = sum(1 for r in accepted if start <= r.at <= end)
    return count / (end - start), end - start


def recovery_seconds(accepted: Sequence[RecordedRequest], kill: Kill) -> float:
    """Seconds from the kill until the last of the killed replica's rows went out (sent by a
    survivor once their lease ran out); 0 when it held none."""
    after = [
        r.at - kill.at
        for r in accepted
        if is_reminder(r) and r.at > kill.at and r.params["chat_id"] in kill.in_flight
    ]
    return max(after, default=0.0)


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
            # A patient without a visit: no clinic values (bot/services/reminders.py).
            "answer": content.render(entry.template, "en", preparation=Preparation()) in texts,
            "tap": tap in acknowledged,
        }
        gaps = [name for name, ok in wanted.items() if not ok]
        if gaps:
            missing[patient] = gaps
    return missing


@dataclass
class Survivor:
    """What a replica still running after the burst says about itself."""

    index: int
    health_status: int
    health: dict[str, object]
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]
    """Every sample of its /metrics: (name, sorted labels) -> value."""

    def total(self, name: str, **labels: str) -> float:
        """The sum of `name`'s samples whose labels include `labels`."""
        return sum(
            value
            for (sample, sample_labels), value in self.samples.items()
            if sample == name and set(labels.items()) <= set(sample_labels)
        )


@dataclass
class Burst:
    """Everything the scenario observed; the test asserts on it, the rehearsal prints it."""

    kill: Kill
    reminded: Counter[int]
    statuses: dict[str, int]
    rate: float
    seconds: float
    recovery_seconds: float
    """From the kill to the last of the killed replica's rows sent by a survivor."""
    refusals_429: int
    timeline: str
    taps: dict[int, str]
    unanswered: dict[int, list[str]]
    survivors: list[Survivor]
    exit_codes: dict[int, int | None]
    pending_deliveries: int
    webhook_replies: list[object]
    offered_to_victim_after_death: int
    acknowledged_by_victim_after_death: int
    logs: dict[int, str]

    @property
    def repeated(self) -> set[int]:
        return {chat for chat, n in self.reminded.items() if n > 1}


async def scrape(replica: Replica) -> Survivor:
    """/healthz and /metrics of a live replica (its OPS_PORT)."""
    base = f"http://127.0.0.1:{replica.ops_port}"
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        async with http.get(f"{base}/healthz") as response:
            status, health = response.status, await response.json()
        async with http.get(f"{base}/metrics") as response:
            text = await response.text()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    return Survivor(replica.index, status, health, samples)


async def run_burst(
    telegram: FakeTelegramServer,
    folder: Path,
    database_url: str,
    key_prefix: str,
    say: Callable[[str], None] = lambda line: None,
    *,
    upgrade: Callable[[str], Awaitable[None]] = migrate,
    launcher: Launcher | None = None,
) -> Burst:
    """The scenario on a fresh, empty PostgreSQL database and a Redis key prefix of its own;
    `say` hears each step as it happens. By default the checkout's code migrates and runs
    the replicas; `upgrade` (given the database URL) and `launcher` replace them (the
    rehearsal runs the installed package with its env files)."""
    telegram.rate_limit = CAP
    patients = [FIRST_PATIENT + i for i in range(PATIENTS)]
    say("infusion-companion db upgrade")
    await upgrade(database_url)
    say(f"{REMINDERS:,} patients, each with a visit whose first reminder is due now")
    await seed_due_reminders(database_url, REMINDERS, first_chat=FIRST_CHAT)
    settings = {"REDIS_PREFIX": key_prefix, "SHUTDOWN_GRACE_SECONDS": "10"}
    rig = ReplicaRig(
        telegram.base_url,
        telegram.token,
        database_url,
        folder,
        redis_url=REDIS_URL,
        settings=settings,
        launcher=launcher,
    )
    async with rig:
        say("three replicas: infusion-companion run, in webhook mode, on PostgreSQL and Redis")
        await rig.start(3)
        delivery = await telegram.deliver_webhooks(rig.webhook_targets())
        say(f"{PATIENTS // 2} patients start talking to the bot through the webhook")
        taps = await talk(telegram, patients[: PATIENTS // 2])
        await wait_for_accepted(telegram, KILL_AFTER, timeout=120)
        kill = await kill_one_mid_batch(rig, database_url)
        say(
            f"kill -9 of replica {kill.replica.index} while it holds "
            f"{len(kill.in_flight)} reminders"
        )
        say(f"{PATIENTS - PATIENTS // 2} more patients talk to the two that are left")
        taps |= await talk(telegram, patients[PATIENTS // 2 :])
        await wait_until_reminded(telegram, REMINDERS, timeout=240)
        await telegram.wait_delivered(timeout=60)
        survivors = [await scrape(r) for r in rig.alive()]
        say("systemctl stop: SIGTERM to the replicas left")
        codes = await rig.stop()
        logs = {r.index: r.log_tail() for r in rig.replicas}
    statuses = await reminder_statuses(database_url)
    accepted = telegram.accepted_sends()
    rate, seconds = sustained_rate(accepted, kill)
    victim_url = rig.webhook_targets([kill.replica])[0]
    after = [a for a in delivery.attempts if a.target == victim_url and a.at > kill.at]
    return Burst(
        kill=kill,
        reminded=Counter(r.params["chat_id"] for r in reminders_accepted(telegram)),
        statuses=statuses,
        rate=rate,
        seconds=seconds,
        recovery_seconds=recovery_seconds(accepted, kill),
        refusals_429=telegram.flood_refusals,
        timeline=timeline(accepted, kill),
        taps=taps,
        unanswered=unanswered(telegram, taps),
        survivors=survivors,
        exit_codes=codes,
        pending_deliveries=delivery.pending,
        webhook_replies=list(delivery.replies),
        offered_to_victim_after_death=len(after),
        acknowledged_by_victim_after_death=sum(1 for a in after if a.acknowledged),
        logs=logs,
    )
