"""`infusion-companion chat`: the real bot in the terminal, with no token and no network.

The same dispatcher, handlers, templates, database code and reminder engine as `run`, fed
updates typed in the terminal (`Dispatcher.feed_update`) and answering through an in-memory
Bot API (`TryoutSession`). The chat user is a patient (an admin of STAFF_IDS with --staff).
The clock is the system's moved by `/clock`; after every line the reminder engine and the
staff-alert outbox make one pass, so a reminder due at the new time appears at once.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from aiogram import Bot
from aiogram.types import Update
from pydantic import SecretStr

from bot.config import Settings
from bot.content.validate import validate_content
from bot.db.migrate import upgrade
from bot.factory import Application, create_application, create_bot, register_commands
from bot.factory import register_staff_menus as _register_staff_menus
from bot.tryout.render import terminal_text
from bot.tryout.session import BOT_USER, Button, ChatUser, Event, Notice, Shown, TryoutSession
from foundation.clock import Clock, SystemClock
from foundation.timemath import resolve_wall, to_local

CHAT_USER_ID = 700001
CHAT_USER_NAME = "Alex"
TOKEN = "1:TRYOUT"
_STEP = re.compile(r"(\d+)\s*([dhm])")
_STEPS = re.compile(r"^\+?\s*(\d+\s*[dhm]\s*)+$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}
_TAP = re.compile(r"^(?:(\d+)\.)?(\d+)$")  # "2" (the newest buttons) or "3.2"
# An invite's link, pasted as a patient would open it: t.me/<bot>?start=<code>.
_DEEP_LINK = re.compile(r"^(?:https?://)?t(?:elegram)?\.me/\w+\?start=([\w-]+)$")
BLOCK = '"""'

HELP = (
    "Type as you would in Telegram. Buttons show as [3.1]: type 3.1 to tap that one, or just 1"
    " for the newest message's buttons.\n"
    f"Several lines: a line {BLOCK}, your lines, then {BLOCK} again (or end lines with \\).\n"
    "An invite link (t.me/...?start=...) pasted opens it, as a tap on it would.\n"
    "/file PATH sends that file as a document (a team member's CSV of visits to import).\n"
    "/clock shows the time; /clock +2d (or +3h, +90m, 1d2h) moves it on; "
    "/clock 2026-12-02 19:00 sets it (clinic time). /quit (or Ctrl-D) ends."
)


@dataclass(frozen=True)
class ChatOptions:
    db: Path | None = None  # a SQLite file; None: a fresh temporary one
    lang: str = "en"  # the chat user's Telegram language code
    staff: bool = False  # the chat user is an admin (their id joins STAFF_IDS)
    messages: Path | None = None  # a messages folder to try (default MESSAGES_DIR)
    files: Path | None = None  # where pictures the bot sends (QR codes) are saved
    log_file: Path | None = None  # where the bot's log lines go (None: shown, --verbose)


class ShiftedClock:
    """The system clock moved on (or back) by hand: time still passes while you type."""

    def __init__(self, base: Clock | None = None) -> None:
        self._base = base or SystemClock()
        self._offset = timedelta(0)

    def now(self) -> datetime:
        return self._base.now() + self._offset

    def advance(self, delta: timedelta) -> None:
        self._offset += delta

    def set(self, instant: datetime) -> None:
        self._offset = instant - self._base.now()


def parse_jump(text: str, clock: ShiftedClock, settings: Settings) -> datetime:
    """The instant `/clock TEXT` asks for: `+2d`, `3h`, `1d2h30m`, or a clinic wall time
    `YYYY-MM-DD[ HH:MM]`. ValueError when it is neither."""
    text = text.strip()
    if _STEPS.match(text):
        delta = sum(
            (timedelta(**{_UNITS[unit]: int(n)}) for n, unit in _STEP.findall(text)),
            timedelta(0),
        )
        return clock.now() + delta
    wall = datetime.fromisoformat(text)  # ValueError for anything else
    if wall.tzinfo is not None:
        return wall
    return resolve_wall(wall, settings.clinic_zone)


@dataclass
class _Keyboard:
    message_id: int
    text: str
    number: int  # as shown: [number.button]
    buttons: list[Button] = field(default_factory=list)
    reply_to: int | None = None  # the message it answers (a document the chat user sent)


class Chat:
    """One terminal conversation with the bot (see the module's doc)."""

    def __init__(
        self,
        app: Application,
        session: TryoutSession,
        clock: ShiftedClock,
        out: TextIO,
        *,
        color: bool = False,
    ) -> None:
        self.app = app
        self.bot: Bot = app.bot
        self.session = session
        self.user = session.user
        self.clock = clock
        self.out = out
        self.color = color
        self.keyboards: dict[int, _Keyboard] = {}  # by the number shown
        self._numbers: dict[int, int] = {}  # message id -> number shown
        self._next_number = itertools.count(1)
        self.newest: int | None = None  # the number of the newest message with buttons
        self._update_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._sent: dict[int, dict[str, Any]] = {}  # the chat user's documents, by message id

    @property
    def keyboard(self) -> _Keyboard | None:
        """The newest message's buttons."""
        return self.keyboards.get(self.newest) if self.newest is not None else None

    # --- input ----------------------------------------------------------------------------
    async def handle(self, line: str) -> bool:
        """Act on one typed message (one line, or several); False when the chat should end."""
        text = line.strip()
        if not text:
            return True
        word, _, rest = text.partition(" ")
        if word in ("/quit", "/exit"):
            return False
        tap = _TAP.match(text)
        link = _DEEP_LINK.match(text)
        try:
            if word == "/clock":
                self._move_clock(rest)
            elif word == "/file":
                await self._send_file(rest)
            elif tap is not None:
                await self._tap(tap.group(1), int(tap.group(2)), text)
            elif link is not None:
                self.print_line(f"(you open the link: /start {link.group(1)})")
                await self._say(f"/start {link.group(1)}")
            else:
                await self._say(text)
            await self.run_due()
        except Exception as exc:  # the chat goes on, without a traceback
            self.print_line(f"(that did not work: {type(exc).__name__}; the chat goes on)")
        self.show(self.session.take_events())
        return True

    async def run_due(self) -> None:
        """One pass of the reminder engine and of the staff-alert outbox, as the running bot
        makes when their time comes."""
        await self.app.reminders.run_due()
        if await self.app.alerts.deliver_due():
            # A notice sent lets go the reminders it held (they follow it: bot/db/reminders.py),
            # as its outcome wakes the running bot's engine.
            await self.app.reminders.run_due()
            await self.app.alerts.deliver_due()

    def _move_clock(self, arg: str) -> None:
        if arg.strip():
            try:
                target = parse_jump(arg, self.clock, self.app.context.settings)
            except ValueError:
                self.print_line("(clock: give +2d, +3h, +90m or a time like 2026-12-02 19:00)")
                return
            self.clock.set(target)
        self.print_line(f"⏰ {self.clock_line()}")

    def clock_line(self) -> str:
        zone = self.app.context.settings.clinic_zone
        local = to_local(self.clock.now(), zone)
        return f"{local:%a %d %b %Y, %H:%M} ({zone.key})"

    async def _say(self, text: str) -> None:
        message = self._message(text)
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        await self._feed({"message": message})

    async def _send_file(self, arg: str) -> None:
        """A document, as Telegram's paper clip sends one."""
        path = Path(arg.strip().strip("'\""))
        try:
            path, data = await asyncio.to_thread(_read_file, path)
        except OSError as exc:
            self.print_line(f"(/file: cannot read {path}: {exc.strerror or type(exc).__name__})")
            return
        message = self._message("")
        del message["text"]
        csv_like = path.suffix.lower() in (".csv", ".txt", ".tsv")
        message["document"] = {
            "file_id": self.session.add_file(data),
            "file_unique_id": f"u-{path.name}",
            "file_name": path.name,
            "mime_type": "text/csv" if csv_like else "application/octet-stream",
            "file_size": len(data),
        }
        self._sent[message["message_id"]] = message
        self.print_line(f"(you send the file {path.name}, {len(data):,} bytes)")
        await self._feed({"message": message})

    async def _tap(self, shown: str | None, number: int, text: str) -> None:
        keyboard = self.keyboard if shown is None else self.keyboards.get(int(shown))
        if keyboard is None or not 1 <= number <= len(keyboard.buttons):
            # A number with no button to tap is a message, as in Telegram.
            await self._say(text)
            return
        button = keyboard.buttons[number - 1]
        self.print_line(f"(you tap “{button.label}”)")
        if button.data is None:
            self.print_line(f"(a link: {button.url})")
            return
        message = self._message(keyboard.text, message_id=keyboard.message_id)
        message["from"] = dict(BOT_USER)
        if keyboard.reply_to in self._sent:
            message["reply_to_message"] = self._sent[keyboard.reply_to]
        callback = {
            "id": f"tryout-{next(self._callback_ids)}",
            "from": self._user(),
            "chat_instance": "tryout",
            "data": button.data,
            "message": message,
        }
        await self._feed({"callback_query": callback})

    def _user(self) -> dict[str, Any]:
        return {
            "id": self.user.user_id,
            "is_bot": False,
            "first_name": self.user.first_name,
            "language_code": self.user.language_code,
        }

    def _message(self, text: str, *, message_id: int | None = None) -> dict[str, Any]:
        user = self._user()
        return {
            "message_id": message_id or self.session.next_message_id(self.user.user_id),
            "date": int(self.clock.now().timestamp()),
            "chat": {"id": user["id"], "type": "private", "first_name": user["first_name"]},
            "from": user,
            "text": text,
        }

    async def _feed(self, body: dict[str, Any]) -> None:
        update = Update.model_validate(
            {"update_id": next(self._update_ids), **body}, context={"bot": self.bot}
        )
        await self.app.dispatcher.feed_update(self.bot, update)

    # --- output ---------------------------------------------------------------------------
    def show(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, Notice):
                self.print_line(f"bot (notice)> {event.text}")
            elif event.chat_id == self.user.user_id:
                self._show_own(event)
            else:
                body = terminal_text(event.html, color=self.color)
                self.print_line(f"bot → staff chat {event.chat_id}>\n{_indent(body)}")

    def _show_own(self, shown: Shown) -> None:
        head = "bot (edited)>" if shown.edited else "bot>"
        body = terminal_text(shown.html, color=self.color)
        if shown.picture:
            body = f"[picture saved: {shown.picture}]\n{body}".rstrip()
        if shown.file:
            body = f"[file saved: {shown.file}]\n{body}".rstrip()
        lines = [head, _indent(body)]
        flat = [b for row in shown.buttons for b in row]
        number = self._numbers.get(shown.message_id)
        if flat:
            if number is None:
                number = self._numbers[shown.message_id] = next(self._next_number)
            self.keyboards[number] = _Keyboard(
                shown.message_id, terminal_text(shown.html), number, flat, shown.reply_to
            )
            self.newest = number
            index = itertools.count(1)
            for row in shown.buttons:
                lines.append(
                    "    " + "   ".join(f"[{number}.{next(index)}] {b.label}" for b in row)
                )
        elif number is not None:
            self.keyboards.pop(number, None)  # its buttons were taken away by the edit
            if self.newest == number:
                self.newest = None
        self.print_line("\n".join(lines))

    def print_line(self, text: str) -> None:
        print(text, file=self.out, flush=True)


def _read_message(stdin: TextIO, stdout: TextIO, typed: bool) -> str | None:
    """One message: a line; lines ending with a backslash and the line after them; or the
    lines between two lines of three double quotes. None at the end of the input."""
    if typed:
        stdout.write("you> ")
        stdout.flush()
    line = stdin.readline()
    if not line:
        return None
    if line.strip() == BLOCK:
        lines: list[str] = []
        while True:
            if typed:
                stdout.write("...  ")
                stdout.flush()
            more = stdin.readline()
            if not more or more.strip() == BLOCK:
                return "\n".join(lines)
            lines.append(more.rstrip("\n"))
    lines = [line.rstrip("\n")]
    while lines[-1].endswith("\\"):
        lines[-1] = lines[-1][:-1]
        if typed:
            stdout.write("...  ")
            stdout.flush()
        more = stdin.readline()
        if not more:
            break
        lines.append(more.rstrip("\n"))
    return "\n".join(lines)


def _read_file(path: Path) -> tuple[Path, bytes]:
    """A file the chat user sends (``~`` expanded): its path and its bytes."""
    path = path.expanduser()
    return path, path.read_bytes()


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" if line else "" for line in text.splitlines())


@contextmanager
def _database(options: ChatOptions) -> Iterator[Path]:
    if options.db is not None:
        options.db.parent.mkdir(parents=True, exist_ok=True)
        yield options.db
        return
    with tempfile.TemporaryDirectory(prefix="companion-chat-") as folder:
        yield Path(folder) / "companion.db"


async def run_chat(
    settings: Settings,
    options: ChatOptions,
    *,
    stdin: TextIO,
    stdout: TextIO,
    clock: Clock | None = None,
) -> int:
    """Chat with the bot over `stdin`/`stdout` until /quit or end of input; the exit code."""
    messages = options.messages or settings.messages_dir
    problems = validate_content(messages, settings.default_language)
    if problems:
        print(f"content in {messages} is invalid:", *problems, sep="\n  ", file=stdout)
        return 1
    color = stdout.isatty()
    moved = ShiftedClock(clock)
    user = ChatUser(CHAT_USER_ID, CHAT_USER_NAME, options.lang)
    with _database(options) as db_file:
        staff_ids = settings.staff_ids | {user.user_id} if options.staff else settings.staff_ids
        # Importing visits needs a patient key: the chat makes one of its own if none is set.
        intake_key = settings.intake_patient_key or SecretStr(secrets.token_urlsafe(48))
        settings = settings.model_copy(
            update={
                "intake_patient_key": intake_key,
                "bot_token": SecretStr(TOKEN),
                "database_url": f"sqlite+aiosqlite:///{db_file}",
                "messages_dir": messages,
                "staff_ids": staff_ids,
                "send_chat_interval": 0.0,
                # Self-contained: nothing shared with a running bot's Redis.
                "redis_url": None,
                "webhook_url": None,
            }
        )
        session = TryoutSession(user, pictures=options.files)
        app = create_application(settings, clock=moved, bot=create_bot(settings, session))
        try:
            await upgrade(app.db_engine)
            await register_commands(app.bot, app.context.content)
            if options.staff:
                await _register_staff_menus(app)
            session.take_events()
            chat = Chat(app, session, moved, stdout, color=color)
            role = "an admin (your id is in STAFF_IDS)" if options.staff else "a patient"
            where = "a fresh temporary database" if options.db is None else str(db_file)
            logs = (
                f"The bot's log lines go to {options.log_file} (--verbose shows them here)."
                if options.log_file is not None
                else "The bot's log lines show here."
            )
            pictures = (
                f" Pictures and files it sends (an invite's QR code) are saved in {options.files}."
                if options.files is not None
                else ""
            )
            start = (
                "Start with /invite (a visit's invite link and QR code), /today (today's "
                "visits), /texts, or /file visits.csv (import the clinic's schedule); "
                "/start shows the patient's side."
                if options.staff
                else "Start with /start, as a new patient would."
            )
            chat.print_line(
                f"Infusion Companion, without Telegram. You are {role}, language "
                f"{user.language_code}; {where}.\n{logs}{pictures}\n{HELP}\n"
                f"Your menu: {session.menu()}\n⏰ {chat.clock_line()}\n{start}"
            )
            typed = stdin.isatty()
            while True:
                message = _read_message(stdin, stdout, typed)
                if message is None:
                    break
                if not typed:  # a script: show what was "typed"
                    chat.print_line("you> " + message.replace("\n", "\n     "))
                if not await chat.handle(message):
                    break
        finally:
            await app.bot.session.close()
            await app.db_engine.dispose()
    return 0
