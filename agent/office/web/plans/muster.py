"""A gate's muster as the office sees it, rebuilt from the gate's events alone: its
``muster_started`` (the list), each ``muster_ticked`` as it arrives, and ``muster_ended``
(the counts at the end). Pure (no Django): the views add names for staff who may see them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

MUSTER_TYPES = ["muster_started", "muster_ticked", "muster_ended"]


@dataclass
class MusterRow:
    """One holder on the list, ticked or not."""

    holder_id: str
    kind: str
    unit: str
    area: str
    since: datetime | None  # when the gate saw them enter (None: the gate's text was bad)
    ticked_at: datetime | None = None
    by: str = ""
    via: str = ""
    name: str = ""


@dataclass
class Muster:
    """One muster of one gate."""

    site: str
    gate: str
    id: str
    trigger: str
    started_at: datetime
    drill_id: str = ""
    rows: list[MusterRow] = field(default_factory=list)
    ended_at: datetime | None = None
    end_reason: str = ""

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def accounted(self) -> int:
        return sum(1 for r in self.rows if r.ticked_at is not None)

    @property
    def unaccounted(self) -> int:
        return self.total - self.accounted

    @property
    def missing(self) -> list[MusterRow]:
        return [r for r in self.rows if r.ticked_at is None]


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _when(value: Any) -> datetime | None:
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def build(started: dict[str, Any], later: list[dict[str, Any]]) -> Muster:
    """The muster of event ``started`` with the ticks and end among ``later`` (events of
    the same gate, any muster: only this one's count)."""
    d = started.get("details") or {}
    ident = _text(d.get("muster"))
    out = Muster(site=started["site"], gate=started["gate"], id=ident,
                 trigger=_text(d.get("trigger")), started_at=started["time"],
                 drill_id=_text(d.get("drill_id")))  # fmt: skip
    listed = d.get("holders")
    holders: list[Any] = listed if isinstance(listed, list) else []
    by_id: dict[str, MusterRow] = {}
    for h in holders:
        if isinstance(h, dict) and h.get("holder_id"):
            row = MusterRow(_text(h["holder_id"]), _text(h.get("kind")), _text(h.get("unit")),
                            _text(h.get("area")), _when(h.get("since")))  # fmt: skip
            by_id.setdefault(row.holder_id, row)
    out.rows = list(by_id.values())
    for ev in sorted(later, key=lambda e: int(e.get("seq") or 0)):  # the gate's own order
        details = ev.get("details") or {}
        if _text(details.get("muster")) != ident:
            continue
        if ev["type"] == "muster_ticked":
            one = by_id.get(_text(details.get("holder_id")))
            if one is not None and one.ticked_at is None:  # the first tick stands
                one.ticked_at, one.by = ev["time"], _text(details.get("by"))
                one.via = _text(details.get("via"))
        elif ev["type"] == "muster_ended":
            out.ended_at, out.end_reason = ev["time"], _text(details.get("reason"))
    return out


def drill_musters(reports: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Per gate ("site/gate"), the muster counts its drill report ended with."""
    found = []
    for where, report in sorted(reports.items()):
        muster = report.get("muster") if isinstance(report, dict) else None
        if isinstance(muster, dict):
            found.append((where, muster))
    return found
