"""Conversation state in Redis (REDIS_URL): aiogram's RedisStorage, written after the commit.

Against a real Redis (TEST_REDIS_URL; skipped when none answers), each test under a key prefix
of its own. The whole conversation suite runs this way with TEST_REDIS=1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiogram.fsm.storage.base import StorageKey

from bot.factory import CONVERSATION_TTL
from bot.services.appointments import AppointmentService
from bot.services.offers import Offer, OfferKind
from bot.telegram.fsm_storage import AfterCommitStorage
from tests.conftest import DEFAULT_NOW
from tests.fake_telegram import updates
from tests.fake_telegram.server import FakeTelegramServer
from tests.integration import dbcheck
from tests.integration.harness import Harness, last_button, start_harness
from tests.redis_support import REDIS_URL, redis_prefix

PAT = 1001
OTHER = 1002


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    async with redis_prefix() as name:
        yield name


@pytest.fixture
async def rh(telegram: FakeTelegramServer, tmp_path: Path, prefix: str) -> AsyncIterator[Harness]:
    async with start_harness(
        telegram, tmp_path, now=DEFAULT_NOW, redis_url=REDIS_URL, redis_prefix=prefix
    ) as h:
        yield h


def storage(h: Harness) -> AfterCommitStorage:
    found = h.app.dispatcher.storage
    assert isinstance(found, AfterCommitStorage)
    return found


def key(h: Harness, user: int, **extra: Any) -> StorageKey:
    return StorageKey(bot_id=h.app.bot.id, chat_id=user, user_id=user, **extra)


async def redis_keys(h: Harness, prefix: str) -> list[str]:
    assert h.app.redis is not None
    return sorted([k.decode() async for k in h.app.redis.scan_iter(match=f"{prefix}:*")])


async def test_a_booking_keeps_its_state_in_redis_with_a_ttl_not_in_the_database(
    rh: Harness, prefix: str
) -> None:
    await rh.consent(PAT)
    await rh.command(PAT, "appointment")
    [confirm] = await rh.send(PAT, "12/3 2:30pm")
    assert "December 3" in confirm
    inner = storage(rh).inner
    assert await inner.get_state(key(rh, PAT)) == "Booking:confirming"
    offer = Offer.held(await inner.get_data(key(rh, PAT)), OfferKind.BOOKING)
    assert offer.starts_at is not None and offer.token
    assert await dbcheck.count(rh, dbcheck.ConversationState) == 0
    assert rh.app.redis is not None
    state_key = inner.key_builder.build(key(rh, PAT), "state")
    assert state_key.startswith(f"{prefix}:fsm:")
    ttl = await rh.app.redis.ttl(state_key)
    assert 0 < ttl <= CONVERSATION_TTL.total_seconds()
    [saved] = await rh.tap(PAT, "Confirm")
    assert "saved" in saved.lower()
    assert len(await dbcheck.appointments(rh, PAT)) == 1
    # A second tap on the same Confirm: answered as saved, nothing booked twice.
    [again] = await rh.press(PAT, _last_confirm(rh))
    assert "saved" in again.lower()
    assert len(await dbcheck.appointments(rh, PAT)) == 1


def _last_confirm(h: Harness) -> str:
    """The Confirm button of the last offer (the saved answer has other buttons)."""
    return last_button(h.server, PAT, "confirm")


async def test_a_rolled_back_update_leaves_the_state_in_redis_as_it_was(
    rh: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await rh.consent(PAT)
    await rh.command(PAT, "appointment")
    await rh.send(PAT, "12/3 2:30pm")
    inner = storage(rh).inner
    before = (await inner.get_state(key(rh, PAT)), await inner.get_data(key(rh, PAT)))
    original = AppointmentService.confirm

    async def confirm_then_fail(self: AppointmentService, *args: Any, **kwargs: Any) -> Any:
        await original(self, *args, **kwargs)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(AppointmentService, "confirm", confirm_then_fail)
    [reply] = await rh.tap(PAT, "Confirm")
    assert "nothing was saved" in reply
    # The handler's state change (offer saved, state cleared) went with the transaction.
    assert (await inner.get_state(key(rh, PAT)), await inner.get_data(key(rh, PAT))) == before
    monkeypatch.undo()
    [saved] = await rh.press(PAT, _last_confirm(rh))  # the offer is still there to retry
    assert "saved" in saved.lower()


async def test_writes_reach_redis_only_when_the_update_commits(rh: Harness) -> None:
    wrapped = storage(rh)
    k = key(rh, PAT)
    with wrapped.update() as writes:
        await wrapped.set_state(k, "Booking:confirming")
        await wrapped.set_data(k, {"token": "t1"})
        assert await wrapped.get_state(k) == "Booking:confirming"  # the update sees its own
        assert await wrapped.inner.get_state(k) is None  # nobody else does yet
    await wrapped.flush(writes)
    assert await wrapped.inner.get_state(k) == "Booking:confirming"
    assert await wrapped.inner.get_data(k) == {"token": "t1"}
    with wrapped.update():  # an attempt that rolls back: its writes are dropped
        await wrapped.set_state(k, None)
        await wrapped.set_data(k, {})
    assert await wrapped.inner.get_state(k) == "Booking:confirming"


async def test_forget_deletes_every_conversation_key_of_the_patient_and_no_other(
    rh: Harness, prefix: str
) -> None:
    await rh.consent(PAT)
    await rh.consent(OTHER)
    await rh.command(OTHER, "appointment")  # waiting for a time: state in Redis
    inner = storage(rh).inner
    # Other conversations of the patient's chat: a topic thread, another destiny.
    await inner.set_state(key(rh, PAT, thread_id=7), "Booking:waiting_for_time")
    await inner.set_data(key(rh, PAT, destiny="other"), {"draft": "x"})
    await rh.command(PAT, "appointment")
    others_before = [k for k in await redis_keys(rh, prefix) if f":{OTHER}:" in k]
    assert others_before
    assert any(f":{PAT}:" in k for k in await redis_keys(rh, prefix))
    await rh.command(PAT, "forget")
    [done] = await rh.tap(PAT, "Yes, delete")
    assert "deleted everything" in done
    left = await redis_keys(rh, prefix)
    assert not [k for k in left if f":{PAT}:" in k], left
    assert [k for k in left if f":{OTHER}:" in k] == others_before


async def test_a_double_tap_on_confirm_books_once_and_both_are_told_saved(rh: Harness) -> None:
    """Updates of one conversation take turns (AfterCommitStorage.turn): the second tap reads
    the state the first wrote, as the database's write conflict gives in SqlStorage."""
    await rh.consent(PAT)
    await rh.command(PAT, "appointment")
    await rh.send(PAT, "12/3 2:30pm")
    tap = _last_confirm(rh)
    for _ in range(3):
        sent = await rh.feed_many([updates.callback_update(PAT, tap) for _ in range(2)])
        answers = [r.params["text"] for r in sent if r.method == "sendMessage"]
        assert len(answers) == 2 and all("saved" in a.lower() for a in answers), answers
    assert len(await dbcheck.appointments(rh, PAT)) == 1
