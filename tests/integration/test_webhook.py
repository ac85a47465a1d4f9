"""Webhook mode: the real runtime serving Telegram's POSTs (aiogram's aiohttp integration)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from bot.db.models import WebhookUpdate
from bot.delivery.sender import Sender
from bot.runtime import StartupError
from bot.services.appointments import AppointmentService
from bot.telegram.callbacks import ConsentCb
from bot.telegram.middlewares import UnitOfWork
from bot.web import update_ledger
from bot.web.ops import health, refresh_gauges
from bot.web.update_ledger import LEASE, Claim, SqlUpdateLedger
from bot.web.webhook import SECRET_HEADER, check_webhook, set_webhook
from foundation.clock import FrozenClock
from tests.fake_telegram import updates
from tests.fake_telegram.server import FakeTelegramServer
from tests.integration import dbcheck
from tests.integration.harness import STAFF_ID, hold_upcoming, last_button
from tests.integration.pg import app_database, fresh_postgres_database
from tests.integration.replicas import free_port
from tests.integration.webhook_rig import SECRET, Webhook, start_webhook, texts
from tests.redis_support import REDIS_URL, redis_prefix

PAT = 1001


@pytest.fixture
async def hook(telegram: FakeTelegramServer, tmp_path: Path) -> AsyncIterator[Webhook]:
    async with start_webhook(telegram, tmp_path) as h:
        yield h


def confirm_button(hook: Webhook) -> str:
    return last_button(hook.server, PAT, "confirm")


async def consent(hook: Webhook) -> None:
    await hook.post(updates.command_update(PAT, "start"))
    status, _ = await hook.post(updates.callback_update(PAT, ConsentCb(agree=True).pack()))
    assert status == 200


async def test_the_webhook_is_set_at_start_and_an_update_is_answered_before_the_200(
    hook: Webhook,
) -> None:
    [call] = hook.server.calls("setWebhook")
    assert call.params["url"] == hook.url
    assert call.params["secret_token"] == SECRET
    assert call.params.get("drop_pending_updates") in (None, False)
    assert {"message", "callback_query"} <= set(call.params["allowed_updates"])
    status, sent = await hook.post(updates.command_update(PAT, "start"))
    assert status == 200
    # Handled before the acknowledgement: the answer was sent by the time the 200 came.
    [welcome] = texts(sent, PAT)
    assert "agree" in welcome.lower() or "welcome" in welcome.lower()


async def test_a_wrong_or_missing_secret_is_refused_and_not_handled(hook: Webhook) -> None:
    handled = hook.app.inflight.completed
    for secret in ("wrong", None, SECRET + "x"):
        status, sent = await hook.post(updates.command_update(PAT, "start"), secret=secret)
        assert status == 401
        assert sent == []
    assert hook.app.inflight.completed == handled
    assert await dbcheck.count(hook, dbcheck.Patient) == 0


def webhook_outcomes(hook: Webhook) -> dict[str, float]:
    """companion_webhook_requests_total by outcome."""
    return {
        sample.labels["outcome"]: sample.value
        for family in hook.app.metrics.registry.collect()
        if family.name == "companion_webhook_requests"
        for sample in family.samples
        if sample.name.endswith("_total")
    }


async def test_a_delivery_repeated_by_telegram_is_acknowledged_and_not_handled_again(
    hook: Webhook,
) -> None:
    agree = updates.callback_update(PAT, ConsentCb(agree=True).pack())
    await hook.post(updates.command_update(PAT, "start"))
    assert (await hook.post(agree))[0] == 200
    handled = hook.app.inflight.completed
    assert await hook.post(agree) == (200, [])  # the same update_id again: nothing sent
    assert hook.app.inflight.completed == handled
    assert await dbcheck.count(hook, dbcheck.Patient) == 1
    await hook.post(updates.command_update(PAT, "appointment"))
    await hook.post(updates.message_update(PAT, "12/3 2:30pm"))
    tap = updates.callback_update(PAT, confirm_button(hook))
    status, first = await hook.post(tap)
    assert status == 200 and "saved" in texts(first, PAT)[0].lower()
    assert await hook.post(tap) == (200, [])
    # The person tapping again is a new update: answered, as saved, once more.
    status, again = await hook.post(updates.callback_update(PAT, confirm_button(hook)))
    assert status == 200 and "saved" in texts(again, PAT)[0].lower()
    assert len(await dbcheck.appointments(hook, PAT)) == 1
    assert webhook_outcomes(hook)["repeat"] == 2


async def test_with_the_ledger_unreachable_a_repeat_is_handled_again_harmlessly(
    hook: Webhook, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await consent(hook)

    async def unreachable(self: object, update_id: int) -> object:
        raise ConnectionError("down")

    monkeypatch.setattr(SqlUpdateLedger, "claim", unreachable)
    await hook.post(updates.command_update(PAT, "appointment"))
    await hook.post(updates.message_update(PAT, "12/3 2:30pm"))
    tap = updates.callback_update(PAT, confirm_button(hook))
    for _ in range(2):
        status, sent = await hook.post(tap)
        assert status == 200 and "saved" in texts(sent, PAT)[0].lower()
    assert len(await dbcheck.appointments(hook, PAT)) == 1
    warned = [r for r in caplog.records if "ledger" in r.getMessage()]
    assert [r.levelname for r in warned][:1] == ["WARNING"]
    assert "ConnectionError" in warned[0].getMessage() and "down" not in warned[0].getMessage()


async def test_a_delivery_of_an_update_being_handled_is_answered_503_then_acknowledged(
    hook: Webhook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Telegram sent it again while the first delivery is still being handled (its answer is
    late): "try again later", and the try after the first one finished is acknowledged."""
    await consent(hook)
    monkeypatch.setattr(update_ledger, "RENEW_EVERY", 0.01)
    update = updates.command_update(PAT, "appointment")
    entered, release = hold_upcoming(monkeypatch)
    first = asyncio.create_task(hook.post(update))
    await asyncio.wait_for(entered.wait(), 5)
    assert await hook.post(update) == (503, [])
    # A slow update keeps its claim past the lease: it is renewed while the update runs.
    clock = hook.app.context.clock
    assert isinstance(clock, FrozenClock)
    clock.advance(LEASE + timedelta(seconds=1))
    await until_renewed(hook, update["update_id"])
    assert await hook.post(update) == (503, [])
    release.set()
    status, sent = await first
    assert status == 200 and len(texts(sent, PAT)) == 1
    assert await hook.post(update) == (200, [])
    assert webhook_outcomes(hook)["busy"] == 2


async def until_renewed(hook: Webhook, update_id: int) -> None:
    """Until the claim of `update_id` lasts beyond the application's now."""
    clock = hook.app.context.clock
    for _ in range(500):
        async with hook.app.context.session_factory() as session:
            row = await session.get(WebhookUpdate, update_id)
            if row is not None and row.lease_until > clock.now():
                return
        await asyncio.sleep(0.01)
    raise AssertionError("the claim was not renewed")


async def test_an_update_whose_replica_died_mid_way_is_handled_after_the_lease(
    hook: Webhook,
) -> None:
    await consent(hook)
    update = updates.command_update(PAT, "help")
    # A replica claimed it and died before answering: its lease must run out first.
    ledger = SqlUpdateLedger(hook.app.context.session_factory, hook.app.context.clock)
    assert await ledger.claim(update["update_id"]) is Claim.HANDLE
    assert await hook.post(update) == (503, [])
    clock = hook.app.context.clock
    assert isinstance(clock, FrozenClock)
    clock.advance(LEASE + timedelta(seconds=1))
    status, sent = await hook.post(update)
    assert status == 200 and len(texts(sent, PAT)) == 1
    assert await hook.post(update) == (200, [])


@pytest.mark.parametrize("shared", ["database", "redis"])
async def test_every_replica_recognises_an_update_another_one_handled(
    telegram: FakeTelegramServer, tmp_path: Path, shared: str
) -> None:
    """The ledger is shared: Redis when the replicas have it, the database otherwise."""
    async with AsyncExitStack() as stack:
        options: dict[str, Any] = {}
        if shared == "redis":
            prefix = await stack.enter_async_context(redis_prefix())
            options = {"redis_url": REDIS_URL, "redis_prefix": prefix}
        url = await stack.enter_async_context(app_database(tmp_path))
        a = await stack.enter_async_context(
            start_webhook(telegram, tmp_path / "a", database_url=url, **options)
        )
        b = await stack.enter_async_context(
            start_webhook(telegram, tmp_path / "b", database_url=url, **options)
        )
        await a.post(updates.command_update(PAT, "start"))
        agree = updates.callback_update(PAT, ConsentCb(agree=True).pack())
        status, sent = await a.post(agree)
        assert status == 200 and texts(sent, PAT)
        assert await b.post(agree) == (200, [])  # a's update, delivered again to b
        assert webhook_outcomes(b)["repeat"] == 1
        status, sent = await b.post(updates.command_update(PAT, "help"))  # b still serves
        assert status == 200 and texts(sent, PAT)
        assert await dbcheck.count(a, dbcheck.Patient) == 1


async def raw_post(hook: Webhook, headers: list[bytes], body: bytes) -> int:
    """POST with header bytes exactly as given (a client of any encoding); the status."""
    url = urlsplit(hook.url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        head = [
            f"POST {url.path} HTTP/1.1".encode(),
            f"Host: {url.netloc}".encode(),
            b"Content-Type: application/json",
            f"Content-Length: {len(body)}".encode(),
            b"Connection: close",
            *headers,
        ]
        writer.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 10)
        return int(status_line.split()[1])
    finally:
        writer.close()


BAD_SECRETS = [
    "sécret".encode(),  # UTF-8, not ASCII
    b"s\xe9cret",  # Latin-1
    b"\xff\xfe\x80\x81",  # not text in any encoding
    SECRET.encode() + "é".encode(),
    "秘密".encode("shift_jis"),
    b"x" * 4000,
    b"",
]


async def test_a_bad_secret_of_any_encoding_gets_401_without_a_traceback(
    hook: Webhook, caplog: pytest.LogCaptureFixture
) -> None:
    body = json.dumps(updates.command_update(PAT, "start")).encode()
    for secret in BAD_SECRETS:
        status = await raw_post(hook, [SECRET_HEADER.encode() + b": " + secret], body)
        assert status == 401, secret
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert await dbcheck.count(hook, dbcheck.Patient) == 0
    assert webhook_outcomes(hook)["unauthorized"] == len(BAD_SECRETS)


async def test_a_body_over_the_limit_gets_413_and_one_not_json_400(
    hook: Webhook, caplog: pytest.LogCaptureFixture
) -> None:
    update = updates.message_update(PAT, "x")
    update["message"]["text"] = "x" * (1024 * 1024 + 10)  # over aiohttp's 1 MiB
    status, sent = await hook.post(update)
    assert status == 413 and sent == []
    secret = [SECRET_HEADER.encode() + b": " + SECRET.encode()]
    assert await raw_post(hook, secret, b"{not json") == 400
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert hook.app.inflight.completed == 0
    outcomes = webhook_outcomes(hook)
    assert (outcomes["too_large"], outcomes["unreadable"]) == (1, 1)


async def test_a_failing_handler_is_answered_kindly_and_acknowledged(
    hook: Webhook, monkeypatch: pytest.MonkeyPatch
) -> None:
    await consent(hook)

    async def broken(self: AppointmentService, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(AppointmentService, "confirm", broken)
    await hook.post(updates.command_update(PAT, "appointment"))
    await hook.post(updates.message_update(PAT, "12/3 2:30pm"))
    status, sent = await hook.post(updates.callback_update(PAT, confirm_button(hook)))
    # The update's own error handling answered (nothing saved): Telegram must not send it
    # again, which would answer the patient twice.
    assert status == 200
    assert ["nothing was saved" in t for t in texts(sent, PAT)] == [True]
    assert await dbcheck.appointments(hook, PAT) == []


async def test_an_update_cut_off_after_its_commit_gets_500_and_the_retry_completes_once(
    hook: Webhook, monkeypatch: pytest.MonkeyPatch
) -> None:
    await hook.post(updates.command_update(PAT, "start"))
    original = Sender.answer
    failures = 0

    async def cut_off(self: Sender, method: Any) -> Any:
        nonlocal failures
        if failures < 2:  # the reply, then the error answer: as if the process died
            failures += 1
            raise ConnectionResetError("gone")
        return await original(self, method)

    monkeypatch.setattr(Sender, "answer", cut_off)
    agree = updates.callback_update(PAT, ConsentCb(agree=True).pack())
    status, sent = await hook.post(agree)
    assert status == 500  # not acknowledged: Telegram sends the update again
    assert texts(sent, PAT) == []
    assert await dbcheck.count(hook, dbcheck.Patient) == 1  # committed before the cut
    status, sent = await hook.post(agree)  # Telegram's retry
    assert status == 200
    assert len(texts(sent, PAT)) == 1  # answered once
    assert len(hook.server.calls("answerCallbackQuery")) == 1
    assert await dbcheck.count(hook, dbcheck.Patient) == 1


async def test_an_unreadable_update_is_refused_without_its_content_in_the_log(
    hook: Webhook, caplog: pytest.LogCaptureFixture
) -> None:
    status, sent = await hook.post({"update_id": "x", "message": {"text": "marker-7781"}})
    assert status == 500
    assert sent == []
    assert "marker-7781" not in caplog.text


async def test_stop_waits_for_the_update_in_flight_and_leaves_the_webhook_set(
    telegram: FakeTelegramServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with start_webhook(telegram, tmp_path) as hook:
        await consent(hook)
        entered, release = hold_upcoming(monkeypatch)
        posting = asyncio.create_task(hook.post(updates.command_update(PAT, "appointment")))
        await asyncio.wait_for(entered.wait(), 5)
        hook.stop.set()
        await asyncio.sleep(0.3)
        assert not hook.task.done(), "must wait for the update in flight"
        release.set()
        status, sent = await asyncio.wait_for(posting, 10)
        assert status == 200 and texts(sent, PAT)  # its answer still went out
    assert hook.task.done()
    assert telegram.calls("deleteWebhook") == []  # the other replicas keep serving


async def test_two_replicas_share_one_conversation_through_redis_and_postgresql(
    telegram: FakeTelegramServer, tmp_path: Path
) -> None:
    """Telegram's load balancer sends each update to any replica: the booking begins on one
    and is confirmed on the other."""
    async with AsyncExitStack() as stack:
        prefix = await stack.enter_async_context(redis_prefix())
        database = await stack.enter_async_context(fresh_postgres_database("replicas"))
        shared = {"redis_url": REDIS_URL, "redis_prefix": prefix, "database_url": database}
        a = await stack.enter_async_context(start_webhook(telegram, tmp_path / "a", **shared))
        b = await stack.enter_async_context(start_webhook(telegram, tmp_path / "b", **shared))
        await a.post(updates.command_update(PAT, "start"))
        await b.post(updates.callback_update(PAT, ConsentCb(agree=True).pack()))
        await a.post(updates.command_update(PAT, "appointment"))
        _, sent = await b.post(updates.message_update(PAT, "12/3 2:30pm"))
        assert "December 3" in texts(sent, PAT)[0]  # b knew a was waiting for a time
        _, sent = await a.post(updates.callback_update(PAT, confirm_button(a)))
        assert "saved" in texts(sent, PAT)[0].lower()
        tap = updates.callback_update(PAT, confirm_button(a))
        _, sent = await b.post(tap)  # the same tap reaching the other replica
        assert "saved" in texts(sent, PAT)[0].lower()
        assert len(await dbcheck.appointments(b, PAT)) == 1
        assert await dbcheck.count(a, dbcheck.ConversationState) == 0  # state lives in Redis


async def test_telegram_unreachable_at_start_does_not_stop_the_replica(
    telegram: FakeTelegramServer, tmp_path: Path
) -> None:
    telegram.fail_next("setWebhook", "server_error", times=3)  # every try of the first call
    async with start_webhook(telegram, tmp_path, shutdown_grace_seconds=1) as hook:
        await telegram.wait_for("setWebhook", count=3, timeout=10)
        assert not hook.task.done()  # it serves, and sets the webhook again later
        status, sent = await hook.post(updates.command_update(PAT, "start"))
        assert status == 200 and texts(sent, PAT)
    assert telegram.webhook == {}


async def test_a_team_link_made_on_a_replica_asks_telegram_nothing_inside_its_update(
    telegram: FakeTelegramServer, tmp_path: Path
) -> None:
    # The bot's username (the link's) is learnt at start-up: the first /staff_invite of a
    # webhook replica used to ask Telegram (getMe) inside its open transaction.
    async with start_webhook(telegram, tmp_path) as hook:
        assert len(telegram.calls("getMe")) == 1
        status, sent = await hook.post(updates.command_update(STAFF_ID, "staff_invite"))
        assert status == 200
        assert [r.method for r in sent if r.method.lower() == "getme"] == []
        [made] = texts(sent, STAFF_ID)
        assert "https://t.me/companion_test_bot?start=team-" in made


async def test_a_username_telegram_did_not_give_at_start_is_asked_before_the_update(
    telegram: FakeTelegramServer, tmp_path: Path
) -> None:
    telegram.fail_next("getMe", "server_error")  # the one try at start-up
    async with start_webhook(telegram, tmp_path) as hook:
        with pytest.raises(LookupError):
            hook.app.identity.username  # noqa: B018
        # Asked by the identity's middleware, which runs before the unit of work opens the
        # update's transaction.
        chain = list(hook.app.dispatcher.update.outer_middleware)
        unit_of_work = next(i for i, m in enumerate(chain) if isinstance(m, UnitOfWork))
        assert chain.index(hook.app.identity) < unit_of_work
        status, sent = await hook.post(updates.command_update(STAFF_ID, "staff_invite"))
        assert status == 200
        methods = [r.method.lower() for r in sent if r.method.lower() != "getwebhookinfo"]
        assert methods[0] == "getme"
        [made] = texts(sent, STAFF_ID)
        assert "https://t.me/companion_test_bot?start=team-" in made


async def test_an_address_telegram_refuses_stops_the_start_with_its_reason(
    telegram: FakeTelegramServer, tmp_path: Path
) -> None:
    telegram.fail_next("setWebhook", "bad_request", description="Bad Request: bad webhook: nope")
    with pytest.raises(StartupError, match=r"Telegram refused WEBHOOK_URL: .*bad webhook: nope"):
        async with start_webhook(telegram, tmp_path):
            pass


async def test_health_and_metrics_are_served_in_webhook_mode_too(
    telegram: FakeTelegramServer, tmp_path: Path
) -> None:
    port = free_port()
    async with start_webhook(telegram, tmp_path, ops_port=port) as hook:
        await hook.post(updates.command_update(PAT, "start"))
        for _ in range(250):  # until the runtime's first getWebhookInfo (at start) is in
            async with hook.http.get(f"http://127.0.0.1:{port}/healthz") as response:
                assert response.status == 200, await response.text()
                checks = (await response.json())["checks"]
            if checks["webhook"]["checked"]:
                break
            await asyncio.sleep(0.02)
        assert checks["webhook"]["ok"] is True and checks["webhook"]["checked"] is True
        assert checks["telegram"]["ok"] is True
        async with hook.http.get(f"http://127.0.0.1:{port}/metrics") as response:
            assert response.status == 200
            assert "companion_" in await response.text()


async def test_healthz_says_whether_telegram_holds_the_webhook(
    hook: Webhook, caplog: pytest.LogCaptureFixture
) -> None:
    app = hook.app
    await check_webhook(app)
    healthy, report = await health(app)
    assert report["checks"]["webhook"]["ok"] is True
    assert report["checks"]["webhook"]["checked"] is True
    assert report["checks"]["telegram"]["ok"] is True
    hook.server.webhook = {}  # deleted behind the bot's back (another deployment, a person)
    for _ in range(2):
        await check_webhook(app)
    healthy, report = await health(app)
    assert not healthy
    assert report["checks"]["webhook"]["ok"] is False
    await refresh_gauges(app)
    assert app.metrics.registry.get_sample_value("companion_telegram_webhook_ok") == 0
    warned = [r for r in caplog.records if "WEBHOOK_URL" in r.getMessage()]
    assert len(warned) == 1 and warned[0].levelname == "WARNING"  # once, not per check
    assert await set_webhook(app)
    await check_webhook(app)
    _, report = await health(app)
    assert report["checks"]["webhook"]["ok"] is True
    # Telegram unreachable for five minutes: the webhook check cannot say, the age does.
    hook.server.fail_next("getWebhookInfo", "bad_gateway", times=10)
    assert await check_webhook(app) is None
    clock = app.context.clock
    assert isinstance(clock, FrozenClock)
    clock.advance(timedelta(seconds=301))
    healthy, report = await health(app)
    assert not healthy and report["checks"]["telegram"]["ok"] is False
