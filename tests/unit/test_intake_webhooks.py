"""INTAKE_WEBHOOKS and CALENDAR_DOMAIN as the settings read them, and the event sender's
backoff (doubling, jitter, Retry-After, the ceiling)."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.config import INTAKE_SOURCE_PATTERN, Settings
from bot.delivery.intake_events import EventDelivery, Webhook, _retry_after
from bot.intake.rows import SOURCE_PATTERN
from foundation.clock import FrozenClock
from tests.conftest import DEFAULT_NOW

SECRET = "0123456789abcdef" * 2  # 32 bytes


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


def test_webhooks_are_read_from_json_per_source(monkeypatch: pytest.MonkeyPatch) -> None:
    hooks = {
        "acme-ehr": {"url": "https://ehr.example.org/hooks", "secret": SECRET},
        "local": {"url": "http://127.0.0.1:8099/hooks", "secret": SECRET + "more"},
    }
    monkeypatch.setenv("INTAKE_WEBHOOKS", json.dumps(hooks))
    read = Settings(_env_file=None).intake_webhooks
    assert sorted(read) == ["acme-ehr", "local"]
    assert read["acme-ehr"].url == "https://ehr.example.org/hooks"
    assert read["acme-ehr"].secret.get_secret_value() == SECRET
    assert SECRET not in repr(read)  # secrets stay out of reprs and logs
    monkeypatch.delenv("INTAKE_WEBHOOKS")
    assert settings().intake_webhooks == {}


@pytest.mark.parametrize(
    ("hook", "words"),
    [
        ({"url": "http://ehr.example.org/hooks", "secret": SECRET}, "https://"),
        ({"url": "ftp://127.0.0.1/x", "secret": SECRET}, "https://"),
        ({"url": "https://user:pw@ehr.example.org/", "secret": SECRET}, "user or password"),
        ({"url": "https://ehr.example.org/", "secret": SECRET[:31]}, "at least 32 bytes"),
        ({"url": "https://ehr.example.org/"}, "Field required"),
        ({"url": "https://ehr.example.org/", "secret": SECRET, "extra": 1}, "Extra inputs"),
    ],
)
def test_a_bad_webhook_is_refused_with_a_reason(hook: dict[str, Any], words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        settings(intake_webhooks={"acme": hook})
    assert words in str(caught.value)
    secret = hook.get("secret", "")
    assert not secret or secret not in "".join(e["msg"] for e in caught.value.errors())


def test_a_source_name_is_one_the_intake_reads() -> None:
    assert INTAKE_SOURCE_PATTERN.pattern == SOURCE_PATTERN.pattern
    with pytest.raises(ValidationError, match="not a source name"):
        settings(intake_webhooks={"Acme EHR": {"url": "https://x.org/", "secret": SECRET}})


def test_the_calendar_domain() -> None:
    assert settings().calendar_uid_domain == "companion.local"
    hooked = settings(
        webhook_url="https://bot.example-clinic.org/telegram/webhook", webhook_secret="abc"
    )
    assert hooked.calendar_uid_domain == "bot.example-clinic.org"
    own = settings(calendar_domain=" Example-Clinic.ORG ")
    assert own.calendar_uid_domain == "example-clinic.org"
    with pytest.raises(ValidationError, match="CALENDAR_DOMAIN"):
        settings(calendar_domain="not a domain")


def _delivery(**options: Any) -> EventDelivery:
    return EventDelivery(
        async_sessionmaker(), {}, FrozenClock(DEFAULT_NOW), rng=random.Random(1), **options
    )


def test_the_backoff_doubles_with_jitter_up_to_its_ceiling() -> None:
    delivery = _delivery(backoff_base=timedelta(seconds=10), backoff_max=timedelta(minutes=5))
    for attempts, full in ((1, 10), (2, 20), (3, 40), (6, 300), (30, 300)):
        waits = {delivery.backoff(attempts).total_seconds() for _ in range(50)}
        assert all(full / 2 <= w <= full for w in waits), (attempts, waits)
        assert len(waits) > 10  # jittered, not one value
    assert delivery.backoff(1, retry_after=120) == timedelta(seconds=120)
    assert delivery.backoff(1, retry_after=10_000) == timedelta(minutes=5)


def test_a_sender_needs_sane_options() -> None:
    with pytest.raises(ValueError, match="positive"):
        _delivery(backoff_base=timedelta(0))
    with pytest.raises(ValueError, match=">= 1"):
        _delivery(max_attempts=0)
    assert SECRET not in repr(Webhook("https://x.org/", SECRET))


def test_retry_after_in_seconds_or_as_a_date() -> None:
    clock = FrozenClock(DEFAULT_NOW)
    assert _retry_after("120", clock) == 120.0
    assert _retry_after("Mon, 23 Nov 2026 15:02:00 GMT", clock) == 120.0
    assert _retry_after("Mon, 23 Nov 2026 14:00:00 GMT", clock) == 0.0
    assert _retry_after("soon", clock) is None
    assert _retry_after(None, clock) is None
