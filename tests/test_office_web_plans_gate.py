"""A drill against a plan on real parts, with the office restarting mid-drill: mosquitto,
``gate-agent run`` on the simulator's config, ``gate-office serve`` (stopped while the
drill runs, started again), the workplace in process (its own views, the test client).

The drill is started from the workplace (its request id kept in the drill's row), the
office service stops, the drill is stopped at the gate (``gate-office cmd drill --stop``);
the gate's report waits in its outbox, reaches the restarted office and the drill page
then shows it matched to its plan.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.office.store import OfficeStore
from tests.helpers import AgentProcess, write_sim_config
from tests.office_browser_rig import gate_mqtt
from tests.office_proc import OfficeProcess
from tests.office_web_rig import db, gate_office, make_staff, office_web, signed_in

__all__ = ["db", "office_web"]

GATE = "palm-grove/main-gate"
PLAN = {
    "title": "Evacuation",
    "release_within_s": "5",
    "drill_kind": "evacuation",
    "drill_minutes": "15",
    "drills_per_year": "2",
    "roles": "warden: manager",
    "steps": "2 | warden | Release the gates",
    "doors": f"release {GATE}/vehicle\nrelease {GATE}/pedestrian",
    "contacts": "",
}


def _doors_known(db_path: Path) -> bool:
    store = OfficeStore(db_path)
    try:
        row = store.db.gate("palm-grove", "main-gate")
    finally:
        store.close()
    return row is not None and "vehicle" in ((row.last_status or {}).get("doors") or {})


def _until(check: Any, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


@pytest.fixture
def site(db: None, tmp_path: Path, broker: Any, office_key: Any) -> Iterator[OfficeProcess]:
    """The office service and the gate, the workplace pointed at both."""
    from django.test import override_settings

    office = OfficeProcess(tmp_path / "office", broker, office_key)
    office.start()
    office.wait_subscribed()
    agent = AgentProcess(write_sim_config(tmp_path, mqtt=gate_mqtt(broker, office_key)))
    overrides = {
        "GATE_OFFICE_CONFIG": str(office.config),
        "GATE_OFFICE_EVENTS_DB": str(office.db),
        "GATE_OFFICE_PASS_KEY": "",
    }
    try:
        _until(lambda: _doors_known(office.db), "the office never heard the gate's doors")
        with override_settings(**overrides):
            yield office
    finally:
        agent.terminate(9)
        office.kill()


def test_the_office_restarting_mid_drill_still_matches_the_report_to_its_plan(
    site: OfficeProcess, broker: Any, tmp_path: Path
) -> None:
    from django.utils import timezone

    from agent.office.web.plans.models import Drill, PlanVersion

    manager = signed_in("manager")
    make_staff("duty", "guard supervisor")
    assert manager.post("/plans/fire/draft/", PLAN).status_code == 302
    version = PlanVersion.objects.get()
    manager.post(f"/plans/versions/{version.pk}/approve/")
    soon = timezone.localtime() + timezone.timedelta(minutes=5)
    when = soon.strftime("%Y-%m-%dT%H:%M")
    manager.post(f"/plans/versions/{version.pk}/drills/new/", {"scheduled_at": when})
    drill = Drill.objects.get()
    started = manager.post(f"/plans/drills/{drill.pk}/start/", follow=True).content.decode()
    assert "Drill started at the plan&#x27;s gates." in started
    drill.refresh_from_db()
    assert drill.request_id and drill.start_answers[0]["ok"]

    assert site.stop() == 0  # the office service goes away mid-drill
    stopped = gate_office(
        "--host", broker.host, "--port", str(broker.port), "--site", "palm-grove",
        "--gate", "main-gate", "--key", str(tmp_path / "office.key"), "--timeout", "15",
        "--db", str(tmp_path / "unused.db"), "cmd", "drill", "--stop",
    )  # fmt: skip
    assert stopped.returncode == 0, stopped.stderr
    waiting = manager.get(f"/plans/drills/{drill.pk}/").content.decode()
    assert 'data-state="running"' in waiting and "waiting for the gate's report" in waiting

    site.start()  # back: the gate's outbox delivers the report, matched by request id
    site.wait_subscribed()

    def matched() -> bool:
        return 'data-state="reported"' in manager.get(f"/plans/drills/{drill.pk}/").content.decode()

    _until(matched, "the drill's report never reached the restarted office")
    page = manager.get(f"/plans/drills/{drill.pk}/").content.decode()
    drill.refresh_from_db()
    assert drill.reports[GATE]["request_id"] == drill.request_id
    for door in ("vehicle", "pedestrian"):
        assert f'data-door="{GATE}/{door}" data-state="on_time"' in page
    assert "did not release" not in page and "not in the report" not in page
