"""The office's muster pages (Django test client, the real workplace DB and event store):
a gate's muster rebuilt from its events with ticks as they arrive, names only for staff
who may read residents (audited), a printable page, a clear answer for a muster that does
not exist, and the drill page's count of who was left at the end."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.office_events_rig import event, event_store_at, gate_with_doors
from tests.office_web_rig import ROLES, a_resident, db, make_staff, office_web, signed_in
from tests.test_office_web_plans import _approved

__all__ = ["db", "office_web"]

M, C, G, A = ROLES  # manager, clerk, guard supervisor, auditor
T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


@pytest.fixture
def store(db: None, tmp_path: Path) -> Iterator[Any]:
    with event_store_at(tmp_path / "events.db") as s:
        gate_with_doors(s, "s1", "g1", "main", "side", "garage")
        yield s


def _started(holder_id: str) -> dict[str, Any]:
    holders = [
        {"holder_id": holder_id, "kind": "resident", "unit": "3-2-501", "area": "compound",
         "since": "2026-12-07T01:00:00+00:00"},
        {"holder_id": "V-7", "kind": "visitor", "unit": None, "area": "compound",
         "since": "2026-12-07T01:30:00+00:00"},
    ]  # fmt: skip
    return event("s1", "g1", 10, T0, "muster_started", door=None, muster="m1", trigger="fire",
                 holders=holders, total=2, accounted=0, unaccounted=2)  # fmt: skip


def test_a_muster_with_names_for_those_who_may_and_ids_for_the_others(store: Any) -> None:
    from agent.office.web.audit.models import AuditEntry

    resident = a_resident("王小明")
    store.add_events([_started(resident.holder_id)])
    manager = signed_in(M)
    listing = manager.get("/plans/muster/").content.decode()
    assert 'data-muster="m1"' in listing and "open" in listing
    url = "/plans/muster/s1/g1/m1/"
    page = manager.get(url).content.decode()
    assert 'data-total="2" data-accounted="0" data-unaccounted="2"' in page
    assert "王小明" in page and "3-2-501" in page and 'http-equiv="refresh"' in page
    assert AuditEntry.objects.filter(action="muster.names", target="muster s1/g1/m1").count() == 1
    # a tick arrives from the gate, then the end
    store.add_events([
        event("s1", "g1", 11, T0 + timedelta(minutes=3), "muster_ticked", door=None, muster="m1",
              holder_id=resident.holder_id, by="reader:assembly", via="muster_reader"),
        event("s1", "g1", 12, T0 + timedelta(minutes=20), "muster_ended", door=None,
              muster="m1", reason="fire_cleared", total=2, accounted=1, unaccounted=1,
              unaccounted_ids=["V-7"]),
    ])  # fmt: skip
    page = manager.get(url).content.decode()
    assert 'data-accounted="1" data-unaccounted="1"' in page and "reader:assembly" in page
    assert f'data-holder="{resident.holder_id}" data-ticked="1"' in page
    assert 'data-state="ended"' in page and 'http-equiv="refresh"' not in page
    assert "ended: 1 unaccounted for" in manager.get("/plans/muster/").content.decode()
    supervisor = signed_in(G)  # reads plans, not residents: ids, kinds and units only
    page = supervisor.get(url).content.decode()
    assert "王小明" not in page and resident.holder_id in page and "3-2-501" in page
    printed = supervisor.get(url + "print/").content.decode()
    assert "Muster list: s1/g1" in printed and "<header" not in printed and "V-7" in printed
    zh = signed_in(C, language="zh-hans").get(url).content.decode()
    assert "人员清点名单" in zh and "王小明" in zh
    assert signed_in(A).get(url).status_code == 403  # the auditor does not read plans


def test_a_muster_that_does_not_exist_is_a_clear_answer(store: Any) -> None:
    manager = signed_in(M)
    response = manager.get("/plans/muster/s1/g1/nothing/")
    page = response.content.decode()
    assert response.status_code == 404 and "a muster list exists only once a fire" in page
    assert "No muster has been recorded." in manager.get("/plans/muster/").content.decode()


def test_the_drill_page_says_how_many_were_left(store: Any) -> None:
    from agent.office.web.plans.models import Drill

    manager = signed_in(M)
    make_staff("duty-guard", G)  # the plan's roles name these accounts
    version = _approved(manager)
    started = datetime.now(UTC) - timedelta(minutes=12)
    drill = Drill.objects.create(version=version, scheduled_at=started, scheduled_by="m",
                                 request_id="req-9", started_at=started,
                                 started_by="m")  # fmt: skip
    report = {"request_id": "req-9", "doors": {"main": {"released": True, "released_s": 0.4}},
              "not_released": [], "muster": {"total": 5, "accounted": 3, "unaccounted": 2,
                                             "open": False}}  # fmt: skip
    store.add_events([event("s1", "g1", 1, started + timedelta(minutes=10), "drill_ended",
                            door=None, **report)])  # fmt: skip
    page = manager.get(f"/plans/drills/{drill.pk}/").content.decode()
    assert 'data-gate="s1/g1" data-unaccounted="2"' in page
    assert "2 of 5 still unaccounted for" in page
