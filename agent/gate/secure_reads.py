"""What the read path does with a secure card's proof (issue 20).

Before the decision: the proof becomes ``ProofFacts``, with the NTAG 424 read counter
checked against the last one kept for the card. After it: the card's new counter and
the events the proof calls for (a suspected clone, a relay, a replay, a card without
NXP's signature, a plain card admitted during a migration) are staged in the open
group, so they share the commit, and the fsync, of the read's own event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent.core.decision import AllowEntry, Decision, DecisionContext, policy_for
from agent.core.kinds import EventType
from agent.core.secure import AlarmLimiter, CredentialPolicy, ProofFacts, replayed
from agent.models.config import GateConfig
from agent.store.counters import CardCounters
from drivers.cards import CardRead


@dataclass(frozen=True, slots=True)
class ReadFacts:
    """A read's proof as the decision sees it, and what the gate learnt getting it."""

    proof: ProofFacts | None
    counter: int | None = None  # to keep once the read is decided
    restarted: bool = False  # the first counter after a restore, taken as it came


PLAIN_READ = ReadFacts(None)  # a number-only read: one shared value, nothing to judge

# EventSink.record: stage an event in the open group, (type, door, details, when) -> seq
Stage = Callable[[EventType, str | None, dict[str, Any], datetime], int]


class SecureReads:
    """The secure-credential side of ``ReadHandler``: facts in, counters and events out."""

    door_policy: dict[str, str]
    _deny_not_nxp: bool
    _relay_budget_s: float

    def __init__(self, config: GateConfig, counters: CardCounters) -> None:
        self._counters = counters
        self.limiter = AlarmLimiter()
        self.reconfigure(config)  # sets the policies and limits above

    def reconfigure(self, config: GateConfig) -> None:
        self.door_policy = {d.id: d.credential.value for d in config.doors}
        self._deny_not_nxp = config.secure.not_nxp == "deny"
        self.limiter.every_s = config.secure.alarm_every_s
        self._relay_budget_s = config.secure.relay_budget_ms / 1000

    def facts(self, read: CardRead, credential: str) -> ReadFacts:
        """The proof of ``read`` with its counter judged (no proof: a plain read)."""
        proof = read.proof
        if proof is None:
            return PLAIN_READ
        # the driver times the exchange against the budget too; the gate checks it again
        slow = proof.genuine and proof.elapsed_s > self._relay_budget_s
        last, restored = (None, False)
        if proof.counter is not None and proof.genuine and not slow:
            last, restored = self._counters.last(credential)
        facts = ProofFacts(
            "relay_suspected" if slow else proof.verdict,
            replayed=not restored and replayed(proof.counter, last),
            not_nxp=proof.originality is False,
            deny_not_nxp=self._deny_not_nxp,
        )
        keep = proof.counter if facts.genuine and not facts.replayed else None
        return ReadFacts(facts, keep, restored and keep is not None)

    @staticmethod
    def concerns(read: CardRead, entry: AllowEntry | None, ctx: DecisionContext) -> bool:
        """Whether ``after`` has anything to do: a proof, or a policy other than plain."""
        if read.proof is not None:
            return True
        return entry is not None and policy_for(entry, ctx) is not CredentialPolicy.PLAIN

    def after(
        self,
        stage: Stage,
        read: CardRead,
        facts: ReadFacts,
        decision: Decision,
        entry: AllowEntry | None,
        ctx: DecisionContext,
        card: dict[str, Any],
        mono: float,
    ) -> None:
        """Keep the card's counter and stage the proof's events in the open group."""
        door, now = ctx.door, ctx.now
        who = {"reader": read.reader, **card}
        if facts.counter is not None:
            self._counters.keep(card["credential"], facts.counter)
            if facts.restarted:
                restart = {**who, "counter": facts.counter}
                stage(EventType.CARD_COUNTER_RESTARTED, door, restart, now)
        proof = read.proof
        if proof is None:
            preferred = CredentialPolicy.SECURE_PREFERRED
            if entry is not None and decision.granted and policy_for(entry, ctx) is preferred:
                holder = {
                    "holder_id": entry.holder_id,
                    "kind": entry.kind.value,
                    "unit": entry.unit,
                }
                stage(EventType.PLAIN_CARD_USED, door, {"reader": read.reader, **holder}, now)
            return
        reason = decision.reason.value
        if reason == "card_not_genuine":
            held = self.limiter.allow(read.reader, mono)
            if held is not None:
                stage(EventType.CLONE_SUSPECTED, door, {**who, "held_back": held}, now)
        elif reason == "relay_suspected":
            elapsed_ms = round(proof.elapsed_s * 1000, 1)
            stage(EventType.RELAY_SUSPECTED, door, {**who, "elapsed_ms": elapsed_ms}, now)
        elif reason == "replayed_card":
            stage(EventType.REPLAYED_CARD, door, {**who, "counter": proof.counter}, now)
        if proof.genuine and proof.originality is False:
            stage(EventType.CARD_NOT_NXP, door, {**who, "denied": not decision.granted}, now)
