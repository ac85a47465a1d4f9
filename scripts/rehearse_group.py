"""Rehearse a clinic group on one machine, before going live (docs/deploy.md, "Rehearse it").

Runs what docs/deploy.md sets up for a clinic group: `infusion-companion db upgrade` on a fresh
PostgreSQL database, three `infusion-companion run` replicas in webhook mode sharing it and one
Redis, each with its own web and ops port. A stand-in for Telegram plays Telegram and the
proxy: it answers the Bot API (refusing more than 30 messages a second, as Telegram does) and
delivers patients' messages to the replicas' webhooks in turn. Then 3,000 reminders fall due
at once, 40 patients talk to the bot, one replica is killed with SIGKILL mid-burst, and the
others are stopped as systemd would. It prints what each step showed, with the survivors'
/healthz and /metrics, and exits 0 when every reminder went out once (or twice only for those
the killed replica was sending) and every patient was answered.

    .venv/bin/python scripts/rehearse_group.py

Needs a checkout with the test extras installed (`./scripts/test` does it), PostgreSQL on
TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres; a database is created
and dropped) and Redis on TEST_REDIS_URL (default redis://127.0.0.1:6379/15; its keys under a
prefix of their own, deleted afterwards). Takes about three minutes.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.config import Settings  # noqa: E402
from bot.lazy_aiogram import prepare_aiogram  # noqa: E402

prepare_aiogram(Settings(_env_file=None).lazy_aiogram)

import pytest  # noqa: E402

from tests.fake_telegram.server import FakeTelegramServer  # noqa: E402
from tests.integration.pg import fresh_postgres_database  # noqa: E402
from tests.integration.replica_scenario import (  # noqa: E402
    CAP,
    CLAIM_BOUND,
    KILL_AFTER,
    PATIENTS,
    REMINDERS,
    Burst,
    run_burst,
)
from tests.integration.replicas import STEP_KEY  # noqa: E402
from tests.redis_support import redis_prefix  # noqa: E402

_STARTED = time.monotonic()


def say(line: str) -> None:
    print(f"[{time.monotonic() - _STARTED:6.1f}s] {line}", flush=True)


def verdict(burst: Burst) -> list[tuple[bool, str]]:
    """Each check of the rehearsal, and whether it held."""
    kill = burst.kill
    every = set(burst.reminded) == set(range(min(burst.reminded), min(burst.reminded) + REMINDERS))
    survivors = [i for i in burst.exit_codes if i != kill.replica.index]
    return [
        (
            every and burst.statuses == {"sent": REMINDERS},
            f"reminders delivered: {len(burst.reminded):,} of {REMINDERS:,} chats; "
            f"rows {burst.statuses}",
        ),
        (
            burst.repeated <= kill.in_flight and len(kill.in_flight) <= CLAIM_BOUND,
            f"sent twice: {len(burst.repeated)}, all among the {len(kill.in_flight)} the killed "
            "replica was sending",
        ),
        (
            CAP * 0.9 <= burst.rate <= CAP,
            f"sustained rate: {burst.rate:.1f} messages/s over {burst.seconds:.0f} s "
            f"(Telegram's cap here: {CAP}/s)",
        ),
        (burst.refusals_429 <= 5, f"429 answers from the stand-in Telegram: {burst.refusals_429}"),
        (
            not burst.unanswered and len(burst.taps) == PATIENTS,
            f"patients answered through the webhook: {PATIENTS - len(burst.unanswered)} "
            f"of {PATIENTS}",
        ),
        (
            burst.pending_deliveries == 0 and burst.acknowledged_by_victim_after_death == 0,
            f"updates offered to the dead replica: {burst.offered_to_victim_after_death}, "
            "each taken by another one",
        ),
        (
            all(burst.exit_codes[i] == 0 for i in survivors),
            f"replicas left stopped cleanly: exit codes {[burst.exit_codes[i] for i in survivors]}",
        ),
        (
            all(s.health_status == 200 for s in burst.survivors),
            "/healthz of the replicas left: "
            + ", ".join(str(s.health_status) for s in burst.survivors),
        ),
    ]


def print_metrics(burst: Burst) -> None:
    for survivor in burst.survivors:
        sent = survivor.total("companion_reminders_total", step=STEP_KEY, outcome="sent")
        updates = survivor.total("companion_updates_total")
        crisis_or_error = survivor.total("companion_updates_total", outcome="error")
        say(
            f"  replica {survivor.index} /metrics: "
            f'companion_reminders_total{{step="{STEP_KEY}",outcome="sent"}} {sent:.0f}, '
            f"companion_updates_total {updates:.0f} (outcome=error: {crisis_or_error:.0f}), "
            f"companion_telegram_429_total {survivor.total('companion_telegram_429_total'):.0f}, "
            f"companion_staff_alert_backlog {survivor.total('companion_staff_alert_backlog'):.0f}"
        )


async def rehearse(folder: Path) -> int:
    say("PostgreSQL: a fresh database; Redis: a key prefix of its own")
    async with (
        FakeTelegramServer() as telegram,
        fresh_postgres_database("rehearsal") as url,
        redis_prefix() as prefix,
    ):
        say(f"stand-in Telegram and proxy at {telegram.base_url} (at most {CAP} messages/s)")
        say(
            f"the kill comes after {KILL_AFTER:,} reminders; a replica holds at most "
            f"{CLAIM_BOUND} at a time; "
            f"the logs are JSON files in {folder}"
        )
        burst = await run_burst(telegram, folder, url, prefix, say)
    say("/metrics of the replicas left, read before the stop (the killed one's died with it):")
    print_metrics(burst)
    say(burst.timeline)
    checks = verdict(burst)
    for ok, line in checks:
        say(f"{'ok  ' if ok else 'FAIL'} {line}")
    return 0 if all(ok for ok, _ in checks) else 1


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="rehearsal-") as folder:
        try:
            return asyncio.run(rehearse(Path(folder)))
        except pytest.skip.Exception as exc:  # no PostgreSQL or no Redis answers
            print(f"rehearsal not possible: {exc.msg}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main())
