"""The office's upkeep: busy notices while behind, replay requests for lost events."""

from __future__ import annotations

from typing import Any

from agent.office.upkeep import AUDIT_S, BUSY_NOTICE_S, REPLAY_AGAIN_S, REPLAY_TRIES, Upkeep


class World:
    """A store that holds seqs 1..have per gate, a clock moved by hand, what was sent."""

    def __init__(self) -> None:
        self.have: dict[tuple[str, str], int] = {}
        self.sent: list[tuple[str, str, str, dict[str, Any]]] = []
        self.now = 1000.0
        self.behind = self.busy = False
        self.upkeep = Upkeep(
            self, lambda *m: self.sent.append(m), lambda: self.behind, lambda: self.busy,
            lambda: self.now,
        )  # fmt: skip

    def highest_contiguous_seq(self, site: str, gate: str) -> int:
        return self.have.get((site, gate), 0)

    def run(self, seconds: float, step: float = 1.0) -> None:
        end = self.now + seconds
        while self.now < end:
            self.upkeep.tick()
            self.now += step


def test_a_busy_office_tells_each_online_gate_every_few_seconds() -> None:
    w = World()
    w.upkeep.status("s", "g1", {"online": True, "last_seq": 10, "unreceived": 10})
    w.upkeep.status("s", "g2", {"online": False})
    w.behind = w.busy = True
    w.run(3 * BUSY_NOTICE_S)
    notices = [m for m in w.sent if m[2] == "receipt"]
    assert [m[:2] for m in notices] == [("s", "g1")] * 3
    assert all(m[3]["busy"] is True and "ranges" not in m[3] for m in notices)
    w.behind = False  # caught up: no more notices
    w.sent.clear()
    w.run(3 * BUSY_NOTICE_S)
    assert not [m for m in w.sent if m[2] == "receipt"]


def test_an_idle_office_asks_for_what_gates_confirmed_but_it_lacks() -> None:
    w = World()
    w.have = {("s", "g1"): 10, ("s", "g2"): 40, ("s", "g3"): 5}
    w.upkeep.status("s", "g1", {"online": True, "last_seq": 30, "unreceived": 0})
    w.upkeep.status("s", "g2", {"online": True, "last_seq": 40, "unreceived": 0})
    w.upkeep.status("s", "g3", {"online": True, "last_seq": 30, "unreceived": 25})
    w.run(1)
    assert [(m[1], m[2], m[3]["from_seq"]) for m in w.sent] == [("g1", "replay", 11)]
    w.sent.clear()
    w.run(REPLAY_AGAIN_S * (REPLAY_TRIES + 2), step=AUDIT_S)  # the gate no longer has them
    assert len(w.sent) == REPLAY_TRIES - 1  # asked 3 times in all, then taken as gone


def test_no_audit_while_anything_waits() -> None:
    w = World()
    w.upkeep.status("s", "g1", {"online": True, "last_seq": 30, "unreceived": 0})
    w.busy = True
    w.run(5 * AUDIT_S)
    assert w.sent == []
    w.busy = False
    w.run(3)
    assert [m[2] for m in w.sent] == ["replay"]
