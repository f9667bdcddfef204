"""Anti-passback on the read path, beside today's path, in one run (issue 21, item 9).

Two real Apps in one process, each with its core thread, sim devices and the same
allow-list: today's gate (no ``[presence]``) and a gate whose one door has an in
reader (outside -> compound) and an out reader (compound -> outside) into a hard
anti-passback area with a capacity that refuses visitors. Half the holders start
inside (their presence records written before the run); each round taps a card at
today's gate, then a holder at the passback gate on the reader that fits where they
are (one tap in twenty on the wrong one: a passback refusal, not timed), so the taps
alternate and both gates see the machine at the same moments. Timed: read to relay
of each grant. Run by ``bench/decision.py --passback``.
"""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path
from typing import Any

from agent.core.kinds import HolderKind
from agent.core.presence import Presence, to_us
from agent.gate.app import App
from agent.gate.assemble import build_app
from agent.models.config import validate_config
from agent.models.wire import AllowListEntry
from agent.store.credentials import write_new_key
from bench.common import percentiles_ms
from drivers.cards import CardNumber
from drivers.sim import SimCardReader, SimRelay

WARMUP = 200
WRONG_WAY = 20  # one tap in this many is at the reader that does not fit: refused


def passback_gate(folder: Path, synchronous: str) -> App:
    """One door, an in and an out reader, a hard area with a capacity (never reached)."""
    write_new_key(folder / "site.key")
    never = {"count": 10**9, "window_s": 1, "lockout_s": 0}
    area = {"passback": "hard", "capacity": 10**6, "when_full": "refuse_visitors"}
    passages = {"r1": {"from": "outside", "to": "compound"},
                "r1-out": {"from": "compound", "to": "outside"}}  # fmt: skip
    readers = [{"id": "r1"}, {"id": "r1-out", "direction": "out"}]
    config = validate_config(
        {
            "gate": {
                "site": "bench",
                "gate_id": "g2",
                "timezone": "Africa/Cairo",
                "simulated": True,
            },
            "storage": {"dir": "state", "synchronous": synchronous},
            "security": {"credential_key_file": "site.key"},
            "clock": {"sync_marker": ""},
            "doors": [{"id": "d1", "readers": readers, "relay": {"driver": "sim"}}],
            "alarms": {"reader_denials": never, "card_denials": never},
            "mqtt": {"enabled": True, "require_signatures": False},
            "presence": {"areas": {"compound": area}, "passages": passages},
        },
        folder,
    )
    return build_app(config)


def enroll_kinds(app: App, count: int, card: Any) -> None:
    """The same holders as today's gate; one in ten a visitor (the capacity check runs)."""
    rows = (
        AllowListEntry(
            credential=app.hasher.credential(card(i)),
            masked=app.hasher.masked(card(i)),
            holder_id=f"R-{i}",
            unit=f"U-{i % 500}",
            kind=HolderKind.VISITOR if i % 10 == 0 else HolderKind.RESIDENT,
        )
        for i in range(count)
    )
    assert app.allowlist.replace(rows, 1) == count


def seed(app: App, inside: set[int]) -> None:
    """Presence records of the holders who start inside, as earlier taps would have left."""
    at = to_us(app.clock.now()) - 3600 * 1_000_000
    records = [Presence(f"R-{i}", "compound", "resident", at, "g2", i + 1) for i in inside]
    with app.events.together():
        app.events.presence.put_all(records)
    app.occupancy.recount()


def timed_tap(app: App, reader_id: str, number: CardNumber) -> float | None:
    """Read to relay of one tap (None: refused)."""
    reader, door = app.devices.readers[reader_id], app.doors["d1"]
    relay = door.relay
    assert isinstance(reader, SimCardReader) and isinstance(relay, SimRelay)
    app.loop.run_sync(door.lock)
    moves = len(relay.history)
    read = reader.present(f"uid:{number.value:014x}")
    app.loop.run_sync(lambda: None)  # barrier: the read has been handled
    if len(relay.history) == moves:
        return None
    return float(relay.history[-1][0] - read.at)


def side_by_side(today: App, entries: int, taps: int, synchronous: str,
                 card: Any) -> dict[str, Any]:  # fmt: skip
    """Today's gate and the passback gate, taps alternating; p50/p99/max and the ratio."""
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        apb = passback_gate(Path(tmp), synchronous)
        enroll_kinds(apb, entries, card)
        rng = random.Random(21)
        inside = {i for i in range(entries) if rng.random() < 0.5}
        seed(apb, inside)
        apb.start(threaded=True)
        plain_s: list[float] = []
        apb_s: list[float] = []
        refused = wrong = 0
        try:
            for i in range(taps + WARMUP):
                took = timed_tap(today, "r1", card(rng.randrange(entries)))
                n = rng.randrange(entries)
                is_in = n in inside
                wrong_way = i % WRONG_WAY == 0
                wrong += wrong_way
                reader = "r1" if is_in == wrong_way else "r1-out"
                apb_took = timed_tap(apb, reader, card(n))
                if apb_took is None:
                    refused += 1
                elif not wrong_way:
                    inside.symmetric_difference_update({n})
                if i >= WARMUP and took is not None and apb_took is not None:
                    plain_s.append(took)
                    apb_s.append(apb_took)
            occupancy = apb.status(0).occupancy["compound"].total
        finally:
            apb.stop()
    plain, passback = percentiles_ms(plain_s), percentiles_ms(apb_s)
    ratio = round(passback["p99_ms"] / plain["p99_ms"], 3)
    return {
        "entries": entries,
        "today_read_to_relay": plain,
        "passback_read_to_relay": passback,
        "p99_ratio": ratio,
        "p50_ratio": round(passback["p50_ms"] / plain["p50_ms"], 3),
        "p99_within_10_percent": ratio <= 1.10,
        "wrong_way_taps": wrong,
        "refused": refused,
        "holders_inside_at_end": occupancy,
    }


def passback_runs(entries: list[int], taps: int, synchronous: str) -> list[dict[str, Any]]:
    """Per allow-list size: today's gate (``bench/decision.py``'s) beside the passback one."""
    from bench.decision import card, enroll, gate

    results = []
    for count in entries:
        with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
            today = gate(Path(tmp), synchronous, 1)
            enroll(today, count)
            today.start(threaded=True)
            try:
                results.append(side_by_side(today, count, taps, synchronous, card))
            finally:
                today.stop()
    return results
