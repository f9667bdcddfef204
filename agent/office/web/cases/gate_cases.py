"""The gates' incidents, alarms and complaints made into cases, each once.

``apply`` takes one event of the store (as ``query_events`` gives it) inside the watch
worker's transaction: an ``incident_opened`` or a forced-door / tamper / security alarm
opens an incident case, a complaint taken at the gate a complaint case; what the guards
add later (notes, police called, the gate's close, an alarm acknowledged) becomes steps.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.utils import translation
from django.utils.translation import gettext as _
from pydantic import ValidationError

from agent.errors import ConfigError
from agent.models.complaints import ComplaintTaken
from agent.models.workplace_incidents import IncidentsConfig
from agent.office.db import OfficeDb
from agent.office.web.audit import chain
from agent.office.web.cases import flow
from agent.office.web.cases.gate_models import CaseSource
from agent.office.web.cases.models import Case, CaseStep
from agent.office.web.register.models import Unit
from agent.office.web.staff.roles import MANAGER

log = logging.getLogger(__name__)
WORKER = "gate-office web watch"
INCIDENT_ALARMS = ("door_forced_open", "reader_tamper", "security_alert", "duress")
ACK = "alarm_acknowledged"
GATE_INCIDENT = ("incident_opened", "incident_updated", "incident_closed")
COMPLAINT = "complaint_taken"
WATCHED = (*GATE_INCIDENT, *INCIDENT_ALARMS, ACK, COMPLAINT)


def owner(config: IncidentsConfig) -> User:
    """The configured owner if that account is active, else the oldest active manager."""
    if config.owner:
        found = User.objects.filter(username=config.owner, is_active=True).first()
        if found is not None:
            return found
    manager = (
        User.objects.filter(is_active=True, groups__name=MANAGER).order_by("date_joined", "pk")
    ).first()
    if manager is None:
        raise ConfigError("no owner for the gates' cases: no active manager account")
    return manager


def _what(event: dict[str, Any]) -> str:
    d = event["details"] or {}
    names = {
        "door_forced_open": _("Door forced open"),
        "reader_tamper": _("Reader tampered with"),
        "security_alert": _("Security alert"),
        "duress": _("Duress code entered: a resident was forced to open the gate"),
    }
    kinds = {
        "intrusion": _("intrusion"),
        "theft": _("theft"),
        "violence": _("violence"),
        "damage": _("damage"),
        "other": _("other"),
    }
    if event["type"] == "incident_opened":
        kind = str(d.get("kind") or "other")
        return _("Incident: %(kind)s") % {"kind": kinds.get(kind, kind)}
    if event["type"] == COMPLAINT:
        return _("Complaint taken at the gate")
    return names.get(str(event["type"]), str(event["type"]))


def _place(event: dict[str, Any]) -> str:
    door = f" {event['door']}" if event["door"] else ""
    return f"{event['site']}/{event['gate']}{door}"


def _guard(event: dict[str, Any]) -> str:
    guard = str((event["details"] or {}).get("guard") or "?")
    return _("%(guard)s (guard console %(gate)s)") % {"guard": guard, "gate": _place(event)}


def _police(event: dict[str, Any]) -> str:
    d = event["details"] or {}
    at = str(d.get("police_called_at") or "")
    return _("Police called (at %(at)s).") % {"at": at} if at else _("Police called.")


def _step(case: Case, actor: str, action: str, note: str, at: datetime) -> None:
    CaseStep.objects.create(
        case=case, at=at, actor=actor, action=action, state_before=case.state,
        state_after=case.state, note=note,
    )  # fmt: skip


def _source(case: Case, kind: str, key: str, event: dict[str, Any]) -> CaseSource:
    return CaseSource.objects.create(
        case=case, kind=kind, key=key, event_id=event["id"], site=event["site"],
        gate=event["gate"], door=event["door"] or "", event_type=event["type"],
        seq=event["seq"], at=event["time"],
    )  # fmt: skip


def _new_case(
    kind: str, event: dict[str, Any], config: IncidentsConfig, note: str, where: str = ""
) -> Case:
    d = event["details"] or {}
    title = f"{_what(event)} · {where or _place(event)}"
    case = Case(
        kind=kind, title=title[:200], description=note or title, owner=owner(config),
        received_at=event["time"],
    )  # fmt: skip
    case.set_due()
    case.save()
    actor = _guard(event) if d.get("guard") else WORKER
    _step(case, actor, "received", note, event["time"])
    chain.append(WORKER, "case.received", f"case {case.pk}", f"{case.kind} {event['id']}")
    return case


def _incident(event: dict[str, Any], config: IncidentsConfig) -> None:
    d = event["details"] or {}
    ident = str(d.get("incident") or "")
    if not ident:
        return
    source = CaseSource.objects.filter(kind=CaseSource.Kind.INCIDENT, key=ident).first()
    if event["type"] == "incident_opened":
        if source is not None:
            return
        case = _new_case(Case.Kind.INCIDENT, event, config, str(d.get("notes") or ""))
        _source(case, CaseSource.Kind.INCIDENT, ident, event)
    elif source is None:
        return  # its opening was never stored: nothing to add to
    elif CaseSource.objects.filter(kind=CaseSource.Kind.STEP, key=event["id"]).exists():
        return  # folded in already (the cursor was lost: a restored database)
    else:
        case = source.case
        _source(case, CaseSource.Kind.STEP, event["id"], event)
        note = str(d.get("notes") or "")
        if event["type"] == "incident_closed":
            _step(case, _guard(event), "gate_closed", note, event["time"])
        elif note or d.get("status"):
            status = str(d.get("status") or "")
            text = f"{note} ({status})" if status and status != "open" else note
            _step(case, _guard(event), "gate_note", text, event["time"])
    if d.get("police_called") is True and not case.steps.filter(action="police").exists():
        _step(case, _guard(event), "police", _police(event), event["time"])


def _acknowledged_in_store(db: OfficeDb, event: dict[str, Any]) -> dict[str, Any] | None:
    """An acknowledgement stored before its alarm (the gate sent them out of order)."""
    acks = db.query_events(site=event["site"], gate=event["gate"], types=[ACK],
                           since=event["time"], limit=None)  # fmt: skip
    return next((a for a in acks if (a["details"] or {}).get("alarm_seq") == event["seq"]), None)


def _alarm(event: dict[str, Any], config: IncidentsConfig, db: OfficeDb) -> None:
    if CaseSource.objects.filter(kind=CaseSource.Kind.ALARM, key=event["id"]).exists():
        return
    fold = CaseSource.objects.filter(
        kind=CaseSource.Kind.ALARM, site=event["site"], gate=event["gate"],
        door=event["door"] or "", event_type=event["type"],
        at__gte=event["time"] - timedelta(minutes=config.fold_minutes),
        case__state__in=flow.OPEN_STATES,
    ).select_related("case").order_by("-at").first()  # fmt: skip
    details = ", ".join(f"{k}={v}" for k, v in sorted((event["details"] or {}).items()))
    if fold is not None:
        case = fold.case
        _step(case, WORKER, "gate_alarm", f"{_what(event)} #{event['seq']} {details}".strip(),
              event["time"])  # fmt: skip
    else:
        case = _new_case(Case.Kind.INCIDENT, event, config, details)
    source = _source(case, CaseSource.Kind.ALARM, event["id"], event)
    ack = _acknowledged_in_store(db, event)
    if ack is not None:
        _acknowledge(source, ack)


def _acknowledge(source: CaseSource, ack: dict[str, Any]) -> None:
    d = ack["details"] or {}
    source.acknowledged_at = ack["time"]
    source.acknowledged_by = str(d.get("guard") or "?")
    source.save(update_fields=["acknowledged_at", "acknowledged_by"])
    _step(source.case, _guard(ack), "gate_ack", str(d.get("note") or ""), ack["time"])


def _ack(event: dict[str, Any]) -> None:
    seq = (event["details"] or {}).get("alarm_seq")
    if not isinstance(seq, int):
        return
    source = CaseSource.objects.filter(
        kind=CaseSource.Kind.ALARM, site=event["site"], gate=event["gate"], seq=seq,
        acknowledged_at__isnull=True,
    ).select_related("case").first()  # fmt: skip
    if source is not None:
        _acknowledge(source, event)


def _complaint(event: dict[str, Any], config: IncidentsConfig) -> None:
    if CaseSource.objects.filter(kind=CaseSource.Kind.COMPLAINT, key=event["id"]).exists():
        return
    try:
        taken = ComplaintTaken.model_validate(event["details"] or {})
    except ValidationError:
        log.warning("complaint_taken %s: details not as the console writes them", event["id"])
        return
    case = _new_case(Case.Kind.COMPLAINT, event, config, taken.what, where=taken.unit)
    case.unit = _unit(taken.unit)  # the register's unit when the guard wrote it as it is
    case.save(update_fields=["unit"])
    _source(case, CaseSource.Kind.COMPLAINT, event["id"], event)


def _unit(text: str) -> Unit | None:
    """The unit written as the register writes it (3-2-501, or A-12 without an entrance)."""
    parts = text.strip().split("-")
    if len(parts) not in (2, 3):
        return None
    building, room = parts[0], parts[-1]
    entrance = parts[1] if len(parts) == 3 else ""
    return Unit.objects.filter(building=building, entrance=entrance, room=room).first()


def apply(event: dict[str, Any], config: IncidentsConfig, db: OfficeDb) -> None:
    """Fold one stored event into the cases (the caller holds the transaction)."""
    with translation.override(settings.LANGUAGE_CODE):  # cases are written in the site's
        if event["type"] in GATE_INCIDENT:
            _incident(event, config)
        elif event["type"] in INCIDENT_ALARMS:
            _alarm(event, config, db)
        elif event["type"] == ACK:
            _ack(event)
        elif event["type"] == COMPLAINT:
            _complaint(event, config)
