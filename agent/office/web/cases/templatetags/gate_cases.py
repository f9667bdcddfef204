"""The gate's side of a case: where it came from, whether its alarm went unacknowledged,
and the gate's events around it (read from the event store when the workplace has one)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import template
from django.conf import settings
from django.utils import dateformat, timezone

from agent.errors import GateError
from agent.office.web.cases import flow
from agent.office.web.cases.gate_models import CaseSource
from agent.office.web.cases.models import Case
from agent.office.web.events import event_store
from agent.office.web.workplace import workplace_config

register = template.Library()
AROUND_MAX = 100


@register.filter
def alarm_unacknowledged(case: Case) -> bool:
    """An alarm of the case no guard acknowledged in time (the office was alerted)."""
    return any(source.unacknowledged_alert() for source in case.sources.all())


def _around(sources: list[CaseSource]) -> tuple[list[dict[str, Any]], str]:
    """The first gate's events from before the first source to after the last one."""
    if not sources or not str(settings.GATE_OFFICE_EVENTS_DB):
        return [], ""
    try:
        margin = timedelta(minutes=workplace_config().incidents.around_minutes)
        first, last = sources[0], sources[-1]
        store = event_store()
        try:
            found = store.db.query_events(
                site=first.site, gate=first.gate, since=first.at - margin,
                until=last.at + margin, limit=AROUND_MAX,
            )  # fmt: skip
        finally:
            store.close()
    except GateError as exc:
        return [], str(exc)
    mine = {s.event_id for s in sources}
    return [
        {
            "time": dateformat.format(timezone.localtime(e["time"]), "Y-m-d H:i:s"),
            "seq": e["seq"],
            "type": e["type"],
            "door": e["door"] or "",
            "guard": str((e["details"] or {}).get("guard") or ""),
            "source": e["id"] in mine,
        }
        for e in found
    ], ""


@register.inclusion_tag("cases/gate.html", takes_context=True)
def case_gate(context: template.Context, case: Case) -> dict[str, Any]:
    """The gate section of a case page (nothing for a case entered in the office)."""
    sources = list(case.sources.all())
    events, problem = _around(sources)
    return {
        "case": case, "sources": sources, "events": events, "problem": problem,
        "perms": context.get("perms"), "csrf_token": context.get("csrf_token"),
        "can_acknowledge": case.kind == Case.Kind.INCIDENT
        and "accept" in flow.actions_from(case.state),
        "unacknowledged": any(s.unacknowledged_alert() for s in sources),
    }  # fmt: skip
