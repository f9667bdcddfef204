"""Presence across gates on the wire: the office's relayed moves and a gate's catch-up ask.

The office relays, signed, on one topic per site (``<prefix>/<site>/presence``) and
answers a gate's ask on the gate's own ``presence/sync``; both carry a ``PresenceBatch``.
A move travels as a compact row ``[holder, area, kind, at_us, gate, seq]`` (``area``
null: forgiven), so a catch-up of a whole site stays a few messages.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from agent.core.presence import Presence
from agent.models.base import Slug, Strict
from agent.models.messages import MAX_VERSION
from agent.models.wire import HolderId

MAX_MOVES = 5000  # rows in one message (the office sends 2,000)
Area = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
Kind = Annotated[str, StringConstraints(min_length=1, max_length=32)]
Rev = Annotated[int, Field(ge=0, le=MAX_VERSION)]
Move = tuple[HolderId, Area | None, Kind | None, Annotated[int, Field(ge=0)], Slug, Rev]


def move_row(record: Presence) -> list[object]:
    """A record as it travels."""
    return [record.holder_id, record.area, record.kind, record.at_us, record.gate, record.seq]


class PresenceBatch(Strict):
    """Moves the office holds between two of a site's relay revisions.

    ``from_rev`` < revision <= ``to_rev`` for every row; ``head`` is the office's newest
    revision when it sent this (a heartbeat: no rows, ``from_rev == to_rev == head``).
    ``forget``: holders whose records are deleted (moved out), applied before the moves.
    ``epoch`` names the office's presence table: a new one (a new office database) means
    the gate's revision means nothing there. ``reset``: the gate asked from a revision
    beyond the office's (a database restored from a backup): this answer starts over.
    """

    epoch: str = Field(min_length=1, max_length=64)
    site: Slug
    from_rev: Rev
    to_rev: Rev
    head: Rev
    moves: list[Move] = Field(default=[], max_length=MAX_MOVES)
    forget: list[HolderId] = Field(default=[], max_length=MAX_MOVES)
    more: bool = False
    reset: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> PresenceBatch:
        if not self.from_rev <= self.to_rev <= self.head:
            raise ValueError("revisions must satisfy from_rev <= to_rev <= head")
        return self

    def records(self) -> list[Presence]:
        return [Presence(*row) for row in self.moves]


class PresenceAsk(Strict):
    """``<root>/presence/request`` (gate to office): everything after ``after``."""

    after: Rev = 0
    epoch: str | None = Field(None, max_length=64)
