"""The data-subject export, and personal data deleted after the retention period."""

from __future__ import annotations

import json
import shlex
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from tests.office_web_rig import (
    GOOD_ID,
    ROOT,
    a_resident,
    db,
    gate_office,
    make_staff,
    office_web,
    signed_in,
)

__all__ = ["db", "office_web"]

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def _with_history(resident: Any) -> None:
    from agent.office.web.register.models import ChangeRequest, DocumentCheck

    desk = make_staff("desk", "clerk")
    DocumentCheck.objects.create(
        resident=resident, documents=["id_card"], checked_by=desk, note="原件已核"
    )
    ChangeRequest.objects.create(
        household=resident.household, resident=resident, kind="name",
        description="张三 → 张叁", asked_by="张三", recorded_by=desk,
    )  # fmt: skip


def test_an_export_asks_a_reason_and_holds_everything(db: None) -> None:
    from agent.office.web.audit.models import AuditEntry

    resident = a_resident()
    _with_history(resident)
    manager = signed_in("manager")
    before = AuditEntry.objects.count()
    asked = manager.post(f"/residents/{resident.pk}/export/", {"reason": "", "output": "json"})
    assert asked.status_code == 400 and "reason" in asked.context["form"].errors
    assert AuditEntry.objects.count() == before and GOOD_ID not in asked.content.decode()
    answer = manager.post(
        f"/residents/{resident.pk}/export/", {"reason": "data-subject request 12", "output": "json"}
    )
    assert (
        answer.headers["Content-Disposition"]
        == f'attachment; filename="resident-{resident.holder_id}.json"'
    )
    assert answer.headers["Cache-Control"] == "no-store"
    data = json.loads(answer.content)
    assert (data["holder_id"], data["name"], data["id_number"], data["phone"]) == (
        resident.holder_id, "张三", GOOD_ID, "13800138000"
    )  # fmt: skip
    assert data["unit"] == {"building": "3", "entrance": "2", "room": "501"}
    assert data["move_in"] == "2026-01-01" and data["move_out"] is None
    assert [(c["documents"], c["checked_by"], c["note"]) for c in data["document_checks"]] == [
        (["id_card"], "desk", "原件已核")
    ]
    assert [(c["kind"], c["description"]) for c in data["change_requests"]] == [
        ("name", "张三 → 张叁")
    ]
    assert data["events"] is None  # no event store configured
    (entry,) = AuditEntry.objects.filter(position__gt=before)
    assert (entry.actor, entry.action, entry.target, entry.reason) == (
        "manager", "export", f"resident:{resident.pk}", "data-subject request 12"
    )  # fmt: skip


def test_the_printable_export_shows_the_numbers_and_the_holders_events(
    db: None, tmp_path: Path
) -> None:
    from django.test import override_settings

    from agent.office.store import OfficeStore

    resident = a_resident()
    store = OfficeStore(tmp_path / "events.sqlite3")
    for seq, holder in ((1, resident.holder_id), (2, "h-someone-else"), (3, resident.holder_id)):
        store.add_event({
            "id": f"s1-g1-{seq}", "seq": seq, "time": f"2026-11-0{seq}T08:00:00Z", "site": "s1",
            "gate": "g1", "type": "access_granted", "severity": "info", "door": "east",
            "details": {"holder_id": holder},
        })  # fmt: skip
    store.close()
    manager = signed_in("manager")
    with override_settings(GATE_OFFICE_EVENTS_DB=str(tmp_path / "events.sqlite3")):
        page = manager.post(
            f"/residents/{resident.pk}/export/", {"reason": "subject asked", "output": "html"}
        )
        data = json.loads(
            manager.post(
                f"/residents/{resident.pk}/export/", {"reason": "subject asked", "output": "json"}
            ).content
        )
    text = page.content.decode()
    assert page.status_code == 200 and GOOD_ID in text and "13800138000" in text and "east" in text
    assert [e["id"] for e in data["events"]] == ["s1-g1-1", "s1-g1-3"]


def _moved_out(name: str, when: date | None) -> Any:
    resident = a_resident(name=name)
    resident.move_out = when
    resident.save()
    return resident


def _units_once() -> None:
    # a_resident makes unit 3-2-501 each time: several in one test need the unit free again
    from agent.office.web.register.models import Unit

    Unit.objects.filter(building="3", entrance="2", room="501").update(
        room=f"r{Unit.objects.count()}"
    )


def test_a_dry_run_counts_and_changes_nothing(db: None) -> None:
    from agent.office.web.audit.models import AuditEntry
    from agent.office.web.register import retention

    old = _moved_out("张三", date(2025, 12, 1))
    before = AuditEntry.objects.count()
    result = retention.purge(NOW, 12, dry_run=True)
    assert result.purged == [old.pk]
    assert result.summary() == "would purge 1 resident(s) who moved out on or before 2025-12-07"
    old.refresh_from_db()
    assert old.name == "张三" and old.id_number == GOOD_ID and old.purged_at is None
    assert AuditEntry.objects.count() == before


def test_purge_erases_personal_data_keeps_holder_ids_and_runs_once(db: None) -> None:
    from agent.office.web.audit.models import AuditEntry
    from agent.office.web.cards.models import CardPin
    from agent.office.web.register import retention
    from agent.office.web.register.models import ERASED_NAME, ChangeRequest, DocumentCheck

    old = _moved_out("张三", date(2025, 12, 7))  # exactly 12 months before today
    _with_history(old)
    CardPin.objects.create(resident=old, pin_hash="scrypt$13$8$1$c2FsdA$a2V5", set_by="clerk")
    _units_once()
    recent = _moved_out("李四", date(2025, 12, 8))
    _units_once()
    living = _moved_out("王五", None)
    before = AuditEntry.objects.count()
    result = retention.purge(NOW, 12)
    assert result.purged == [old.pk]
    assert result.summary() == "purged 1 resident(s) who moved out on or before 2025-12-07"
    old.refresh_from_db()
    assert (old.name, old.id_number_sealed, old.phone_sealed, old.phone_index) == (
        ERASED_NAME,
        "",
        "",
        "",
    )
    assert old.purged_at == NOW and old.holder_id.startswith("h-")
    assert (old.move_in, old.move_out, old.household.unit.building) == (
        date(2026, 1, 1),
        date(2025, 12, 7),
        "3",
    )
    assert DocumentCheck.objects.get(resident=old).note == ""
    assert not CardPin.objects.filter(resident=old).exists()  # the person's secret goes too
    change = ChangeRequest.objects.get(resident=old)
    assert (change.description, change.asked_by) == ("", "")
    for kept in (recent, living):
        kept.refresh_from_db()
        assert kept.purged_at is None and kept.id_number == GOOD_ID
    (entry,) = AuditEntry.objects.filter(position__gt=before)
    assert (entry.actor, entry.target) == ("retention job", f"resident:{old.pk}")
    assert "张三" not in entry.reason and GOOD_ID not in entry.reason
    # idempotent: a second run finds nobody and writes nothing
    assert retention.purge(NOW, 12).purged == []
    assert AuditEntry.objects.count() == before + 1
    # a shorter period reaches the recent one; the page then shows no name
    assert retention.purge(NOW, 6).purged == [recent.pk]
    page = signed_in("manager").get(f"/residents/{old.pk}/").content.decode()
    assert "(personal data deleted)" in page and "张三" not in page


def test_purged_residents_are_not_found_by_their_old_name_or_phone(db: None) -> None:
    from agent.office.web.register import retention

    _moved_out("张三", date(2024, 1, 1))
    retention.purge(NOW, 12)
    clerk = signed_in("clerk")
    assert clerk.get("/search/", {"q": "张三"}).context["hits"] == []
    assert clerk.get("/search/", {"q": "13800138000"}).context["hits"] == []


def test_months_are_calendar_months() -> None:
    from agent.office.web.register.retention import months_before

    assert months_before(date(2026, 12, 7), 12) == date(2025, 12, 7)
    assert months_before(date(2026, 3, 31), 1) == date(2026, 2, 28)
    assert months_before(date(2026, 1, 15), 13) == date(2024, 12, 15)


def test_the_purge_command_and_its_timer(tmp_path: Path) -> None:
    state = tmp_path / "web"
    assert gate_office("web", "init", "--state", str(state)).returncode == 0
    dry = gate_office("web", "purge", "--state", str(state), "--dry-run", "--retention-months", "6")
    assert dry.returncode == 0
    assert dry.stdout.startswith("would purge 0 resident(s) who moved out on or before ")
    bad = gate_office("web", "purge", "--state", str(state), "--retention-months", "0")
    assert (
        bad.returncode == 2 and bad.stderr.strip() == "error: --retention-months must be 1 or more"
    )
    service = (ROOT / "systemd" / "gate-office-web-purge.service").read_text()
    timer = (ROOT / "systemd" / "gate-office-web-purge.timer").read_text()
    (start,) = [
        line.split("=", 1)[1] for line in service.splitlines() if line.startswith("ExecStart=")
    ]
    assert shlex.split(start)[1:] == ["web", "purge"]
    assert (
        "Type=oneshot" in service
        and "Environment=GATE_OFFICE_WEB_FIELD_KEY=%d/field.key" in service
    )
    assert "Persistent=true" in timer and "OnCalendar=" in timer
