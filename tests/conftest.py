"""Shared fixtures: a fake Bot API server and the real application wired to it.

The database: every test that builds the application's database (through the harness, or
`tests.integration.pg.app_database`) gets a SQLite file of its own by default. With
``TEST_DATABASE=postgres`` each gets a fresh PostgreSQL database instead (a copy of one
migrated template per session, on TEST_POSTGRES_URL, default
``postgresql://postgres@127.0.0.1:5432/postgres``), dropped after the test:

    TEST_DATABASE=postgres .venv/bin/python -m pytest -q

The run stops at once when that server does not answer. Tests about SQLite itself (its
pragmas, the inline driver) carry ``@pytest.mark.sqlite_only("why")`` and are skipped in that
run, with the reason.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.lazy_aiogram import prepare_aiogram

# First, so aiogram is imported the way the entry point (bot.cli.main) imports it; the suite
# runs with LAZY_AIOGRAM=false too.
prepare_aiogram(Settings(_env_file=None).lazy_aiogram)

from tests.fake_telegram.server import FakeTelegramServer  # noqa: E402
from tests.integration import pg  # noqa: E402
from tests.integration.harness import Harness, start_harness  # noqa: E402

# Monday 23 November 2026, 10:00 in New York.
DEFAULT_NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def pytest_sessionstart(session: pytest.Session) -> None:
    if pg.ON_POSTGRES:
        why_not = asyncio.run(pg.postgres_answers())
        if why_not is not None:
            pytest.exit(f"TEST_DATABASE=postgres, but {why_not}", returncode=2)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not pg.ON_POSTGRES:
        return
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None:
            why = marker.args[0] if marker.args else "about SQLite itself"
            item.add_marker(pytest.mark.skip(reason=f"SQLite only ({why}); TEST_DATABASE=postgres"))


# How many slow scenarios the marker expression left out. Collected where the tests are: in this
# process without workers; with them (pytest-xdist, pyproject.toml addopts), in each worker,
# which collects the whole suite and hands its count back (`workeroutput`) when it ends.
_slow_deselected = [0]


def pytest_deselected(items: list[pytest.Item]) -> None:
    _slow_deselected[0] += sum(1 for item in items if item.get_closest_marker("slow") is not None)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """In the controller of a run with workers: a worker's count (each collected the same
    suite, so every count is the same one)."""
    output = getattr(node, "workeroutput", None) or {}
    _slow_deselected[0] = max(_slow_deselected[0], int(output.get("slow_deselected", 0)))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line per reason tests were skipped (no Redis, no PostgreSQL, no nginx...), with
    how many, even in a quiet (-q) run: a skipped test proves nothing, and must be seen."""
    reasons: Counter[str] = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reasons[reason.removeprefix("Skipped: ")] += 1
    for reason, count in sorted(reasons.items()):
        terminalreporter.write_line(f"skipped {count} test{'s' * (count > 1)}: {reason}")
    deselected = _slow_deselected[0]
    if deselected and terminalreporter.config.getoption("markexpr") == "not slow":
        terminalreporter.write_line(
            f"not run: {deselected} slow scenario{'s' * (deselected > 1)} "
            "(pytest -n 0 -m slow runs them; .ci/run does)"
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # a pytest-xdist worker: its count to the controller
        workeroutput["slow_deselected"] = _slow_deselected[0]
    pg.drop_sqlite_template()
    asyncio.run(pg.drop_template())


def _folder_fingerprint(folder: Path) -> str:
    """A digest of every file under ``folder``: its relative path and its bytes."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(folder)}\0".encode())
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


@pytest.fixture(autouse=True, scope="session")
def _start_up_content_check_once_per_content() -> Iterator[None]:
    """The runtime's start-up check of the content (bot/runtime.py, `validate_content`: a
    second or more of CPU) answered once per session for the same folder, language and files:
    dozens of tests start the runtime on the bundled messages, and the answer is a function of
    the files alone. The same for the check `infusion-companion chat` makes before it starts
    (bot/tryout/chat.py: tests/integration/test_tryout_chat.py starts it eight times). Content
    that differs (a test's broken copy) is checked as it is; the checker itself is tested on
    its own (tests/unit/test_content.py), and the runtime and the chat in a process of their
    own (`infusion-companion run` and `chat`, tests/integration/test_runtime.py and
    test_tryout_chat.py) check every time."""
    import bot.runtime
    import bot.tryout.chat
    from bot.content.validate import validate_content as check

    answers: dict[tuple[str, str, str], list[str]] = {}

    def validate_content(messages_dir: Path, default_language: str = "en") -> list[str]:
        folder = Path(messages_dir)
        key = (str(folder.resolve()), default_language, _folder_fingerprint(folder))
        if key not in answers:
            answers[key] = check(messages_dir, default_language)
        return list(answers[key])

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bot.runtime, "validate_content", validate_content)
        patch.setattr(bot.tryout.chat, "validate_content", validate_content)
        yield


@pytest.fixture(autouse=True, scope="session")
def _one_tls_context_for_every_bot_session() -> Iterator[None]:
    """aiogram's AiohttpSession makes a TLS context with certifi's CA bundle for every bot
    session, parsing the bundle each time (30-80 ms of CPU); nearly every integration test
    makes one or more, a minute of the run in all. The fake Bot API server speaks plain
    HTTP, so no test uses them: one context per set of arguments is made per session and
    handed to every session (aiogram and aiohttp only read it). Only aiogram's module sees
    the shared one; the real bot, and every process a test starts, makes its own."""
    import ssl
    import types

    from aiogram.client.session import aiohttp as aiogram_aiohttp

    made: dict[str, ssl.SSLContext] = {}

    def create_default_context(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        key = repr((args, sorted(kwargs.items())))
        if key not in made:
            made[key] = ssl.create_default_context(*args, **kwargs)
        return made[key]

    shared = types.ModuleType(ssl.__name__, ssl.__doc__)
    shared.__dict__.update(vars(ssl))
    shared.create_default_context = create_default_context  # type: ignore[attr-defined]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(aiogram_aiohttp, "ssl", shared)
        yield


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer() as server:
        yield server


@pytest.fixture
async def harness(telegram: FakeTelegramServer, tmp_path: Path) -> AsyncIterator[Harness]:
    async with start_harness(telegram, tmp_path, now=DEFAULT_NOW) as h:
        yield h
