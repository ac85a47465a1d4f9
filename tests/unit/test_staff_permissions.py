"""The permission matrix: admins do everything staff do, and content, plan, team and audit."""

from __future__ import annotations

import pytest

from bot.domain.staff import PERMISSIONS, Permission, Role, allows

STAFF_DO = {Permission.ROSTER, Permission.INVITES, Permission.APPOINTMENTS}
ADMIN_ONLY = {
    Permission.CONTENT,
    Permission.PLAN,
    Permission.STAFF,
    Permission.AUDIT,
    Permission.INTEGRATIONS,
}


@pytest.mark.parametrize("permission", list(Permission))
def test_matrix(permission: Permission) -> None:
    assert allows(Role.ADMIN, permission)
    assert allows(Role.STAFF, permission) is (permission in STAFF_DO)
    assert not allows(None, permission)


def test_every_permission_is_somebodys_and_admin_is_a_superset() -> None:
    assert set(Permission) == STAFF_DO | ADMIN_ONLY
    assert PERMISSIONS[Role.STAFF] < PERMISSIONS[Role.ADMIN]
    assert set(PERMISSIONS) == set(Role)


def test_roles_are_the_stored_strings() -> None:
    assert [r.value for r in Role] == ["admin", "staff"]
    assert Role("staff") == "staff"
