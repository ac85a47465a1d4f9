"""What an import hands back to the clinic: the new invite links as a CSV (for the clinic's
own mail merge or SMS tool) and as a printable page of QR codes with labels.

One line (one card) per patient who got a new link, never per visit. Whom to send it to is
the clinic's to know, so each line carries what the clinic itself gave: the patient's
reference **as the imported file wrote it** (echoed from the file in memory, never stored:
the bot keeps only its keyed hash), the label and the clinic's appointment ids of the visits
the link covers. No name, phone or e-mail: those columns were dropped as the file was read.
The visit type is left off the printed cards (a card may be seen by others; the lock-screen
rule); the CSV names it, for the clinic's own routing.

A link is shown once: only the SHA-256 of its code is stored, so these files are the only
copy. Cells that a spreadsheet would run as a formula (starting with ``= + - @``, a tab or a
carriage return) are written with a leading apostrophe (OWASP's "CSV injection").
"""

from __future__ import annotations

import base64
import csv
import html
import io
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from bot.content.catalogue import IntakeRowRefused
from bot.content.store import Content
from bot.intake.rows import RowError
from bot.services.intake import IntakeReport, IssuedInvite, RowResult
from bot.services.qr import qr_png
from foundation.timemath import load_zone, to_local

__all__ = [
    "InviteLine",
    "invite_lines",
    "links_csv",
    "qr_page",
    "report_lines",
    "row_refusal",
    "summary_line",
]

CSV_HEADER = (
    "patient",
    "appointment_ids",
    "label",
    "first_visit",
    "zone",
    "visit_type",
    "link",
    "link_expires",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class InviteLine:
    patient: str
    appointment_ids: tuple[str, ...]
    label: str
    first_visit: datetime
    """Local, in ``zone``."""
    zone: str
    visit_type: str
    link: str
    expires: datetime
    """Local, in ``zone``."""


def invite_lines(
    invites: Sequence[IssuedInvite], references: Mapping[str, str], bot_username: str
) -> list[InviteLine]:
    """One line per new link, in the order of the file (its first visit's line)."""
    lines = []
    for invite in invites:
        zone = load_zone(invite.zone)
        lines.append(
            InviteLine(
                patient=references.get(invite.patient_key, ""),
                appointment_ids=invite.external_ids,
                label=invite.label or "",
                first_visit=to_local(invite.first_start, zone),
                zone=invite.zone,
                visit_type=invite.visit_type,
                link=invite.link(bot_username),
                expires=to_local(invite.expires_at, zone),
            )
        )
    return lines


def _cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def links_csv(lines: Sequence[InviteLine]) -> bytes:
    """UTF-8 with a byte-order mark and CRLF, as spreadsheets open it."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for line in lines:
        writer.writerow(
            [
                _cell(line.patient),
                _cell(" ".join(line.appointment_ids)),
                _cell(line.label),
                line.first_visit.strftime("%Y-%m-%d %H:%M"),
                line.zone,
                line.visit_type,
                line.link,
                line.expires.strftime("%Y-%m-%d %H:%M"),
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1cm; }}
h1 {{ font-size: 14pt; }}
.cards {{ display: grid; grid-template-columns: repeat(3, 1fr); gap: 0.6cm; }}
.card {{ border: 1px dashed #888; padding: 0.4cm; text-align: center; break-inside: avoid;
  page-break-inside: avoid; }}
.card img {{ width: 4.2cm; height: 4.2cm; image-rendering: pixelated; }}
.who {{ font-weight: bold; font-size: 11pt; }}
.small {{ font-size: 8pt; color: #333; word-break: break-all; }}
@media print {{ h1, p.note {{ display: none; }} }}
</style></head><body>
<h1>{title}</h1>
<p class="note">{count} link(s). Cut along the dashed lines; each card is one patient's
one-time link (scan with the phone's camera). Staff details are above the code.</p>
<div class="cards">
{cards}
</div></body></html>
"""

_CARD = """<div class="card">
<div class="who">{patient}</div>
<div class="small">{label}{ids}</div>
<img alt="QR code of the link" src="data:image/png;base64,{png}">
<div>First visit: {when}</div>
<div class="small">{link}</div>
<div class="small">Open by {expires}</div>
</div>"""


def qr_page(lines: Sequence[InviteLine], *, title: str = "Invite links") -> bytes:
    """A self-contained HTML page (the QR codes inline as PNG), one card per link."""
    cards = []
    for line in lines:
        png = base64.b64encode(qr_png(line.link, scale=6, border=2)).decode("ascii")
        label = html.escape(line.label)
        ids = html.escape(" ".join(line.appointment_ids))
        cards.append(
            _CARD.format(
                patient=html.escape(line.patient),
                label=f"{label} · " if label else "",
                ids=ids,
                png=png,
                when=html.escape(line.first_visit.strftime("%a %d %b %Y, %H:%M")),
                link=html.escape(line.link),
                expires=html.escape(line.expires.strftime("%d %b %Y")),
            )
        )
    page = _PAGE.format(title=html.escape(title), count=len(lines), cards="\n".join(cards))
    return page.encode("utf-8")


def row_refusal(error: RowError) -> IntakeRowRefused:
    """Why a row was refused, as the text staff read it in their language (the values'
    fields are the message's variables)."""
    return IntakeRowRefused(code=error.reason, **asdict(error.values))


def report_lines(
    report: IntakeReport, *, clinic_zone: str, content: Content, lang: str
) -> list[str]:
    """The per-row preview (or result) as plain lines for the command line: the file's line,
    the clinic's appointment id and what the row does, or the reason it is refused (in
    `lang`, messages/<lang>/intake_row_refused). Never a patient's reference or anything else
    the row held."""
    lines = []
    for outcome in report.outcomes:
        where = f"line {outcome.line}" if outcome.line is not None else "-"
        if outcome.error is not None:
            # The template is Telegram HTML without tags: its escapes undone for a terminal.
            detail = html.unescape(content.render_message(row_refusal(outcome.error), lang))
            field = f"{outcome.error.field}: " if outcome.error.field else ""
            lines.append(f"{where:>10}  {'error':<9}  {field}{detail}")
            continue
        notes = []
        if outcome.invite is not None:
            notes.append("new link")
        elif outcome.linked:
            notes.append("patient linked")
        elif outcome.invite_pending:
            notes.append("link not opened yet")
        if outcome.zone_assumed:
            notes.append(f"read in {clinic_zone}")
        if outcome.ambiguous:
            notes.append("the time happens twice that night: fold says which")
        note = f"  ({'; '.join(notes)})" if notes else ""
        lines.append(f"{where:>10}  {outcome.result.value:<9}  {outcome.external_id}{note}")
    return lines


def summary_line(report: IntakeReport) -> str:
    counts = report.counts
    parts = [f"{counts[r]} {r.value}" for r in RowResult if counts[r]]
    links = "new invite links" if report.applied else "new invite links to make"
    verb = "applied" if report.applied else "preview, nothing written"
    return (
        f"{len(report.outcomes)} rows ({verb}): {', '.join(parts) or 'none'}; "
        f"{report.new_links} {links}"
    )
