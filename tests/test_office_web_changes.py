"""Approved change requests applied to the register, manager corrections, and who may do which."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from tests.office_web_rig import GOOD_ID, ROLES, a_resident, db, make_staff, office_web, signed_in

__all__ = ["db", "office_web"]

M, C, G, A = ROLES
OTHER_ID = "440524188001010014"


def _change(household: Any, kind: str, status: str = "approved") -> Any:
    from agent.office.web.register.models import ChangeRequest

    desk = make_staff(f"desk-{ChangeRequest.objects.count()}", C)
    return ChangeRequest.objects.create(
        household=household, kind=kind, description="…", asked_by="张三", recorded_by=desk,
        status=status,
    )  # fmt: skip


def _last_entries(count: int) -> list[Any]:
    from agent.office.web.audit.models import AuditEntry

    return list(AuditEntry.objects.order_by("-position")[:count])[::-1]


def _new_member_form(**changes: str) -> dict[str, str]:
    form = {
        "name": "李四", "id_type": "mainland_id", "id_number": OTHER_ID, "phone": "139 0013 9000",
        "move_in": "2026-03-01", "move_out": "", "tenure": "family", "proof_seen": "none",
    }  # fmt: skip
    return {**form, **changes}


def test_a_name_change_is_applied_and_logged_with_before_and_after(db: None) -> None:
    resident = a_resident()
    change = _change(resident.household, "name")
    answer = signed_in(C).post(f"/changes/{change.pk}/", {"resident": resident.pk, "name": "张叁"})
    assert answer.status_code == 302
    resident.refresh_from_db()
    change.refresh_from_db()
    assert resident.name == "张叁"
    assert (change.status, change.resident, change.applied_by.get_username()) == (
        "applied", resident, "clerk"
    )  # fmt: skip
    assert change.applied == {"name": ["张三", "张叁"]}
    (entry,) = _last_entries(1)
    assert (entry.actor, entry.action, entry.target) == (
        "clerk",
        "change",
        f"resident:{resident.pk}",
    )
    assert json.loads(entry.reason) == {"change": change.pk, "name": ["张三", "张叁"]}


def test_a_phone_change_is_sealed_indexed_and_never_logged(db: None) -> None:
    from agent.office.web.register.models import index_of_phone

    resident = a_resident()
    change = _change(resident.household, "phone")
    clerk = signed_in(C)
    answer = clerk.post(
        f"/changes/{change.pk}/", {"resident": resident.pk, "phone": "+86 139-0013-9000"}
    )
    assert answer.status_code == 302
    resident.refresh_from_db()
    assert resident.phone == "13900139000"
    assert resident.phone_index == index_of_phone("13900139000")
    (entry,) = _last_entries(1)
    assert json.loads(entry.reason) == {"change": change.pk, "phone": "changed"}
    change.refresh_from_db()
    assert "139" not in json.dumps(change.applied) and "138" not in entry.reason


def test_a_new_member_is_registered_through_the_form_bound_to_the_request(db: None) -> None:
    from agent.office.web.register.models import Resident

    resident = a_resident()
    change = _change(resident.household, "member")
    clerk = signed_in(C)
    page = clerk.get(f"/changes/{change.pk}/").content.decode()
    assert f"/changes/{change.pk}/member/" in page
    bad = clerk.post(
        f"/changes/{change.pk}/member/", _new_member_form(id_number="440524188001010015")
    )
    assert bad.status_code == 200 and list(bad.context["form"].errors) == ["id_number"]
    assert not Resident.objects.filter(name="李四").exists()
    answer = clerk.post(f"/changes/{change.pk}/member/", _new_member_form())
    member = Resident.objects.get(name="李四")
    assert answer.url == f"/residents/{member.pk}/"
    assert member.household_id == resident.household_id and member.id_number == OTHER_ID
    change.refresh_from_db()
    assert (change.status, change.resident) == ("applied", member)
    (entry,) = _last_entries(1)
    logged = json.loads(entry.reason)
    assert logged["change"] == change.pk and logged["name"] == [None, "李四"]
    assert (logged["id_number"], logged["phone"]) == ("set", "set")
    assert OTHER_ID not in entry.reason and "13900139000" not in entry.reason
    # applied once: the form is gone
    assert clerk.post(f"/changes/{change.pk}/member/", _new_member_form()).status_code == 404


@pytest.fixture
def moved_out() -> Any:
    from agent.office.web.register.signals import resident_moved_out

    heard: list[tuple[int, date]] = []

    def hear(sender: Any, resident: Any, when: date, **kwargs: Any) -> None:
        heard.append((resident.pk, when))

    resident_moved_out.connect(hear, dispatch_uid="test-moved-out")
    yield heard
    resident_moved_out.disconnect(dispatch_uid="test-moved-out")


def _second(household: Any, name: str = "李四", move_out: date | None = None) -> Any:
    from agent.office.web.register.models import Resident

    other = Resident(household=household, name=name, id_type="passport", move_in=date(2026, 1, 1),
                     move_out=move_out, tenure="family", proof_seen="none")  # fmt: skip
    other.id_number = "E1234567"
    other.save()
    return other


def test_moving_out_one_resident_sends_the_signal_for_them(db: None, moved_out: Any) -> None:
    resident = a_resident()
    other = _second(resident.household)
    change = _change(resident.household, "move_out")
    form = {"resident": other.pk, "move_out": "2026-11-30"}
    assert signed_in(M).post(f"/changes/{change.pk}/", form).status_code == 302
    other.refresh_from_db()
    resident.refresh_from_db()
    assert other.move_out == date(2026, 11, 30) and resident.move_out is None
    assert moved_out == [(other.pk, date(2026, 11, 30))]
    (entry,) = _last_entries(1)
    assert entry.target == f"resident:{other.pk}"
    assert json.loads(entry.reason)["move_out"] == {
        str(other.pk): {"move_out": [None, "2026-11-30"]}
    }


def test_moving_out_the_household_moves_out_everyone_still_there(db: None, moved_out: Any) -> None:
    resident = a_resident()
    gone = _second(resident.household, "王五", move_out=date(2026, 2, 1))
    other = _second(resident.household)
    change = _change(resident.household, "move_out")
    answer = signed_in(C).post(f"/changes/{change.pk}/", {"resident": "", "move_out": "2026-12-01"})
    assert answer.status_code == 302
    assert sorted(moved_out) == sorted(
        [(resident.pk, date(2026, 12, 1)), (other.pk, date(2026, 12, 1))]
    )
    gone.refresh_from_db()
    assert gone.move_out == date(2026, 2, 1)  # already gone: untouched
    (entry,) = _last_entries(1)
    assert entry.target == f"household:{resident.household_id}"


def test_a_bad_move_out_saves_nothing(db: None, moved_out: Any) -> None:
    from agent.office.web.audit.models import AuditEntry

    resident = a_resident()
    change = _change(resident.household, "move_out")
    before = AuditEntry.objects.count()
    answer = signed_in(C).post(f"/changes/{change.pk}/", {"resident": "", "move_out": "2025-12-31"})
    assert answer.status_code == 400 and list(answer.context["form"].errors) == ["move_out"]
    resident.refresh_from_db()
    change.refresh_from_db()
    assert resident.move_out is None and change.status == "approved" and moved_out == []
    assert AuditEntry.objects.count() == before


def test_a_receiver_that_fails_undoes_the_whole_move_out(db: None) -> None:
    from agent.office.web.audit.models import AuditEntry
    from agent.office.web.register.signals import resident_moved_out

    resident = a_resident()
    other = _second(resident.household)
    change = _change(resident.household, "move_out")
    before = AuditEntry.objects.count()

    def fail_on_second(sender: Any, resident: Any, when: date, **kwargs: Any) -> None:
        if resident.pk == other.pk:
            raise RuntimeError("cards could not be revoked")

    resident_moved_out.connect(fail_on_second, dispatch_uid="test-fail")
    try:
        with pytest.raises(RuntimeError):
            signed_in(C).post(f"/changes/{change.pk}/", {"resident": "", "move_out": "2026-12-01"})
    finally:
        resident_moved_out.disconnect(dispatch_uid="test-fail")
    resident.refresh_from_db()
    change.refresh_from_db()
    assert resident.move_out is None and change.status == "approved"
    assert AuditEntry.objects.count() == before


def test_only_an_approved_change_is_applied_and_only_once(db: None) -> None:
    resident = a_resident()
    clerk = signed_in(C)
    pending = _change(resident.household, "name", status="pending")
    form = {"resident": resident.pk, "name": "张叁"}
    refused = clerk.post(f"/changes/{pending.pk}/", form)
    assert refused.status_code == 403 and "Not allowed" in refused.content.decode()
    approved = _change(resident.household, "name")
    assert clerk.post(f"/changes/{approved.pk}/", form).status_code == 302
    assert clerk.post(f"/changes/{approved.pk}/", {**form, "name": "张山"}).status_code == 403
    resident.refresh_from_db()
    assert resident.name == "张叁"


def _correction(**changes: str) -> dict[str, str]:
    form = {
        "name": "张三丰", "id_type": "mainland_id", "id_number": "", "phone": "",
        "move_in": "2026-01-01", "move_out": "", "tenure": "owner", "proof_seen": "ownership",
        "reason": "typed wrong at registration",
    }  # fmt: skip
    return {**form, **changes}


def test_a_manager_corrects_a_typing_mistake_and_it_is_logged(db: None) -> None:
    resident = a_resident()
    manager = signed_in(M)
    answer = manager.post(f"/residents/{resident.pk}/correct/", _correction())
    assert answer.status_code == 302
    resident.refresh_from_db()
    assert (resident.name, resident.id_number, resident.phone) == ("张三丰", GOOD_ID, "13800138000")
    (entry,) = _last_entries(1)
    assert json.loads(entry.reason) == {
        "correction": "typed wrong at registration", "name": ["张三", "张三丰"]
    }  # fmt: skip
    assert (
        manager.post(
            f"/residents/{resident.pk}/correct/", _correction(id_number=OTHER_ID)
        ).status_code
        == 302
    )
    (entry,) = _last_entries(1)
    assert json.loads(entry.reason)["id_number"] == "changed" and OTHER_ID not in entry.reason
    resident.refresh_from_db()
    assert resident.id_number == OTHER_ID


def test_a_bad_correction_saves_nothing(db: None) -> None:
    from agent.office.web.audit.models import AuditEntry

    resident = a_resident()
    before = AuditEntry.objects.count()
    manager = signed_in(M)
    mistakes = [
        ({"id_number": "440524188001010015"}, "id_number"),
        ({"reason": ""}, "reason"),
        ({"move_out": "2025-01-01"}, "move_out"),
    ]
    for bad, field in mistakes:
        answer = manager.post(f"/residents/{resident.pk}/correct/", _correction(**bad))
        assert answer.status_code == 400 and field in answer.context["form"].errors
    resident.refresh_from_db()
    assert (resident.name, resident.id_number) == ("张三", GOOD_ID)
    assert AuditEntry.objects.count() == before


@pytest.mark.parametrize("role", ROLES)
def test_the_new_pages_are_refused_to_the_roles_that_lack_them(db: None, role: str) -> None:
    client = signed_in(role)
    resident = a_resident()
    household = resident.household
    member = _change(household, "member")
    name = _change(household, "name")
    r = resident.pk
    pages = [
        ("get", "/search/?q=3-2-501", {}, {M, C, G}),
        ("get", f"/changes/{name.pk}/", {}, {M, C}),
        ("post", f"/changes/{name.pk}/", {"resident": r, "name": "张叁"}, {M, C}),
        ("get", f"/changes/{member.pk}/member/", {}, {M, C}),
        ("get", f"/residents/{r}/correct/", {}, {M}),
        ("post", f"/residents/{r}/correct/", _correction(), {M}),
        ("get", f"/residents/{r}/export/", {}, {M}),
        ("post", f"/residents/{r}/export/", {"reason": "subject asked", "output": "json"}, {M}),
    ]
    for method, path, form, allowed in pages:
        answer = getattr(client, method)(path, form)
        if role in allowed:
            assert answer.status_code in (200, 302), (role, method, path)
        else:
            assert answer.status_code == 403, (role, method, path)
            assert "Not allowed" in answer.content.decode()
