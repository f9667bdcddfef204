"""``gate-office web watch``: the gates' incidents and alarms become incident cases once,
what guards add flows in, and an alarm nobody acknowledged alerts the office once.

A real event store (SQLite, written through its own API) beside the workplace's test
database; the clock is injected, so no test waits for the alarm's minutes to pass.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.mqtt_helpers import wait_for
from tests.office_events_rig import event, event_store_at
from tests.office_web_rig import a_resident, db, gate_office, make_staff, office_web, signed_in

__all__ = ["db", "office_web"]

T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


class Clock:
    """The watch's time now, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Any]:
    with event_store_at(tmp_path / "office.db") as opened:
        yield opened


def _config(**fields: Any) -> Any:
    from agent.models.workplace_incidents import IncidentsConfig

    return IncidentsConfig(**({"unacknowledged_alarm_minutes": 0.5} | fields))


def _watch(store: Any, clock: Clock | None = None, **fields: Any) -> Any:
    from agent.office.alerts import Alerts
    from agent.office.web.cases.watch import Watch

    config = _config(**fields)
    return Watch(store, Alerts([]), lambda: config, clock or Clock(T0))


def _add(store: Any, *events: dict[str, Any]) -> list[dict[str, Any]]:
    assert store.add_events(list(events)) == len(events)
    return list(events)


def _incident(seq: int, type_: str, minutes: float, **details: Any) -> dict[str, Any]:
    made = event("north", "g1", seq, T0 + timedelta(minutes=minutes), type_, door="main",
                 incident="inc-1", guard="wang", **details)  # fmt: skip
    if "kind_" in details:  # the incident's kind (the rig's own ``kind`` is the event's type)
        made["details"]["kind"] = made["details"].pop("kind_")
    return made


def _forced(seq: int, minutes: float, door: str = "main") -> dict[str, Any]:
    return event("north", "g1", seq, T0 + timedelta(minutes=minutes), "door_forced_open",
                 door=door, severity="alarm")  # fmt: skip


def _ack(seq: int, minutes: float, alarm_seq: int) -> dict[str, Any]:
    return event(
        "north",
        "g1",
        seq,
        T0 + timedelta(minutes=minutes),
        "alarm_acknowledged",
        alarm_seq=alarm_seq,
        alarm_type="forced",
        guard="li",
        note="checked, wind",
    )


def test_a_console_incident_is_one_case_with_the_guards_steps_and_a_restart_repeats_nothing(
    db: None, store: Any
) -> None:
    from agent.office.web.cases.gate_models import CaseSource, WatchCursor
    from agent.office.web.cases.models import Case

    boss = make_staff("duty-manager", "manager")
    _add(store, _incident(1, "incident_opened", 0, kind_="theft", notes="bike taken from rack"),
         event("north", "g1", 2, T0, "access_granted", holder_id="r1"))  # fmt: skip
    watch = _watch(store, owner="duty-manager")
    assert watch.catch_up() == 1  # only the events it watches are read
    _add(store, _incident(3, "incident_updated", 2, status="open", notes="camera 3 checked",
                          police_called=True, police_called_at="10:03"),
         _incident(4, "incident_closed", 9, notes="handed to the police"))  # fmt: skip
    assert watch.catch_up() == 2

    case = Case.objects.get()
    assert (case.kind, case.owner, case.state, case.unit) == ("incident", boss, "received", None)
    assert case.title == "事件：失窃 · north/g1 main"  # noqa: RUF001 (the site's language)
    assert case.description == "bike taken from rack"
    steps = list(case.steps.values_list("action", "actor", "note"))
    assert [s[0] for s in steps] == ["received", "gate_note", "police", "gate_closed"]
    assert all("wang" in s[1] and "north/g1" in s[1] for s in steps)
    assert steps[1][2] == "camera 3 checked"
    assert "10:03" in steps[2][2]
    assert case.state == "received"  # the gate's close is a step: the office closes the case

    # a restart: a new worker on the same cursor reads nothing; without the cursor it
    # reads all again and still makes no second case or step
    assert _watch(store).catch_up() == 0
    WatchCursor.objects.all().delete()
    assert _watch(store).catch_up() == 3
    assert Case.objects.count() == 1 and CaseSource.objects.count() == 3
    assert case.steps.count() == 4


def test_forced_door_tamper_and_security_alarms_are_cases_folded_by_gate_door_and_type(
    db: None, store: Any
) -> None:
    from agent.office.web.cases.models import Case

    make_staff("mgr", "manager")
    _add(store, _forced(1, 0), _forced(2, 3),  # the same door again soon: one case
         _forced(3, 4, door="side"),  # another door: a case of its own
         event("north", "g1", 4, T0, "reader_tamper", door="main", severity="alarm"),
         event("north", "g1", 5, T0, "security_alert", door=None, severity="alarm",
               topic="console", reason="csrf"),
         event("north", "g1", 6, T0, "door_held_open", door="main", severity="alarm"),
         _forced(7, 30))  # long after: a new case  # fmt: skip
    _watch(store, fold_minutes=10).catch_up()
    cases = list(Case.objects.order_by("pk"))
    assert len(cases) == 5
    assert [c.sources.count() for c in cases] == [2, 1, 1, 1, 1]
    assert [s.action for s in cases[0].steps.all()] == ["received", "gate_alarm"]
    assert {c.kind for c in cases} == {"incident"}
    assert "side" in cases[1].title


def test_an_alarm_nobody_acknowledged_alerts_once_after_n_minutes(db: None, store: Any) -> None:
    from agent.office.web.cases.models import Case

    make_staff("mgr", "manager")
    clock = Clock(T0 + timedelta(seconds=10))
    watch = _watch(store, clock)
    _add(store, _forced(1, 0), _forced(2, 0, door="side"), _ack(3, 0.2, alarm_seq=2))
    watch.step()
    assert watch.alerts.raised == []  # not yet: 0.5 minutes are given

    clock.now = T0 + timedelta(minutes=1)
    watch.step()
    assert [(a["alert"], a["door"], a["seq"]) for a in watch.alerts.raised] == [
        ("unacknowledged_alarm", "main", 1)
    ]
    watch.step()
    _watch(store, clock).step()  # a restarted worker: alerted is remembered
    assert len(watch.alerts.raised) == 1

    late = Case.objects.get(sources__door="main")
    assert late.steps.filter(action="gate_alert").count() == 1
    acked = Case.objects.get(sources__door="side")
    assert acked.sources.get().acknowledged_by == "li"
    assert [s.action for s in acked.steps.all()] == ["received", "gate_ack"]


def test_an_acknowledgement_stored_before_its_alarm_still_counts(db: None, store: Any) -> None:
    make_staff("mgr", "manager")
    clock = Clock(T0 + timedelta(minutes=5))
    watch = _watch(store, clock)
    _add(store, _ack(2, 0.1, alarm_seq=1))
    watch.step()
    _add(store, _forced(1, 0))  # a gate's backlog arrives out of order
    watch.step()
    assert watch.alerts.raised == []


def test_the_owner_is_the_configured_account_else_the_oldest_active_manager(
    db: None, store: Any
) -> None:
    from agent.errors import ConfigError
    from agent.office.web.cases.models import Case

    _add(store, _forced(1, 0))
    watch = _watch(store, owner="nobody-here")
    with pytest.raises(ConfigError, match="no active manager"):
        watch.catch_up()
    assert watch.cursor() == 0  # nothing lost: the next pass tries again
    first = make_staff("first-mgr", "manager")
    make_staff("second-mgr", "manager")
    first.is_active = False
    first.save()
    watch.catch_up()
    assert Case.objects.get().owner.username == "second-mgr"


def test_the_office_acknowledges_an_incident_case_and_sees_the_gate_side(
    db: None, store: Any
) -> None:
    from django.test import override_settings

    from agent.office.web.cases.models import Case

    make_staff("mgr", "manager")
    _add(store, _forced(1, 0), event("north", "g1", 2, T0 + timedelta(minutes=1),
                                     "access_granted", door="main", holder_id="r9"))  # fmt: skip
    clock = Clock(T0 + timedelta(minutes=2))
    _watch(store, clock).step()
    case = Case.objects.get()

    auditor = signed_in("auditor")
    assert auditor.post(f"/cases/{case.pk}/acknowledge/").status_code == 403
    client = signed_in("clerk")
    with override_settings(LANGUAGE_CODE="en"):
        listing = client.get("/cases/").content.decode()
        page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "alarm not acknowledged" in listing
    assert 'id="case-unacknowledged"' in page and 'id="case-acknowledge"' in page
    assert "door_forced_open #1" in page and "access_granted" in page  # the events around
    assert client.post(f"/cases/{case.pk}/acknowledge/").status_code == 302
    assert client.post(f"/cases/{case.pk}/acknowledge/").status_code == 302  # twice: once
    case.refresh_from_db()
    assert case.state == "accepted"
    assert list(case.steps.filter(action="acknowledge").values_list("actor", flat=True)) == [
        "clerk"
    ]
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert 'id="case-acknowledge"' not in page


def test_watch_once_from_the_command_line_alerts_through_the_hook(tmp_path: Path) -> None:
    """The store, the hook and the minutes from office.toml; the alert is the hook's JSON."""
    from agent.office.db import open_store

    state = tmp_path / "web"
    assert gate_office("web", "init", "--state", str(state)).returncode == 0
    pw = tmp_path / "pw"
    pw.write_text("correct horse battery 7")
    made = gate_office("web", "createstaff", "boss", "--role", "manager", "--state",
                       str(state), "--password-file", str(pw))  # fmt: skip
    assert made.returncode == 0, made.stderr
    alarm = _forced(1, 0)
    alarm["time"] = (datetime.now(UTC) - timedelta(minutes=10)).isoformat()
    store = open_store(tmp_path / "office.db")
    store.add_events([alarm])
    store.close()
    heard = tmp_path / "alerts.jsonl"
    office = tmp_path / "office.toml"
    office.write_text(
        f'store = "{tmp_path / "office.db"}"\nsigning_key_file = "{tmp_path / "office.key"}"\n'
        f'[alerts]\nhook = ["/bin/sh", "-c", "cat >> {heard}"]\n'
        '[workplace.incidents]\nowner = "boss"\nunacknowledged_alarm_minutes = 1\n'
    )
    flags = ["--state", str(state), "--office-config", str(office), "--once"]
    first = gate_office("web", "watch", *flags, env={"GATE_OFFICE_DB": ""})
    assert first.returncode == 0, first.stderr
    assert "1 event(s) read, 1 unacknowledged alarm(s) alerted" in first.stdout
    assert "ALERT unacknowledged_alarm at north/g1" in first.stderr  # the log line
    line = wait_for(lambda: heard.exists() and heard.read_text(), 20, "the hook's input")
    alert = json.loads(line)
    assert (alert["alert"], alert["site"], alert["gate"]) == ("unacknowledged_alarm", "north", "g1")
    assert (alert["door"], alert["seq"], alert["type"], alert["minutes"]) == (
        "main",
        1,
        "door_forced_open",
        1.0,
    )
    again = gate_office("web", "watch", *flags, env={"GATE_OFFICE_DB": ""})
    assert "0 event(s) read, 0 unacknowledged alarm(s) alerted" in again.stdout
    bad = gate_office("web", "watch", "--state", str(state), "--once", env={"GATE_OFFICE_DB": ""})
    assert bad.returncode == 2 and bad.stderr.startswith("error: no event store")
    assert "Traceback" not in bad.stderr
    assert len(heard.read_text().splitlines()) == 1  # once


def test_a_complaint_taken_at_the_gate_is_a_complaint_case_once(db: None, store: Any) -> None:
    from agent.office.web.cases.models import Case

    make_staff("mgr", "manager")
    resident = a_resident()  # lives in 3-2-501
    taken = event("north", "g1", 1, T0, "complaint_taken", door=None, complaint="0123456789",
                  guard="wang", unit="3-2-501", what="loud music after 23:00")  # fmt: skip
    elsewhere = event("north", "g1", 2, T0, "complaint_taken", door=None, complaint="abcdef0123",
                      guard="wang", unit="9-9-999", what="a broken lamp")  # fmt: skip
    forged = event("north", "g1", 3, T0, "complaint_taken", door=None, guard="wang",
                   unit="3-2-501", what="call 13800138000")  # fmt: skip
    _add(store, taken, elsewhere, forged)
    _watch(store).catch_up()
    from agent.office.web.cases.gate_models import WatchCursor

    WatchCursor.objects.all().delete()
    _watch(store).catch_up()  # read again: still one case each
    first, second = Case.objects.order_by("pk")
    assert (first.kind, first.state, first.unit) == (
        "complaint",
        "received",
        resident.household.unit,
    )
    assert first.description == "loud music after 23:00"
    assert first.title == "门岗受理的投诉 · 3-2-501"
    assert first.due_at > first.received_at
    assert "wang" in first.steps.get().actor
    assert (second.unit, second.title) == (None, "门岗受理的投诉 · 9-9-999")


def test_batches_read_every_event_once_and_the_cursor_ends_at_the_newest(
    db: None, store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent.office.web.cases import watch as watch_module
    from agent.office.web.cases.models import Case

    make_staff("mgr", "manager")
    monkeypatch.setattr(watch_module, "BATCH", 2)
    for seq in range(1, 6):
        _add(store, _forced(2 * seq, 0, door=f"d{seq}"),
             event("north", "g1", 2 * seq + 1, T0, "access_granted", holder_id="r1"))  # fmt: skip
    watch = _watch(store)
    assert watch.catch_up() == 5
    assert Case.objects.count() == 5
    assert watch.cursor() == store.last_serial()
