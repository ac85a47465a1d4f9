"""Updates: the whole bot answering a burst of updates, against a bare aiogram echo bot.

The bot is built as in production (create_application, the migrated database, the dispatcher
polling the fake Bot API with start_polling); its patients have consented, through the bot
itself (/start, then the consent button) in a warm-up phase. Two workloads, each pushed into
the fake server in one burst, updates spread round-robin over the patients:

* text: FAQ questions as free text ("how long is recovery?", "what does it feel like", ...);
* taps: button presses (callback queries): the FAQ menu button "m:faq" and FAQ answer buttons
  "f:<key>" (one answerCallbackQuery and one sendMessage each).

The echo bot is a bare aiogram Dispatcher on the same fake server: one message handler that
answers message.answer(message.text), one callback handler that answers callback.answer() and
callback.message.answer("ok"), so it makes the same Bot API calls per update as the bot. The bot
and the echo bot take turns (never concurrently), each against a reset server, at each latency:
every Bot API call but the long poll getUpdates is answered after that many milliseconds (real
Telegram answers a clinic's server in 100-1,000 ms per call).

Per run: updates/s = updates / (push -> the last update handled: its sendMessage, and for a
tap its answerCallbackQuery too, *received* by the server); answer time per update = push ->
the server received the first response: the sendMessage for a message, the
answerCallbackQuery for a tap (the reply to a tap, its sendMessage, is shown as well). Both
bots use aiogram's default connection pool (100 connections), as production does. Targets:
bot/echo updates/s >= 0.5 at 0 ms, >= 0.9 at 300 ms (and any latency >= 100 ms).

    .venv/bin/python -m bench.updates [--updates 2000] [--latency 0 300] [--rounds 3]
                                      [--patients 500] [--database sqlite|postgres]
                                      [--webhook]

--webhook: the bot gets its updates through its webhook (bot/web/app.py on a free port, each
update handled before the 200), the fake Bot API POSTing them (up to 40 at once, one chat's
one after another); the echo bots poll as before.
--database postgres runs the bot on a fresh PostgreSQL database (TEST_POSTGRES_URL, default
postgresql://postgres@127.0.0.1:5432/postgres) instead of a SQLite file. The bot's own send
rate is off (SEND_RATE=0), as the echo bot has none: answers take slots of that rate, and the
fake Bot API has no cap here.

--updates is the burst at 0 ms; with a latency the bursts are half as big (a burst of 1,000
takes the echo bot some 6 s at 300 ms per call, 2 calls per tap, through 100 connections).
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import tempfile
import time
import tomllib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, select

from bench.common import (
    CHAT_BASE,
    ROOT,
    FakeServer,
    application,
    bench_main,
    database_url,
    fake_server_process,
    log,
    make_bot,
    make_settings,
    percentile,
    process_cpu_seconds,
)
from bot.db.models import Patient
from scheduler.plan import Preparation
from tests.fake_telegram.updates import callback_update, command_update, message_update
from tests.integration.pg import fresh_postgres_database
from tests.integration.replicas import free_port

if TYPE_CHECKING:
    from aiogram import Bot, Dispatcher

    from bot.config import Settings
    from bot.content.store import Content
    from bot.factory import Application

QUESTIONS: tuple[str, ...] = (
    "how long is recovery?",
    "what does it feel like",
    "can I drive home afterwards",
    "how long does the whole visit take",
    "what happens during the infusion",
    "how does ketamine work",
    "what conditions do you treat",
    "why do I need several infusions",
    "can I keep seeing my therapist",
    "what should I bring",
    "what is your phone number",
)
"""Free-text questions, each matching one FAQ prompt of messages/en/faq.toml."""

MENU_TAP = "m:faq"  # MenuCb(to="faq")
CONSENT_TAP = "c:1"  # ConsentCb(agree=True)
WORKLOADS = ("text", "taps")
STALL_SECONDS = 60.0
"""A burst is given up when no further update was handled for this long."""


def faq_keys() -> list[str]:
    with (ROOT / "messages" / "en" / "faq.toml").open("rb") as fh:
        return [prompt["key"] for prompt in tomllib.load(fh)["prompt"]]


def workload(kind: str, n: int, patients: int, keys: Sequence[str]) -> list[dict[str, Any]]:
    """n updates of one workload, update i from patient i % patients."""
    if kind == "text":
        return [
            message_update(CHAT_BASE + i % patients, QUESTIONS[i % len(QUESTIONS)])
            for i in range(n)
        ]
    return [
        callback_update(
            CHAT_BASE + i % patients,
            MENU_TAP if i % 2 == 0 else f"f:{keys[(i // 2) % len(keys)]}",
            message_text="Questions and answers",
        )
        for i in range(n)
    ]


NO_VISIT: dict[str, Any] = {"preparation": Preparation(), "suggested": False}
"""The context of an answer to a patient without a visit (no clinic values to print)."""


def expected_texts(content: Content, updates: list[dict[str, Any]]) -> Counter[str]:
    """What the bot should say to `updates` (FAQ answers and the FAQ menu)."""
    faq = content.faq("en")
    wanted: Counter[str] = Counter()
    for update in updates:
        if "message" in update:
            entry = faq.matcher.match(update["message"]["text"])
            name = entry.template if entry else "faq_no_match"
            wanted[content.render(name, "en", **NO_VISIT)] += 1
        else:
            data = update["callback_query"]["data"]
            if data == MENU_TAP:
                wanted[content.render("faq_menu", "en")] += 1
            else:
                entry = faq.by_key(data.removeprefix("f:"))
                wanted[
                    content.render(entry.template if entry else "faq_no_match", "en", **NO_VISIT)
                ] += 1
    return wanted


# --------------------------------------------------------------------------- the two bots


@dataclass
class Contender:
    """A dispatcher and its Bot; `idle` waits until its handlers have all returned."""

    name: str
    dispatcher: Dispatcher
    bot: Bot
    idle: Callable[[], Awaitable[None]]
    content: Content | None = None  # the bot's, to check what it answered
    command: list[str] | None = None  # run in a process of its own (the bare echo bot)
    webhook: dict[str, str] | None = None  # setWebhook's url and secret_token: served, not polled


class _Busy:
    """Counts the echo bot's running handlers; `idle()` waits until there are none."""

    def __init__(self) -> None:
        self.count = 0
        self.none = asyncio.Event()
        self.none.set()

    def __enter__(self) -> None:
        self.count += 1
        self.none.clear()

    def __exit__(self, *exc: object) -> None:
        self.count -= 1
        if self.count == 0:
            self.none.set()

    async def idle(self) -> None:
        await self.none.wait()


def echo_bot(settings: Settings) -> Contender:
    from aiogram import Dispatcher
    from aiogram.types import CallbackQuery, Message

    dp = Dispatcher()
    busy = _Busy()

    @dp.message()
    async def echo(message: Message) -> None:
        with busy:
            await message.answer(message.text or "?")

    @dp.callback_query()
    async def tap(callback: CallbackQuery) -> None:
        with busy:
            await callback.answer()
            if callback.message is not None:
                await callback.message.answer("ok")

    return Contender("echo+fixes", dp, make_bot(settings, plain=True), busy.idle)


def bare_echo_bot(settings: Settings) -> Contender:
    """The reference: bench/echo_bot.py, plain aiogram in a process of its own."""
    import sys

    assert settings.bot_token is not None
    command = [
        sys.executable,
        "-m",
        "bench.echo_bot",
        settings.telegram_api_url,
        settings.bot_token.get_secret_value(),
    ]
    dp, bot = None, None

    async def idle() -> None:
        return None

    return Contender("echo", dp, bot, idle, None, command)  # type: ignore[arg-type]


def the_bot(app: Application) -> Contender:
    async def idle() -> None:
        inflight = getattr(app, "inflight", None)
        if inflight is not None:
            await inflight.wait_idle(30)

    content = getattr(getattr(app, "context", None), "content", None)
    return Contender("bot", app.dispatcher, app.bot, idle, content)


@contextlib.asynccontextmanager
async def polling(server: FakeServer, who: Contender) -> AsyncIterator[int | None]:
    """`who` polls the server (as tests/integration/harness.py starts the bot) until exit.
    Yields the pid of its process when it runs in one of its own, None otherwise."""
    if who.command is not None:
        async with _polling_process(server, who) as pid:
            yield pid
        return
    if who.webhook is not None:
        # Its web server runs all along (serve_webhook); registered, the fake delivers to it.
        await server.call("setWebhook", **who.webhook)
        try:
            yield None
        finally:
            await who.idle()
            await server.call("deleteWebhook")
        return
    task = asyncio.create_task(
        who.dispatcher.start_polling(
            who.bot, handle_signals=False, polling_timeout=10, close_bot_session=False
        )
    )
    try:
        deadline = time.monotonic() + 30
        while await server.polling() < 1:
            if task.done():
                task.result()
            if time.monotonic() > deadline:
                raise RuntimeError(f"{who.name}: polling did not start")
            await asyncio.sleep(0.02)
        yield None
    finally:
        await who.idle()
        if not task.done():
            with contextlib.suppress(RuntimeError):
                await who.dispatcher.stop_polling()
        await task


@contextlib.asynccontextmanager
async def _polling_process(server: FakeServer, who: Contender) -> AsyncIterator[int]:
    assert who.command is not None
    process = await asyncio.create_subprocess_exec(
        *who.command, cwd=ROOT, stdin=asyncio.subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while await server.polling() < 1:
            if process.returncode is not None:
                raise RuntimeError(f"{who.name}: exited with {process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{who.name}: polling did not start")
            await asyncio.sleep(0.02)
        yield process.pid
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
            await process.wait()


# --------------------------------------------------------------------------- one burst


@dataclass
class Burst:
    n: int
    handled: int
    seconds: float
    """Push -> the last handled update."""
    answer_ms: list[float]
    """Push -> first response received (sendMessage; a tap: answerCallbackQuery)."""
    reply_ms: list[float]
    """Push -> the sendMessage received (the same as answer_ms for messages)."""
    cpu_ms: float
    """CPU of this (the bots') process per update during the burst."""
    expected: int | None = None
    """Replies whose text is what the bot should say (the bot only)."""
    unexpected: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.handled / self.seconds if self.seconds > 0 else 0.0


async def _wait_handled(server: FakeServer, n: int, label: str) -> int:
    handled, last_change, last_log = 0, time.monotonic(), time.monotonic()
    while handled < n:
        await asyncio.sleep(0.2)
        now = time.monotonic()
        count = await server.handled()
        if count != handled:
            handled, last_change = count, now
        if now - last_change > STALL_SECONDS:
            log(f"updates: {label}: gave up, {handled:,}/{n:,} handled")
            break
        if now - last_log >= 10:
            log(f"updates: {label}: {handled:,}/{n:,} handled")
            last_log = now
    return handled


async def burst(
    server: FakeServer,
    who: Contender,
    updates: list[dict[str, Any]],
    latency_ms: float,
    label: str,
    *,
    check: bool = True,
) -> Burst:
    """Reset the server, let `who` poll it, push `updates` in one go, wait until all are
    handled (or stalled), and measure from the server's records."""
    await server.reset()
    await server.set_latency(latency_ms / 1000)
    async with polling(server, who) as pid:

        def used() -> float:
            return process_cpu_seconds(pid) if pid is not None else time.process_time()

        cpu = used()
        pushed_at = await server.push(updates)
        handled = await _wait_handled(server, len(updates), label)
        cpu = used() - cpu
        rows = await server.answers()
    await server.set_latency(0)
    answer_ms: list[float] = []
    reply_ms: list[float] = []
    done_at: list[float] = []
    for at, kind, ack, reply in rows:
        if reply is None or (kind == "callback_query" and ack is None):
            continue
        first = ack if kind == "callback_query" else reply
        answer_ms.append((first - at) * 1000)
        reply_ms.append((reply - at) * 1000)
        done_at.append(max(reply, ack or reply))
    result = Burst(
        n=len(updates),
        handled=handled,
        seconds=(max(done_at) - pushed_at) if done_at else 0.0,
        answer_ms=answer_ms,
        reply_ms=reply_ms,
        cpu_ms=cpu * 1000 / max(len(updates), 1),
    )
    if check and who.content is not None:
        with contextlib.suppress(Exception):  # a check of the bot's words, never fatal
            wanted = expected_texts(who.content, updates)
            sent = Counter(await server.sent_texts())
            result.expected = sum(min(count, wanted[text]) for text, count in sent.items())
            result.unexpected = [t for t in sent if t not in wanted][:3]
    return result


# --------------------------------------------------------------------------- warm-up


async def consent_all(server: FakeServer, bot: Contender, patients: int, app: Application) -> int:
    """/start, then the consent button, for every patient, through the bot itself."""
    chats = [CHAT_BASE + i for i in range(patients)]
    for label, updates in (
        ("/start", [command_update(c, "start") for c in chats]),
        ("consent", [callback_update(c, CONSENT_TAP, message_text="Welcome") for c in chats]),
    ):
        done = await burst(server, bot, updates, 0, f"warm-up {label}", check=False)
        log(f"updates: warm-up {label}: {done.handled:,}/{patients:,} in {done.seconds:.1f} s")
    async with app.db_engine.connect() as conn:
        consented = await conn.scalar(
            select(func.count()).select_from(Patient).where(Patient.consented_at.is_not(None))
        )
    return int(consented or 0)


# --------------------------------------------------------------------------- the run


@dataclass
class Figures:
    bot: list[Burst] = field(default_factory=list)
    echo: list[Burst] = field(default_factory=list)
    """The bare aiogram echo bot in its own process: the targets' reference."""
    fixed: list[Burst] = field(default_factory=list)
    """The echo bot inside this process, where importing the bot changed aiogram and pydantic
    (models built on first use, response models kept): shown for what those changes give."""


def _target(latency_ms: float) -> float | None:
    if latency_ms == 0:
        return 0.5
    if latency_ms >= 100:
        return 0.9
    return None


def _pooled(bursts: list[Burst], attr: str) -> list[float]:
    return [v for b in bursts for v in getattr(b, attr)]


def _p(values: list[float], q: float) -> str:
    return f"{percentile(values, q):,.0f}" if values else "-"


@contextlib.asynccontextmanager
async def serve_webhook(server: FakeServer, app: Application) -> AsyncIterator[dict[str, str]]:
    """The bot's webhook (bot/web/app.py, aiogram's SimpleRequestHandler, each update handled
    before the 200) on WEB_PORT, and the fake told to deliver to it; yields setWebhook's
    parameters."""
    from aiohttp import web

    from bot.web.app import build_web_app

    settings = app.context.settings
    assert settings.webhook_url is not None and settings.webhook_secret is not None
    runner = web.AppRunner(build_web_app(app), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.web_host, settings.web_port).start()
        await server.call("benchWebhook", targets=[settings.webhook_url])
        secret = settings.webhook_secret.get_secret_value()
        yield {"url": settings.webhook_url, "secret_token": secret}
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def database(kind: str, folder: Path) -> AsyncIterator[str]:
    """The bot's database URL: a SQLite file in `folder`, or a fresh PostgreSQL database."""
    if kind == "sqlite":
        yield database_url(folder / "updates.db")
        return
    try:
        async with fresh_postgres_database("bench_updates") as url:
            yield url
    except pytest.skip.Exception as exc:  # no PostgreSQL server
        raise SystemExit(f"updates: {exc.msg}") from None


async def run(
    updates: int,
    latency: list[float],
    rounds: int,
    patients: int,
    database_kind: str,
    webhook: bool,
) -> dict[str, Any]:
    keys = faq_keys()
    figures: dict[tuple[float, str], Figures] = {
        (lat, kind): Figures() for lat in latency for kind in WORKLOADS
    }
    async with contextlib.AsyncExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-updates-"))
        server = stack.enter_context(fake_server_process())
        url = await stack.enter_async_context(database(database_kind, Path(tmp)))
        hook: dict[str, Any] = {}
        if webhook:
            port = free_port()
            hook = {
                "webhook_url": f"http://127.0.0.1:{port}/telegram/webhook",
                "webhook_secret": "bench-webhook-secret",
                "web_port": port,
            }
        settings = make_settings(Path(tmp), server.base_url, database_url=url, send_rate=0, **hook)
        log(f"updates: the bot's database: {database_kind}; {'webhook' if webhook else 'polling'}")
        async with application(settings) as app:
            bot = the_bot(app)
            if webhook:
                bot.webhook = await stack.enter_async_context(serve_webhook(server, app))
            echo = bare_echo_bot(settings)
            fixed = echo_bot(settings)
            try:
                consented = await consent_all(server, bot, patients, app)
                log(f"updates: {consented:,} of {patients:,} patients consented")
                for kind in WORKLOADS:  # templates, models and connections, not measured
                    warm = workload(kind, min(200, updates), patients, keys)
                    for who in (bot, echo, fixed):
                        await burst(server, who, warm, 0, f"warm-up {kind} {who.name}", check=False)
                for k in range(rounds):
                    for lat in latency:
                        n = updates if lat == 0 else max(1, updates // 2)
                        for kind in WORKLOADS:
                            batch = workload(kind, n, patients, keys)
                            fig = figures[(lat, kind)]
                            contenders = ((bot, fig.bot), (echo, fig.echo), (fixed, fig.fixed))
                            for who, into in contenders:
                                label = f"round {k + 1}, {lat:g} ms, {kind}, {who.name}"
                                result = await burst(server, who, batch, lat, label)
                                into.append(result)
                                log(
                                    f"updates: {label}: {result.handled:,}/{n:,} in "
                                    f"{result.seconds:.2f} s = {result.rate:,.0f} updates/s, "
                                    f"answer p50 {_p(result.answer_ms, 50)} ms"
                                )
            finally:
                await fixed.bot.session.close()

    return report(figures, patients, consented, rounds)


def _table(rows: list[list[str]]) -> None:
    """Right-aligned columns but the first two; a rule under the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for k, row in enumerate(rows):
        cells = [
            cell.ljust(widths[i]) if i < 2 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        ]
        print("  " + "  ".join(cells).rstrip())
        if k == 0:
            print("  " + "  ".join("-" * w for w in widths))


def _pair(values: list[float]) -> str:
    return f"{_p(values, 50)} / {_p(values, 99)}"


def report(
    figures: dict[tuple[float, str], Figures], patients: int, consented: int, rounds: int
) -> dict[str, Any]:
    print(
        "updates: the bot vs a bare aiogram echo bot, one burst at a time, fake Bot API in its "
        f"own process; {consented:,}/{patients:,} patients consented; {rounds} round(s)"
    )
    table = [
        [
            "latency",
            "workload",
            "burst",
            "bot upd/s",
            "echo upd/s",
            "bot/echo",
            "target",
            "met",
            "answer ms p50/p99: bot",
            "echo",
            "reply ms p50/p99: bot",
            "echo",
            "CPU ms/upd: bot",
            "echo",
            "echo+fixes upd/s",
            "bot/echo+fixes",
        ]
    ]
    notes: list[str] = []
    rows: list[dict[str, Any]] = []
    for (lat, kind), fig in figures.items():
        bot_rate = statistics.median(b.rate for b in fig.bot)
        echo_rate = statistics.median(b.rate for b in fig.echo)
        per_round = [
            b.rate / e.rate if e.rate else 0.0 for b, e in zip(fig.bot, fig.echo, strict=True)
        ]
        ratio = statistics.median(per_round)
        fixed_rate = statistics.median(b.rate for b in fig.fixed)
        fixed_ratio = statistics.median(
            b.rate / f.rate if f.rate else 0.0 for b, f in zip(fig.bot, fig.fixed, strict=True)
        )
        target = _target(lat)
        bot_answer, echo_answer = _pooled(fig.bot, "answer_ms"), _pooled(fig.echo, "answer_ms")
        bot_reply, echo_reply = _pooled(fig.bot, "reply_ms"), _pooled(fig.echo, "reply_ms")
        table.append(
            [
                f"{lat:g} ms",
                kind,
                f"{fig.bot[0].n:,}",
                f"{bot_rate:,.0f}",
                f"{echo_rate:,.0f}",
                f"{ratio:.2f}",
                "-" if target is None else f">= {target:g}",
                "" if target is None else ("yes" if ratio >= target else "NO"),
                _pair(bot_answer),
                _pair(echo_answer),
                _pair(bot_reply),
                _pair(echo_reply),
                f"{statistics.mean(b.cpu_ms for b in fig.bot):.2f}",
                f"{statistics.mean(b.cpu_ms for b in fig.echo):.2f}",
                f"{fixed_rate:,.0f}",
                f"{fixed_ratio:.2f}",
            ]
        )
        where = f"{lat:g} ms {kind}"
        if rounds > 1:
            notes.append(f"{where}: bot/echo per round " + ", ".join(f"{r:.2f}" for r in per_round))
        incomplete = [b for b in (*fig.bot, *fig.echo, *fig.fixed) if b.handled < b.n]
        if incomplete:
            notes.append(
                f"{where}: INCOMPLETE "
                + ", ".join(f"{b.handled:,}/{b.n:,}" for b in incomplete)
                + f" handled (gave up after {STALL_SECONDS:.0f} s without progress)"
            )
        checked = [b for b in fig.bot if b.expected is not None]
        if checked:
            said = sum(b.expected or 0 for b in checked)
            total = sum(b.n for b in checked)
            note = f"{where}: the bot's replies as expected {said:,}/{total:,}"
            samples = [t for b in checked for t in b.unexpected][:2]
            if samples:
                note += "; other texts e.g. " + "; ".join(repr(t[:60]) for t in samples)
            notes.append(note)
        rows.append(
            {
                "latency_ms": lat,
                "workload": kind,
                "burst": fig.bot[0].n,
                "bot_rate": bot_rate,
                "echo_rate": echo_rate,
                "ratio": ratio,
                "ratios": per_round,
                "fixed_echo_rate": fixed_rate,
                "ratio_to_fixed_echo": fixed_ratio,
                "target": target,
                "bot_answer_p50_ms": percentile(bot_answer, 50) if bot_answer else None,
                "bot_answer_p99_ms": percentile(bot_answer, 99) if bot_answer else None,
                "echo_answer_p50_ms": percentile(echo_answer, 50) if echo_answer else None,
                "echo_answer_p99_ms": percentile(echo_answer, 99) if echo_answer else None,
                "bot_reply_p99_ms": percentile(bot_reply, 99) if bot_reply else None,
                "complete": not incomplete,
            }
        )
    _table(table)
    for note in notes:
        print(f"  {note}")
    print(
        "  answer: push -> the server received the first response (a message: the sendMessage; "
        "a tap: the answerCallbackQuery); reply: push -> the sendMessage received; "
        "upd/s: burst / (push -> the last update handled); bot/echo: median of the rounds; "
        "echo: bare aiogram in its own process (the targets' reference); echo+fixes: the same "
        "echo bot inside this process, with the aiogram changes that importing the bot makes"
    )
    return {"patients": patients, "consented": consented, "rounds": rounds, "rows": rows}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    options: dict[str, dict[str, Any]] = {
        "--updates": {"type": int, "default": 2000, "help": "burst at 0 ms (half with latency)"},
        "--latency": {
            "type": float,
            "nargs": "+",
            "default": [0.0, 300.0],
            "help": "milliseconds per Bot API call (getUpdates excepted)",
        },
        "--rounds": {"type": int, "default": 3},
        "--patients": {"type": int, "default": 500},
        "--webhook": {
            "action": "store_true",
            "help": "the bot answers through its webhook (the fake delivers), not polling",
        },
        "--database": {
            "dest": "database_kind",
            "choices": ["sqlite", "postgres"],
            "default": "sqlite",
            "help": "the bot's database",
        },
    }
    return bench_main(__doc__ or "", argv, options, run)


if __name__ == "__main__":
    main()
