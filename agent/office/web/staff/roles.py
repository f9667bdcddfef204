"""The office's roles: Django groups and the permissions each holds (docs/office.md)."""

from __future__ import annotations

# (app label, codename) per role; the data migration gives each group these
MANAGER = "manager"
CLERK = "clerk"
GUARD_SUPERVISOR = "guard supervisor"
AUDITOR = "auditor"

_READ_REGISTER = [
    ("register", "view_unit"),
    ("register", "view_household"),
    ("register", "view_resident"),
    ("register", "view_documentcheck"),
    ("register", "view_changerequest"),
]
_WRITE_REGISTER = [
    ("register", "add_unit"),
    ("register", "add_household"),
    ("register", "add_resident"),
    ("register", "change_resident"),
    ("register", "add_documentcheck"),
    ("register", "add_changerequest"),
    ("register", "reveal_personal"),
]
# the guards' console accounts and pushing them to the gates
_GUARD_ACCOUNTS = [("guards", "manage_guards"), ("guards", "push_guards")]

ROLES: dict[str, list[tuple[str, str]]] = {
    MANAGER: [
        *_READ_REGISTER,
        *_WRITE_REGISTER,
        ("register", "approve_changerequest"),
        ("register", "apply_changerequest"),
        ("register", "correct_resident"),
        ("register", "export_resident"),
        ("audit", "view_auditentry"),
        ("staff", "manage_staff"),
        *_GUARD_ACCOUNTS,
    ],
    CLERK: [*_READ_REGISTER, *_WRITE_REGISTER, ("register", "apply_changerequest")],
    # sees who lives where (masked), to back the guards at the gate; changes nothing
    GUARD_SUPERVISOR: [("register", "view_unit"), ("register", "view_household"), *_GUARD_ACCOUNTS],
    AUDITOR: [("audit", "view_auditentry")],
}
