"""Shared fixtures: a fake Bot API server and the real application wired to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import Settings
from bot.lazy_aiogram import prepare_aiogram

# First, so aiogram is imported the way the entry point (bot.cli.main) imports it; the suite
# runs with LAZY_AIOGRAM=false too.
prepare_aiogram(Settings(_env_file=None).lazy_aiogram)

from tests.fake_telegram.server import FakeTelegramServer  # noqa: E402
from tests.integration.harness import Harness, start_harness  # noqa: E402

# Monday 23 November 2026, 10:00 in New York.
DEFAULT_NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer() as server:
        yield server


@pytest.fixture
async def harness(telegram: FakeTelegramServer, tmp_path: Path) -> AsyncIterator[Harness]:
    async with start_harness(telegram, tmp_path, now=DEFAULT_NOW) as h:
        yield h
