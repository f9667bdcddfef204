"""The card-plus-PIN scenario of ``bench/decision.py`` (issue 21), in the same run and on
the same App as today's card path.

The gate gets one more door, ``p1`` (reader ``rp1``), with ``pin = "always"``; the
first ``PIN_HOLDERS`` cards have a PIN hash (scrypt at the gate's cost: hashing 100,000
of them would take half an hour and the lookup does not care). Each round shows a PIN
holder's card at ``rp1``, then types the PIN and ``#``, and at that instant taps a plain
card at ``d1``. Two numbers come out of it:

- ``pin_to_relay``: from the ``#`` reaching the agent to ``p1``'s relay commanded: the
  key's hop to the core loop, the scrypt check on the verifier thread, the result's hop
  back, the decision and its fsynced event. The scrypt cost dominates, on purpose.
- ``card_while_pin_checks``: ``d1``'s read to relay while that PIN is being hashed: the
  check must not hold up other doors (``hashlib.scrypt`` releases the GIL). Compared with
  the card scenario's p99 (today's path): the target is within 10%.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

from agent.gate.app import App
from agent.gate.ports import DecisionRecord
from agent.store.pins import hash_pin
from bench.common import percentiles_ms
from drivers.cards import CardNumber
from drivers.sim import SimCardReader, SimRelay

PIN = "2468"
PIN_HOLDERS = 20
WARMUP = 20
PIN_HASH = hash_pin(PIN)


def pin_door() -> dict[str, Any]:
    return {"id": "p1", "pin": "always", "readers": [{"id": "rp1"}], "relay": {"driver": "sim"}}


def entry_fields(i: int) -> dict[str, Any]:
    """What card ``i``'s allow-list entry gets for this scenario."""
    return {"pin_hash": PIN_HASH} if i < PIN_HOLDERS else {}


def pin_scenario(
    app: App, entries: int, taps: int, card: Callable[[int], CardNumber]
) -> dict[str, Any]:
    """``taps`` rounds: a card and its PIN at ``p1``, a plain card at ``d1`` at the ``#``."""
    pin_reader, plain_reader = app.devices.readers["rp1"], app.devices.readers["r1"]
    pin_relay, plain_relay = app.doors["p1"].relay, app.doors["d1"].relay
    assert isinstance(pin_reader, SimCardReader) and isinstance(plain_reader, SimCardReader)
    assert isinstance(pin_relay, SimRelay) and isinstance(plain_relay, SimRelay)
    decided = {"p1": threading.Event(), "d1": threading.Event()}

    def heard(record: DecisionRecord) -> None:
        if record.door in decided:
            decided[record.door].set()

    app.add_decision_listener(heard)
    rng = random.Random(13)
    pin_s: list[float] = []
    card_s: list[float] = []
    for i in range(taps + WARMUP):
        for door in ("p1", "d1"):
            app.loop.run_sync(app.doors[door].lock)
            decided[door].clear()
        holder = card(rng.randrange(PIN_HOLDERS))
        plain = card(PIN_HOLDERS + rng.randrange(entries - PIN_HOLDERS))
        pin_reader.present(f"uid:{holder.value:014x}")
        app.loop.run_sync(lambda: None)  # the card waits for its PIN now
        pin_reader.keys(PIN[:-1])
        enter_at = app.clock.monotonic()
        pin_reader.keys(PIN[-1] + "#")
        read = plain_reader.present(f"uid:{plain.value:014x}")
        assert decided["p1"].wait(5) and decided["d1"].wait(5), "a decision never came"
        if i < WARMUP:
            continue
        pin_s.append(pin_relay.history[-1][0] - enter_at)
        card_s.append(plain_relay.history[-1][0] - read.at)
    app.reads.listeners.remove(heard)
    return {
        "pin_to_relay": percentiles_ms(pin_s),
        "card_while_pin_checks": percentiles_ms(card_s),
    }


def pin_verdict(result: dict[str, Any], card_path: dict[str, Any] | None) -> dict[str, Any]:
    """Issue 21's target: the card path's p99 with PIN checks on, within 10% of today's."""
    if card_path is None:
        return {}
    ratio = result["card_while_pin_checks"]["p99_ms"] / card_path["p99_ms"]
    return {"card_p99_vs_card_path": round(ratio, 2), "within_10pct": ratio <= 1.1}
