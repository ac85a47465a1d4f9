"""Who may do what: the roles of clinic staff and the permission matrix (pure, no I/O).

StrEnum members are the strings stored in the database (``staff_members.role``).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

__all__ = ["PERMISSIONS", "Permission", "Role", "allows"]


class Role(StrEnum):
    ADMIN = "admin"
    STAFF = "staff"


class Permission(StrEnum):
    # Every staff member.
    ROSTER = "roster"
    """See the patients linked to the clinic and their visits."""
    INVITES = "invites"
    """Create invite links for patients."""
    APPOINTMENTS = "appointments"
    """Create, move and cancel patients' appointments."""
    # Admins only.
    CONTENT = "content"
    """Edit what the bot says (templates)."""
    PLAN = "plan"
    """Edit the reminder plan."""
    STAFF = "staff"
    """Add and remove staff members."""
    AUDIT = "audit"
    """Read the audit log."""
    INTEGRATIONS = "integrations"
    """Make, list and revoke the HTTP API's tokens (scheduling systems)."""


_STAFF = frozenset({Permission.ROSTER, Permission.INVITES, Permission.APPOINTMENTS})

PERMISSIONS: Mapping[Role, frozenset[Permission]] = {
    Role.STAFF: _STAFF,
    Role.ADMIN: _STAFF
    | {
        Permission.CONTENT,
        Permission.PLAN,
        Permission.STAFF,
        Permission.AUDIT,
        Permission.INTEGRATIONS,
    },
}


def allows(role: Role | None, permission: Permission) -> bool:
    """Whether `role` (None: not staff) grants `permission`."""
    return role is not None and permission in PERMISSIONS[role]
