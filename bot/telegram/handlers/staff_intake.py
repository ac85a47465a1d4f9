"""A team member sends the clinic's schedule as a CSV document: a preview, then the import.

The file was fetched before the unit of work (bot/telegram/documents.py, ``upload``). The
preview (counts, the first refused rows, the new links to make) answers the document as a
reply, with Import and Don't import under it; their offer's token is kept in the conversation
state with the SHA-256 of the file, never the file (it holds the clinic's patient
references). Import fetches the document again (the message the preview answers), checks it
is the file previewed, applies it (svc.intake.apply, one transaction) and sends the new
invite links back as a CSV and a printable page of QR codes (bot/services/intake_files.py),
each shown this once. A second tap of Import is answered as made, a button of an older
preview as expired (bot/services/offers.py), as every confirmation of the bot.
"""

from __future__ import annotations

import hashlib

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from markupsafe import Markup

from bot.content.catalogue import (
    IntakeAlreadyApplied,
    IntakeApplied,
    IntakeDropped,
    IntakeFileProblem,
    IntakeLinksFile,
    IntakePreview,
    IntakeQrFile,
)
from bot.domain.audit import Actor
from bot.domain.staff import Role
from bot.intake.csv_import import MAX_FILE_BYTES, CsvFileError, CsvImport, patient_references
from bot.intake.rows import IntakeRow, RowError
from bot.services.container import ServiceScope
from bot.services.intake import IntakeReport, RowResult
from bot.services.intake_files import invite_lines, links_csv, qr_page, row_refusal
from bot.services.offers import Offer, OfferExpired, OfferKind
from bot.telegram.callbacks import IntakeAction, IntakeCb
from bot.telegram.documents import SentFile
from bot.telegram.identity import BotIdentity
from bot.telegram.reply import Reply

SHOWN_PROBLEMS = 8
"""Refused rows listed in the preview; the rest are counted."""
_CSV_TYPES = ("text/csv", "text/plain", "application/csv", "application/vnd.ms-excel")
_CSV_NAMES = (".csv", ".txt", ".tsv")
KIND = OfferKind.VISITS_IMPORT


def _looks_like_csv(message: Message) -> bool:
    document = message.document
    if document is None:
        return False
    name = (document.file_name or "").lower()
    return name.endswith(_CSV_NAMES) or (document.mime_type or "") in _CSV_TYPES


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read(svc: ServiceScope, reply: Reply, upload: SentFile | None) -> CsvImport | None:
    """The file as rows; None when it cannot be (the team member is told why)."""
    if upload is None or upload.data is None:
        problem = upload.problem if upload is not None else "download_failed"
        reply.send(IntakeFileProblem(problem=problem or "download_failed", limit_mb=_MB, reason=""))
        return None
    try:
        return svc.intake.read_csv(upload.data, svc.settings.intake_csv_source)
    except CsvFileError as exc:
        reply.send(IntakeFileProblem(problem="unreadable", limit_mb=_MB, reason=str(exc)))
        return None


_MB = MAX_FILE_BYTES // (1024 * 1024)


def _rows(found: CsvImport) -> list[IntakeRow | RowError]:
    return sorted([*found.rows, *found.errors], key=lambda r: r.line or 0)


def _counts(report: IntakeReport) -> dict[str, int]:
    counts = report.counts
    return {
        "created": counts[RowResult.CREATED],
        "moved": counts[RowResult.MOVED],
        "cancelled": counts[RowResult.CANCELLED],
        "updated": counts[RowResult.UPDATED],
        "unchanged": counts[RowResult.UNCHANGED],
        "errors": counts[RowResult.ERROR],
    }


async def upload(
    message: Message,
    state: FSMContext,
    reply: Reply,
    actor: Actor,
    svc: ServiceScope,
    upload: SentFile | None = None,
) -> None:
    """A document from a team member: the preview of importing it, nothing written."""
    await svc.intake.require(actor)  # a patient's file ends here (answered as unknown)
    svc.intake.rules  # noqa: B018 - not set up: IntakeUnavailable, answered once
    if not _looks_like_csv(message):
        reply.send(IntakeFileProblem(problem="not_csv", limit_mb=_MB, reason=""))
        return
    found = _read(svc, reply, upload)
    if found is None or upload is None or upload.data is None:
        return
    report = await svc.intake.preview(_rows(found))
    offer = Offer(KIND)
    await state.set_state(None)
    await state.set_data({**offer.to_state(), "file": _digest(upload.data)})
    errors = report.errors
    reply.send(
        IntakePreview(
            rows=len(report.outcomes),
            problems=[
                {
                    "line": o.error.line if o.error else o.line,
                    "field": (o.error.field or "") if o.error else "",
                    # Our own rendered (escaped) HTML, in the member's language.
                    "reason": Markup(reply.render(row_refusal(o.error))) if o.error else "",
                }
                for o in errors[:SHOWN_PROBLEMS]
            ],
            more_problems=max(0, len(errors) - SHOWN_PROBLEMS),
            new_links=report.new_links,
            zone_assumed=sum(o.zone_assumed for o in report.outcomes),
            zone=svc.intake.rules.clinic_zone.key,
            dropped=list(found.dropped),
            **_counts(report),
        ),
        reply.kb.intake_confirm(offer.token) if report.outcomes else None,
        reply_to=message.message_id,
    )


async def answer(
    callback: CallbackQuery,
    callback_data: IntakeCb,
    state: FSMContext,
    reply: Reply,
    actor: Actor,
    svc: ServiceScope,
    identity: BotIdentity,
    upload: SentFile | None = None,
) -> None:
    """Import or Don't import under a preview."""
    await svc.intake.require(actor)  # a forged button from a patient ends here
    data = await state.get_data()
    if callback_data.action is IntakeAction.APPLY and data.get("imported") == callback_data.t:
        reply.send(IntakeAlreadyApplied())
        return
    offer = Offer.answered(data, KIND, callback_data.t)
    if callback_data.action is IntakeAction.CANCEL:
        await state.set_data({})
        reply.send(IntakeDropped())
        return
    if upload is None or upload.data is None or _digest(upload.data) != data.get("file"):
        raise OfferExpired(KIND)  # the file previewed is not the one found now
    found = _read(svc, reply, upload)
    if found is None:
        return
    report = await svc.intake.apply(_rows(found), actor)
    # Remember which offer was made (not the file, not the links): a second tap says so.
    await state.set_data({"imported": offer.token})
    reply.send(IntakeApplied(new_links=report.new_links, **_counts(report)))
    invites = report.invites
    if not invites:
        return
    source = svc.settings.intake_csv_source
    references = patient_references(upload.data, source=source, keyer=svc.intake.keyer)
    # The bot's username was learnt before the transaction: no request here.
    lines = invite_lines(invites, references, identity.username)
    reply.send_document(links_csv(lines), "invite-links.csv", IntakeLinksFile(count=len(lines)))
    reply.send_document(
        qr_page(lines, title="Invite links"), "invite-qr-codes.html", IntakeQrFile(count=len(lines))
    )


def _from_the_team(message: Message, staff_role: Role | None = None) -> bool:
    """A team member's document; anyone else's gets the fallback's answer to what the bot
    does not read (a patient's scan is not an import refused)."""
    return staff_role is not None


def create_router() -> Router:
    """A fresh router each call: aiogram attaches a router to one dispatcher only."""
    r = Router(name="staff_intake")
    r.message.register(upload, F.document, F.chat.type == "private", _from_the_team)
    r.callback_query.register(answer, IntakeCb.filter())
    return r
