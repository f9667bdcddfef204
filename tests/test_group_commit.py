"""Group commit on the decision path: reads that waited together share one commit, and
every relay moves only once its event is committed; a failed commit refuses them all.
Also the lighter event table (schema 3) and the housekeeping that keeps fsyncs off
the decision path."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.core.clock import ManualClock
from agent.core.kinds import EventType
from agent.core.loop import CoreLoop
from agent.gate.app import App
from agent.models.config import GateConfig
from agent.store import eventlog
from agent.store.eventlog import EventLog
from agent.store.schema import upgrade
from agent.store.seq_reserve import SeqReserve
from drivers.base import Feedback
from drivers.sim import SimCardReader
from tests.conftest import enroll
from tests.test_integrity import _fill, tmpfs  # noqa: F401 - tmpfs is a fixture

CARD = "uid:04A224B2"
DOORS = [
    {"id": name, "readers": [{"id": f"{name}-in"}], "relay": {"driver": "sim"}}
    for name in ("main", "d2", "d3", "d4")
]


class Witness:
    """Stands in front of a door's relay: when the door unlocks, it asks another
    connection (which sees only committed rows) how many grants that door has."""

    def __init__(self, relay: object, door: str, probe: sqlite3.Connection) -> None:
        self._relay = relay
        self._door = door
        self._probe = probe
        self.committed_at_unlock: list[int] = []

    def set_energised(self, energised: bool) -> None:
        if energised:  # fail-secure strike: the coil on is the door unlocked
            row = self._probe.execute(
                "SELECT count(*) FROM events WHERE type = 'access_granted' AND door = ?",
                (self._door,),
            ).fetchone()
            self.committed_at_unlock.append(int(row[0]))
        self._relay.set_energised(energised)  # type: ignore[attr-defined]

    @property
    def is_energised(self) -> bool:
        return bool(self._relay.is_energised)  # type: ignore[attr-defined]


def _four_door_gate(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig], state: str = "state"
) -> App:
    return make_app(make_config(doors=DOORS, storage={"dir": state}))


def _readers(gate: App) -> list[SimCardReader]:
    readers = [gate.devices.readers[f"{d['id']}-in"] for d in DOORS]
    assert all(isinstance(r, SimCardReader) for r in readers)
    return readers  # type: ignore[return-value]


def test_four_reads_queued_behind_a_busy_loop_share_one_commit_then_move_four_relays(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig]
) -> None:
    gate = _four_door_gate(make_app, make_config)
    gate.start(threaded=True)
    enroll(gate, CARD)
    probe = sqlite3.connect(gate.paths.events_db, check_same_thread=False)
    witnesses = {}
    for door in gate.doors.values():
        witnesses[door.id] = door.relay = Witness(door.relay, door.id, probe)  # type: ignore[assignment]
    busy, release = threading.Event(), threading.Event()

    def hold_the_loop() -> None:
        busy.set()
        release.wait(10)

    gate.loop.post(hold_the_loop)
    assert busy.wait(10)
    commits = gate.events.commits
    last = gate.events.last_seq()
    reads = [reader.present(CARD) for reader in _readers(gate)]
    release.set()
    gate.settle()

    assert gate.events.commits == commits + 1  # four events, one commit: one fsync
    granted = [e for e in gate.events.recent(10) if e.seq > last]
    assert [e.type for e in granted] == [EventType.ACCESS_GRANTED] * 4
    assert [e.details["reader"] for e in granted] == [r.reader for r in reads]
    for door, witness in witnesses.items():
        # the door unlocked once, and by then its grant was already committed
        assert witness.committed_at_unlock == [1], door
    assert all(reader.shown[-1][1] is Feedback.GRANT for reader in _readers(gate))
    probe.close()


def test_gathering_keeps_other_work_in_its_place() -> None:
    loop = CoreLoop(ManualClock(), lambda exc, where: None)
    calls: list[object] = []
    loop.post_batch(calls.append, 1)
    loop.post_batch(calls.append, 2)
    loop.post(calls.append, "other")
    loop.post_batch(calls.append, 3)
    loop.call_later(0, calls.append, "timer")
    loop.post_batch(calls.append, 4)
    assert loop.pump() == 4  # a wake-up queued between 3 and 4 does not split them
    assert calls == ["timer", [1, 2], "other", [3, 4]]


def test_a_failed_group_commit_refuses_every_read_in_it(
    make_app: Callable[..., App],
    make_config: Callable[..., GateConfig],
    tmpfs: Callable[[int], Path],  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    state = tmpfs(4096)
    gate = _four_door_gate(make_app, make_config, str(state))
    gate.start(threaded=False)
    gate.loop.pump()
    enroll(gate, CARD)
    before = gate.events.last_seq()
    filler = _fill(state)
    with caplog.at_level(logging.DEBUG):
        for _ in range(5):
            for reader in _readers(gate):
                reader.present(CARD)
            gate.loop.pump()
    assert not any(r.exc_info for r in caplog.records), "a traceback reached the log"
    assert all(door.locked for door in gate.doors.values())
    assert all(r.shown and {s for _, s in r.shown} == {Feedback.DENY} for r in _readers(gate))
    assert gate.events.last_seq() == before  # nothing recorded, nothing opened
    filler.unlink()
    for reader in _readers(gate):
        reader.present(CARD)
    gate.loop.pump()
    assert all(not door.locked for door in gate.doors.values())
    (fault,) = [e for e in gate.events.recent(10) if e.type is EventType.AGENT_FAULT]
    assert fault.details["failed_writes"] == 20  # every refused card counted


def test_the_lighter_table_keeps_the_seq_high_water_mark(tmp_path: Path) -> None:
    """Schema 3 rebuilds the table: a seq the old file issued is still never reused."""
    path = tmp_path / "events.db"
    conn = sqlite3.connect(path, isolation_level=None)
    upgrade(conn, "events", eventlog.STEPS[:2])
    for n in range(5):
        conn.execute(
            "INSERT INTO events (id, time, type, door, details) VALUES (?, ?, ?, ?, '{}')",
            (f"e{n}", "2026-06-10T07:00:00+00:00", "exit_request", "main"),
        )
    conn.execute("DELETE FROM events WHERE seq > 2")  # the newest rows are gone
    conn.close()
    log = EventLog(path, ManualClock(), "s", "g")
    try:
        assert log.append(EventType.EXIT_REQUEST, "main").seq == 6
        indexes = {
            r[0] for r in log._conn.execute("SELECT name FROM sqlite_master WHERE type='index'")
        }
        assert "events_unreceived" in indexes and "events_time" not in indexes
        assert not any(name.startswith("sqlite_autoindex_events") for name in indexes)
    finally:
        log.close()


def test_housekeeping_renews_the_seq_reservation_before_an_append_must(tmp_path: Path) -> None:
    clock = ManualClock()
    log = EventLog(tmp_path / "events.db", clock, "s", "g")
    try:
        log.append(EventType.EXIT_REQUEST, "main")
        held = SeqReserve(tmp_path / "events.seq").value
        log.checkpoint()  # what housekeeping calls every few seconds
        assert SeqReserve(tmp_path / "events.seq").value > held
    finally:
        log.close()


def _wal_restarts(db: Path) -> int:
    """The WAL header's checkpoint sequence: it grows each time the WAL starts over."""
    with open(f"{db}-wal", "rb") as wal:
        return int.from_bytes(wal.read(16)[12:16], "big")


def test_housekeeping_starts_the_wal_over_so_the_next_decision_syncs_once(
    tmp_path: Path,
) -> None:
    """Starting the WAL over costs its writer a second fsync (the new header): after a
    checkpoint, housekeeping takes that on itself instead of the next card read."""
    path = tmp_path / "events.db"
    log = EventLog(path, ManualClock(), "s", "g")
    try:
        for _ in range(3):
            log.append(EventType.EXIT_REQUEST, "main")
        before = _wal_restarts(path)
        log.checkpoint(force=True)
        assert _wal_restarts(path) == before + 1
        log.append(EventType.EXIT_REQUEST, "main")
        assert _wal_restarts(path) == before + 1  # appended to the WAL, not restarted
    finally:
        log.close()


def test_items_queued_while_a_gathered_call_runs_may_join_it() -> None:
    loop = CoreLoop(ManualClock(), lambda exc, where: None)
    seen: list[object] = []

    def handle(items: list[int]) -> None:
        seen.append(list(items))
        if items == [1]:
            loop.post_batch(handle, 2)
            seen.append(loop.more())  # joins the call in progress
            loop.post(seen.append, "other")
            loop.post_batch(handle, 3)
            seen.append(loop.more())  # other work waits in front of 3: nothing joins

    loop.post_batch(handle, 1)
    loop.pump()
    assert seen == [[1], [2], [], "other", [3]]
    assert loop.more() == []  # outside a gathered call there is nothing to join


def test_a_grant_whose_commit_failed_leaves_the_occupancy_as_it_was(
    make_app: Callable[..., App],
    make_config: Callable[..., GateConfig],
    tmpfs: Callable[[int], Path],  # noqa: F811
    clock: ManualClock,
) -> None:
    """The move was staged and counted in memory; the commit failed, so nobody moved."""
    state = tmpfs(4096)
    passages = {f"{d['id']}-in": {"from": "outside", "to": "compound"} for d in DOORS}
    presence = {"areas": {"compound": {"exit_elsewhere": True}}, "passages": passages}
    gate = make_app(make_config(doors=DOORS, storage={"dir": str(state)}, presence=presence))
    gate.start(threaded=False)
    gate.loop.pump()
    enroll(gate, CARD)
    filler = _fill(state)
    _readers(gate)[0].present(CARD)
    gate.loop.pump()
    filler.unlink()
    clock.advance(5)  # the recount a lost commit asks for
    gate.loop.pump()
    assert gate.occupancy.summary()["compound"].total == 0


def test_a_checkpoint_starts_the_wal_over_while_appends_go_on(tmp_path: Path) -> None:
    """Under steady appends every checkpoint ends with the WAL starting over: before,
    an append between the checkpoint's pass and its restarting write left one frame
    past the checkpoint, the WAL never started over, and it grew with every commit."""
    import struct
    import time

    from agent.core.clock import SystemClock

    log = EventLog(tmp_path / "events.db", SystemClock(), "s", "g", synchronous="normal")
    wal = tmp_path / "events.db-wal"

    def restarts() -> int:  # the WAL header's checkpoint sequence: +1 each start-over
        return int(struct.unpack(">I", wal.read_bytes()[12:16])[0])

    stop = threading.Event()

    def append() -> None:
        while not stop.is_set():
            log.append(EventType.DOOR_OPENED, "main")

    appender = threading.Thread(target=append)
    appender.start()
    try:
        time.sleep(0.05)
        before = restarts()
        for _ in range(10):
            time.sleep(0.03)
            log.checkpoint(force=True)
            log.append(EventType.DOOR_OPENED, "main")  # a write after it: the start-over
        after = restarts()
    finally:
        stop.set()
        appender.join()
        log.close()
    assert after - before >= 9, f"the WAL started over {after - before} times in 10"
