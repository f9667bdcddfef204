"""Incidents as events tell them: opened, updated, closed; folded into one view each.

The console (from the gate's log) and ``gate-office incidents`` (from the office's
store) fold the same events with ``fold_incidents``, so both tell the same story.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

IncidentKind = Literal["intrusion", "theft", "violence", "damage", "other"]
KINDS: tuple[str, ...] = ("intrusion", "theft", "violence", "damage", "other")
Status = Literal["open", "acknowledged", "closed"]
INCIDENT_TYPES = ("incident_opened", "incident_updated", "incident_closed")


@dataclass
class Note:
    """One entry of an incident's story."""

    time: datetime
    guard: str
    text: str
    what: str  # opened, updated, acknowledged, closed


@dataclass
class Incident:
    """An incident as its events left it."""

    id: str
    site: str
    gate: str
    kind: str
    opened_at: datetime
    opened_by: str
    status: str = "open"
    police_called: bool = False
    police_called_at: str | None = None
    door: str | None = None
    updated_at: datetime | None = None
    notes: list[Note] = field(default_factory=list)


def _when(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def fold_incidents(
    events: Iterable[Mapping[str, Any]], into: dict[str, Incident] | None = None
) -> dict[str, Incident]:
    """Incidents by id from their events, oldest event first, folded ``into`` the ones
    given (changed in place) or new ones; an update whose opening is unknown is skipped."""
    out: dict[str, Incident] = {} if into is None else into
    for e in events:
        d = e.get("details") or {}
        ident, kind = str(d.get("incident") or ""), str(e.get("type"))
        if not ident or kind not in INCIDENT_TYPES:
            continue
        when, guard, note = _when(e["time"]), str(d.get("guard") or "?"), str(d.get("notes") or "")
        if kind == "incident_opened":
            out[ident] = Incident(
                ident, str(e.get("site", "")), str(e.get("gate", "")), str(d.get("kind", "other")),
                when, guard, door=e.get("door"), updated_at=when,
            )  # fmt: skip
            what = "opened"
        elif ident not in out:
            continue  # its opening is older than what was read
        elif kind == "incident_closed":
            out[ident].status, what = "closed", "closed"
        else:
            status = d.get("status")
            if status in ("open", "acknowledged") and out[ident].status != "closed":
                out[ident].status = str(status)
            what = "acknowledged" if status == "acknowledged" else "updated"
        incident = out[ident]
        if d.get("police_called") is True:
            incident.police_called = True
            incident.police_called_at = d.get("police_called_at") or incident.police_called_at
        incident.updated_at = when
        incident.notes.append(Note(when, guard, note, what))
    return out
