"""The dashboard on the home page (open cases by kind and age, overdue ones, gates offline,
alarms not acknowledged), case kinds added in ``[workplace.cases]``, a case handed to another
person in charge and its due time set by hand, and every text field escaped everywhere."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.office_events_rig import event, event_store_at
from tests.office_web_rig import (
    ROLES,
    ROOT,
    a_resident,
    db,
    gate_office,
    make_staff,
    office_web,
    own_environment,
    signed_in,
)
from tests.test_office_web_postgres import pg_url

__all__ = ["db", "office_web", "pg_url"]

M, C, G, A = ROLES
KINDS_TOML = """
signing_key_file = "office.key"

[workplace.cases]
holidays = [2026-12-08]
due_days = { complaint = 2, parking = 5 }

[[workplace.cases.kinds]]
key = "parking"
zh = "停车纠纷"
en = "parking dispute"
"""


@pytest.fixture
def kinds_config(tmp_path: Path) -> Iterator[Path]:
    from django.test import override_settings

    path = tmp_path / "office.toml"
    path.write_text(KINDS_TOML)
    with override_settings(GATE_OFFICE_CONFIG=str(path)):
        yield path


def _case(unit: Any, owner: Any, *, kind: str = "complaint", state: str = "received",
          age: timedelta = timedelta(hours=2), due_in: timedelta = timedelta(days=2),
          title: str = "Noise") -> Any:  # fmt: skip
    from django.utils import timezone

    from agent.office.web.cases.models import Case

    now = timezone.now()
    return Case.objects.create(kind=kind, state=state, title=title, description="-", unit=unit,
                               owner=owner, received_at=now - age, due_at=now + due_in)  # fmt: skip


def _complaint(client: Any, owner: Any, unit: Any, path: str = "/cases/complaints/new/",
               **extra: str) -> Any:  # fmt: skip
    form = {"title": "Car in my space", "resident_name": "张三", "unit": str(unit.pk),
            "description": "Again.", "received_at": "2026-12-04T16:30", "owner": str(owner.pk),
            **extra}  # fmt: skip
    return client.post(path, form)


def _errors(response: Any, field: str) -> list[str]:
    form = next(f for f in (response.context.get(k) for k in ("owner_form", "due_form", "form"))
                if f is not None and f.errors)  # fmt: skip
    return [str(e) for e in form.errors.get(field, [])]


def test_ages_fall_into_four_buckets(office_web: Path) -> None:
    from agent.office.web.cases.dashboard import age_bucket

    now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    ages = [timedelta(hours=h) for h in (0, 23, 24, 71, 72, 167, 168, 1000)]
    assert [age_bucket(now - age, now) for age in ages] == [0, 0, 1, 1, 2, 2, 3, 3]


def test_the_dashboard_counts_open_cases_by_kind_and_age_and_lists_the_overdue(
    db: None, kinds_config: Path
) -> None:
    clerk = signed_in(C)
    unit = a_resident().household.unit
    owner = make_staff("owner", M)
    _case(unit, owner, age=timedelta(hours=3))
    _case(unit, owner, age=timedelta(days=2))
    _case(unit, owner, age=timedelta(days=9), due_in=-timedelta(days=4), title="Late one")
    _case(unit, owner, age=timedelta(days=9), state="closed", due_in=-timedelta(days=4))
    _case(unit, owner, kind="parking", age=timedelta(days=4))
    _case(unit, owner, kind="incident", age=timedelta(days=5), state="answered")
    page = clerk.get("/").content.decode()
    rows = dict(re.findall(r'<tr data-kind="(\w+)">(.*?)</tr>', page, re.S))
    cells = {k: re.findall(r"<td[^>]*>(.*?)</td>", v) for k, v in rows.items()}
    assert cells["complaint"] == ["complaint", "1", "1", "0", "1", "3"]
    assert cells["parking"] == ["parking dispute", "0", "0", "1", "0", "1"]
    assert cells["incident"][1:] == ["0"] * 5 and cells["behaviour"][1:] == ["0"] * 5
    overdue = re.search(r'<table id="dashboard-overdue">(.*?)</table>', page, re.S)
    assert overdue and "Late one" in overdue[1] and overdue[1].count('class="overdue"') == 1
    zh = signed_in(M, language="zh-hans").get("/").content.decode()
    assert "停车纠纷" in zh and "已超期案件" in zh and "超过 7 天" in zh


def test_the_dashboard_shows_gates_offline_and_alarms_not_acknowledged(
    db: None, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    with event_store_at(tmp_path / "events.db") as store:
        store.update_gate("s1", "north", online=False, online_since=now - timedelta(hours=2))
        store.update_gate("s1", "south", online=True, online_since=now)
        alarm = {"severity": "alarm", "door": "main"}
        store.add_events([
            event("s1", "south", 1, now - timedelta(hours=1), "door_forced_open", **alarm),
            event("s1", "south", 2, now - timedelta(minutes=30), "tamper", **alarm),
            event("s1", "south", 3, now - timedelta(minutes=20), "alarm_acknowledged",
                  alarm_seq=1),
        ])  # fmt: skip
        page = signed_in(C).get("/").content.decode()
        auditor = signed_in(A).get("/").content.decode()  # sees gates, not cases
    offline = re.search(r'<ul id="dashboard-offline">(.*?)</ul>', page, re.S)
    alarms = re.search(r'<ul id="dashboard-alarms">(.*?)</ul>', page, re.S)
    assert offline and "s1/north" in offline[1] and "s1/south" not in offline[1]
    assert alarms and re.sub(r"<[^>]+>", "", alarms[1]).strip() == "s1/south: 1"
    assert 'id="dashboard"' not in auditor


def test_without_an_event_store_the_dashboard_leaves_the_gates_out(db: None) -> None:
    from django.test import override_settings

    with override_settings(GATE_OFFICE_EVENTS_DB=""):
        page = signed_in(C).get("/").content.decode()
    assert 'id="dashboard-open"' in page and 'id="dashboard-offline"' not in page


def test_a_kind_from_the_config_is_entered_with_its_own_due_days(
    db: None, kinds_config: Path
) -> None:
    from django.utils import timezone

    from agent.office.web.cases.models import Case

    clerk = signed_in(C)
    unit = a_resident().household.unit
    owner = make_staff("owner", M)
    form = clerk.get("/cases/new/").content.decode()
    assert 'value="parking"' in form and 'value="behaviour"' not in form
    assert 'id="case-new-link"' in clerk.get("/cases/").content.decode()
    refused = _complaint(clerk, owner, unit, "/cases/new/", kind="behaviour")
    assert refused.status_code == 200 and _errors(refused, "kind")
    assert _complaint(clerk, owner, unit, "/cases/new/", kind="parking").status_code == 302
    assert _complaint(clerk, owner, unit).status_code == 302  # a complaint: 2 days here
    parking, complaint = Case.objects.order_by("pk")
    # received Friday 4 Dec 16:30; Tue 8 Dec is a holiday in the config
    assert timezone.localtime(parking.due_at).date().isoformat() == "2026-12-14"
    assert timezone.localtime(complaint.due_at).date().isoformat() == "2026-12-09"
    assert "parking dispute" in clerk.get(f"/cases/{parking.pk}/").content.decode()
    zh = signed_in(M, language="zh-hans").get(f"/cases/{parking.pk}/").content.decode()
    assert "停车纠纷" in zh


def test_the_environment_gives_the_defaults_and_the_config_overrides_them(
    db: None, tmp_path: Path
) -> None:
    from django.test import override_settings

    from agent.office.web.cases import kinds

    env_days = {"complaint": 4, "behaviour": 5, "incident": 1}
    with override_settings(GATE_OFFICE_CASE_DUE_DAYS=env_days, GATE_OFFICE_HOLIDAYS="2027-01-01"):
        assert (kinds.due_days("complaint"), kinds.due_days("incident")) == (4, 1)
        path = tmp_path / "office.toml"
        path.write_text(KINDS_TOML)
        with override_settings(GATE_OFFICE_CONFIG=str(path)):
            assert (kinds.due_days("complaint"), kinds.due_days("incident")) == (2, 1)
            assert kinds.due_days("parking") == 5
            assert sorted(str(d) for d in kinds.holidays()) == ["2026-12-08", "2027-01-01"]


def test_a_kind_the_config_cannot_have_is_refused() -> None:
    from pydantic import ValidationError

    from agent.models.case_settings import CaseSettings

    for bad in ({"kinds": [{"key": "incident", "zh": "事件", "en": "incident"}]},
                {"due_days": {"parking": 3}},
                {"kinds": [{"key": "Bad Key", "zh": "x", "en": "x"}]}):  # fmt: skip
        with pytest.raises(ValidationError):
            CaseSettings.model_validate(bad)


def test_the_person_in_charge_is_changed_on_the_timeline_and_a_disabled_one_refused(
    db: None,
) -> None:
    from agent.office.web.audit.models import AuditEntry

    clerk = signed_in(C)
    unit = a_resident().household.unit
    first, second, gone = make_staff("first", M), make_staff("second", C), make_staff("gone", C)
    gone.is_active = False
    gone.save()
    case = _case(unit, first)
    refused = clerk.post(f"/cases/{case.pk}/owner/", {"owner-owner": str(gone.pk)})
    assert refused.status_code == 200
    assert _errors(refused, "owner") == ["This account is disabled; choose another owner."]
    assert 'id="case-owner"' in refused.content.decode()
    same = clerk.post(f"/cases/{case.pk}/owner/", {"owner-owner": str(first.pk)})
    assert _errors(same, "owner") == ["This person is in charge already."]
    done = clerk.post(
        f"/cases/{case.pk}/owner/", {"owner-owner": str(second.pk), "owner-note": "Holiday."}
    )
    assert done.status_code == 302
    case.refresh_from_db()
    assert case.owner == second and case.state == "received"
    step = case.steps.get()
    assert (step.action, step.note, step.actor) == ("reassign", "first → second\nHoliday.", "clerk")
    audit = AuditEntry.objects.get(action="case.reassign")
    assert (audit.target, audit.reason) == (f"case {case.pk}", "first -> second")
    assert "Person in charge changed" in clerk.get(f"/cases/{case.pk}/timeline/").content.decode()
    assert (
        signed_in(G).post(f"/cases/{case.pk}/owner/", {"owner-owner": str(first.pk)}).status_code
        == 403
    )


def test_a_due_time_set_by_hand_must_lie_ahead_and_is_a_step(db: None) -> None:
    from django.utils import timezone

    clerk = signed_in(C)
    case = _case(a_resident().household.unit, make_staff("owner", M))
    past = clerk.post(f"/cases/{case.pk}/due/", {"due-due_at": "2020-01-01T09:00"})
    assert _errors(past, "due_at") == ["The due time must be in the future."]
    ahead = (timezone.localtime() + timedelta(days=20)).replace(second=0, microsecond=0)
    done = clerk.post(f"/cases/{case.pk}/due/", {"due-due_at": ahead.strftime("%Y-%m-%dT%H:%M")})
    assert done.status_code == 302
    case.refresh_from_db()
    assert case.due_at == ahead and case.steps.get().action == "due"
    case.state = "closed"
    case.save()
    closed = clerk.post(f"/cases/{case.pk}/due/", {"due-due_at": "2099-01-01T09:00"})
    assert (
        closed.status_code == 200 and "Only an open case can be changed." in closed.content.decode()
    )


SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'


def test_html_in_every_text_field_is_escaped_on_every_page(db: None) -> None:
    from agent.office.web.cases.models import Case

    clerk = signed_in(M)
    bad = SCRIPT + IMG
    text = {"title": bad, "resident_name": bad, "description": bad}
    owner = make_staff("owner", C)
    unit = a_resident().household.unit
    assert _complaint(clerk, owner, unit, received_at="2026-11-02T09:00", **text).status_code == 302
    case = Case.objects.get()
    answer = {"answer": bad, "told_at": "2026-12-07T10:00", "told_how": bad}
    for action in ("accept", "investigate", "measures", "answer"):
        step = {"action": action, "note": bad, **(answer if action == "answer" else {})}
        assert clerk.post(f"/cases/{case.pk}/step/", step).status_code == 302, action
    assert clerk.post(f"/cases/{case.pk}/step/", {"action": "reopen"}).status_code == 302
    other = make_staff("other", C)
    assert (
        clerk.post(
            f"/cases/{case.pk}/owner/", {"owner-owner": str(other.pk), "owner-note": bad}
        ).status_code
        == 302
    )
    assert (
        clerk.post(
            f"/cases/{case.pk}/due/", {"due-due_at": "2099-01-01T09:00", "due-note": bad}
        ).status_code
        == 302
    )
    Case.objects.filter(pk=case.pk).update(due_at=case.received_at)  # overdue: on the dashboard
    refused = clerk.post(
        f"/cases/{case.pk}/due/", {"due-due_at": "2020-01-01T09:00", "due-note": bad}
    )
    for page in [clerk.get(p) for p in ("/", "/cases/", f"/cases/{case.pk}/",
                                        f"/cases/{case.pk}/timeline/")] + [refused]:  # fmt: skip
        html = page.content.decode()
        assert "<script>alert" not in html and "<img src=x" not in html, page.request["PATH_INFO"]
        assert (
            "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
            in html
        )
    assert 'id="dashboard-overdue"' in clerk.get("/").content.decode()


def test_a_broken_office_config_is_told_in_one_line_on_the_home_page(
    db: None, tmp_path: Path
) -> None:
    from django.test import override_settings

    broken = tmp_path / "office.toml"
    broken.write_text(KINDS_TOML.replace('key = "parking"', 'key = "incident"'))
    with override_settings(GATE_OFFICE_CONFIG=str(broken)):
        answer = signed_in(C).get("/")
    page = answer.content.decode()
    assert answer.status_code == 200 and 'id="dashboard-problem"' in page
    assert "invalid configuration" in page and "Traceback" not in page


def test_case_audit_actions_fit_the_column_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    """``case.reassign`` and the like are longer than the register's actions: PostgreSQL,
    unlike SQLite, refuses a value longer than its column."""
    state = tmp_path / "web"
    assert gate_office("web", "init", "--state", str(state), "--database", pg_url).returncode == 0
    script = (
        "import sys; from pathlib import Path; from agent.office.web import boot; "
        "boot.configure(sys.argv[1], Path(sys.argv[2])); "
        "from agent.office.web.audit import chain; "
        "[chain.append('clerk', a, 'case 1', 'x') for a in "
        "('case.received', 'case.investigate', 'case.reassign', 'case.due')]"
    )
    argv = [sys.executable, "-c", script, pg_url, str(state)]
    done = subprocess.run(
        argv, cwd=ROOT, env=own_environment(), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-300:]


def test_a_refused_step_is_one_of_the_projects_errors_and_still_a_value_error() -> None:
    from agent.errors import GateError
    from agent.office.web.cases import flow

    with pytest.raises(GateError) as refused:
        flow.next_state(flow.CLOSED, "close")
    assert isinstance(refused.value, ValueError) and refused.value.state == flow.CLOSED


def test_behaviour_cases_stay_off_the_dashboard_of_who_may_not_read_them(db: None) -> None:
    # a clerk handles complaints but reads no abnormal behaviour case (issue 19's own role)
    unit = a_resident().household.unit
    owner = make_staff("owner", M)
    _case(unit, owner, kind="behaviour", due_in=-timedelta(days=1), title="Fight on stairs")
    _case(unit, owner, due_in=-timedelta(days=1), title="Lift noise")
    clerk_page = signed_in(C).get("/").content.decode()
    manager_page = signed_in(M).get("/").content.decode()

    def behaviour_row(page: str) -> list[str]:
        row = re.search(r'<tr data-kind="behaviour">(.*?)</tr>', page, re.S)
        return re.findall(r"<td[^>]*>(.*?)</td>", row[1]) if row else []

    assert "Lift noise" in clerk_page and "Fight on stairs" not in clerk_page
    assert behaviour_row(clerk_page)[1:] == ["0"] * 5
    assert "Fight on stairs" in manager_page and behaviour_row(manager_page)[-1] == "1"
