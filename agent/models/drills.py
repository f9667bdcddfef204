"""Fire and evacuation drills: the office's command, the gate's durable record, the report.

A drill is recorded as it runs (``DrillRecord``, one row in the gate's state store) so
an agent restarted mid-drill carries on and ends it properly; ``DrillRecord.report``
is what ``drill_ended`` says: per door when it released, how long that took and which
doors did not release.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, Field, StrictBool, StrictInt, model_validator

from agent.core.kinds import DrillKind
from agent.models.base import Strict
from agent.models.muster import muster_lines
from agent.models.wire import Text

MAX_MINUTES = 240  # a drill holds doors open: past four hours it is no drill
NOTE_MAX = 128


class DrillCommand(Strict):
    """``<root>/cmd/drill``: start a drill (``kind`` and ``minutes`` or ``until``), or
    ``stop: true`` to end the one running early."""

    request_id: str = Field(min_length=1, max_length=64)
    kind: DrillKind | None = Field(None, description="fire or evacuation; needed to start")
    minutes: StrictInt | None = Field(None, ge=1, le=MAX_MINUTES, description="how long it runs")
    until: AwareDatetime | None = Field(None, description="or when it ends (gate clock)")
    note: Text = Field("", description="why, who leads it: kept in the drill's events")
    stop: StrictBool = Field(False, description="end the drill running now")

    @model_validator(mode="after")
    def _start_or_stop(self) -> DrillCommand:
        if self.stop:
            if self.kind is not None or self.minutes is not None or self.until is not None:
                raise ValueError("stop takes no kind, minutes or until")
            return self
        if self.kind is None:
            raise ValueError("a drill needs kind: fire or evacuation (or stop: true)")
        if (self.minutes is None) == (self.until is None):
            raise ValueError("a drill needs minutes or until (one of them)")
        return self


class DoorDrill(Strict):
    """One door during a drill. Offsets are seconds from the drill's start."""

    expected: bool = Field(description="the drill's kind releases this door")
    contact: bool = Field(description="a door contact is fitted: opening proves the release")
    commanded_s: float | None = None
    relay_s: float | None = Field(None, description="when the relay showed the unlocked state")
    opened_s: float | None = Field(None, description="when the contact first showed it open")
    open_at_start: bool = Field(False, description="the contact showed it open before the drill")


class DrillRecord(Strict):
    """A drill in progress, as kept in the state store (``drill`` key)."""

    id: str
    kind: DrillKind
    by: str
    note: str = ""
    request_id: str | None = None
    started_at: datetime
    ends_at: datetime
    previous_mode: str
    doors: dict[str, DoorDrill]
    real_fire_s: float | None = Field(None, description="a real fire input during the drill")
    restarts: int = 0

    def tag(self) -> dict[str, str]:
        """What every event the drill causes carries."""
        return {"id": self.id, "kind": self.kind.value}

    def report(self, ended_s: float, ended_by: str, reason: str, mode: str) -> dict[str, Any]:
        """``drill_ended``'s details: per door, then the doors that did not release."""
        doors = {name: door_report(d) for name, d in self.doors.items()}
        missing = [n for n, d in doors.items() if d.get("released") is False]
        report: dict[str, Any] = {
            "drill": self.tag(), "kind": self.kind.value, "started_by": self.by,
            "started_at": self.started_at.isoformat(), "duration_s": round(ended_s, 1),
            "ended_by": ended_by, "reason": reason, "doors": doors, "not_released": missing,
            "restored_mode": mode,
        }  # fmt: skip
        report.update({"note": self.note} if self.note else {})
        report.update({"request_id": self.request_id} if self.request_id else {})
        report.update({"restarts": self.restarts} if self.restarts else {})
        if self.real_fire_s is not None:
            report["real_fire_at_s"] = self.real_fire_s
        return report


def door_report(d: DoorDrill) -> dict[str, Any]:
    """How one door did. It released when its relay, commanded, showed the unlocked state
    (``released_s``; ``took_s`` from the command); a contact, where fitted, adds whether
    anyone opened the door, which a drill does not require."""
    if not d.expected:
        return {"expected": False}
    out: dict[str, Any] = {"released": d.relay_s is not None}
    if d.relay_s is None:
        out["problem"] = "the relay never showed the unlocked state"
    else:
        out["released_s"] = round(d.relay_s, 2)
        if d.commanded_s is not None:
            out["took_s"] = round(max(d.relay_s - d.commanded_s, 0.0), 2)
    if not d.contact:
        out["contact"] = False
    elif d.open_at_start:
        out["open_at_start"] = True
    if d.opened_s is not None:
        out["opened_s"] = round(d.opened_s, 2)
    return out


def door_released(d: dict[str, Any]) -> bool:
    """A door's report says it released: ``released``, or (reports from before 2026-12,
    which said ``released: false`` when nobody opened a door with a contact) a relay that
    showed the unlocked state (``relay_s``)."""
    return d.get("released") is True or d.get("relay_s") is not None


def _door_line(name: str, d: dict[str, Any]) -> str:
    if d.get("expected") is False:
        return f"  {name}: not released by this kind of drill"
    if d.get("released") is not True and d.get("relay_s") is not None:
        return f"  {name}: released at +{d['relay_s']} s (relay)"
    if d.get("released"):
        # reports from before 2026-12 measured doors with a contact by their opening
        how = f" ({d['measured_by']})" if "measured_by" in d else ""
        line = f"  {name}: released at +{d.get('released_s')} s, took {d.get('took_s')} s{how}"
    else:
        line = f"  {name}: DID NOT RELEASE: {d.get('problem', '?')}"
    if d.get("contact") is False:
        return line + "; no door contact: the relay is all there is to go by"
    if d.get("open_at_start"):
        line += "; the door was already open at the start"
        return line + (f", opened again at +{d['opened_s']} s" if "opened_s" in d else "")
    if "opened_s" in d:
        return line + f"; opened at +{d['opened_s']} s"
    return line if "measured_by" in d else line + "; nobody opened it"


def drill_lines(details: dict[str, Any]) -> list[str]:
    """A ``drill_ended`` report as a few lines of text (the office CLI prints them)."""
    tag = details.get("drill") or {}
    head = (
        f"{details.get('kind', tag.get('kind', '?'))} drill {tag.get('id', '?')}: started by "
        f"{details.get('started_by', '?')}, {details.get('duration_s', '?')} s, ended by "
        f"{details.get('ended_by', '?')} ({details.get('reason', '?')}); mode now "
        f"{details.get('restored_mode', '?')}"
    )
    lines = [head]
    doors = details.get("doors") or {}
    for name, d in doors.items() if isinstance(doors, dict) else ():
        lines.append(_door_line(name, d if isinstance(d, dict) else {"expected": False}))
    missing = details.get("not_released") or []
    if isinstance(doors, dict):  # a door whose relay released is never "not released"
        missing = [n for n in missing if not door_released(doors.get(n) or {})]
    lines.append(f"  not released: {', '.join(map(str, missing))}" if missing
                 else "  every door released")  # fmt: skip
    if details.get("real_fire_at_s") is not None:
        lines.append(f"  a real fire input at +{details['real_fire_at_s']} s took over")
    return lines + muster_lines(details)
