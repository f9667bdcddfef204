"""A muster: the holders last seen inside when the doors were released for a fire or a
drill, and who has been accounted for since.

The record is what the gate keeps in its state store while a muster is open (so a
restart carries it on) and what its three events say: ``muster_started`` (the list),
``muster_ticked`` (one holder accounted for, and by what) and ``muster_ended`` (the
counts, and who was still unaccounted for). Holders appear by id, kind and unit: the
gate holds no names; the office resolves them for staff who may see them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from agent.models.base import Strict

Trigger = Literal["fire", "drill"]
Via = Literal["muster_reader", "exit", "guard"]


class MusterHolder(Strict):
    """One holder on the list: where they were last seen and, once ticked, by what."""

    holder_id: str = Field(min_length=1, max_length=64)
    kind: str | None = None
    unit: str | None = None
    area: str
    since: datetime  # when they moved into ``area``
    ticked_at: datetime | None = None
    ticked_by: str | None = None  # "reader:<id>" or "guard:<id>"
    via: Via | None = None

    def brief(self) -> dict[str, Any]:
        """The holder as ``muster_started`` lists them."""
        return {"holder_id": self.holder_id, "kind": self.kind, "unit": self.unit,
                "area": self.area, "since": self.since.isoformat()}  # fmt: skip


class MusterRecord(Strict):
    """An open muster (the gate's state store keeps it as JSON)."""

    id: str
    trigger: Trigger
    drill_id: str | None = None
    started_at: datetime
    holders: dict[str, MusterHolder] = {}  # holder id -> entry, in list order
    restarts: int = 0

    def counts(self) -> dict[str, int]:
        total = len(self.holders)
        accounted = sum(1 for h in self.holders.values() if h.ticked_at is not None)
        return {"total": total, "accounted": accounted, "unaccounted": total - accounted}

    def unaccounted(self) -> list[str]:
        return [h.holder_id for h in self.holders.values() if h.ticked_at is None]

    def ticked(self, holder_id: str, at: datetime, by: str, via: Via) -> MusterRecord:
        one = self.holders[holder_id].model_copy(
            update={"ticked_at": at, "ticked_by": by, "via": via}
        )
        return self.model_copy(update={"holders": {**self.holders, holder_id: one}})

    def started_details(self) -> dict[str, Any]:
        """``muster_started``'s details."""
        out: dict[str, Any] = {"muster": self.id, "trigger": self.trigger,
                               "holders": [h.brief() for h in self.holders.values()],
                               **self.counts()}  # fmt: skip
        out.update({"drill_id": self.drill_id} if self.drill_id else {})
        return out

    def ended_details(self, reason: str) -> dict[str, Any]:
        """``muster_ended``'s details: the counts and the ids still unaccounted for."""
        out: dict[str, Any] = {"muster": self.id, "trigger": self.trigger, "reason": reason,
                               "started_at": self.started_at.isoformat(), **self.counts(),
                               "unaccounted_ids": self.unaccounted()}  # fmt: skip
        out.update({"drill_id": self.drill_id} if self.drill_id else {})
        out.update({"restarts": self.restarts} if self.restarts else {})
        return out


def muster_lines(details: dict[str, Any]) -> list[str]:
    """A drill report's muster part as text (``drill_lines`` adds it)."""
    muster = details.get("muster")
    if not isinstance(muster, dict):
        return []
    line = (f"  muster: {muster.get('unaccounted', '?')} of {muster.get('total', '?')} "
            f"still unaccounted for at the end")  # fmt: skip
    if muster.get("open"):
        line += " (the muster goes on: the fire input is still active)"
    return [line]
