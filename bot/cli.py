"""`infusion-companion` command line: run the bot, migrate the database, check content."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from bot.config import Settings, unknown_settings
from bot.lazy_aiogram import prepare_aiogram
from bot.logs import LogFormat, configure_logging
from foundation import regex_cache

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bot.tryout.chat import ChatOptions

ENV_HINT = "see .env.example for every setting"


def _fail(message: str) -> int:
    print(f"infusion-companion: {message}", file=sys.stderr)
    return 2


def _settings() -> Settings:
    return Settings()


def _configure_logging(level: str, log_format: LogFormat = "text") -> None:
    configure_logging(level, log_format)


def _mode_line(settings: Settings) -> str:
    """The one log line saying how this process gets its updates and keeps its shared state."""
    shared = (
        "conversation state and send limits in Redis"
        if settings.redis_url is not None
        else "conversation state in the database, send limits in this process"
    )
    if settings.webhook_mode:
        where = f"{settings.web_host}:{settings.web_port}{settings.webhook_path}"
        return f"starting in webhook mode (Telegram calls WEBHOOK_URL; serving {where}); {shared}"
    return f"starting in polling mode (one process); {shared}"


def _interactive() -> bool:
    """Someone at a terminal (not systemd, a container or a pipe)."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def _cmd_run(settings: Settings, unknown: list[str]) -> int:
    from bot.runtime import StartupError, run_polling, run_webhook

    if settings.bot_token is None or not settings.bot_token.get_secret_value().strip():
        if _interactive():
            # A newcomer's first command: the bot in the terminal rather than an error.
            print(
                "No BOT_TOKEN yet, so this is the bot in your terminal (`chat`); to serve "
                f"Telegram, put your bot's token in .env as BOT_TOKEN ({ENV_HINT}) and run "
                "./scripts/run again.",
                flush=True,
            )
            return _cmd_chat(settings, build_parser().parse_args(["chat"]))
        return _fail(
            f"BOT_TOKEN is not set; put your bot's token in .env ({ENV_HINT}), "
            "or try the bot without one: infusion-companion chat"
        )
    _configure_logging(settings.log_level, settings.log_format)
    log = logging.getLogger(__name__)
    log.info(_mode_line(settings))
    for line in unknown:
        log.warning(line)
    try:
        asyncio.run(run_webhook(settings) if settings.webhook_mode else run_polling(settings))
    except StartupError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        pass
    return 0


def _cmd_chat(settings: Settings, args: argparse.Namespace) -> int:
    from bot.tryout.chat import ChatOptions

    # Logs and pictures (an invite's QR code) in a folder of their own, kept after the chat:
    # the bot's log lines would interleave with the conversation (unless --verbose).
    files = Path(tempfile.mkdtemp(prefix="companion-chat-"))
    log_file = None if args.verbose else files / "chat.log"
    options = ChatOptions(
        db=args.db,
        lang=args.lang,
        staff=args.staff,
        messages=args.messages,
        files=files,
        log_file=log_file,
    )
    if log_file is None:
        _configure_logging(settings.log_level, settings.log_format)
        return _chat_until_done(settings, options)
    with log_file.open("a", encoding="utf-8") as log:
        configure_logging(settings.log_level, settings.log_format, log, force=True)
        try:
            return _chat_until_done(settings, options)
        finally:
            logging.getLogger().handlers.clear()


def _chat_until_done(settings: Settings, options: ChatOptions) -> int:
    from bot.tryout.chat import run_chat

    try:
        return asyncio.run(run_chat(settings, options, stdin=sys.stdin, stdout=sys.stdout))
    except KeyboardInterrupt:
        return 0


def _cmd_db_upgrade(settings: Settings) -> int:
    from bot.db.connection import create_engine
    from bot.db.migrate import upgrade

    async def _go() -> None:
        engine = create_engine(settings.database_url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    _configure_logging(settings.log_level, settings.log_format)
    asyncio.run(_go())
    print("database is up to date")
    return 0


def _cmd_db_backup(settings: Settings, target: Path) -> int:
    from bot.db.backup import BackupError, backup_sqlite_in_thread

    source = settings.sqlite_path()
    if source is None:
        if settings.database_url.startswith("sqlite"):
            return _fail("DATABASE_URL is not a SQLite file; there is nothing to back up")
        return _fail(
            "DATABASE_URL is not SQLite: back up PostgreSQL with pg_dump "
            "(see docs/operations.md, 'Backups and restore')"
        )
    try:
        result = asyncio.run(backup_sqlite_in_thread(source, target))
    except BackupError as exc:
        return _fail(str(exc))
    print(f"backup written to {result.target} ({result.bytes} bytes, integrity check ok)")
    return 0


def _cmd_content_check(settings: Settings, folder: Path | None) -> int:
    from bot.content.validate import validate_content

    folder = folder or settings.messages_dir
    problems = validate_content(folder, settings.default_language)
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(f"content in {folder} is valid")
    return 0


class SchemaNotReady(Exception):
    """The database is not at the schema this version reads; one line says what to do."""


async def _require_schema(engine: AsyncEngine) -> None:
    """A command that reads the database needs its schema: SchemaNotReady (one line: run
    `db upgrade`) when it is not at this version's, never a traceback from a missing table.
    It is not migrated here: a command that only reads changes nothing."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.db.migrate import schema_revision

    try:
        found, head = await schema_revision(engine)
    except SQLAlchemyError as exc:
        raise SchemaNotReady(
            f"cannot read the database at DATABASE_URL ({type(exc).__name__})"
        ) from None
    if found != head:
        state = "was never migrated" if found is None else f"is at revision {found}"
        raise SchemaNotReady(
            f"the database at DATABASE_URL {state}; this version needs {head}: "
            "run `infusion-companion db upgrade` first"
        )


def _cmd_content_export(settings: Settings, folder: Path) -> int:
    """The live texts (shipped files with the stored versions over them) into `folder`."""
    from bot.content.store import Content, ContentError
    from bot.db.connection import create_engine, create_session_factory
    from bot.db.content_versions import ContentVersionRepository

    async def _go() -> Content:
        content = Content(settings.messages_dir, settings.default_language)
        engine = create_engine(settings.database_url)
        try:
            await _require_schema(engine)
            async with create_session_factory(engine)() as session:
                await content.refresh(ContentVersionRepository(session), force=True)
        finally:
            await engine.dispose()
        return content

    try:
        content = asyncio.run(_go())
        content.export(folder)
    except (ContentError, OSError, SchemaNotReady) as exc:
        return _fail(str(exc))
    print(f"live content written to {folder}")
    return 0


def _cmd_api_token(settings: Settings, args: argparse.Namespace) -> int:
    """``api-token create NAME --source SOURCE | list | revoke NAME``: the HTTP API's tokens,
    made and revoked by the operator at the machine (written to the audit log as the command
    line's). A new token is printed once; only its SHA-256 is stored."""
    from bot.content.store import Content
    from bot.db.connection import create_engine, create_session_factory
    from bot.domain.audit import Surface
    from bot.services.container import Services
    from bot.services.errors import ApiTokenRefused
    from bot.services.patient_notices import PatientNotices
    from bot.services.staff_alerts import StaffAlerts
    from foundation.clock import SystemClock

    async def _go() -> list[str]:
        engine = create_engine(settings.database_url)
        try:
            await _require_schema(engine)
            clock = SystemClock()
            services = Services(
                settings=settings,
                content=Content(settings.messages_dir, settings.default_language),
                clock=clock,
                session_factory=create_session_factory(engine),
                staff_alerts=StaffAlerts(settings.staff_ids, clock),
                patient_notices=PatientNotices(clock),
            )
            async with services.transaction() as svc:
                tokens = svc.api_tokens
                if args.token_command == "create":
                    made = await tokens.create(Surface.CLI, args.name, args.source)
                    return [
                        f"token {made.row.name} for source {made.row.source} (shown once; "
                        "only its hash is kept):",
                        made.token,
                    ]
                if args.token_command == "revoke":
                    row = await tokens.revoke(Surface.CLI, args.name)
                    return [f"token {row.name} (source {row.source}) revoked"]
                rows = await tokens.tokens(Surface.CLI)
                if not rows:
                    return ["no API tokens yet: api-token create NAME --source SOURCE makes one"]
                return [
                    f"{r.name}\tsource {r.source}\t"
                    + ("active" if r.active else f"revoked {r.revoked_at:%Y-%m-%d %H:%M}Z")
                    + (f"\tlast used {r.last_used_at:%Y-%m-%d %H:%M}Z" if r.last_used_at else "")
                    for r in rows
                ]
        finally:
            await engine.dispose()

    try:
        lines = asyncio.run(_go())
    except SchemaNotReady as exc:
        return _fail(str(exc))
    except ApiTokenRefused as exc:
        return _fail(_TOKEN_REFUSALS[exc.code])
    for line in lines:
        print(line)
    return 0


_TOKEN_REFUSALS = {
    "bad_name": "a token's name is 1 to 64 lower-case letters, digits, '_', '.' or '-'",
    "name_taken": "a token of that name exists (revoked ones keep their name); choose another",
    "bad_source": "a source is 1 to 64 lower-case letters, digits, '_', '.' or '-'",
    "no_such_token": "no token of that name (infusion-companion api-token list)",
    "revoked": "that token was revoked already",
}


def _cmd_visits_import(settings: Settings, args: argparse.Namespace) -> int:
    """Import a CSV export of the clinic's schedule: the per-row preview; then (without
    --dry-run) apply it and write the new invite links as a CSV and a page of QR codes."""
    from bot.content.store import Content, ContentError
    from bot.db.connection import create_engine, create_session_factory
    from bot.domain.audit import Surface
    from bot.domain.invite_codes import InvalidUsername, deep_link
    from bot.intake.csv_import import CsvFileError, patient_references
    from bot.intake.rows import IntakeRow, RowError
    from bot.services.container import Services
    from bot.services.intake import IntakeReport, IntakeUnavailable
    from bot.services.intake_files import (
        invite_lines,
        links_csv,
        qr_page,
        report_lines,
        summary_line,
    )
    from bot.services.patient_notices import PatientNotices
    from bot.services.staff_alerts import StaffAlerts
    from foundation.clock import SystemClock

    path: Path = args.file
    source: str = args.source or settings.intake_csv_source
    username = (args.bot_username or settings.bot_username or "").strip()
    if not args.dry_run:
        try:
            deep_link(username, "x")
        except InvalidUsername:
            return _fail(
                "the invite links need the bot's @username: give --bot-username NAME "
                "(or set BOT_USERNAME)"
            )
    try:
        data = path.read_bytes()
    except OSError as exc:
        return _fail(f"cannot read {path} ({exc.strerror or type(exc).__name__})")

    async def _go(
        content: Content,
    ) -> tuple[IntakeReport, IntakeReport | None, dict[str, str], list[str]]:
        clock = SystemClock()
        engine = create_engine(settings.database_url)
        try:
            await _require_schema(engine)
            services = Services(
                settings=settings,
                content=content,
                clock=clock,
                session_factory=create_session_factory(engine),
                staff_alerts=StaffAlerts(settings.staff_ids, clock),
                # Queued notices and reminders go out from the running bot (its outbox and
                # reminder engine look again within HOUSEKEEPING_SECONDS).
                patient_notices=PatientNotices(clock),
            )
            async with services.transaction() as svc:
                found = svc.intake.read_csv(data, source)
                references = patient_references(data, source=source, keyer=svc.intake.keyer)
                rows: list[IntakeRow | RowError] = sorted(
                    [*found.rows, *found.errors], key=lambda r: r.line or 0
                )
                preview = await svc.intake.preview(rows)
            columns = [
                f"columns dropped unread: {', '.join(found.dropped)}" if found.dropped else "",
                f"columns ignored: {', '.join(found.ignored)}" if found.ignored else "",
            ]
            applied = None
            if not args.dry_run:
                async with services.transaction() as svc:
                    applied = await svc.intake.apply(rows, Surface.CLI, new_links=args.new_links)
        finally:
            await engine.dispose()
        return preview, applied, references, [c for c in columns if c]

    try:
        content = Content(settings.messages_dir, settings.default_language)
        preview, applied, references, columns = asyncio.run(_go(content))
    except (CsvFileError, IntakeUnavailable, ContentError, SchemaNotReady) as exc:
        return _fail(f"{path.name}: {exc}" if isinstance(exc, CsvFileError) else str(exc))
    shown = applied or preview
    rows_shown = report_lines(
        shown,
        clinic_zone=settings.clinic_timezone,
        content=content,
        lang=args.lang or settings.default_language,
    )
    for line in rows_shown:
        print(line)
    for line in columns:
        print(line)
    print(summary_line(shown))
    if applied is None:
        print("dry run: nothing was written; run again without --dry-run to import")
        return 0
    lines = invite_lines(applied.invites, references, username)
    if lines:
        out = args.out or path.parent
        stem = f"{path.stem}-invites-{datetime.now(UTC):%Y%m%d-%H%M%S}"
        csv_path, html_path = out / f"{stem}.csv", out / f"{stem}.html"
        try:
            out.mkdir(parents=True, exist_ok=True)
            csv_path.write_bytes(links_csv(lines))
            html_path.write_bytes(qr_page(lines, title=f"Invite links: {path.name}"))
        except OSError as exc:
            return _fail(f"cannot write the links into {out} ({exc.strerror})")
        print(f"invite links (shown this once; keep them safe): {csv_path}")
        print(f"printable QR codes: {html_path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="infusion-companion", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "run",
        help="start the bot (long polling, or webhook mode with WEBHOOK_URL); "
        "migrates the database first",
    )
    chat = sub.add_parser(
        "chat",
        help="try the bot in the terminal as a patient: no token, no network, a fresh database",
    )
    chat.add_argument("--db", type=Path, help="a SQLite file to use (and keep) instead")
    chat.add_argument("--lang", default="en", help="your Telegram language code (default en)")
    chat.add_argument("--staff", action="store_true", help="be an admin (your id joins STAFF_IDS)")
    chat.add_argument(
        "--messages", type=Path, help="a messages folder to try (default MESSAGES_DIR)"
    )
    chat.add_argument(
        "--verbose", action="store_true", help="show the bot's log lines here, not in a file"
    )
    db = sub.add_parser("db", help="database commands")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply all database migrations")
    backup = db_sub.add_parser(
        "backup", help="copy the SQLite database into FILE (safe while the bot runs)"
    )
    backup.add_argument("file", type=Path, help="a new file (an existing one is not replaced)")
    content = sub.add_parser("content", help="message content commands")
    content_sub = content.add_subparsers(dest="content_command", required=True)
    check = content_sub.add_parser(
        "check", help="validate every template and data file of DIR (default MESSAGES_DIR)"
    )
    check.add_argument("dir", nargs="?", type=Path, help="a messages folder")
    export = content_sub.add_parser(
        "export",
        help="write the live texts (files with staff edits over them) as a messages folder",
    )
    export.add_argument("dir", type=Path, help="where to write it")
    tokens = sub.add_parser(
        "api-token", help="the HTTP API's tokens (one per scheduling system, scoped to a source)"
    )
    tokens_sub = tokens.add_subparsers(dest="token_command", required=True)
    create = tokens_sub.add_parser("create", help="make a token; it is printed once")
    create.add_argument("name", help="the integration's name, e.g. acme-ehr")
    create.add_argument(
        "--source", required=True, help="the source whose visits it may write, e.g. acme"
    )
    tokens_sub.add_parser("list", help="every token: name, source, active or revoked")
    revoke = tokens_sub.add_parser("revoke", help="revoke a token: its calls are refused")
    revoke.add_argument("name")
    visits = sub.add_parser("visits", help="visits from the clinic's schedule")
    visits_sub = visits.add_subparsers(dest="visits_command", required=True)
    visits_import = visits_sub.add_parser(
        "import",
        help="import a CSV export of the schedule (docs/intake-csv.md): a preview per row, "
        "then the visits, and the new invite links as a CSV and a page of QR codes",
    )
    visits_import.add_argument("file", type=Path, help="the CSV file")
    visits_import.add_argument(
        "--source", help="the schedule it comes from (default INTAKE_CSV_SOURCE, csv)"
    )
    visits_import.add_argument(
        "--dry-run", action="store_true", help="show what it would do; write nothing"
    )
    visits_import.add_argument(
        "--out", type=Path, help="the folder for the links' files (default: the CSV's)"
    )
    visits_import.add_argument(
        "--bot-username", help="the bot's @username for the links (default BOT_USERNAME)"
    )
    visits_import.add_argument(
        "--new-links",
        action="store_true",
        help="end the links of the file's patients not opened yet and make new ones "
        "(the links' files were lost)",
    )
    visits_import.add_argument(
        "--lang",
        help="the language of the refused rows' reasons (default DEFAULT_LANGUAGE: the "
        "texts of messages/<lang>/)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = _settings()
    except ValidationError as exc:
        lines = [
            f"{'.'.join(str(p) for p in e['loc']).upper()}: "
            + e["msg"].removeprefix("Value error, ")
            for e in exc.errors()
        ]
        return _fail("invalid settings (" + ENV_HINT + "):\n  " + "\n  ".join(lines))
    # A misspelt setting would otherwise be ignored without a word. `run` logs them (in the
    # log's format); the other commands print them.
    unknown = unknown_settings(os.environ)
    # Before any module that imports aiogram: the commands below import them lazily.
    prepare_aiogram(settings.lazy_aiogram)
    regex_cache.use(settings.pattern_cache_dir)
    if args.command == "run":
        return _cmd_run(settings, unknown)
    for line in unknown:
        print(f"infusion-companion: warning: {line}", file=sys.stderr)
    if args.command == "chat":
        return _cmd_chat(settings, args)
    if args.command == "api-token":
        return _cmd_api_token(settings, args)
    if args.command == "db":
        if args.db_command == "backup":
            return _cmd_db_backup(settings, args.file)
        return _cmd_db_upgrade(settings)
    if args.command == "visits":
        return _cmd_visits_import(settings, args)
    if args.content_command == "export":
        return _cmd_content_export(settings, args.dir)
    return _cmd_content_check(settings, args.dir)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
