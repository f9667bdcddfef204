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

_CARDS = [("cards", "view_card"), ("cards", "issue_card")]

ROLES: dict[str, list[tuple[str, str]]] = {
    MANAGER: [
        *_READ_REGISTER,
        *_WRITE_REGISTER,
        ("register", "approve_changerequest"),
        ("audit", "view_auditentry"),
        ("staff", "manage_staff"),
        *_CARDS,
    ],
    CLERK: [*_READ_REGISTER, *_WRITE_REGISTER, *_CARDS],
    # sees who lives where (masked), to back the guards at the gate; changes nothing
    GUARD_SUPERVISOR: [
        ("register", "view_unit"),
        ("register", "view_household"),
        ("cards", "view_card"),  # the card inventory
    ],
    AUDITOR: [("audit", "view_auditentry")],
}
