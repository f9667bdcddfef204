"""A duress alarm from a gate becomes an office case at once (issue 21), alerted when no
guard acknowledges it: the office workplace's watch over a real event store."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.office_events_rig import event
from tests.office_web_rig import db, make_staff, office_web
from tests.test_office_web_watch import T0, Clock, _add, _watch, store

__all__ = ["db", "office_web", "store"]


def test_a_duress_alarm_is_a_case_and_an_alert_when_nobody_acknowledges_it(
    db: None, store: Any
) -> None:
    from django.test import override_settings

    from agent.office.web.cases.models import Case

    make_staff("mgr", "manager")
    duress = event("north", "g1", 1, T0, "duress", door="vehicle", severity="alarm",
                   holder_id="R-104", unit="B-12", reader="vehicle-in", access_seq=0)  # fmt: skip
    _add(store, duress)
    watch = _watch(store, Clock(T0 + timedelta(minutes=10)))
    with override_settings(LANGUAGE_CODE="en"):
        watch.step()
    case = Case.objects.get()
    assert "Duress code entered" in case.title
    assert [a["type"] for a in watch.alerts.raised] == ["duress"]
