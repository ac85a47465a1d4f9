"""A surface with no Telegram: the clinic's services obtained from ``Services`` as the bot
builds them, driven as an HTTP handler would drive them. Run as a program by
tests/integration/test_services_without_aiogram.py, in a process of its own, so that what it
imports is what such a surface needs: it prints the audit log as JSON lines and whether
aiogram was imported."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.domain.audit import Actor, Surface
from bot.domain.content_kinds import ContentKind
from bot.domain.refusals import NotAllowedReason
from bot.services.content_editing import Saved
from bot.services.errors import NotAllowed
from bot.services.invites import Linked
from foundation.clock import FrozenClock
from tests.integration import pg
from tests.integration.staff_rig import ENV_ADMIN, clinic_on, patient_of

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
START = datetime(2026, 12, 3, 19, 30, tzinfo=UTC)
ADMIN = Actor(ENV_ADMIN, Surface.API)
NURSE = Actor(5001, Surface.API)
PATIENT = 7001
HELP = "<b>Help</b> from the clinic's web page."


@asynccontextmanager
async def refused(reason: NotAllowedReason) -> AsyncIterator[None]:
    """The block must end in NotAllowed for `reason` (what an HTTP handler answers 403)."""
    try:
        yield
    except NotAllowed as refusal:
        if refusal.reason is not reason:
            raise
        return
    raise AssertionError(f"not refused: {reason}")


async def scenario(kind: str, folder: Path) -> list[dict[str, object]]:
    async with clinic_on(kind, folder, FrozenClock(NOW)) as clinic:
        async with clinic.unit() as svc:
            await svc.staff.add(ADMIN, NURSE.telegram_id)
        await clinic.add_patient(PATIENT)
        # An invite, redeemed by the patient: the visit is booked.
        async with clinic.unit() as svc:
            made = await svc.invites.create(NURSE, START, "J.D.", bot_username="ClinicBot")
        async with clinic.unit() as svc:
            linked = await svc.invites.redeem(
                made.code, await patient_of(svc, PATIENT), surface=Surface.API
            )
        assert isinstance(linked, Linked)
        # The patient may not move it through the team's services; the refusal is audited
        # (the transaction commits what was written before the refusal, as Telegram's does).
        async with refused(NotAllowedReason.NOT_STAFF), clinic.unit() as svc:
            await svc.visit_changes.move(
                Actor(PATIENT, Surface.API), linked.appointment_id, START + timedelta(days=1)
            )
        async with clinic.unit() as svc:
            moved = await svc.visit_changes.move(
                NURSE, linked.appointment_id, START + timedelta(days=1)
            )
        assert moved.changed
        # A text edit: staff may not, an admin may.
        async with refused(NotAllowedReason.ROLE), clinic.unit() as svc:
            ref = svc.content_editing.ref(ContentKind.TEMPLATE, "en", "help")
            await svc.content_editing.confirm(NURSE, ref, HELP, None)
        async with clinic.unit() as svc:
            ref = svc.content_editing.ref(ContentKind.TEMPLATE, "en", "help")
            saved = await svc.content_editing.confirm(ADMIN, ref, HELP, None)
        assert isinstance(saved, Saved) and not saved.already
        return [
            {
                "actor": line.actor_telegram_id,
                "surface": line.surface,
                "action": line.action,
                "target": line.target.split(":")[0],
                "outcome": line.outcome,
                "reason": (line.after or {}).get("reason"),
            }
            for line in await clinic.audit()
        ]


def main() -> None:
    kind, folder = sys.argv[1], Path(sys.argv[2])
    try:
        lines = asyncio.run(scenario(kind, folder))
    finally:
        # On PostgreSQL the clinic's database was copied from a migrated template this process
        # made (tests/integration/pg.py); a test session drops its own when it ends, and this
        # process is none: each run left one behind on the server.
        asyncio.run(pg.drop_template())
    for line in lines:
        print(json.dumps(line))
    aiogram = sorted(m for m in sys.modules if m == "aiogram" or m.startswith("aiogram."))
    print(json.dumps({"aiogram_modules": aiogram}))


if __name__ == "__main__":
    main()
