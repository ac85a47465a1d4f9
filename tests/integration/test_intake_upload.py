"""A team member sends the clinic's schedule to the bot as a CSV document, through the real
dispatcher and the fake Bot API: the preview (counts, the first refused rows), Import and
Don't import (a second tap, a stale button, a patient's forged one), the invite links sent
back as a CSV and a page of QR codes; and the command line's `visits import`. The scenario
of the issue ("Done means"): tomorrow's 20 visits of three types as CSV, previewed,
imported, 20 invite links; a patient opens one and has the visit of its type; importing the
same file again changes nothing."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.cli import main
from bot.db.models import Appointment, AuditEntry, IntakeVisit, Invite
from foundation.timemath import load_zone
from tests.conftest import DEFAULT_NOW
from tests.fake_telegram import updates
from tests.fake_telegram.server import FakeTelegramServer, RecordedRequest
from tests.integration.harness import STAFF_ID, Harness, start_harness
from tests.integration.pg import ON_POSTGRES

SECRET = "an-intake-secret-of-at-least-32-bytes!"
PATIENT = 4242
ZONE = load_zone("America/New_York")
TOMORROW = (DEFAULT_NOW.astimezone(ZONE) + timedelta(days=1)).date()
TYPES = ("KET-IV", "Spravato", "consultation")
LINK = re.compile(r"https://t\.me/companion_test_bot\?start=([A-Za-z0-9_-]+)")
PERSONAL = "Jane Quinlan-Doe"


@pytest.fixture
async def clinic(telegram: FakeTelegramServer, tmp_path: Path) -> AsyncIterator[Harness]:
    async with start_harness(
        telegram,
        tmp_path,
        now=DEFAULT_NOW,
        intake_patient_key=SECRET,
        intake_visit_types={"csv": {"KET-IV": "infusion", "Spravato": "esketamine"}},
    ) as h:
        yield h


def export(rows: int = 20, *, day: Any = TOMORROW, bad: bool = False) -> bytes:
    """Tomorrow's schedule as a spreadsheet exports it: a BOM, CRLF, a name column, three
    types, quoted commas."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["Appointment ID", "Patient Name", "MRN", "Date", "Time", "Type", "Status",
                     "Label"])  # fmt: skip
    for i in range(rows):
        hour, minute = 8 + i // 3, 20 * (i % 3)
        writer.writerow(
            [
                f"APT-{i + 1:03d}",
                PERSONAL,
                f"MRN-{1000 + i}",
                day.isoformat(),
                f"{hour}:{minute:02d}",
                TYPES[i % 3],
                "booked",
                f"Chair {i % 4 + 1}, window" if i % 2 else "",
            ]
        )
    if bad:
        writer.writerow(["APT-999", PERSONAL, "MRN-9", day.isoformat(), "9:00", "massage",
                         "booked", ""])  # fmt: skip
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def document_message(server: FakeTelegramServer, data: bytes, name: str = "visits.csv") -> dict:
    return updates.message_update(STAFF_ID, None, document=server.add_file(data, name))


async def send_file(h: Harness, data: bytes, name: str = "visits.csv") -> tuple[dict, list[Any]]:
    update = document_message(h.server, data, name)
    return update, await h.feed(update)


def texts(sent: list[RecordedRequest]) -> list[str]:
    return [r.params["text"] for r in sent if r.method.lower() == "sendmessage"]


def button(sent: list[RecordedRequest], label: str) -> str:
    for request in sent:
        for row in (request.params.get("reply_markup") or {}).get("inline_keyboard", []):
            for b in row:
                if label.lower() in b["text"].lower():
                    return str(b["callback_data"])
    raise AssertionError(f"no button {label!r}")


async def press(h: Harness, data: str, document: dict, user: int = STAFF_ID) -> list[Any]:
    """A press under the preview, which answers the document message (as Telegram gives it)."""
    return await h.feed(updates.callback_update(user, data, reply_to_message=document["message"]))


async def count(h: Harness, model: type) -> int:
    async with h.app.context.session_factory() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


def documents(sent: list[RecordedRequest]) -> dict[str, bytes]:
    return {
        r.params["document"].filename: r.params["document"].data
        for r in sent
        if r.method.lower() == "senddocument"
    }


async def test_done_means_twenty_visits_of_three_types_preview_import_links_and_again(
    clinic: Harness,
) -> None:
    h = clinic
    data = export()
    document, sent = await send_file(h, data)
    [preview] = texts(sent)
    assert "Nothing is saved yet. Of 20 rows" in preview
    assert "20 new" in preview and "0 refused" in preview
    assert "20 patients get a new invite link" in preview
    assert "20 start times had no zone: read in America/New_York" in preview
    assert "patient_name" in preview and PERSONAL not in preview and "MRN-10" not in preview
    [shown] = [r for r in sent if r.method.lower() == "sendmessage"]
    assert shown.params["reply_parameters"]["message_id"] == document["message"]["message_id"]
    assert await count(h, IntakeVisit) == 0  # a preview writes nothing
    assert [r for r in h.server.requests if r.method == "downloadFile"]  # fetched

    sent = await press(h, button(sent, "Import these"), document)
    [done] = texts(sent)
    assert "Visits imported" in done and "20 new" in done and "20 new invite links" in done
    files = documents(sent)
    assert set(files) == {"invite-links.csv", "invite-qr-codes.html"}
    table = list(csv.DictReader(io.StringIO(files["invite-links.csv"].decode("utf-8-sig"))))
    assert len(table) == 20
    assert {row["visit_type"] for row in table} == {"infusion", "esketamine", "consultation"}
    assert table[0]["patient"] == "MRN-1000" and table[0]["appointment_ids"] == "APT-001"
    assert table[1]["label"] == "Chair 2, window"
    assert all(LINK.fullmatch(row["link"]) for row in table)
    page = files["invite-qr-codes.html"].decode("utf-8")
    assert page.count("data:image/png;base64,") == 20 and "MRN-1019" in page
    assert PERSONAL not in page and PERSONAL.encode() not in files["invite-links.csv"]
    assert "esketamine" not in page  # the cards keep the lock-screen rule
    assert await count(h, IntakeVisit) == 20 and await count(h, Invite) == 20

    # A patient opens one link: the visit of its type is theirs.
    spravato = table[1]
    code = LINK.fullmatch(spravato["link"]).group(1)  # type: ignore[union-attr]
    await h.command(PATIENT, "start", code)
    linked = await h.tap(PATIENT, "agree")
    assert any("booked your visit" in t for t in linked)
    async with h.app.context.session_factory() as session:
        [appointment] = (await session.execute(select(Appointment))).scalars()
    assert appointment.visit_type == "esketamine"

    # The same file again: nothing changes, no new link.
    document, sent = await send_file(h, data)
    [preview] = texts(sent)
    assert "20 unchanged" in preview and "No new invite links" in preview
    sent = await press(h, button(sent, "Import these"), document)
    assert "20 unchanged" in texts(sent)[0] and documents(sent) == {}
    assert await count(h, Invite) == 20 and await count(h, Appointment) == 1


async def test_second_tap_stale_button_dont_import_and_a_patients_forgery(
    clinic: Harness,
) -> None:
    h = clinic
    first, sent = await send_file(h, export(3))
    old_apply = button(sent, "Import these")
    document, sent = await send_file(h, export(3))
    apply, dont = button(sent, "Import these"), button(sent, "Don't import")

    stale = texts(await press(h, old_apply, first))
    assert any("import offer has expired" in t for t in stale)
    forged = texts(await press(h, apply, document, user=PATIENT))
    assert forged and "imported" not in forged[0].lower()
    assert await count(h, IntakeVisit) == 0

    assert "Visits imported" in texts(await press(h, apply, document))[0]
    again = texts(await press(h, apply, document))
    assert again == ["Those visits were imported already (once)."]
    assert await count(h, IntakeVisit) == 3 and await count(h, Invite) == 3
    assert "expired" in texts(await press(h, dont, document))[0]

    document, sent = await send_file(h, export(2, day=TOMORROW + timedelta(days=1)))
    assert texts(await press(h, button(sent, "Don't import"), document)) == [
        "Nothing was imported."
    ]
    assert await count(h, IntakeVisit) == 3
    async with h.app.context.session_factory() as session:
        actions = list((await session.execute(select(AuditEntry.action, AuditEntry.outcome))).all())
    assert ("visits.import", "done") in actions and ("visits.import", "refused") in actions


async def test_bad_files_get_a_kind_answer(clinic: Harness) -> None:
    h = clinic
    _, sent = await send_file(h, export(2, bad=True))
    [preview] = texts(sent)
    assert "1 refused" in preview and "line 4, type: not a known visit type" in preview
    assert "massage" not in preview

    # A team member whose Telegram speaks Spanish reads the reason in Spanish.
    spanish = document_message(h.server, export(2, bad=True))
    spanish["message"]["from"]["language_code"] = "es"
    [preview] = texts(await h.feed(spanish))
    assert "Filas rechazadas" in preview and "massage" not in preview
    assert "línea 4, type: no es un tipo de visita conocido (conocidos: " in preview

    _, sent = await send_file(h, b"just some words\r\nand more", "notes.csv")
    assert "I can't read that file as a table: line 1: no column for" in texts(sent)[0]
    pdf = h.server.add_file(b"%PDF-1.4", "scan.pdf", "application/pdf")
    sent = await h.feed(updates.message_update(STAFF_ID, None, document=pdf))
    assert "send the schedule as a CSV file" in texts(sent)[0]

    big = h.server.add_file(b"x", "huge.csv")
    big["file_size"] = 6 * 1024 * 1024
    sent = await h.feed(updates.message_update(STAFF_ID, None, document=big))
    assert "That file is over 5 MB" in texts(sent)[0]
    assert not [r for r in sent if r.method == "downloadFile"]

    gone = h.server.add_file(b"a,b", "visits.csv")
    h.server.files.clear()
    sent = await h.feed(updates.message_update(STAFF_ID, None, document=gone))
    assert "couldn't fetch that file" in texts(sent)[0]

    # A patient's file is not fetched, and answered as anything the bot does not read.
    sent = await h.feed(
        updates.message_update(PATIENT, None, document=h.server.add_file(export(1)))
    )
    assert not [r for r in sent if r.method == "downloadFile"]
    assert texts(sent) and "import" not in texts(sent)[0].lower()
    assert await count(h, IntakeVisit) == 0


async def test_without_the_secret_staff_are_told_it_is_not_set_up(
    telegram: FakeTelegramServer, tmp_path: Path
) -> None:
    async with start_harness(telegram, tmp_path, now=DEFAULT_NOW) as h:
        _, sent = await send_file(h, export(1))
        assert "Importing visits is not set up" in texts(sent)[0]


@pytest.mark.skipif(ON_POSTGRES, reason="the command line on SQLite (its file)")
def test_the_command_line_previews_imports_and_writes_the_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "c.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{db}")
    monkeypatch.setenv("INTAKE_PATIENT_KEY", SECRET)
    monkeypatch.setenv(
        "INTAKE_VISIT_TYPES", '{"acme": {"KET-IV": "infusion", "Spravato": "esketamine"}}'
    )
    monkeypatch.chdir(tmp_path)
    day = (datetime.now(ZONE) + timedelta(days=2)).date()
    source = tmp_path / "schedule.csv"
    source.write_bytes(export(5, day=day, bad=True))
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()

    assert main(["visits", "import", str(source), "--source", "acme", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "line 2  created    APT-001" in out and "nothing written" in out
    assert "line 7  error      type: not a known visit type" in out
    assert "MRN-" not in out and PERSONAL not in out and "massage" not in out
    assert not list(tmp_path.glob("*-invites-*"))
    dry_run = ["visits", "import", str(source), "--source", "acme", "--dry-run"]
    assert main([*dry_run, "--lang", "es"]) == 0
    assert "type: no es un tipo de visita conocido" in capsys.readouterr().out

    assert main(["visits", "import", str(source), "--source", "acme"]) == 2
    assert "--bot-username" in capsys.readouterr().err

    args = ["visits", "import", str(source), "--source", "acme", "--bot-username", "ClinicBot"]
    assert main([*args, "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "5 created" in out and "5 new invite links" in out
    [links] = list((tmp_path / "out").glob("schedule-invites-*.csv"))
    [page] = list((tmp_path / "out").glob("schedule-invites-*.html"))
    rows = list(csv.DictReader(io.StringIO(links.read_text("utf-8-sig"))))
    assert [r["patient"] for r in rows] == [f"MRN-{1000 + i}" for i in range(5)]
    assert all(r["link"].startswith("https://t.me/ClinicBot?start=") for r in rows)
    assert "<img" in page.read_text("utf-8")

    assert main([*args, "--out", str(tmp_path / "again")]) == 0
    assert "5 unchanged" in capsys.readouterr().out
    assert not (tmp_path / "again").exists()

    # The links' files were lost: new links, the old ones end.
    assert main([*args, "--out", str(tmp_path / "new"), "--new-links"]) == 0
    assert "5 unchanged" in (out := capsys.readouterr().out) and "5 new invite links" in out
    [renewed] = list((tmp_path / "new").glob("*.csv"))
    fresh = list(csv.DictReader(io.StringIO(renewed.read_text("utf-8-sig"))))
    assert {r["link"] for r in fresh}.isdisjoint({r["link"] for r in rows})

    monkeypatch.delenv("INTAKE_PATIENT_KEY")
    assert main(["visits", "import", str(source), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "INTAKE_PATIENT_KEY is not set" in err and len(err.strip().splitlines()) == 1


async def test_two_import_taps_at_once_import_once(clinic: Harness) -> None:
    h = clinic
    document, sent = await send_file(h, export(4))
    apply = button(sent, "Import these")
    tap = updates.callback_update(STAFF_ID, apply, reply_to_message=document["message"])
    again = updates.callback_update(STAFF_ID, apply, reply_to_message=document["message"])
    answers = texts(await h.feed_many([tap, again]))
    assert sum("Visits imported" in t for t in answers) == 1, answers
    assert "Those visits were imported already (once)." in answers
    assert await count(h, IntakeVisit) == 4 and await count(h, Invite) == 4
