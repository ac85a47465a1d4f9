"""The HTTP API's tokens: made, listed and revoked by an admin in Telegram (`/apitokens`) and
by the operator on the command line (`api-token`), stored as SHA-256 only, every change in
the audit log; a patient and a staff member who is not an admin are refused."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import main
from bot.db.audit import AuditRecord, AuditRepository
from bot.db.models import ApiToken
from tests.fake_telegram import updates
from tests.integration.harness import STAFF_ID, Harness, texts_to

NURSE = 501
PATIENT = 1001
TOKEN = re.compile(r"icp_[A-Za-z0-9_-]{43}")


async def audit(h: Harness) -> list[AuditRecord]:
    async with h.app.context.session_factory() as session:
        return list(reversed(await AuditRepository(session).recent(limit=500)))


async def stored(h: Harness) -> list[ApiToken]:
    async with h.app.context.session_factory() as session:
        return list((await session.execute(select(ApiToken).order_by(ApiToken.id))).scalars())


async def test_an_admin_makes_lists_and_revokes_a_token_shown_once(harness: Harness) -> None:
    h = harness
    [empty] = await h.command(STAFF_ID, "apitokens")
    assert "None yet" in empty
    assert "/apitokens create" in empty
    [made] = await h.command(STAFF_ID, "apitokens", "create Acme-EHR acme")
    token = TOKEN.search(made)
    assert token is not None
    assert "acme-ehr" in made
    assert "delete this message" in made
    # Hidden until tapped: not in a notification's preview on the lock screen.
    assert f"<tg-spoiler><code>{token.group()}</code></tg-spoiler>" in made
    [row] = await stored(h)
    assert (row.name, row.source, row.created_by) == ("acme-ehr", "acme", STAFF_ID)
    # Only the hash is kept, nowhere the token.
    assert row.token_hash == hashlib.sha256(token.group().encode()).hexdigest()
    assert token.group() not in repr(await audit(h))
    [listed] = await h.command(STAFF_ID, "apitokens")
    assert "acme-ehr" in listed
    assert "not used yet" in listed
    assert token.group() not in listed
    [taken] = await h.command(STAFF_ID, "apitokens", "create acme-ehr acme")
    assert "already has that name" in taken
    [revoked] = await h.command(STAFF_ID, "apitokens", "revoke acme-ehr")
    assert "revoked" in revoked
    [again] = await h.command(STAFF_ID, "apitokens", "revoke acme-ehr")
    assert "revoked already" in again
    [unknown] = await h.command(STAFF_ID, "apitokens", "revoke nope")
    assert "no token of that name" in unknown
    [bad] = await h.command(STAFF_ID, "apitokens", "create ok Bad/Source")
    assert "A source is" in bad
    [listed] = await h.command(STAFF_ID, "apitokens")
    assert "revoked" in listed
    lines = [(a.action, a.target, a.outcome) for a in await audit(h)]
    assert ("api_token.create", "api_token:acme-ehr", "done") in lines
    assert ("api_token.revoke", "api_token:acme-ehr", "done") in lines


async def test_spanish_admins_read_it_in_spanish(harness: Harness) -> None:
    update = updates.command_update(STAFF_ID, "apitokens", "create acme acme")
    update["message"]["from"]["language_code"] = "es"
    sent = await harness.feed(update)
    [made] = texts_to(sent, STAFF_ID)
    assert "Clave acme" in made
    assert "borre este mensaje" in made


async def test_patients_and_staff_who_are_not_admins_are_refused(harness: Harness) -> None:
    h = harness
    [answer] = await h.command(PATIENT, "apitokens", "create evil acme")
    assert "I don't know that command" in answer
    [added] = await h.command(STAFF_ID, "staff_add", f"{NURSE} staff")
    assert "now staff" in added
    [nurse] = await h.command(NURSE, "apitokens", "create evil acme")
    assert "admin" in nurse.lower()
    assert await stored(h) == []
    refused = [a for a in await audit(h) if a.outcome == "refused"]
    assert [a.action for a in refused] == ["api_token.create", "api_token.create"]


def test_the_command_line_makes_lists_and_revokes_tokens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env from the developer's checkout
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    assert main(["api-token", "list"]) == 2  # not migrated: one line says what to do
    assert "db upgrade" in capsys.readouterr().err
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    assert main(["api-token", "create", "acme-ehr", "--source", "acme"]) == 0
    out = capsys.readouterr().out
    token = TOKEN.search(out)
    assert token is not None
    assert "shown once" in out
    assert main(["api-token", "create", "acme-ehr", "--source", "acme"]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["api-token", "list"]) == 0
    listed = capsys.readouterr().out
    assert "acme-ehr\tsource acme\tactive" in listed
    assert token.group() not in listed
    assert main(["api-token", "revoke", "acme-ehr"]) == 0
    assert "revoked" in capsys.readouterr().out
    assert main(["api-token", "revoke", "acme-ehr"]) == 2
    assert main(["api-token", "list"]) == 0
    assert "revoked" in capsys.readouterr().out
