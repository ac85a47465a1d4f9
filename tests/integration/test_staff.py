"""Staff roles, the permission check and the audit log, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.db.audit import AuditRepository
from bot.db.models import StaffMember
from bot.domain.audit import Action, Actor, Outcome, Surface
from bot.domain.staff import Permission, Role
from bot.services.errors import NoSuchMember, NotAllowed
from bot.services.staff import StaffMemberView
from foundation.clock import FrozenClock
from tests.conftest import DEFAULT_NOW
from tests.integration.pg import DATABASE_KINDS
from tests.integration.staff_rig import ENV_ADMIN, Clinic, clinic_on

ADMIN = Actor(ENV_ADMIN)
NURSE = 501
STRANGER = 777


@pytest.fixture(params=DATABASE_KINDS)
async def clinic(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Clinic]:
    async with clinic_on(request.param, tmp_path, FrozenClock(DEFAULT_NOW)) as c:
        yield c


async def refused(clinic: Clinic, actor: Actor, call: str, *args: object) -> str:
    """Run a StaffService method that must be refused, commit as a handler would after
    answering, and return the refusal's reason."""
    async with clinic.unit() as u:
        with pytest.raises(NotAllowed) as caught:
            await getattr(u.staff, call)(actor, *args)
    return caught.value.reason


async def test_env_admins_are_admins_and_others_are_nobody(clinic: Clinic) -> None:
    async with clinic.unit() as u:
        assert await u.staff.role_of(ENV_ADMIN) is Role.ADMIN
        assert await u.staff.role_of(STRANGER) is None


async def test_an_admin_adds_staff_in_the_callers_transaction_with_an_audit_line(
    clinic: Clinic,
) -> None:
    async with clinic.unit() as u:
        assert await u.staff.add(Actor(ENV_ADMIN, Surface.WEB), NURSE) is True
        assert await u.staff.role_of(NURSE) is Role.STAFF
        await u.session.rollback()  # the change and its audit line go together
    assert await clinic.audit() == []
    async with clinic.unit() as u:
        assert await u.staff.role_of(NURSE) is None
        assert await u.staff.add(Actor(ENV_ADMIN, Surface.WEB), NURSE) is True
    async with clinic.unit() as u:
        assert await u.staff.role_of(NURSE) is Role.STAFF
        assert await u.staff.add(ADMIN, NURSE) is False  # already that: nothing written
        assert await u.staff.members(Actor(NURSE)) == [
            StaffMemberView(ENV_ADMIN, Role.ADMIN, True),
            StaffMemberView(NURSE, Role.STAFF, False),
        ]
    [line] = await clinic.audit()
    assert (line.actor_telegram_id, line.surface, line.action) == (ENV_ADMIN, "web", "staff.add")
    assert (line.target, line.outcome, line.at) == (f"staff:{NURSE}", "done", DEFAULT_NOW)
    assert (line.before, line.after) == (None, {"role": "staff"})


async def test_staff_and_strangers_are_refused_and_the_refusal_is_audited(
    clinic: Clinic,
) -> None:
    async with clinic.unit() as u:
        await u.staff.add(ADMIN, NURSE)
    assert await refused(clinic, Actor(NURSE), "add", 502) == "role"
    assert await refused(clinic, Actor(STRANGER, Surface.API), "add", STRANGER) == "not_staff"
    assert await refused(clinic, Actor(STRANGER), "members") == "not_staff"
    assert await refused(clinic, Actor(NURSE), "audit_log") == "role"
    lines = await clinic.audit()
    assert [(x.actor_telegram_id, x.action, x.target, x.outcome, x.after) for x in lines] == [
        (ENV_ADMIN, "staff.add", f"staff:{NURSE}", "done", {"role": "staff"}),
        (NURSE, "staff.add", "staff:502", "refused", {"reason": "role"}),
        (STRANGER, "staff.add", f"staff:{STRANGER}", "refused", {"reason": "not_staff"}),
        (STRANGER, "staff.list", "staff", "refused", {"reason": "not_staff"}),
        (NURSE, "audit.read", "audit", "refused", {"reason": "role"}),
    ]
    assert lines[2].surface == Surface.API
    async with clinic.unit() as u:
        assert await u.staff.role_of(502) is None
        assert await u.staff.role_of(STRANGER) is None


async def test_require_is_the_one_check(clinic: Clinic) -> None:
    async with clinic.unit() as u:
        await u.staff.add(ADMIN, NURSE)
        await u.staff.add(ADMIN, 502, Role.ADMIN)
    async with clinic.unit() as u:
        for permission in (Permission.INVITES, Permission.ROSTER, Permission.APPOINTMENTS):
            assert (
                await u.staff.require(
                    Actor(NURSE), permission, action=Action.INVITE_CREATE, target="x"
                )
                is Role.STAFF
            )
        assert (
            await u.staff.require(
                Actor(502), Permission.CONTENT, action=Action.INVITE_CREATE, target="x"
            )
            is Role.ADMIN
        )
        with pytest.raises(NotAllowed):
            await u.staff.require(
                Actor(NURSE), Permission.CONTENT, action=Action.INVITE_CREATE, target="x"
            )


async def test_an_env_admin_cannot_be_removed_or_changed_and_nobody_removes_themselves(
    clinic: Clinic,
) -> None:
    async with clinic.unit() as u:
        await u.staff.add(ADMIN, 502, Role.ADMIN)
    assert await refused(clinic, Actor(502), "remove", ENV_ADMIN) == "env_admin"
    assert await refused(clinic, ADMIN, "remove", ENV_ADMIN) == "env_admin"
    assert await refused(clinic, Actor(502), "add", ENV_ADMIN, Role.STAFF) == "env_admin"
    assert await refused(clinic, Actor(502), "remove", 502) == "self"
    assert await refused(clinic, Actor(502), "add", 502, Role.STAFF) == "self"
    async with clinic.unit() as u:
        assert await u.staff.role_of(ENV_ADMIN) is Role.ADMIN
        assert await u.staff.role_of(502) is Role.ADMIN
    reasons = [(x.outcome, (x.after or {}).get("reason")) for x in await clinic.audit()]
    assert reasons[1:] == [(Outcome.REFUSED, r) for r in ("env_admin",) * 3 + ("self",) * 2]


async def test_removal_keeps_the_row_and_a_member_can_come_back(clinic: Clinic) -> None:
    async with clinic.unit() as u:
        await u.staff.add(ADMIN, NURSE)
    clinic.clock.advance(timedelta(days=1))
    async with clinic.unit() as u:
        await u.staff.remove(ADMIN, NURSE)
        assert await u.staff.role_of(NURSE) is None
        with pytest.raises(NoSuchMember):
            await u.staff.remove(ADMIN, NURSE)
        with pytest.raises(NoSuchMember):
            await u.staff.remove(ADMIN, STRANGER)
    assert await clinic.count(StaffMember) == 1
    async with clinic.unit() as u:
        member = await u.staff.repo.member(NURSE)
        assert member is not None
        assert member.removed_at == DEFAULT_NOW + timedelta(days=1)
        assert await u.staff.add(ADMIN, NURSE, Role.ADMIN) is True
        assert await u.staff.role_of(NURSE) is Role.ADMIN
    assert await clinic.count(StaffMember) == 1
    lines = await clinic.audit()
    assert [(x.action, x.before, x.after) for x in lines] == [
        ("staff.add", None, {"role": "staff"}),
        ("staff.remove", {"role": "staff"}, None),
        ("staff.add", None, {"role": "admin"}),
    ]


async def test_the_audit_log_is_read_newest_first_in_pages(clinic: Clinic) -> None:
    async with clinic.unit() as u:
        for person in range(600, 607):
            await u.staff.add(ADMIN, person)
    async with clinic.unit() as u:
        first = await u.staff.audit_log(ADMIN, limit=3)
        second = await u.staff.audit_log(ADMIN, limit=3, before_id=first[-1].id)
        third = await u.staff.audit_log(ADMIN, limit=3, before_id=second[-1].id)
    targets = [x.target for page in (first, second, third) for x in page]
    assert targets == [f"staff:{p}" for p in range(606, 599, -1)]
    assert len(third) == 1


async def test_forgetting_a_person_blanks_them_as_actor(clinic: Clinic) -> None:
    assert await refused(clinic, Actor(STRANGER), "add", 600) == "not_staff"
    async with clinic.unit() as u:
        assert await AuditRepository(u.session).forget_actor(STRANGER) == 1
    [line] = await clinic.audit()
    assert line.actor_telegram_id is None
    assert line.outcome == "refused"
