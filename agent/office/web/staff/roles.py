"""The office's roles: Django groups and the permissions each holds (docs/office.md)."""

from __future__ import annotations

# (app label, codename) per role; the data migration gives each group these
MANAGER = "manager"
CLERK = "clerk"
GUARD_SUPERVISOR = "guard supervisor"
AUDITOR = "auditor"
CASE_OFFICER = "case officer"

_READ_REGISTER = [
    ("register", "view_unit"),
    ("register", "view_household"),
    ("register", "view_resident"),
    ("register", "view_documentcheck"),
    ("register", "view_changerequest"),
    ("register", "view_vehicle"),
]
_WRITE_REGISTER = [
    ("register", "add_unit"),
    ("register", "add_household"),
    ("register", "add_resident"),
    ("register", "change_resident"),
    ("register", "add_documentcheck"),
    ("register", "add_changerequest"),
    ("register", "reveal_personal"),
    ("register", "add_vehicle"),
]
# the guards' console accounts and pushing them to the gates
_GUARD_ACCOUNTS = [("guards", "manage_guards"), ("guards", "push_guards")]

_SEE_GATES = [("fleet", "view_fleet"), ("fleet", "view_events")]
_VISITORS = [
    ("visitors", "view_visitorpass"),
    ("visitors", "add_visitorpass"),
    ("visitors", "revoke_visitorpass"),
]

_CARDS = [("cards", "view_card"), ("cards", "issue_card")]

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
        *_VISITORS,
        *_SEE_GATES,
        *_CARDS,
    ],
    CLERK: [
        *_READ_REGISTER,
        *_WRITE_REGISTER,
        ("register", "apply_changerequest"),
        *_VISITORS,
        *_SEE_GATES,
        *_CARDS,
    ],
    # sees who lives where (masked), to back the guards at the gate; changes nothing
    GUARD_SUPERVISOR: [
        ("register", "view_unit"),
        ("register", "view_household"),
        ("visitors", "view_visitorpass"),
        ("cards", "view_card"),  # the card inventory
        *_SEE_GATES,
        *_GUARD_ACCOUNTS,
    ],
    # the gates' record, by holder id only, to check against the audit log (docs/office.md)
    AUDITOR: [("audit", "view_auditentry"), *_SEE_GATES],
}

# cases (issue 19): managers and clerks handle complaints; a guard supervisor enters the
# complaints guards take at the gate and reads them; the auditor reads the timeline only
_HANDLE_CASES = [
    ("cases", "view_case"),
    ("cases", "add_case"),
    ("cases", "handle_case"),
    ("cases", "view_timeline"),
]
ROLES[MANAGER] += _HANDLE_CASES
ROLES[CLERK] += _HANDLE_CASES
ROLES[GUARD_SUPERVISOR] += [("cases", "view_case"), ("cases", "add_case")]
ROLES[AUDITOR] += [("cases", "view_timeline")]

# abnormal behaviour cases (issue 19) are read only with cases.view_behaviour: managers, and
# the case officer, who enters and handles them (and complaints) and reads the register's names;
# clerks enter behaviour cases but do not read them unless given the role
ROLES[MANAGER] += [("cases", "view_behaviour")]
ROLES[CASE_OFFICER] = [
    ("register", "view_unit"),
    ("register", "view_household"),
    ("register", "view_resident"),
    *_HANDLE_CASES,
    ("cases", "view_behaviour"),
]

# emergency plans and drills (issue 19): managers write and approve plans; clerks and guard
# supervisors read them and tick off a drill's steps; managers and guard supervisors run drills
_READ_PLANS = [("plans", "view_emergencyplan"), ("plans", "tick_drill")]
ROLES[MANAGER] += [*_READ_PLANS, ("plans", "write_plan"), ("plans", "approve_plan"),
                   ("plans", "run_drill")]  # fmt: skip
ROLES[CLERK] += _READ_PLANS
ROLES[GUARD_SUPERVISOR] += [*_READ_PLANS, ("plans", "run_drill")]
