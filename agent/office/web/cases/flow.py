"""The allowed steps of a case: the one place that decides which action leads where.

Pure (no Django), so the property test can walk every sequence of actions.
"""

from __future__ import annotations

from agent.errors import GateError

RECEIVED = "received"
ACCEPTED = "accepted"
INVESTIGATING = "investigating"
MEASURES_TAKEN = "measures_taken"
ANSWERED = "answered"
CLOSED = "closed"
REOPENED = "reopened"

STATES = (RECEIVED, ACCEPTED, INVESTIGATING, MEASURES_TAKEN, ANSWERED, CLOSED, REOPENED)
OPEN_STATES = frozenset({RECEIVED, ACCEPTED, INVESTIGATING, MEASURES_TAKEN, REOPENED})

# action: (the states it may start from, the state it leads to)
ACTIONS: dict[str, tuple[frozenset[str], str]] = {
    "accept": (frozenset({RECEIVED, REOPENED}), ACCEPTED),
    "investigate": (frozenset({ACCEPTED, INVESTIGATING}), INVESTIGATING),
    "measures": (frozenset({INVESTIGATING, MEASURES_TAKEN}), MEASURES_TAKEN),
    "answer": (frozenset({MEASURES_TAKEN}), ANSWERED),
    "close": (frozenset({ANSWERED}), CLOSED),
    "reopen": (frozenset({ANSWERED, CLOSED}), REOPENED),
}


class StepRefused(GateError, ValueError):
    """An action that the case's state does not allow (a ValueError too, as before)."""

    def __init__(self, state: str, action: str) -> None:
        super().__init__(f"{action} is not allowed from {state}")
        self.state = state
        self.action = action


def next_state(state: str, action: str) -> str:
    """The state ``action`` leads to from ``state``; ``StepRefused`` when it is not allowed."""
    allowed = ACTIONS.get(action)
    if allowed is None or state not in allowed[0]:
        raise StepRefused(state, action)
    return allowed[1]


def actions_from(state: str) -> list[str]:
    """The actions open to a case in ``state``, in the order of the procedure."""
    return [action for action, (starts, _) in ACTIONS.items() if state in starts]
