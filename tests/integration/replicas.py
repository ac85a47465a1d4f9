"""A rig of bot replicas: several `python -m bot run` processes on one database (and one
Redis), pointed at a fake Bot API, and a seeder of due reminders.

Used by tests/integration/test_replicas.py and bench/replicas.py::

    url = ...  # a fresh PostgreSQL database (tests/integration/pg.py)
    await migrate(url)
    chats = await seed_due_reminders(url, 3_000, first_chat=FIRST_CHAT)
    async with ReplicaRig(api_url, token, url, tmp_path, redis_url=...) as rig:
        replicas = await rig.start(3)
        ...  # rig.webhook_targets() for the fake's webhook delivery
        await rig.kill(replicas[1])
        codes = await rig.stop()

Each replica gets its own web port (the webhook) and ops port, logs as JSON into a file of its
own (read with :meth:`Replica.log_tail`), and starts in a folder without a `.env`, so only the
environment given here configures it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bot.db.connection import create_engine
from bot.db.models import Appointment, Patient, Reminder

ROOT = Path(__file__).resolve().parents[2]
ZONE = "America/New_York"
WEBHOOK_PATH = "/telegram/webhook"
WEBHOOK_SECRET = "replica-rig-secret"
STEP_KEY = "playlist"
"""The plan step of the seeded reminders (3 days before: a playlist and headphones)."""

# Settings the rig sets itself (or deliberately leaves unset): never inherited.
_OWN_SETTINGS = (
    "BOT_TOKEN",
    "TELEGRAM_API_URL",
    "DATABASE_URL",
    "REDIS_URL",
    "WEBHOOK_URL",
    "WEBHOOK_SECRET",
    "WEB_HOST",
    "WEB_PORT",
    "WEBHOOK_PATH",
    "OPS_HOST",
    "OPS_PORT",
    "CLINIC_TIMEZONE",
    "STAFF_IDS",
    "LOG_FORMAT",
    "LOG_LEVEL",
    "MESSAGES_DIR",
)


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS's choice)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a live process has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- the database


async def migrate(database_url: str) -> None:
    """`infusion-companion db upgrade` (as `python -m bot`), once, before replicas start."""
    env = {k: v for k, v in os.environ.items() if k not in _OWN_SETTINGS}
    env.update(DATABASE_URL=database_url, PYTHONPATH=str(ROOT), LOG_LEVEL="WARNING")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "db",
        "upgrade",
        env=env,
        cwd=ROOT / "tests",  # no .env there
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    if process.returncode != 0:
        msg = f"db upgrade failed ({process.returncode}): {output.decode()[-2000:]}"
        raise RuntimeError(msg)


async def seed_due_reminders(
    database_url: str,
    count: int,
    *,
    first_chat: int,
    now: datetime | None = None,
    due_at: datetime | None = None,
    chunk: int = 5_000,
) -> range:
    """`count` consented patients (chat ids from `first_chat`), each with one visit in three
    days whose `playlist` reminder is due at `due_at` (default: a second ago); written with
    bulk Core inserts (one executemany per table and chunk, ids given back by RETURNING), not
    one ORM object per row, in one transaction. Returns the patients' chat ids."""
    now = now or datetime.now(UTC)
    due_at = due_at or now - timedelta(seconds=1)
    chats = range(first_chat, first_chat + count)
    patients = Patient.__table__
    appointments = Appointment.__table__
    reminders = Reminder.__table__
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            for start in range(0, count, chunk):
                part = chats[start : start + chunk]
                patient_ids = await _insert(
                    conn,
                    patients,
                    [
                        {
                            "telegram_id": chat,
                            "chat_id": chat,
                            "language": "en",
                            "timezone": ZONE,
                            "consented_at": now,
                            "reachable": True,
                            "reminders_paused": False,
                            "created_at": now,
                        }
                        for chat in part
                    ],
                )
                appointment_ids = await _insert(
                    conn,
                    appointments,
                    [
                        {
                            "patient_id": patient_id,
                            "starts_at": now + timedelta(days=3),
                            "timezone": ZONE,
                            "status": "scheduled",
                            "attendance": None,
                            "created_at": now,
                            "updated_at": now,
                        }
                        for patient_id in patient_ids
                    ],
                )
                await _insert(
                    conn,
                    reminders,
                    [
                        {
                            "appointment_id": appointment_id,
                            "step_key": STEP_KEY,
                            "due_at": due_at,
                            "expires_at": now + timedelta(days=1),
                            "status": "pending",
                            "attempts": 0,
                            "updated_at": now,
                        }
                        for appointment_id in appointment_ids
                    ],
                )
    finally:
        await engine.dispose()
    return chats


async def _insert(conn: Any, table: Any, rows: list[dict[str, Any]]) -> list[int]:
    statement = sa.insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return list((await conn.execute(statement, rows)).scalars())


async def reminder_statuses(database_url: str) -> dict[str, int]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                sa.select(Reminder.status, sa.func.count()).group_by(Reminder.status)
            )
            return {str(status): int(n) for status, n in rows}
    finally:
        await engine.dispose()


async def leased_rows(database_url: str, pid: int) -> list[int]:
    """The chat ids of the reminder rows the engine of process `pid` holds (`sending`, its
    lease): claimed and not yet written back as sent. After that process died, these are
    the rows it had in flight, the only ones another replica may send a second time."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                sa.select(Patient.chat_id)
                .join(Appointment, Appointment.patient_id == Patient.id)
                .join(Reminder, Reminder.appointment_id == Appointment.id)
                .where(
                    Reminder.status == "sending",
                    Reminder.lease_owner.like(f"engine-{pid}-%"),
                )
            )
            return [int(chat) for chat in rows.scalars()]
    finally:
        await engine.dispose()


# --------------------------------------------------------------------------- the replicas


@dataclass(frozen=True)
class Launch:
    """What a replica is started with, given its index and ports (see ReplicaRig)."""

    index: int
    web_port: int
    ops_port: int
    webhook_url: str
    webhook_secret: str


Launcher = Callable[[Launch], tuple[list[str], dict[str, str]]]
"""A replica's command line and its whole environment."""


@dataclass
class Replica:
    index: int
    process: asyncio.subprocess.Process
    web_port: int
    ops_port: int
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.pid)

    def log_tail(self, chars: int = 3_000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


class ReplicaRig:
    """Starts, kills and stops bot replicas (see the module's doc).

    ``webhook``: each replica serves the webhook on a port of its own and registers
    ``WEBHOOK_URL``, one URL for all of them as behind a load balancer (the fake Bot API plays
    the balancer: it POSTs to :meth:`webhook_targets`); otherwise they long-poll. ``settings``:
    more environment (SEND_RATE, REMINDER_BATCH, ...), as strings. ``launcher``: the command
    and environment of each replica instead of the checkout's ``python -m bot run`` with the
    rig's environment (the rehearsal starts the installed package as its unit does)."""

    def __init__(
        self,
        api_url: str,
        token: str,
        database_url: str,
        folder: Path,
        *,
        redis_url: str | None = None,
        webhook: bool = True,
        settings: Mapping[str, str] | None = None,
        ready_timeout: float = 90.0,
        launcher: Launcher | None = None,
    ) -> None:
        self.api_url = api_url
        self.token = token
        self.database_url = database_url
        self.folder = folder
        self.redis_url = redis_url
        self.webhook = webhook
        self.settings = dict(settings or {})
        self.ready_timeout = ready_timeout
        self.launcher = launcher
        self.replicas: list[Replica] = []
        self.webhook_url = f"http://127.0.0.1:{free_port()}{WEBHOOK_PATH}"
        """What every replica registers with setWebhook (the balancer's address)."""

    async def __aenter__(self) -> ReplicaRig:
        self.folder.mkdir(parents=True, exist_ok=True)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for replica in self.replicas:
            if replica.alive:
                with contextlib.suppress(ProcessLookupError):
                    replica.process.kill()
                await replica.process.wait()

    def environment(self, web_port: int, ops_port: int) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _OWN_SETTINGS}
        env.update(
            PYTHONPATH=str(ROOT),
            BOT_TOKEN=self.token,
            TELEGRAM_API_URL=self.api_url,
            DATABASE_URL=self.database_url,
            CLINIC_TIMEZONE=ZONE,
            LOG_FORMAT="json",
            LOG_LEVEL="INFO",
            OPS_HOST="127.0.0.1",
            OPS_PORT=str(ops_port),
            POLLING_TIMEOUT="1",
            SEND_CHAT_INTERVAL="0",
            HOUSEKEEPING_SECONDS="1",
        )
        if self.redis_url is not None:
            env["REDIS_URL"] = self.redis_url
        if self.webhook:
            env.update(
                WEBHOOK_URL=self.webhook_url,
                WEBHOOK_SECRET=WEBHOOK_SECRET,
                WEB_HOST="127.0.0.1",
                WEB_PORT=str(web_port),
                WEBHOOK_PATH=WEBHOOK_PATH,
            )
        env.update(self.settings)
        return env

    async def start(self, count: int) -> list[Replica]:
        """Start `count` more replicas at once; return them once each is ready."""
        started = [await self._spawn(len(self.replicas)) for _ in range(count)]
        await asyncio.gather(*(self._wait_ready(r) for r in started))
        return started

    async def _spawn(self, index: int) -> Replica:
        web_port, ops_port = free_port(), free_port()
        log_path = self.folder / f"replica-{index}.log"
        if self.launcher is None:
            argv = [sys.executable, "-m", "bot", "run"]
            env = self.environment(web_port, ops_port)
        else:
            launch = Launch(index, web_port, ops_port, self.webhook_url, WEBHOOK_SECRET)
            argv, env = self.launcher(launch)
        with log_path.open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                *argv,
                cwd=self.folder,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        replica = Replica(index, process, web_port, ops_port, log_path)
        self.replicas.append(replica)
        return replica

    async def _wait_ready(self, replica: Replica) -> None:
        """Ready: its webhook port accepts connections (webhook mode), or it has logged that
        it polls (polling mode)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.ready_timeout
        while not await self._ready(replica):
            if not replica.alive:
                msg = (
                    f"replica {replica.index} exited with {replica.process.returncode} before "
                    f"it was ready:\n{replica.log_tail()}"
                )
                raise RuntimeError(msg)
            if loop.time() > deadline:
                msg = (
                    f"replica {replica.index} not ready after {self.ready_timeout:.0f}s:\n"
                    f"{replica.log_tail()}"
                )
                raise RuntimeError(msg)
            await asyncio.sleep(0.1)

    async def _ready(self, replica: Replica) -> bool:
        if not self.webhook:
            return "Run polling" in replica.log_tail(50_000)
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", replica.web_port)
        except OSError:
            return False
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True

    def webhook_targets(self, replicas: Sequence[Replica] | None = None) -> list[str]:
        """Each replica's own webhook URL (what the balancer forwards to)."""
        chosen = self.replicas if replicas is None else replicas
        return [f"http://127.0.0.1:{r.web_port}{WEBHOOK_PATH}" for r in chosen]

    def alive(self) -> list[Replica]:
        return [r for r in self.replicas if r.alive]

    async def kill(self, replica: Replica) -> None:
        """SIGKILL: no shutdown, leases and connections left as they are."""
        replica.process.send_signal(signal.SIGKILL)
        await replica.process.wait()

    async def stop(self, timeout: float = 60.0) -> dict[int, int | None]:
        """SIGTERM to every live replica; their exit codes (None: still running after
        `timeout`, then killed) by index."""
        running = self.alive()
        for replica in running:
            replica.process.send_signal(signal.SIGTERM)
        codes: dict[int, int | None] = {}
        for replica in running:
            try:
                codes[replica.index] = await asyncio.wait_for(replica.process.wait(), timeout)
            except TimeoutError:
                replica.process.kill()
                await replica.process.wait()
                codes[replica.index] = None
        return codes
