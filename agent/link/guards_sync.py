"""Guard accounts from the office: validated, swapped in whole (atomically), acknowledged."""

from __future__ import annotations

from agent.core.kinds import EventType
from agent.errors import Rejected
from agent.gate.ports import GatePort
from agent.models.guards import GuardAck, GuardList
from agent.store.guards import GuardStore


class GuardSync:
    """Applies ``guards/set`` messages to the gate's guard store and records the change."""

    def __init__(self, gate: GatePort, store: GuardStore) -> None:
        self.gate = gate
        self.store = store

    def apply(self, body: object) -> GuardAck:
        """A validation error or a stale version is refused; the list held stays."""
        pushed = GuardList.model_validate(body)
        count = self.store.replace(pushed)
        self.gate.record(EventType.GUARDS_UPDATED, None, version=pushed.version, count=count)
        return GuardAck(ok=True, version=pushed.version, count=count)

    def refusal(self, exc: Rejected) -> GuardAck:
        errors = [f"{p}: {m}" if p else m for p, m in exc.errors][:100]
        return GuardAck(ok=False, version=self.store.version(), error=exc.error, errors=errors)
