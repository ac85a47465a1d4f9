"""Acceptance trial of the reminder engine, as a clinic would try it (takes about 5 minutes).

A plan whose steps are a minute apart, an appointment a few minutes ahead, the real bot process
against a local fake Bot API server; the bot is killed with SIGKILL a few seconds after the
first reminder and started again. Prints what arrived and when, and whether every step came
once and in order.

    .venv/bin/python scripts/trial_kill9.py
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ZONE = "America/New_York"
KILL_AFTER = 5.0
"""Seconds after the first reminder reached the server that the bot is killed."""
sys.path.insert(0, str(ROOT))

from bot.db.connection import create_engine, create_session_factory  # noqa: E402
from bot.db.migrate import upgrade  # noqa: E402
from bot.db.patients import Repository  # noqa: E402
from bot.services.reminders import ReminderPlanner  # noqa: E402
from foundation.clock import SystemClock  # noqa: E402
from scheduler.plan_loading import load_plan  # noqa: E402
from tests.fake_telegram.server import FakeTelegramServer  # noqa: E402

CHAT = 777
PLAN = """
checklist = ["playlist", "ride", "eye_mask", "relaxation"]
snooze = "5m"
[[step]]
key = "playlist"
at = "-3m"
template = "reminders/playlist"
items = ["playlist"]
buttons = ["done", "snooze"]
expires = "0"
[[step]]
key = "ride"
at = "-2m"
template = "reminders/ride"
items = ["ride"]
buttons = ["done", "attend"]
expires = "0"
[[step]]
key = "evening_before"
at = "-1m"
template = "reminders/evening_before"
items = ["eye_mask"]
buttons = ["done"]
expires = "0"
[[step]]
key = "follow_up"
at = "+1m"
template = "reminders/follow_up"
expires = "+30m"
"""
ORDER = ["Your visit is coming up</b> 🎧", "Your visit is coming up</b> 🚗", "tomorrow", "feeling"]


async def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="trial-"))
    messages = work / "messages"
    shutil.copytree(ROOT / "messages", messages)
    (messages / "plans" / "infusion.toml").write_text(PLAN)
    url = f"sqlite+aiosqlite:///{work / 'trial.db'}"
    start = (datetime.now(UTC) + timedelta(minutes=3, seconds=20)).replace(microsecond=0)

    engine = create_engine(url)
    await upgrade(engine)
    async with create_session_factory(engine)() as session, session.begin():
        now = datetime.now(UTC)
        repo = Repository(session)
        patient = await repo.add_patient(
            telegram_id=CHAT, chat_id=CHAT, language="en", timezone=ZONE, now=now
        )
        patient.consented_at = now
        appointment = await repo.add_appointment(
            patient_id=patient.id, starts_at=start, timezone=ZONE, now=now
        )
        plan = load_plan(messages / "plans" / "infusion.toml")
        await ReminderPlanner(repo, plan, SystemClock()).plan_for(appointment)
    await engine.dispose()

    async with FakeTelegramServer() as server:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "BOT_TOKEN": server.token,
            "TELEGRAM_API_URL": server.base_url,
            "DATABASE_URL": url,
            "MESSAGES_DIR": str(messages),
            "REMINDER_LEASE_SECONDS": "5",
            "POLLING_TIMEOUT": "1",
            "LOG_LEVEL": "WARNING",
        }

        def delivered() -> list[tuple[float, str]]:
            return [
                (r.at, r.params["text"])
                for r in server.calls("sendMessage")
                if r.response_status == 200 and r.params.get("chat_id") == CHAT
            ]

        async def launch() -> asyncio.subprocess.Process:
            return await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", cwd=work, env=env
            )

        t0 = time.monotonic()
        print(f"appointment at {start:%H:%M:%S} UTC; steps at -3m, -2m, -1m, +1m")
        bot = await launch()
        ours = lambda r: r.response_status == 200 and r.params.get("chat_id") == CHAT  # noqa: E731
        await server.wait_for("sendMessage", ours, timeout=300)
        print(f"{time.monotonic() - t0:6.1f}s first reminder arrived")
        # Killed while the bot waits for the next step, as an operator would pull the plug. A
        # kill in the milliseconds between Telegram's answer and the bot's record of it sends
        # that one message again after the restart: tests/integration/test_crash_recovery.py
        # kills mid-burst and checks that only such in-flight rows are ever repeated.
        await asyncio.sleep(KILL_AFTER)
        print(f"{time.monotonic() - t0:6.1f}s kill -9")
        bot.send_signal(signal.SIGKILL)
        await bot.wait()
        await asyncio.sleep(20)
        print(f"{time.monotonic() - t0:6.1f}s restarting")
        bot = await launch()
        remaining = (start + timedelta(minutes=1, seconds=30) - datetime.now(UTC)).total_seconds()
        with contextlib.suppress(AssertionError):  # a shortfall is reported below
            await server.wait_for("sendMessage", ours, count=4, timeout=max(remaining, 1))
        bot.send_signal(signal.SIGTERM)
        code = await bot.wait()

        texts = delivered()
        for at, text in texts:
            print(f"{at - t0:6.1f}s  {text.splitlines()[0][:60]}")
        positions = [next(i for i, key in enumerate(ORDER) if key in t) for _, t in texts]
        ok = positions == sorted(positions) == list(range(4))
        print(f"delivered {len(texts)} of 4, in order and once each: {ok}; exit code {code}")


if __name__ == "__main__":
    asyncio.run(main())
