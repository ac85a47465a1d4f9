"""Fake Telegram Bot API server and update builders for integration tests."""

from tests.fake_telegram.server import (
    FAILURE_KINDS,
    FakeServerSession,
    FakeTelegramServer,
    RecordedRequest,
    UploadedFile,
)

__all__ = [
    "FAILURE_KINDS",
    "FakeServerSession",
    "FakeTelegramServer",
    "RecordedRequest",
    "UploadedFile",
]
