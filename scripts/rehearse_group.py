"""Rehearse a clinic group on one machine, before going live (docs/deploy.md, "Rehearse it").

Does what docs/deploy.md sets up for a clinic group, with the package as an operator installs
it: builds the wheel, installs it with its `postgres` and `redis` extras into a virtual
environment of its own (the guide's /opt/infusion-companion/venv), writes the env files as the
guide writes them (its ```ini blocks, line for line, with this machine's database, Redis,
stand-in Telegram and free ports put in), and starts three replicas as the unit
deploy/systemd/infusion-companion@.service does: its ExecStart, with the environment of its
EnvironmentFile= lines read as systemd reads them. A stand-in plays Telegram and the proxy: it
answers the Bot API (refusing more than 30 messages a second, as Telegram does) and delivers
patients' messages to the replicas' webhooks in turn. Then 1,000 reminders fall due at once,
20 patients talk to the bot, one replica is killed with SIGKILL mid-burst, and the others are
stopped as systemd would. It prints what each step showed, with the survivors' /healthz and
/metrics, and exits 0 when every reminder went out once (twice only for those the killed
replica was sending), the killed replica's reminders went out within seconds, and every
patient was answered.

    .venv/bin/python scripts/rehearse_group.py [--dir DIR]

Everything stays in DIR (default: a new folder under the system's temporary folder, printed
at the start and the end): the wheel, the virtual environment, the env files, and each
replica's log (what the journal would hold). Needs a checkout with the test extras installed
(`./scripts/test` does it), PostgreSQL on TEST_POSTGRES_URL (default
postgresql://postgres@127.0.0.1:5432/postgres; a database is created and dropped) and Redis on
TEST_REDIS_URL (default redis://127.0.0.1:6379/0; its keys under a prefix of their own,
deleted afterwards). Takes about three minutes, half of them installing.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import secrets
import shlex
import subprocess
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

from tests.deploy_files import guide_env_blocks, parse_environment_file, read_service  # noqa: E402
from tests.fake_telegram.server import FakeTelegramServer  # noqa: E402
from tests.integration.pg import fresh_postgres_database  # noqa: E402
from tests.integration.replica_scenario import (  # noqa: E402
    CAP,
    CLAIM_BOUND,
    KILL_AFTER,
    PATIENTS,
    RECOVERY_SECONDS,
    REMINDERS,
    SEND_RATE,
    Burst,
    run_burst,
)
from tests.integration.replicas import STEP_KEY, Launch, free_port  # noqa: E402
from tests.redis_support import REDIS_URL, redis_prefix  # noqa: E402

UNIT = "infusion-companion@.service"
ADMIN = 5_550_001
"""The clinic's admin (STAFF_IDS) at the stand-in Telegram."""
VENV = "/opt/infusion-companion/venv"
SETTINGS_DIR = "/etc/infusion-companion"
# What a system service starts with besides its env files (systemd.exec(5), "Environment").
SERVICE_ENVIRONMENT = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}

_STARTED = time.monotonic()


def say(line: str) -> None:
    print(f"[{time.monotonic() - _STARTED:6.1f}s] {line}", flush=True)


def install(folder: Path) -> Path:
    """The wheel of this checkout, installed with its extras into `folder`/venv, as step 2
    of the guide does; the venv's folder."""
    dist, venv = folder / "dist", folder / "venv"
    say(f"pip wheel --no-deps . (into {dist})")
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), str(ROOT)])
    [wheel] = dist.glob("infusion_companion-*.whl")
    say(f"python3 -m venv {venv}; pip install '{wheel.name}[postgres,redis]'")
    run([sys.executable, "-m", "venv", str(venv)])
    run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            f"{wheel}[postgres,redis]",
        ]
    )
    return venv


def run(argv: list[str], env: dict[str, str] | None = None) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise SystemExit(f"{shlex.join(argv)} failed:\n{result.stdout}{result.stderr}")


def write_env_file(path: Path, block: str, values: dict[str, str]) -> None:
    """The guide's block with `values` put in place of what it shows for those settings
    (its placeholders, its example addresses); the settings the block does not name are
    added at its end, under a comment of their own. Mode 0640, as the guide says."""
    lines, done = [], set()
    for line in block.splitlines():
        name = line.split("=", 1)[0].strip()
        if "=" in line and not line.lstrip().startswith("#") and name in values:
            line = f"{name}={values[name]}"
            done.add(name)
        lines.append(line)
    extra = [f"{name}={value}" for name, value in values.items() if name not in done]
    if extra:
        lines += ["# The rehearsal's own: its stand-in Telegram and Redis key prefix.", *extra]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o640)


def as_the_unit_does(venv: Path, settings_dir: Path) -> tuple[list[str], list[Path]]:
    """The unit's ExecStart and EnvironmentFile paths, moved into the rehearsal's folder."""
    service = read_service(UNIT)

    def moved(path: str) -> str:
        return path.replace(VENV, str(venv)).replace(SETTINGS_DIR, str(settings_dir))

    return (
        shlex.split(moved(service.exec_start)),
        [Path(moved(p)) for p in service.environment_files],
    )


class Group:
    """The env files and replicas of the guide's clinic group, in the rehearsal's folder."""

    def __init__(self, folder: Path, venv: Path, telegram: FakeTelegramServer, prefix: str):
        self.venv = venv
        self.settings_dir = folder / "etc"
        self.settings_dir.mkdir(mode=0o750, exist_ok=True)
        self.telegram = telegram
        self.prefix = prefix
        shared, self.replica_block = guide_env_blocks("A clinic group")
        self.shared_block = shared

    def write_shared(self, database_url: str) -> Path:
        """The shared env file. WEBHOOK_URL is the stand-in proxy's (http on loopback, which
        the settings allow there), the secret a new one: the stand-in learns both from
        setWebhook, as Telegram does."""
        path = self.settings_dir / "env"
        write_env_file(
            path,
            self.shared_block,
            {
                "BOT_TOKEN": self.telegram.token,
                "DATABASE_URL": database_url,
                "REDIS_URL": REDIS_URL,
                "WEBHOOK_URL": f"http://127.0.0.1:{free_port()}/telegram/webhook",
                "WEBHOOK_SECRET": secrets.token_urlsafe(30),
                "STAFF_IDS": str(ADMIN),
                "TELEGRAM_API_URL": self.telegram.base_url,
                "REDIS_PREFIX": self.prefix,
            },
        )
        return path

    def environment(self, files: list[Path]) -> dict[str, str]:
        env = dict(SERVICE_ENVIRONMENT)
        for path in files:
            env.update(parse_environment_file(path.read_text(encoding="utf-8")))
        return env

    async def upgrade(self, database_url: str) -> None:
        """`infusion-companion db upgrade` of the installed package, with the shared env
        file: the database is migrated before the rehearsal writes its reminders."""
        env = self.environment([self.settings_dir / "env"]) | {"DATABASE_URL": database_url}
        binary = str(self.venv / "bin" / "infusion-companion")
        process = await asyncio.create_subprocess_exec(
            binary, "db", "upgrade", env=env, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        output, _ = await process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"db upgrade failed ({process.returncode}): {output.decode()}")

    def launch(self, launch: Launch) -> tuple[list[str], dict[str, str]]:
        """Replica `launch.index`, the unit's instance `launch.index + 1`: its env file as the
        guide writes it (its own ports), then the unit's command with the unit's env files
        (the shared one holds the webhook's address and secret; the rig's are not used)."""
        number = launch.index + 1
        write_env_file(
            self.settings_dir / f"replica-{number}.env",
            self.replica_block,
            {"WEB_PORT": str(launch.web_port), "OPS_PORT": str(launch.ops_port)},
        )
        argv, files = as_the_unit_does(self.venv, self.settings_dir)
        files = [Path(str(p).replace("%i", str(number))) for p in files]
        return argv, self.environment(files)


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
            f"replica was sending (a replica holds at most {CLAIM_BOUND})",
        ),
        (
            burst.recovery_seconds <= RECOVERY_SECONDS,
            f"the killed replica's reminders went out {burst.recovery_seconds:.1f} s after "
            f"the kill (at most {RECOVERY_SECONDS:.0f} s: a lease and a wake-up)",
        ),
        (
            CAP * 0.9 <= burst.rate <= CAP,
            f"sustained rate: {burst.rate:.1f} messages/s over {burst.seconds:.0f} s "
            f"(SEND_RATE {SEND_RATE:g}; Telegram's cap here: {CAP}/s)",
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
        errors = survivor.total("companion_updates_total", outcome="error")
        say(
            f"  replica {survivor.index} /metrics: "
            f'companion_reminders_total{{step="{STEP_KEY}",outcome="sent"}} {sent:.0f}, '
            f"companion_updates_total {updates:.0f} (outcome=error: {errors:.0f}), "
            f"companion_telegram_429_total {survivor.total('companion_telegram_429_total'):.0f}, "
            f"companion_staff_alert_backlog {survivor.total('companion_staff_alert_backlog'):.0f}"
        )


def warnings_in_logs(folder: Path) -> list[str]:
    """Lines at WARNING or above in the replicas' logs (JSON lines), and anything else they
    wrote that is not a JSON log line (a traceback)."""
    found = []
    for log in sorted(folder.glob("replica-*.log")):
        for line in log.read_text(errors="replace").splitlines():
            if not line.startswith("{") or re.search(r'"level": "(WARNING|ERROR|CRITICAL)"', line):
                found.append(f"{log.name}: {line[:200]}")
    return found


async def rehearse(folder: Path) -> int:
    venv = install(folder)
    say("PostgreSQL: a fresh database; Redis: a key prefix of its own")
    async with (
        FakeTelegramServer() as telegram,
        fresh_postgres_database("rehearsal") as url,
        redis_prefix() as prefix,
    ):
        group = Group(folder, venv, telegram, prefix)
        say(f"stand-in Telegram and proxy at {telegram.base_url} (at most {CAP} messages/s)")
        replicas = folder / "replicas"

        path = group.write_shared(url)
        say(f"{path}: the guide's shared settings, with this machine's services put in")
        say(
            f"the kill comes after {KILL_AFTER:,} reminders; a replica holds at most "
            f"{CLAIM_BOUND} at a time; each replica's log (JSON lines) is in {replicas}"
        )
        burst = await run_burst(
            telegram, replicas, url, prefix, say, upgrade=group.upgrade, launcher=group.launch
        )
    say("/metrics of the replicas left, read before the stop (the killed one's died with it):")
    print_metrics(burst)
    say(burst.timeline)
    checks = verdict(burst)
    for ok, line in checks:
        say(f"{'ok  ' if ok else 'FAIL'} {line}")
    noted = warnings_in_logs(replicas)
    say(f"warnings and errors in the replicas' logs: {len(noted)}")
    for line in noted[:20]:
        say(f"  {line}")
    return 0 if all(ok for ok, _ in checks) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, help="where to keep everything (a new folder)")
    args = parser.parse_args()
    folder = args.dir or Path(tempfile.mkdtemp(prefix="rehearsal-"))
    folder.mkdir(parents=True, exist_ok=True)
    say(f"the rehearsal's folder, kept afterwards: {folder}")
    try:
        return asyncio.run(rehearse(folder))
    except pytest.skip.Exception as exc:  # no PostgreSQL or no Redis answers
        print(f"rehearsal not possible: {exc.msg}", file=sys.stderr)
        return 2
    finally:
        say(f"logs, env files and the installed package are in {folder}")


if __name__ == "__main__":
    sys.exit(main())
