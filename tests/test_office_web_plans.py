"""Emergency plans and drills in the office (Django test client): a plan drafted line by
line with bad lines refused beside the field, approved and then never changed, a new
version drafted from it, printed; a drill scheduled, its gate report matched by request
id and compared with the plan; the yearly calendar; the roles; escaping."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.office_events_rig import event, event_store_at, gate_with_doors
from tests.office_web_rig import ROLES, db, make_staff, office_web, signed_in

__all__ = ["db", "office_web"]

M, C, G, A = ROLES  # manager, clerk, guard supervisor, auditor

PLAN = {
    "title": "Fire: evacuate the compound",
    "release_within_s": "5",
    "drill_kind": "fire",
    "drill_minutes": "10",
    "drills_per_year": "2",
    "roles": "warden: manager\nguard on duty: duty-guard",
    "steps": "1 | warden | Sound the alarm\n3 | guard on duty | Release the doors\n"
    "10 | warden | Count the residents at the muster point",
    "doors": "release s1/g1/main\nrelease s1/g1/side\nlock s1/g1/garage",
    "contacts": "Fire brigade | emergency | 119\nLi Wei | electrician | 13800138000",
}


@pytest.fixture
def store(db: None, tmp_path: Path) -> Iterator[Any]:
    """The gates' event store, knowing gate s1/g1 and its three doors."""
    with event_store_at(tmp_path / "events.db") as s:
        gate_with_doors(s, "s1", "g1", "main", "side", "garage")
        yield s


def _local(when: datetime, layout: str = "%Y-%m-%dT%H:%M") -> str:
    """A time as the workplace's forms read it (the site's time zone)."""
    from django.utils import timezone

    return timezone.localtime(when).strftime(layout)


def _approved(manager: Any, **changes: str) -> Any:
    from agent.office.web.plans.models import PlanVersion

    response = manager.post("/plans/fire/draft/", {**PLAN, **changes})
    assert response.status_code == 302, response.content.decode()
    version = PlanVersion.objects.get(plan__scenario="fire", approved_at__isnull=True)
    assert manager.post(f"/plans/versions/{version.pk}/approve/").status_code == 302
    version.refresh_from_db()
    return version


def test_a_plan_drafted_refused_beside_the_field_approved_then_versioned(store: Any) -> None:
    from agent.office.web.audit.models import AuditEntry
    from agent.office.web.plans.models import PlanVersion

    manager = signed_in(M)
    make_staff("duty-guard", G)
    bad = {
        "roles": ("warden: nobody", "no active staff account nobody"),
        "steps": ("soon | warden | Sound the alarm", "the target minutes must be a number"),
        "doors": ("release s1/g1/roof", "the office knows no door s1/g1/roof"),
        "contacts": ("Fire brigade | 119", "write 3 parts separated by |"),
    }
    for field, (text, why) in bad.items():
        page = manager.post("/plans/fire/draft/", {**PLAN, field: text}).content.decode()
        assert why in page and f'id="id_{field}_error"' in page, field
    undeclared = {**PLAN, "steps": "1 | cook | Cook"}
    assert (
        "no role cook in the roles above"
        in manager.post("/plans/fire/draft/", undeclared).content.decode()
    )
    assert not PlanVersion.objects.exists()

    v1 = _approved(manager)
    assert (v1.number, v1.approved_by, v1.drafted_by) == (1, "manager", "manager")
    assert v1.steps[1] == {"minutes": 3.0, "role": "guard on duty", "text": "Release the doors"}
    assert v1.doors[2] == {"action": "lock", "site": "s1", "gate": "g1", "door": "garage"}
    assert v1.roles[0] == {"name": "warden", "holders": ["manager"]}
    assert AuditEntry.objects.filter(action="plan.approve").count() == 1
    v1.title = "changed"
    with pytest.raises(ValueError, match="never changed"):
        v1.save()
    again = manager.post(f"/plans/versions/{v1.pk}/approve/", follow=True).content.decode()
    assert "This version is approved already." in again

    # a new version is drafted from the one in force, which stays as it was
    form = manager.get("/plans/fire/draft/").content.decode()
    assert "release s1/g1/side" in form and "Li Wei | electrician | 13800138000" in form
    v2 = _approved(manager, title="Fire <b>v2</b>", drill_minutes="15")
    v1.refresh_from_db()
    assert v2.number == 2 and v1.title == "Fire: evacuate the compound"
    printed = manager.get(f"/plans/versions/{v2.pk}/print/").content.decode()
    assert "@media print" in printed and "Fire &lt;b&gt;v2&lt;/b&gt;" in printed
    assert "Count the residents at the muster point" in printed and "119" in printed
    listing = manager.get("/plans/").content.decode()
    assert "v2 Fire &lt;b&gt;v2&lt;/b&gt;" in listing


def test_roles_read_write_approve_and_tick(store: Any) -> None:
    manager = signed_in(M)
    make_staff("duty-guard", G)
    version = _approved(manager)
    clerk, supervisor, auditor = signed_in(C), signed_in(G, "zh-hans"), signed_in(A)
    for reader in (clerk, supervisor):
        assert reader.get("/plans/").status_code == 200
        assert reader.get(f"/plans/versions/{version.pk}/").status_code == 200
        assert reader.post("/plans/fire/draft/", PLAN).status_code == 403
        assert reader.post(f"/plans/versions/{version.pk}/approve/").status_code == 403
    assert "应急预案" in supervisor.get("/plans/").content.decode()
    assert auditor.get("/plans/").status_code == 403
    soon = _local(datetime.now(UTC) + timedelta(days=1))
    assert (
        clerk.post(f"/plans/versions/{version.pk}/drills/new/", {"scheduled_at": soon}).status_code
        == 403
    )
    assert (
        supervisor.post(
            f"/plans/versions/{version.pk}/drills/new/", {"scheduled_at": soon}
        ).status_code
        == 302
    )


def test_a_drill_scheduled_matched_by_request_id_and_compared(store: Any) -> None:
    from agent.office.web.plans.models import Drill

    manager = signed_in(M)
    make_staff("duty-guard", G)
    version = _approved(manager)
    past = manager.post(
        f"/plans/versions/{version.pk}/drills/new/", {"scheduled_at": "2020-01-01T10:00"}
    ).content.decode()
    assert "A drill cannot be scheduled in the past." in past and not Drill.objects.exists()
    soon = _local(datetime.now(UTC) + timedelta(hours=1))
    manager.post(f"/plans/versions/{version.pk}/drills/new/", {"scheduled_at": soon})
    drill = Drill.objects.get()
    # no broker configured: the start is refused in one line, the drill not started
    page = manager.post(f"/plans/drills/{drill.pk}/start/", follow=True).content.decode()
    assert "s1/g1: no broker: start the workplace with --office-config" in page
    drill.refresh_from_db()
    assert drill.started_at is None and drill.request_id == ""

    # as if started: the gate's report, with another drill's report beside it
    started = datetime.now(UTC) - timedelta(minutes=12)
    drill.request_id, drill.started_at, drill.started_by = "req-1", started, "manager"
    drill.save()
    doors = {
        "main": {"released": True, "released_s": 0.4, "took_s": 0.3},
        "side": {"released": True, "released_s": 7.5, "took_s": 7.4, "contact": False},
        "garage": {"expected": False},
    }
    other = {"request_id": "req-0", "doors": {"main": {"released": False}}}
    store.add_events(
        [
            event("s1", "g1", 1, started, "drill_ended", door=None, **other),
            event(
                "s1",
                "g1",
                2,
                started + timedelta(minutes=10),
                "drill_ended",
                door=None,
                request_id="req-1",
                doors=doors,
                not_released=[],
            ),
        ]
    )
    clerk = signed_in(C)
    for step, after in ((0, 1), (1, 5)):
        at = _local(started + timedelta(minutes=after), "%Y-%m-%dT%H:%M:%S")
        assert (
            clerk.post(f"/plans/drills/{drill.pk}/tick/", {"step": str(step), "at": at}).status_code
            == 302
        )
    future = clerk.post(
        f"/plans/drills/{drill.pk}/tick/", {"step": "2", "at": "2099-01-01T00:00"}
    ).content.decode()
    assert "A step cannot be done in the future." in future
    clerk.post(f"/plans/drills/{drill.pk}/notes/", {"went_wrong": "Side door <slow>"})
    page = clerk.get(f"/plans/drills/{drill.pk}/").content.decode()
    drill.refresh_from_db()
    assert drill.reports["s1/g1"]["request_id"] == "req-1" and drill.complete()
    assert 'data-door="s1/g1/main" data-state="on_time"' in page
    # no contact, relay released but later than the target: late, never "did not release"
    assert 'data-door="s1/g1/side" data-state="late"' in page
    assert "no door contact: confirmed by its relay" in page and "did not release" not in page
    assert 'data-door="s1/g1/garage" data-state="locked"' in page
    assert 'data-step="0" data-late="0"' in page and 'data-step="1" data-late="1"' in page
    assert "not ticked off" in page and "Side door &lt;slow&gt;" in page
    assert 'data-state="reported"' in page


def test_a_door_the_report_lacks_and_the_calendar_and_last_drills(store: Any) -> None:
    from agent.office.web.plans.calendar import last_drill_per_plan
    from agent.office.web.plans.models import Drill, EmergencyPlan

    manager = signed_in(M)
    make_staff("duty-guard", G)
    version = _approved(manager, drills_per_year="4")
    now = datetime.now(UTC)
    done = Drill.objects.create(
        version=version,
        scheduled_at=now - timedelta(minutes=5),
        scheduled_by="manager",
        request_id="req-2",
        started_at=now - timedelta(minutes=5),
    )
    Drill.objects.create(
        version=version, scheduled_at=now + timedelta(minutes=30), scheduled_by="manager"
    )
    store.add_events(
        [
            event(
                "s1",
                "g1",
                3,
                now,
                "drill_ended",
                door=None,
                request_id="req-2",
                doors={"main": {"released": False, "problem": "relay stuck"}},
            )
        ]
    )
    page = manager.get(f"/plans/drills/{done.pk}/").content.decode()
    assert 'data-door="s1/g1/main" data-state="not_released"' in page and "relay stuck" in page
    assert 'data-door="s1/g1/side" data-state="missing"' in page and "not in the report" in page
    calendar = manager.get("/plans/calendar/").content.decode()
    assert '<td class="done">1</td><td class="scheduled">1</td><td class="due">2</td>' in calendar
    last_year = manager.get(f"/plans/calendar/?year={now.year - 1}").content.decode()
    assert '<td class="done">0</td>' in last_year and '<span class="bad">4</span>' in last_year
    pairs = dict(last_drill_per_plan())
    assert pairs[EmergencyPlan.objects.get(scenario="fire")] == done
    # the dashboard shows each plan's last drill to who may read plans, and to no one else
    home = manager.get("/").content.decode()
    row = f'<tr data-scenario="fire"><td>fire</td><td><a href="/plans/drills/{done.pk}/">'
    assert '<table id="dashboard-drills">' in home and row in home
    officer = signed_in("case officer").get("/").content.decode()  # cases, but no plans
    assert "dashboard-open" in officer and "dashboard-drills" not in officer


def test_a_plan_that_releases_no_door_is_drilled_by_its_steps_only(store: Any) -> None:
    from agent.office.web.plans.models import Drill, PlanVersion

    manager = signed_in(M)
    make_staff("duty-guard", G)
    lockdown = {**PLAN, "title": "Intruder", "doors": "lock s1/g1/main\nlock s1/g1/side"}
    assert manager.post("/plans/intrusion/draft/", lockdown).status_code == 302
    version = PlanVersion.objects.get(plan__scenario="intrusion")
    manager.post(f"/plans/versions/{version.pk}/approve/")
    soon = _local(datetime.now(UTC) + timedelta(hours=1))
    manager.post(f"/plans/versions/{version.pk}/drills/new/", {"scheduled_at": soon})
    drill = Drill.objects.get()
    page = manager.post(f"/plans/drills/{drill.pk}/start/", follow=True).content.decode()
    assert "This plan releases no doors: nothing was sent to the gates" in page
    assert "no broker" not in page and "not in the report" not in page and 'id="stop"' not in page
    drill.refresh_from_db()
    assert drill.started_at is not None and drill.request_id == ""
    assert 'id="tick"' in page


@pytest.mark.parametrize("role", ROLES)
def test_every_plan_page_is_refused_to_the_roles_that_lack_it(store: Any, role: str) -> None:
    from agent.office.web.plans.models import Drill

    make_staff("duty-guard", G)
    writer = signed_in(M) if role != M else None
    version = _approved(writer) if writer else None
    client = signed_in(role)
    if version is None:
        version = _approved(client)
    drill = Drill.objects.create(
        version=version, scheduled_by="x", scheduled_at=datetime.now(UTC) + timedelta(hours=2)
    )
    v, d = version.pk, drill.pk
    soon = _local(datetime.now(UTC) + timedelta(hours=3))
    pages = [
        ("get", "/plans/", {}, {M, C, G}),
        ("get", "/plans/calendar/", {}, {M, C, G}),
        ("get", "/plans/fire/", {}, {M, C, G}),
        ("get", f"/plans/versions/{v}/", {}, {M, C, G}),
        ("get", f"/plans/versions/{v}/print/", {}, {M, C, G}),
        ("get", f"/plans/drills/{d}/", {}, {M, C, G}),
        ("get", "/plans/fire/draft/", {}, {M}),
        ("post", "/plans/fire/draft/", PLAN, {M}),
        ("post", f"/plans/versions/{v}/approve/", {}, {M}),
        ("post", f"/plans/versions/{v}/drills/new/", {"scheduled_at": soon}, {M, G}),
        ("post", f"/plans/drills/{d}/start/", {}, {M, G}),
        ("post", f"/plans/drills/{d}/stop/", {}, {M, G}),
        ("post", f"/plans/drills/{d}/tick/", {"step": "0", "at": soon}, {M, C, G}),
        ("post", f"/plans/drills/{d}/notes/", {"went_wrong": "x"}, {M, C, G}),
    ]
    for method, path, form, allowed in pages:
        response = getattr(client, method)(path, form)
        expected = (200, 302) if role in allowed else (403,)
        assert response.status_code in expected, (role, method, path)


BAD = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'
BAD_SHOWN = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"


def test_html_in_every_text_field_is_escaped_on_the_plan_and_drill_pages(store: Any) -> None:
    from agent.office.web.plans.models import Drill, DrillTick

    manager = signed_in(M)
    typed = {"title": BAD, "roles": f"{BAD}: manager", "steps": f"1 | {BAD} | {BAD}",
             "contacts": f"{BAD} | {BAD} | {BAD}"}  # fmt: skip
    version = _approved(manager, **typed)
    assert (version.title, version.steps[0]["text"], version.contacts[0]["phone"]) == (BAD,) * 3
    started = datetime.now(UTC) - timedelta(minutes=5)
    drill = Drill.objects.create(version=version, scheduled_by="manager", scheduled_at=started,
                                 started_at=started, started_by="manager")  # fmt: skip
    at = _local(started + timedelta(minutes=1), "%Y-%m-%dT%H:%M:%S")
    tick = {"step": "0", "at": at, "note": BAD}
    assert manager.post(f"/plans/drills/{drill.pk}/tick/", tick).status_code == 302
    assert manager.post(f"/plans/drills/{drill.pk}/notes/", {"went_wrong": BAD}).status_code == 302
    drill.refresh_from_db()
    assert drill.went_wrong == BAD and DrillTick.objects.get().note == BAD
    roles = manager.post("/plans/fire/draft/", {**PLAN, **typed, "roles": f"warden: {BAD}"})
    doors = manager.post("/plans/fire/draft/", {**PLAN, "doors": 'release s1/g1/"><img src=x>'})
    assert "no active staff account " + BAD_SHOWN in roles.content.decode()
    assert "the office knows no door s1/g1/&quot;&gt;&lt;img src=x&gt;" in doors.content.decode()
    shown = ["/plans/", "/plans/fire/", "/plans/fire/draft/", f"/plans/versions/{version.pk}/",
             f"/plans/versions/{version.pk}/print/", f"/plans/drills/{drill.pk}/"]  # fmt: skip
    for page in [manager.get(p) for p in ["/", *shown]] + [roles, doors]:
        html, path = page.content.decode(), page.request["PATH_INFO"]
        assert page.status_code == 200, path
        assert "<script>alert" not in html and "<img src=x" not in html, path
        assert BAD_SHOWN in html or page.request["REQUEST_METHOD"] == "POST" or path == "/", path
    drill_page = manager.get(f"/plans/drills/{drill.pk}/").content.decode()
    assert drill_page.count(BAD_SHOWN) >= 4  # step text (twice), the tick's note, went wrong
    printed = manager.get(f"/plans/versions/{version.pk}/print/").content.decode()
    assert printed.count(BAD_SHOWN) >= 6  # title, role, step role and text, contact's three
