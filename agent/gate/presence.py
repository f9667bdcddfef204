"""Presence on the read path: which way a reader moves a holder, and anti-passback.

The read handler asks for a verdict before deciding (``verdict``), and after a grant
stages the holder's new area in the commit of the grant's event (``moved``). Nothing
here touches the network: moves from the other gates arrive through the office link
and are merged into the same table (``agent.store.presence``) by the same rule.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from agent.core.decision import AllowEntry
from agent.core.presence import (
    NO_RULE,
    AreaRule,
    Passage,
    Presence,
    Verdict,
    check_passback,
    to_us,
)
from agent.models.config import GateConfig
from agent.store.presence import PresenceStore


class PresenceKeeper:
    """The gate's areas and passages, and its holders' records (core loop only)."""

    def __init__(self, config: GateConfig, store: PresenceStore) -> None:
        self.store = store
        self.gate = config.gate.gate_id
        # whether this gate is cut off from the others; the office link sets it
        self.partitioned: Callable[[], bool] = lambda: False
        self.changed = 0  # bumped when other gates' moves are merged here (presence_merge)
        self.passages: dict[str, Passage] = {}
        self.rules: dict[str, AreaRule] = {}
        self.reconfigure(config)

    def reconfigure(self, config: GateConfig) -> None:
        self.passages = config.presence.passage_map()
        self.rules = config.presence.rules()

    def rule(self, area: str) -> AreaRule:
        return self.rules.get(area, NO_RULE)

    def verdict(
        self, reader: str, entry: AllowEntry | None, now: datetime
    ) -> tuple[Passage | None, Verdict]:
        """The passage ``reader`` makes (None: it moves nobody) and the anti-passback
        verdict for ``entry``'s holder there."""
        passage = self.passages.get(reader)
        if passage is None or entry is None:
            return passage, Verdict.OK
        rule = self.rule(passage.to_area)
        if rule.passback.value == "off":
            return passage, Verdict.OK
        record = self.store.get(entry.holder_id)
        return passage, check_passback(record, passage, rule, to_us(now), self.partitioned())

    def moved(self, passage: Passage, entry: AllowEntry, now: datetime, seq: int) -> Presence:
        """Stage the holder's move (in the open group: durable with event ``seq``)."""
        record = Presence(entry.holder_id, passage.to_area, entry.kind.value, to_us(now),
                          self.gate, seq)  # fmt: skip
        self.store.put(record)
        return record
