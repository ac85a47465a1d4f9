"""Tests of the fake Telegram Bot API server itself, driven by the real aiogram Bot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)

from tests.fake_telegram import updates as u
from tests.fake_telegram.records import UploadedFile
from tests.fake_telegram.server import FakeServerSession, FakeTelegramServer


def make_bot(server: FakeTelegramServer, token: str | None = None, *, plain: bool = False) -> Bot:
    """Real aiogram Bot against the fake.

    ``server.session()`` is an ``AiohttpSession`` whose close() skips aiogram's
    250 ms SSL grace sleep; ``plain=True`` uses a stock ``AiohttpSession``.
    """
    api = TelegramAPIServer.from_base(server.base_url)
    session = AiohttpSession(api=api) if plain else server.session()
    return Bot(
        token or server.token,
        session=session,
        default=DefaultBotProperties(parse_mode="HTML"),
    )


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer() as fake:
        yield fake


@pytest.fixture
async def bot(server: FakeTelegramServer) -> AsyncIterator[Bot]:
    bot = make_bot(server)
    try:
        yield bot
    finally:
        await bot.session.close()


def keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Yes", callback_data="answer:yes")]]
    )


# --------------------------------------------------------------------------- basics


async def test_base_url_and_session(server: FakeTelegramServer) -> None:
    assert server.base_url.startswith("http://127.0.0.1:")
    session = server.session()
    assert isinstance(session, FakeServerSession)
    assert isinstance(session, AiohttpSession)
    assert session.api.api_url("42:TEST", "getMe") == f"{server.base_url}/bot42:TEST/getMe"


async def test_get_me_with_stock_session(server: FakeTelegramServer) -> None:
    bot = make_bot(server, plain=True)
    try:
        me = await bot.get_me()
    finally:
        await bot.session.close()
    assert me.id == 42
    assert me.is_bot is True
    assert me.username == "companion_test_bot"
    [call] = server.calls("getme")
    assert call.method == "getMe"
    assert call.response_status == 200


async def test_custom_bot_user() -> None:
    async with FakeTelegramServer(
        token="7:ABC", bot_user={"id": 7, "is_bot": True, "first_name": "Other"}
    ) as fake:
        bot = make_bot(fake)
        try:
            me = await bot.get_me()
        finally:
            await bot.session.close()
    assert (me.id, me.first_name, me.username) == (7, "Other", None)


async def test_send_message_recorded_with_parsed_params(
    server: FakeTelegramServer, bot: Bot
) -> None:
    first = await bot.send_message(1001, "<b>Hi</b>", reply_markup=keyboard())
    second = await bot.send_message(1001, "again")
    other_chat = await bot.send_message(2002, "elsewhere")

    assert isinstance(first, Message)
    assert first.text == "<b>Hi</b>"
    assert first.chat.id == 1001
    assert first.chat.type == "private"
    assert first.from_user is not None
    assert first.from_user.id == 42
    assert first.reply_markup is not None
    assert first.reply_markup.model_dump() == keyboard().model_dump()
    assert second.reply_markup is None
    assert (first.message_id, second.message_id, other_chat.message_id) == (1, 2, 1)

    [req, *_] = server.sent_messages(1001)
    assert req.params["chat_id"] == 1001
    assert req.params["text"] == "<b>Hi</b>"
    assert req.params["parse_mode"] == "HTML"
    assert req.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "Yes", "callback_data": "answer:yes"}]]
    }
    assert req.response_status == 200
    assert req.response is not None
    assert req.response["ok"] is True
    assert len(server.sent_messages()) == 3
    assert len(server.sent_messages(1001)) == 2
    assert server.sent_texts(2002) == ["elsewhere"]


async def test_numeric_looking_text_stays_a_string(server: FakeTelegramServer, bot: Bot) -> None:
    await bot.send_message(5, "12345")
    await bot.send_message(5, "[1, 2]")
    assert server.sent_texts(5) == ["12345", "[1, 2]"]


async def test_edit_and_other_methods(server: FakeTelegramServer, bot: Bot) -> None:
    sent = await bot.send_message(1001, "question", reply_markup=keyboard())
    edited = await bot.edit_message_text(text="answered", chat_id=1001, message_id=sent.message_id)
    assert isinstance(edited, Message)
    assert edited.text == "answered"
    assert edited.message_id == sent.message_id
    assert edited.reply_markup is None

    with_keyboard = await bot.edit_message_text(
        text="again", chat_id=1001, message_id=sent.message_id, reply_markup=keyboard()
    )
    assert isinstance(with_keyboard, Message)
    assert with_keyboard.reply_markup is not None
    assert with_keyboard.reply_markup.model_dump() == keyboard().model_dump()

    assert await bot.answer_callback_query("cbq-1", text="ok") is True
    assert await bot.leave_chat(-100500) is True

    commands = [BotCommand(command="start", description="Start")]
    assert await bot.set_my_commands(commands) is True
    [set_call] = server.calls("setMyCommands")
    assert set_call.params["commands"] == [{"command": "start", "description": "Start"}]


async def test_file_upload_is_recorded(server: FakeTelegramServer, bot: Bot) -> None:
    document = BufferedInputFile(b"\x89PNG fake", filename="chart.png")
    message = await bot.send_document(1001, document, caption="chart")
    assert message.document
    assert message.caption == "chart"
    [req] = server.calls("sendDocument")
    uploaded = req.params["document"]
    assert isinstance(uploaded, UploadedFile)
    assert uploaded.data == b"\x89PNG fake"
    assert uploaded.filename == "chart.png"
    assert req.params["chat_id"] == 1001
    assert set(req.params) == {"chat_id", "document", "caption", "parse_mode"}


async def test_unknown_method_is_404(server: FakeTelegramServer) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{server.base_url}/bot{server.token}/noSuchMethod") as resp,
    ):
        body = await resp.json()
    assert resp.status == 404
    assert body == {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
    assert server.calls("nosuchmethod")[0].response_status == 404


async def test_wrong_token_is_401(server: FakeTelegramServer) -> None:
    bad_bot = make_bot(server, token="1:WRONG")
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await bad_bot.get_me()
    finally:
        await bad_bot.session.close()
    [call] = server.calls("getMe")
    assert call.response_status == 401


# --------------------------------------------------------------------------- failures


@pytest.mark.parametrize(
    ("kind", "exc_type", "fragment"),
    [
        ("blocked", TelegramForbiddenError, "bot was blocked by the user"),
        ("chat_not_found", TelegramBadRequest, "chat not found"),
        ("bad_request", TelegramBadRequest, "Bad Request"),
        ("server_error", TelegramServerError, "Internal Server Error"),
        ("bad_gateway", TelegramServerError, "Bad Gateway"),
        ("unauthorized", TelegramUnauthorizedError, "Unauthorized"),
        ("drop", TelegramNetworkError, ""),
    ],
)
async def test_failure_kinds_map_to_aiogram_exceptions(
    server: FakeTelegramServer,
    bot: Bot,
    kind: str,
    exc_type: type[Exception],
    fragment: str,
) -> None:
    server.fail_next("sendMessage", kind)
    with pytest.raises(exc_type) as excinfo:
        await bot.send_message(1001, "hello")
    assert fragment in str(excinfo.value)

    expected_status = {
        "blocked": 403,
        "chat_not_found": 400,
        "bad_request": 400,
        "server_error": 500,
        "bad_gateway": 502,
        "unauthorized": 401,
        "drop": 0,
    }[kind]
    assert [r.response_status for r in server.sent_messages()] == [expected_status]

    # Only the next call fails; the connection pool recovers after a drop, too.
    message = await bot.send_message(1001, "hello again")
    assert message.text == "hello again"


async def test_retry_after(server: FakeTelegramServer, bot: Bot) -> None:
    server.fail_next("sendMessage", "retry_after", retry_after=7)
    with pytest.raises(TelegramRetryAfter) as excinfo:
        await bot.send_message(1001, "hi")
    assert excinfo.value.retry_after == 7
    [req] = server.sent_messages()
    assert req.response_status == 429
    assert req.response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7},
    }


async def test_bad_request_custom_description(server: FakeTelegramServer, bot: Bot) -> None:
    server.fail_next(
        "editMessageText", "bad_request", description="Bad Request: message is not modified"
    )
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(text="same", chat_id=1, message_id=1)


async def test_fail_next_times_then_success(server: FakeTelegramServer, bot: Bot) -> None:
    server.fail_next("sendMessage", "server_error", times=2)
    for _ in range(2):
        with pytest.raises(TelegramServerError):
            await bot.send_message(1001, "x")
    await bot.send_message(1001, "x")
    assert [r.response_status for r in server.sent_messages()] == [500, 500, 200]
    # Failures are per method: other methods were never affected.
    assert (await bot.get_me()).id == 42


async def test_fail_next_unknown_kind(server: FakeTelegramServer) -> None:
    with pytest.raises(ValueError, match="unknown failure kind"):
        server.fail_next("sendMessage", "meteor_strike")


async def test_block_chat(server: FakeTelegramServer, bot: Bot) -> None:
    server.block_chat(1001)
    for _ in range(2):
        with pytest.raises(TelegramForbiddenError, match="blocked by the user"):
            await bot.send_message(1001, "x")
    with pytest.raises(TelegramForbiddenError):
        await bot.send_document(1001, "file-id-1")
    await bot.send_message(2002, "fine")  # other chats unaffected
    server.unblock_chat(1001)
    await bot.send_message(1001, "back")
    assert [r.response_status for r in server.sent_messages(1001)] == [403, 403, 200]


async def test_rate_limit(server: FakeTelegramServer, bot: Bot) -> None:
    server.rate_limit = 3
    results = await asyncio.gather(
        *(bot.send_message(1001, f"m{i}") for i in range(5)), return_exceptions=True
    )
    ok = [r for r in results if isinstance(r, Message)]
    limited = [r for r in results if isinstance(r, TelegramRetryAfter)]
    assert len(ok) == 3
    assert len(limited) == 2
    assert all(exc.retry_after == 1 for exc in limited)
    assert sorted(r.response_status for r in server.sent_messages()) == [200, 200, 200, 429, 429]
    # Other methods are not rate limited.
    assert await bot.answer_callback_query("cbq-1") is True


# --------------------------------------------------------------------------- getUpdates


async def test_get_updates_offset_semantics(server: FakeTelegramServer, bot: Bot) -> None:
    ids = [server.push_update(u.message_update(1001, f"m{i}")) for i in range(3)]
    assert ids == sorted(ids)

    first = await bot.get_updates()
    assert [x.update_id for x in first] == ids
    assert first[0].message is not None
    assert first[0].message.text == "m0"

    # Not confirmed yet: a "restarted" bot without offset gets them again.
    again = await bot.get_updates()
    assert [x.update_id for x in again] == ids

    limited = await bot.get_updates(offset=ids[1], limit=1)  # confirms ids[0]
    assert [x.update_id for x in limited] == [ids[1]]
    assert [x.update_id for x in await bot.get_updates()] == ids[1:]

    assert await bot.get_updates(offset=ids[-1] + 1) == []
    assert await bot.get_updates() == []

    # Explicit update_id without one is assigned; raw dict stays valid.
    raw_id = server.push_update({"message": u.message_update(1001, "raw")["message"]})
    assert raw_id > ids[-1]
    [raw] = await bot.get_updates(offset=ids[-1] + 1)
    assert raw.update_id == raw_id

    calls = server.calls("getUpdates")
    assert calls[2].params == {"offset": ids[1], "limit": 1}


async def test_push_below_the_confirmed_offset_is_refused(
    server: FakeTelegramServer, bot: Bot
) -> None:
    ids = [server.push_update(u.message_update(1001, f"m{i}")) for i in range(2)]
    assert await bot.get_updates(offset=ids[-1] + 1) == []
    with pytest.raises(ValueError, match="already confirmed"):
        server.push_update({**u.message_update(1001, "late"), "update_id": ids[0]})


async def test_long_poll_wakes_up_on_push(server: FakeTelegramServer, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5, allowed_updates=["message"]))
    [pending] = await server.wait_for("getUpdates")
    assert pending.response_status == 0  # still waiting
    assert pending.params == {"timeout": 5, "allowed_updates": ["message"]}

    started = time.monotonic()
    update_id = server.push_update(u.message_update(1001, "wake up"))
    result = await asyncio.wait_for(poll, timeout=2)
    assert time.monotonic() - started < 1.0
    assert [x.update_id for x in result] == [update_id]
    assert pending.response_status == 200


async def test_long_poll_times_out_empty(server: FakeTelegramServer) -> None:
    # aiogram only sends whole seconds; a raw client lets the test stay fast.
    started = time.monotonic()
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{server.base_url}/bot{server.token}/getUpdates", data={"timeout": "0.3"}
        ) as resp,
    ):
        body = await resp.json()
    assert body == {"ok": True, "result": []}
    assert 0.25 <= time.monotonic() - started < 1.0


async def test_wait_for_timeout_dumps_requests(server: FakeTelegramServer, bot: Bot) -> None:
    await bot.send_message(1001, "something else")
    with pytest.raises(AssertionError) as excinfo:
        await server.wait_for("sendMessage", lambda r: r.params["text"] == "nope", timeout=0.1)
    report = str(excinfo.value)
    assert "sendMessage" in report
    assert "something else" in report


async def test_wait_for_count(server: FakeTelegramServer, bot: Bot) -> None:
    async def send_later() -> None:
        for i in range(3):
            await asyncio.sleep(0.01)
            await bot.send_message(1001, f"n{i}")

    task = asyncio.create_task(send_later())
    matches = await server.wait_for("sendmessage", count=3, timeout=2)
    await task
    assert [m.params["text"] for m in matches] == ["n0", "n1", "n2"]


# --------------------------------------------------------------------------- Dispatcher


async def test_dispatcher_polling_echo(server: FakeTelegramServer) -> None:
    bot = make_bot(server, plain=True)  # start_polling closes the session on shutdown
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await message.answer(f"echo: {message.text}")

    # Queued before polling starts: must still be delivered.
    server.push_update(u.message_update(1001, "early"))

    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False))
    try:
        await server.wait_for("sendMessage", lambda r: r.params["text"] == "echo: early")
        server.push_update(u.message_update(2002, "late"))
        [reply] = await server.wait_for("sendMessage", lambda r: r.params["chat_id"] == 2002)
        assert reply.params["text"] == "echo: late"
    finally:
        await dp.stop_polling()
        await asyncio.wait_for(polling, timeout=3)
        await bot.session.close()  # no-op if polling already closed it

    assert server.sent_texts() == ["echo: early", "echo: late"]
    first_poll = server.calls("getUpdates")[0]
    assert first_poll.params["allowed_updates"] == ["message"]
    assert "offset" not in first_poll.params


# --------------------------------------------------------------------------- builders


@pytest.mark.parametrize(
    "update",
    [
        u.message_update(1001, "hello"),
        u.message_update(1001, "group", chat_id=-100500),
        u.command_update(1001, "start", "deep-link"),
        u.command_update(1001, "/help"),
        u.callback_update(1001, "answer:yes", message_id=5, message_text="Question?"),
        u.edited_message_update(1001, "fixed"),
        u.my_chat_member_update(1001),
        u.my_chat_member_update(1001, new_status="member", old_status="kicked"),
        u.sticker_update(1001),
        u.photo_update(1001, caption="look"),
        u.voice_update(1001),
    ],
    ids=lambda d: next(k for k in d if k != "update_id"),
)
def test_builders_are_valid_updates(update: dict) -> None:
    parsed = Update.model_validate(update)
    assert parsed.update_id == update["update_id"]
    assert parsed.event is not None


def test_builder_details() -> None:
    cmd = Update.model_validate(u.command_update(7, "start", "abc"))
    assert cmd.message is not None
    assert cmd.message.text == "/start abc"
    assert cmd.message.entities is not None
    assert cmd.message.entities[0].type == "bot_command"
    assert cmd.message.entities[0].length == len("/start")

    cb = Update.model_validate(u.callback_update(7, "d", message_id=9))
    assert cb.callback_query is not None
    assert isinstance(cb.callback_query.message, Message)
    assert cb.callback_query.message.message_id == 9

    member = Update.model_validate(u.my_chat_member_update(7))
    assert member.my_chat_member is not None
    assert member.my_chat_member.new_chat_member.status == "kicked"
    assert member.my_chat_member.new_chat_member.user.is_bot

    a, b = u.message_update(1, "a"), u.message_update(1, "b")
    assert b["update_id"] > a["update_id"]
    assert b["message"]["message_id"] > a["message"]["message_id"]


# --------------------------------------------------------------------------- extras


async def test_set_handler_and_crash_reporting(server: FakeTelegramServer, bot: Bot) -> None:
    def custom_me(params: dict) -> dict:
        return {"id": 99, "is_bot": True, "first_name": "Custom"}

    server.set_handler("getMe", custom_me)
    assert (await bot.get_me()).id == 99

    def refuse(params: dict) -> dict:
        raise server.error(400, "Bad Request: message is too long")

    server.set_handler("sendMessage", refuse)
    with pytest.raises(TelegramBadRequest, match="too long"):
        await bot.send_message(1, "x" * 5000)

    def crash(params: dict) -> dict:
        raise RuntimeError("boom")

    server.set_handler("sendMessage", crash)
    with pytest.raises(TelegramServerError, match="boom"):
        await bot.send_message(1, "x")
    assert [type(e) for e in server.errors] == [RuntimeError]


async def test_stop_releases_pending_long_poll() -> None:
    fake = FakeTelegramServer()
    await fake.start()
    bot = make_bot(fake)
    try:
        poll = asyncio.create_task(bot.get_updates(timeout=30))
        await fake.wait_for("getUpdates")
        started = time.monotonic()
        await fake.stop()
        assert await asyncio.wait_for(poll, timeout=2) == []
        assert time.monotonic() - started < 1.5
    finally:
        await bot.session.close()
        await fake.stop()


# --------------------------------------------------------------------------- latency

# asyncio may fire a timer up to its clock resolution early; allow a millisecond.
_EARLY = 0.001


async def test_latency_delays_an_answer(server: FakeTelegramServer, bot: Bot) -> None:
    await bot.get_me()  # connection set up outside the timed call
    server.set_latency(0.2)
    started = time.monotonic()
    message = await bot.send_message(1001, "slow")
    elapsed = time.monotonic() - started
    assert message.text == "slow"
    assert elapsed >= 0.2 - _EARLY
    [record] = server.sent_messages()
    assert record.at - started < 0.1  # recorded on arrival, before the delay
    assert record.answered_at is not None
    assert record.answered_at - record.at >= 0.2 - _EARLY
    assert record.response_status == 200


async def test_latency_concurrent_requests_wait_concurrently(
    server: FakeTelegramServer, bot: Bot
) -> None:
    await bot.get_me()
    server.set_latency(0.2)
    started = time.monotonic()
    sent = await asyncio.gather(*(bot.send_message(1000 + i, f"m{i}") for i in range(20)))
    elapsed = time.monotonic() - started
    assert len(sent) == 20
    assert 0.2 - _EARLY <= elapsed < 1.0  # serialized it would take 20 x 0.2 = 4 s
    records = server.sent_messages()
    assert len(records) == 20
    assert all(r.answered_at is not None and r.answered_at - r.at >= 0.2 - _EARLY for r in records)


async def test_latency_exempt_methods_and_zero_clears(server: FakeTelegramServer, bot: Bot) -> None:
    await bot.get_me()
    server.set_latency(0.2)
    server.latency_exempt.add("getme")  # as the benchmarks exempt their own methods
    started = time.monotonic()
    await bot.get_me()
    assert time.monotonic() - started < 0.15

    server.set_latency(0)
    started = time.monotonic()
    await bot.send_message(1001, "fast")
    assert time.monotonic() - started < 0.15


async def test_latency_blanket_skips_get_updates(server: FakeTelegramServer, bot: Bot) -> None:
    await bot.get_me()
    server.set_latency(0.2)
    update_id = server.push_update(u.message_update(1001, "queued"))
    started = time.monotonic()
    [update] = await bot.get_updates(timeout=5)
    assert time.monotonic() - started < 0.15
    assert update.update_id == update_id
    [poll] = server.calls("getUpdates")
    assert poll.answered_at is not None


async def test_latency_pending_long_poll_has_no_answer_time(
    server: FakeTelegramServer, bot: Bot
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    [pending] = await server.wait_for("getUpdates")
    assert pending.answered_at is None
    server.push_update(u.message_update(1001, "wake"))
    await asyncio.wait_for(poll, timeout=2)
    assert pending.answered_at is not None
    assert pending.answered_at >= pending.at


def test_latency_rejects_bad_values() -> None:
    fake = FakeTelegramServer()
    with pytest.raises(ValueError, match=">= 0"):
        fake.set_latency(-0.1)


async def test_push_updates_many_at_once(server: FakeTelegramServer, bot: Bot) -> None:
    ids = server.push_updates([u.message_update(1000 + i, f"m{i}") for i in range(3)])
    raw = server.push_updates([{"message": u.message_update(1, "raw")["message"]}])
    assert ids == sorted(ids)
    assert raw[0] > ids[-1]
    got = await bot.get_updates()
    assert [x.update_id for x in got] == [*ids, *raw]
