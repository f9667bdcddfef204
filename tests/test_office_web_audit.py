"""The audit log: every full view, reveal and change appended; the hash chain finds tampering."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.office_web_rig import a_resident, db, gate_office, office_web, signed_in

__all__ = ["db", "office_web"]


def test_views_reveals_and_changes_each_write_one_entry(db: None) -> None:
    from agent.office.web.audit import chain
    from agent.office.web.audit.models import AuditEntry

    resident = a_resident()
    clerk = signed_in("clerk")
    start = AuditEntry.objects.count()
    clerk.get(f"/residents/{resident.pk}/")
    clerk.post(f"/residents/{resident.pk}/reveal/", {"reason": "police request no. 17"})
    clerk.post(f"/residents/{resident.pk}/checks/", {"documents": ["id_card"]})
    clerk.get(f"/households/{resident.household_id}/")  # masked names only: not a full record
    actions = list(
        AuditEntry.objects.filter(position__gt=start).values_list("action", "target", "actor")
    )
    assert [a for a, _t, _w in actions] == ["view", "reveal", "change"]
    assert {w for _a, _t, w in actions} == {"clerk"}
    assert chain.verify().intact


def test_entries_cannot_be_changed_or_deleted_through_the_model(db: None) -> None:
    from agent.office.web.audit import chain
    from agent.office.web.audit.models import AppendOnlyError

    entry = chain.append("li", "view", "resident:1")
    entry.reason = "covering tracks"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()


def test_an_altered_entry_and_a_deleted_entry_are_found(db: None) -> None:
    from django.db import connection

    from agent.office.web.audit import chain

    entries = [chain.append("li", "view", f"resident:{n}") for n in range(5)]
    assert chain.verify().intact and chain.verify().entries >= 5
    third = entries[2]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditentry SET target = 'resident:99' WHERE id = %s", [third.pk]
        )
    verdict = chain.verify()
    assert (verdict.bad_position, verdict.problem) == (third.position, "its content was altered")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditentry SET target = 'resident:2' WHERE id = %s", [third.pk]
        )
        assert chain.verify().intact
        cursor.execute("DELETE FROM audit_auditentry WHERE id = %s", [entries[1].pk])
    verdict = chain.verify()
    assert verdict.bad_position == entries[1].position and "missing" in verdict.problem


def test_a_rehashed_entry_still_breaks_the_next_link(db: None) -> None:
    """Rewriting an entry and its own hash leaves the next entry pointing at the old hash."""
    from django.db import connection

    from agent.office.web.audit import chain

    entries = [chain.append("li", "view", f"resident:{n}") for n in range(3)]
    forged = chain.entry_digest(
        entries[1].position, entries[1].at, "li", "view", "resident:77", "", entries[0].entry_hash
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditentry SET target = 'resident:77', entry_hash = %s WHERE id = %s",
            [forged, entries[1].pk],
        )
    verdict = chain.verify()
    assert verdict.bad_position == entries[2].position
    assert verdict.problem == "its link to the entry before is broken"


def _append_entries(state: Path, count: int) -> None:
    script = (
        "import sys; from pathlib import Path; from agent.office.web import boot; "
        f"boot.configure({str(state / 'office-web.sqlite3')!r}, Path({str(state)!r})); "
        "from agent.office.web.audit import chain; "
        f"[chain.append('li', 'reveal', f'resident:{{n}}', 'asked') for n in range({count})]"
    )
    import subprocess
    import sys

    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)


def test_audit_verify_exits_1_naming_the_first_bad_entry(tmp_path: Path) -> None:
    state = tmp_path / "web"
    assert gate_office("web", "init", "--state", str(state)).returncode == 0
    _append_entries(state, 4)
    good = gate_office("audit", "verify", "--state", str(state))
    assert good.returncode == 0 and "intact: 4 entries" in good.stdout
    db_file = sqlite3.connect(state / "office-web.sqlite3")
    db_file.execute("UPDATE audit_auditentry SET reason = 'nothing' WHERE position = 3")
    db_file.commit()
    altered = gate_office("audit", "verify", "--state", str(state))
    assert altered.returncode == 1
    assert altered.stderr.strip() == (
        "audit entry 3: its content was altered (2 entries before it hold)"
    )
    db_file.execute("UPDATE audit_auditentry SET reason = 'asked' WHERE position = 3")
    db_file.execute("DELETE FROM audit_auditentry WHERE position = 2")
    db_file.commit()
    db_file.close()
    deleted = gate_office("audit", "verify", "--state", str(state))
    assert deleted.returncode == 1 and deleted.stderr.startswith(
        "audit entry 2: entry 2 is missing"
    )


def test_commands_refuse_bad_input_in_one_line(tmp_path: Path) -> None:
    assert gate_office("web", "--help").returncode == 0
    missing = gate_office("web", "migrate", "--state", str(tmp_path / "none"))
    assert missing.returncode == 2
    assert missing.stderr.strip().endswith("is missing: run `gate-office web init` first")
    bad = gate_office("audit", "verify", "--database", "mysql://x/y", "--state", str(tmp_path))
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert gate_office("web", "frobnicate").returncode == 2


def test_createstaff_makes_the_first_manager(tmp_path: Path) -> None:
    state = tmp_path / "web"
    assert gate_office("web", "init", "--state", str(state)).returncode == 0
    (tmp_path / "pw").write_text("a long enough pass 42\n")
    made = gate_office(
        "web", "createstaff", "boss", "--role", "manager",
        "--password-file", str(tmp_path / "pw"), "--state", str(state),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    again = gate_office(
        "web", "createstaff", "boss", "--role", "clerk",
        "--password-file", str(tmp_path / "pw"), "--state", str(state),
    )  # fmt: skip
    assert again.returncode == 2 and "exists already" in again.stderr
    (tmp_path / "weak").write_text("123\n")
    weak = gate_office(
        "web", "createstaff", "li", "--role", "clerk",
        "--password-file", str(tmp_path / "weak"), "--state", str(state),
    )  # fmt: skip
    assert weak.returncode == 2 and "error:" in weak.stderr
    row = (
        sqlite3.connect(state / "office-web.sqlite3")
        .execute(
            "SELECT u.password, g.name FROM auth_user u "
            "JOIN auth_user_groups ug ON ug.user_id = u.id "
            "JOIN auth_group g ON g.id = ug.group_id WHERE u.username = 'boss'"
        )
        .fetchone()
    )
    assert row[0].startswith("argon2$") and row[1] == "manager"
