"""Complaints in the office: from the paper form to answered and closed with the timeline,
refusals beside the field, the due time, overdue flags, the roles and escaping."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from tests.office_web_rig import ROLES, a_resident, db, make_staff, office_web, signed_in

__all__ = ["db", "office_web"]

M, C, G, A = ROLES  # manager, clerk, guard supervisor, auditor


def _complaint(client: Any, owner: Any, unit: Any, **extra: str) -> Any:
    form = {
        "title": "Noise at night",
        "resident_name": "张三",
        "unit": str(unit.pk),
        "description": "Drilling after 22:00.",
        "received_at": "2026-12-04T16:30",
        "owner": str(owner.pk),
        **extra,
    }
    return client.post("/cases/complaints/new/", form)


def _step(client: Any, pk: int, action: str, **extra: str) -> Any:
    return client.post(f"/cases/{pk}/step/", {"action": action, **extra})


def test_a_complaint_from_the_form_to_answered_and_closed(db: None) -> None:
    from agent.office.web.audit.models import AuditEntry
    from agent.office.web.cases.models import Case

    clerk = signed_in(C)
    owner = make_staff("owner", M)
    resident = a_resident()
    response = _complaint(clerk, owner, resident.household.unit)
    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/cases/{case.pk}/"
    assert case.state == "received" and case.kind == "complaint"
    for action, extra in [
        ("accept", {}),
        ("investigate", {"note": "Spoke to the neighbours."}),
        ("measures", {"note": "Warned unit 502."}),
        (
            "answer",
            {
                "answer": "The neighbour was warned.",
                "told_at": "2026-12-07T10:00",
                "told_how": "phone",
            },
        ),
        ("close", {}),
    ]:
        assert _step(clerk, case.pk, action, **extra).status_code == 302, action
    case.refresh_from_db()
    assert case.state == "closed" and case.told_how == "phone"
    steps = list(case.steps.values_list("action", "state_after", "actor"))
    assert [s[0] for s in steps] == [
        "received",
        "accept",
        "investigate",
        "measures",
        "answer",
        "close",
    ]
    assert all(s[2] == "clerk" for s in steps)
    page = clerk.get(f"/cases/{case.pk}/").content.decode()
    assert "Spoke to the neighbours." in page and "The neighbour was warned." in page
    audited = AuditEntry.objects.filter(target=f"case {case.pk}").values_list("action", flat=True)
    assert list(audited) == [f"case.{s[0]}" for s in steps]
    assert _step(clerk, case.pk, "reopen").status_code == 302
    reopened = Case.objects.get()
    assert reopened.state == "reopened" and not reopened.overdue()  # due anew from the reopening
    assert reopened.received_at == case.received_at


def test_a_disabled_owner_is_refused_beside_the_field(db: None) -> None:
    from agent.office.web.cases.models import Case

    clerk = signed_in(C)
    owner = make_staff("gone", C)
    owner.is_active = False
    owner.save()
    response = _complaint(clerk, owner, a_resident().household.unit)
    assert response.status_code == 200
    assert "This account is disabled" in response.content.decode()
    assert not Case.objects.exists()


def test_a_step_the_state_does_not_allow_is_refused_with_a_message(db: None) -> None:
    from agent.office.web.cases.models import Case

    clerk = signed_in(C)
    _complaint(clerk, make_staff("owner", M), a_resident().household.unit)
    case = Case.objects.get()
    response = _step(clerk, case.pk, "close")
    assert response.status_code == 200
    assert "is not allowed while the case is" in response.content.decode()
    unanswered = _step(clerk, case.pk, "answer")
    assert unanswered.status_code == 200
    assert Case.objects.get().state == "received" and case.steps.count() == 1


@override_settings(GATE_OFFICE_HOLIDAYS="2026-12-08")
def test_the_due_time_skips_the_weekend_and_a_holiday(db: None) -> None:
    from django.utils import timezone

    from agent.office.web.cases.models import Case

    _complaint(signed_in(C), make_staff("owner", M), a_resident().household.unit)
    due = timezone.localtime(Case.objects.get().due_at)
    # received Friday 16:30; Mon 7 and Wed 9, Thu 10 are working days, Tue 8 a holiday
    assert (due.date().isoformat(), due.hour, due.minute) == ("2026-12-10", 16, 30)


def test_overdue_cases_are_flagged_on_the_list_and_the_home_page(db: None) -> None:
    from django.utils import timezone

    from agent.office.web.cases.models import Case

    clerk = signed_in(C)
    unit = a_resident().household.unit
    owner = make_staff("owner", M)
    _complaint(clerk, owner, unit, title="Old one", received_at="2026-11-20T09:00")
    now = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    _complaint(clerk, owner, unit, title="New one", received_at=now)
    old, new = Case.objects.order_by("pk")
    assert old.overdue() and not new.overdue()
    listing = clerk.get("/cases/").content.decode()
    assert listing.count('class="overdue"') == 1
    home = clerk.get("/").content.decode()
    assert 'id="cases-overdue"' in home and "1 case is overdue." in home
    old.state = "answered"
    old.save()
    assert 'id="cases-overdue"' not in clerk.get("/").content.decode()


@pytest.mark.parametrize("role", [*ROLES, None])
def test_every_case_page_is_refused_to_the_roles_that_lack_it(db: None, role: str | None) -> None:
    from agent.office.web.cases.models import Case

    manager = signed_in(M) if role != M else None
    owner = make_staff("owner", C)
    unit = a_resident().household.unit
    client = signed_in(role)
    _complaint(manager or client, owner, unit)
    pk = Case.objects.get().pk
    pages = [
        ("get", "/cases/", {}, {M, C, G}),
        ("get", "/cases/complaints/new/", {}, {M, C, G}),
        ("get", f"/cases/{pk}/", {}, {M, C, G}),
        ("get", f"/cases/{pk}/timeline/", {}, {M, C, A}),
        ("post", f"/cases/{pk}/step/", {"action": "accept"}, {M, C}),
    ]
    for method, path, form, allowed in pages:
        status = getattr(client, method)(path, form).status_code
        assert status == (200 if method == "get" else 302) if role in allowed else 403, (role, path)


def test_html_in_the_text_fields_is_escaped(db: None) -> None:
    from agent.office.web.cases.models import Case

    clerk = signed_in(C)
    script = "<script>alert(1)</script>"
    _complaint(
        clerk,
        make_staff("owner", M),
        a_resident().household.unit,
        title=script,
        resident_name=script,
        description=script,
    )
    pk = Case.objects.get().pk
    _step(clerk, pk, "accept", note=script)
    for path in ("/cases/", f"/cases/{pk}/", f"/cases/{pk}/timeline/"):
        page = clerk.get(path).content.decode()
        assert script not in page and "&lt;script&gt;" in page, path


def test_a_step_once_written_is_never_edited(db: None) -> None:
    from agent.office.web.cases.models import Case

    _complaint(signed_in(C), make_staff("owner", M), a_resident().household.unit)
    step = Case.objects.get().steps.get()
    step.note = "changed"
    with pytest.raises(ValueError):
        step.save()


def test_the_case_pages_speak_chinese(db: None) -> None:
    from agent.office.web.cases.models import Case

    clerk = signed_in(C, language="zh-hans")
    _complaint(clerk, make_staff("owner", M), a_resident().household.unit)
    pk = Case.objects.get().pk
    _step(clerk, pk, "accept")
    page = clerk.get(f"/cases/{pk}/").content.decode()
    assert "受理" in page and "已收到 → 已受理" in page and "处理记录" in page
    assert "住户投诉处理" in clerk.get("/cases/").content.decode()


def test_residents_of_the_unit_are_linked_and_a_future_receipt_refused(db: None) -> None:
    from agent.office.web.cases.models import Case

    clerk = signed_in(C)
    resident = a_resident()
    owner = make_staff("owner", M)
    unit = resident.household.unit
    assert _complaint(clerk, owner, unit, residents=str(resident.pk)).status_code == 302
    case = Case.objects.get()
    assert list(case.residents.all()) == [resident]
    assert f'href="/residents/{resident.pk}/"' in clerk.get(f"/cases/{case.pk}/").content.decode()
    from agent.office.web.register.models import Unit

    other = Unit.objects.create(building="4", room="101")
    refused = _complaint(clerk, owner, other, residents=str(resident.pk))
    assert "Only residents of the chosen unit can be linked." in refused.content.decode()
    future = _complaint(clerk, owner, unit, received_at="2099-01-01T09:00")
    assert "cannot be received in the future" in future.content.decode()
    assert Case.objects.count() == 1
    supervisor = signed_in(G).get("/cases/complaints/new/").content.decode()
    assert "residents concerned" not in supervisor and "张三" not in supervisor
