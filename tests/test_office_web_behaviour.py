"""Abnormal behaviour cases: entered, measures against residents with the ladder's suggestion,
the report to the police and its PDF (read back with pypdf), who may read them, escaping."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings
from pypdf import PdfReader

from tests.office_events_rig import event, event_store_at
from tests.office_web_rig import GOOD_ID, ROLES, a_resident, db, make_staff, office_web, signed_in

__all__ = ["db", "office_web"]

M, C, G, A = ROLES  # manager, clerk, guard supervisor, auditor
CO = "case officer"
SCRIPT = "<script>alert(1)</script>"
# times relative to now: the ladder counts the measures of the last months before now
INCIDENT = (datetime.now(UTC) - timedelta(days=3)).replace(second=0, microsecond=0)
SITE = ZoneInfo("Asia/Shanghai")  # the workplace's zone, in which times are typed


def local(at: datetime) -> str:
    """``at`` as a datetime-local field takes it."""
    return at.astimezone(SITE).strftime("%Y-%m-%dT%H:%M")


OCCURRED = local(INCIDENT)
MEASURED = local(INCIDENT + timedelta(days=1))
REPORTED = local(INCIDENT + timedelta(days=1, hours=1))


def _case(client: Any, resident: Any, owner: Any, **extra: Any) -> Any:
    form = {
        "title": "Shouting in the stairwell",
        "unit": str(resident.household.unit_id),
        "residents": [str(resident.pk)],
        "behaviour": "harassment",
        "occurred_at": OCCURRED,
        "description": "Shouted at the neighbours.",
        "owner": str(owner.pk),
        **extra,
    }
    return client.post("/cases/behaviour/new/", form)


def _measure(client: Any, pk: int, resident: Any, rung: str, **extra: str) -> Any:
    form = {"resident": str(resident.pk), "rung": rung, "at": MEASURED, **extra}
    return client.post(f"/cases/{pk}/measures/", form)


def _police(client: Any, pk: int, **extra: str) -> Any:
    form = {
        "reported_at": REPORTED,
        "station": "Xinjiekou station",
        "officer": "Officer Li",
        "number": "JX-2026-0042",
        **extra,
    }
    return client.post(f"/cases/{pk}/police/", form)


def _text(pdf: bytes) -> str:
    """The PDF's text, whitespace and NULs left out: pypdf reads the two-byte codes of the
    CID-keyed CJK font (whose encoding is a CMap of its own) with a NUL or a space between
    the glyphs, so words are compared without them."""
    pages = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return "".join(pages.replace("\x00", "").split())


def _compact(text: str) -> str:
    return "".join(text.split())


def test_a_case_warned_step_by_step_then_reported_with_its_police_report(
    db: None, tmp_path: Path
) -> None:
    from agent.office.web.audit.models import AuditEntry
    from agent.office.web.cases.models import BehaviourMeasure, Case, PoliceReport
    from agent.office.web.guards.models import GuardAccount

    officer = signed_in(CO)
    resident = a_resident()
    assert _case(officer, resident, make_staff("owner", M)).status_code == 302
    case = Case.objects.get()
    assert case.kind == "behaviour" and list(case.residents.all()) == [resident]
    assert "dissuasion" in officer.get(f"/cases/{case.pk}/measures/").content.decode()
    assert (
        _measure(officer, case.pk, resident, "dissuasion", note="Talked to him.").status_code == 302
    )
    suggested = officer.get(f"/cases/{case.pk}/measures/").content.decode()
    assert 'class="suggested">verbal warning<' in suggested
    assert _measure(officer, case.pk, resident, "verbal_warning").status_code == 302
    assert _police(officer, case.pk).status_code == 302
    assert PoliceReport.objects.get().number == "JX-2026-0042"
    rungs = BehaviourMeasure.objects.filter(resident=resident).values_list("rung", flat=True)
    assert list(rungs) == ["dissuasion", "verbal_warning", "police"]
    steps = list(case.steps.values_list("action", flat=True))
    assert steps == ["received", "measure", "measure", "police"]
    audited = AuditEntry.objects.filter(target=f"case {case.pk}").values_list("action", flat=True)
    assert list(audited) == ["case.received", "case.measure", "case.measure", "case.police"]
    page = officer.get(f"/cases/{case.pk}/").content.decode()
    assert "Xinjiekou station" in page and "Talked to him." in page and 'id="police-pdf"' in page
    GuardAccount.objects.create(guard_id="wang", display_name="Wang Wei", password_hash="x")
    with event_store_at(tmp_path / "events.sqlite3") as store:
        store.add_events([
            event("s1", "north", 1, INCIDENT - timedelta(minutes=5), "access_granted",
                  door="lobby", holder_id=resident.holder_id),
            event("s1", "north", 2, INCIDENT + timedelta(minutes=10), "remote_open",
                  door="lobby", by="guard:wang", request_id="r1"),
            event("s1", "north", 3, INCIDENT + timedelta(hours=5), "remote_open",
                  door="garage", by="guard:zhao", request_id="r2"),
        ])  # fmt: skip
        response = officer.get(f"/cases/{case.pk}/police/report.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = _text(response.content)
    for expected in (f"Police report: case {case.pk}", "Shouting in the stairwell", "张三",
                     "3-2-501", "Xinjiekou station", "Officer Li", "JX-2026-0042",
                     "s1/north lobby access_granted", "Wang Wei (wang)", "verbal warning",
                     "Talked to him."):  # fmt: skip
        assert _compact(expected) in text, expected
    assert "garage" not in text and "zhao" not in text  # outside the window
    assert GOOD_ID not in text and "13800138000" not in text and resident.holder_id not in text
    assert AuditEntry.objects.filter(action="case.police_report").count() == 1


def test_a_serious_kind_suggests_the_police_directly(db: None) -> None:
    from agent.office.web.cases.models import Case

    officer = signed_in(CO)
    resident = a_resident()
    _case(officer, resident, make_staff("owner", M), behaviour="violence")
    page = officer.get(f"/cases/{Case.objects.get().pk}/measures/").content.decode()
    assert 'class="suggested">reported to the police<' in page


def test_the_ladder_comes_from_office_toml(db: None, tmp_path: Path) -> None:
    from agent.office.web.cases.models import Case

    toml = tmp_path / "office.toml"
    toml.write_text(
        'signing_key_file = "office.key"\n[workplace.behaviour]\n'
        'ladder = ["verbal_warning", "written_warning", "police"]\nwindow_months = 6\n'
    )
    officer = signed_in(CO)
    resident = a_resident()
    _case(officer, resident, make_staff("owner", M))
    pk = Case.objects.get().pk
    with override_settings(GATE_OFFICE_CONFIG=str(toml)):
        page = officer.get(f"/cases/{pk}/measures/").content.decode()
        assert 'class="suggested">verbal warning<' in page and "6 months" in page
        assert 'value="dissuasion"' not in page
        refused = _measure(officer, pk, resident, "dissuasion")
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()


def test_times_in_the_future_and_residents_of_another_unit_are_refused_beside_the_field(
    db: None,
) -> None:
    from agent.office.web.cases.models import Case
    from agent.office.web.register.models import Household, Resident, Unit

    officer = signed_in(CO)
    resident = a_resident()
    owner = make_staff("owner", M)
    later = "2099-01-01T10:00"
    assert (
        "This time is in the future."
        in _case(officer, resident, owner, occurred_at=later).content.decode()
    )
    other_unit = Unit.objects.create(building="9", entrance="1", room="101")
    other = Resident.objects.create(
        household=Household.objects.create(unit=other_unit), name="李四", id_type="mainland_id",
        move_in="2026-01-01", tenure="owner", proof_seen="ownership",
    )  # fmt: skip
    mixed = _case(officer, resident, owner, residents=[str(resident.pk), str(other.pk)])
    assert "Only residents of the chosen unit can be linked." in mixed.content.decode()
    assert not Case.objects.exists()
    _case(officer, resident, owner)
    pk = Case.objects.get().pk
    assert (
        "This time is in the future."
        in _measure(officer, pk, resident, "dissuasion", at=later).content.decode()
    )
    assert "Select a valid choice" in _measure(officer, pk, other, "dissuasion").content.decode()
    assert "This time is in the future." in _police(officer, pk, reported_at=later).content.decode()
    blank = _police(officer, pk, station="", number="").content.decode()
    assert blank.count("This field is required.") == 2
    assert Case.objects.get().steps.count() == 1


@pytest.mark.parametrize("role", [*ROLES, CO, None])
def test_behaviour_cases_are_read_only_with_their_permission(db: None, role: str | None) -> None:
    from agent.office.web.cases.models import Case, CaseAttachment

    author = signed_in(CO) if role != CO else None
    client = signed_in(role)
    resident = a_resident()
    _case(author or client, resident, make_staff("owner", M), title="Hidden matter")
    case = Case.objects.get()
    _police(author or client, case.pk)
    CaseAttachment.objects.create(
        case=case, name="a.png", content_type="image/png", data=b"x", added_by="o"
    )
    file_pk = CaseAttachment.objects.get().pk
    readers = {M, CO}
    pages = [
        ("get", f"/cases/{case.pk}/", {}, readers),
        ("get", f"/cases/{case.pk}/timeline/", {}, readers),
        ("get", f"/cases/{case.pk}/attachments/{file_pk}/", {}, readers),
        ("get", f"/cases/{case.pk}/police/report.pdf", {}, readers),
        ("get", f"/cases/{case.pk}/measures/", {}, readers),
        ("get", f"/cases/{case.pk}/police/", {}, readers),
        ("get", f"/cases/behaviour/residents/{resident.pk}/", {}, readers),
        ("post", f"/cases/{case.pk}/step/", {"action": "accept"}, readers),
        ("post", f"/cases/{case.pk}/attachments/", {}, readers),
        ("get", "/cases/behaviour/new/", {}, {M, C, CO}),
    ]
    for method, path, form, allowed in pages:
        status = getattr(client, method)(path, form).status_code
        assert status in (200, 302) if role in allowed else status == 403, (role, path)
    listing = client.get("/cases/")
    if role in {M, CO}:
        assert "Hidden matter" in listing.content.decode()
    elif role in {C, G}:
        assert "Hidden matter" not in listing.content.decode()


def test_a_clerk_enters_a_behaviour_case_and_hands_it_on(db: None) -> None:
    from agent.office.web.cases.models import Case

    clerk = signed_in(C)
    response = _case(clerk, a_resident(), make_staff("owner", CO))
    assert response.status_code == 302 and response["Location"] == "/cases/"
    pk = Case.objects.get().pk
    assert f"Case {pk} recorded and handed on." in clerk.get("/cases/").content.decode()
    assert clerk.get(f"/cases/{pk}/").status_code == 403


def test_html_in_every_text_field_is_escaped_on_the_pages_and_plain_in_the_pdf(
    db: None,
) -> None:
    from agent.office.web.cases.models import Case

    officer = signed_in(CO)
    resident = a_resident(name=SCRIPT)
    _case(officer, resident, make_staff("owner", M), title=SCRIPT, description=SCRIPT)
    pk = Case.objects.get().pk
    _measure(officer, pk, resident, "dissuasion", note=SCRIPT)
    _police(officer, pk, station=SCRIPT, officer=SCRIPT, number="<b>1</b>")
    for path in ("/cases/", f"/cases/{pk}/", f"/cases/{pk}/timeline/", f"/cases/{pk}/measures/",
                 f"/cases/behaviour/residents/{resident.pk}/"):  # fmt: skip
        page = officer.get(path).content.decode()
        assert SCRIPT not in page and "&lt;script&gt;" in page, path
    with override_settings(GATE_OFFICE_EVENTS_DB=""):
        pdf = officer.get(f"/cases/{pk}/police/report.pdf").content
    text = _text(pdf)
    assert text.count(_compact(SCRIPT)) >= 5 and "<b>1</b>" in text
    assert "Noeventstoreisconfigured." in text


def test_the_report_in_chinese(db: None) -> None:
    from agent.office.web.cases.models import Case

    officer = signed_in(CO, language="zh-hans")
    resident = a_resident()
    _case(officer, resident, make_staff("owner", M))
    pk = Case.objects.get().pk
    page = officer.get(f"/cases/{pk}/").content.decode()
    assert "住户异常行为" in page and "记录处理措施" in page
    _police(officer, pk)
    with override_settings(GATE_OFFICE_EVENTS_DB=""):
        text = _text(officer.get(f"/cases/{pk}/police/report.pdf").content)
    assert "报警记录" in text and "张三" in text and "派出所" in text


def test_a_missing_font_is_told_in_one_line(db: None, tmp_path: Path) -> None:
    from agent.office.web.cases.models import Case

    officer = signed_in(CO)
    _case(officer, a_resident(), make_staff("owner", M))
    pk = Case.objects.get().pk
    _police(officer, pk)
    with override_settings(GATE_OFFICE_PDF_FONT=str(tmp_path / "none.ttc")):
        response = officer.get(f"/cases/{pk}/police/report.pdf")
    body = response.content.decode()
    assert response.status_code == 503 and "fonts-noto-cjk" in body and "\n" not in body.strip()


def test_a_residents_measures_are_listed_on_their_own_page(db: None) -> None:
    from agent.office.web.cases.models import Case

    manager = signed_in(M)
    resident = a_resident()
    _case(manager, resident, make_staff("owner", CO), title="First")
    first = Case.objects.get().pk
    _measure(manager, first, resident, "written_warning")
    assert 'id="behaviour-measures"' in manager.get(f"/residents/{resident.pk}/").content.decode()
    listed = manager.get(f"/cases/behaviour/residents/{resident.pk}/").content.decode()
    assert "written warning" in listed and "First" in listed
    _case(manager, resident, make_staff("owner2", CO), title="Second")
    second = Case.objects.exclude(pk=first).get().pk
    # the written warning of the first case counts: the police come next in the second
    page = manager.get(f"/cases/{second}/measures/").content.decode()
    assert 'class="suggested">reported to the police<' in page


def test_measures_older_than_the_window_no_longer_count(db: None) -> None:
    from agent.office.web.cases.models import Case

    manager = signed_in(M)
    resident = a_resident()
    _case(manager, resident, make_staff("owner", CO))
    pk = Case.objects.get().pk
    _measure(manager, pk, resident, "written_warning", at=local(INCIDENT - timedelta(days=400)))
    page = manager.get(f"/cases/{pk}/measures/").content.decode()
    assert 'class="suggested">dissuasion<' in page  # a year and more ago: the ladder anew
    assert "written warning" in page  # still listed


def test_an_overdue_behaviour_case_is_counted_only_for_who_may_read_it(db: None) -> None:
    from agent.office.web.cases.models import Case

    manager = signed_in(M)
    _case(manager, a_resident(), make_staff("owner", CO))
    Case.objects.update(due_at=INCIDENT)
    assert "1 case is overdue." in manager.get("/").content.decode()
    assert 'id="cases-overdue"' not in signed_in(C).get("/").content.decode()
