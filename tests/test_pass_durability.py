"""A pass use and its event are one durable step: a process that dies between the use's
commit (passes.db) and the event's (events.db) writes the event at its next start."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.core.clock import ManualClock
from agent.core.kinds import EventType
from agent.gate.app import App
from agent.gate.assemble import build_app
from agent.models.config import GateConfig
from tests.pass_rig import issue, pass_config, scan

PASSES = 8
DIES_AT = 5  # the pass whose use is committed when the process dies


class Killed(BaseException):
    """The process stopping dead (kill -9): nothing after it runs, no handler sees it."""


def test_a_use_committed_before_a_crash_gets_its_event_at_the_next_start(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig], clock: ManualClock
) -> None:
    key = Ed25519PrivateKey.generate()
    config = make_config(**pass_config(key))
    first = build_app(config, clock=clock)
    first.start(threaded=False)
    first.loop.pump()
    passes = [issue(key, clock.now()) for _ in range(PASSES)]
    real_emit = first.passes._emit
    uses = 0

    def emit_then_die(type_: EventType, door: str | None = None, /, **details: Any) -> Any:
        nonlocal uses
        if type_ is EventType.PASS_USED:
            uses += 1
            if uses == DIES_AT:
                raise Killed  # the use is on disk; its event never gets written
        return real_emit(type_, door, **details)

    first.passes._emit = emit_then_die
    for n, signed in enumerate(passes, 1):
        if n == DIES_AT:
            with pytest.raises(Killed):
                scan(first, signed.text)
            break
        assert scan(first, signed.text).granted
    first.stores.close()  # what a dead process leaves: committed rows, nothing more

    second = make_app(config)
    second.start(threaded=False)
    second.loop.pump()
    used = [e for e in second.events.recent(200) if e.type is EventType.PASS_USED]
    for signed in passes[:DIES_AT]:
        vp = signed.visitor_pass
        assert second.stores.passes.used(vp.id) == 1  # used up
        mine = [e for e in used if e.details["pass_id"] == vp.id]
        assert len(mine) == 1, (vp.id, mine)  # exactly one pass_used event each
        assert mine[0].details["uses_left"] == 0 and mine[0].door == "main"
    (recovered,) = [e for e in used if e.details.get("recovered")]
    assert recovered.details["pass_id"] == passes[DIES_AT - 1].visitor_pass.id
    assert second.stores.passes.pending() == []

    # a third start finds nothing more to write
    second.stop()
    third = make_app(config)
    third.start(threaded=False)
    third.loop.pump()
    again = [e for e in third.events.recent(200) if e.type is EventType.PASS_USED]
    assert len(again) == DIES_AT
