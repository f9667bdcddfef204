"""Every writer of events.db takes its turn on one lock, in Python.

SQLite makes a writer that finds the file locked sleep and poll (1, 2, 5, 10 ... ms)
until it gives up; a decision that met the uplink's "sent" marks, a snapshot chunk's
nonce or a state change there waited that way, tens of milliseconds at the tail of a
1M snapshot (bench/snapshot.py, issue 23). Waiting on the log's writer lock instead,
each writer goes the moment the one before it is done.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.core.clock import ManualClock
from agent.core.kinds import EventType
from agent.link.signing import ReplayGuard
from agent.store.delivery import MARK_STEP
from agent.store.eventlog import CHECKPOINT_EVERY, EventLog
from agent.store.state import StateStore

WINDOW = timedelta(minutes=5)


def _blocked_while_held(log: EventLog, write: Callable[[], object]) -> None:
    """``write`` does not get past the writer lock while it is held, and does after."""
    done = threading.Event()

    def run() -> None:
        write()
        done.set()

    with log.writer:
        thread = threading.Thread(target=run)
        thread.start()
        assert not done.wait(0.3), "wrote to events.db past the writer lock"
    assert done.wait(10), "never wrote once the lock was free"
    thread.join()


@pytest.fixture
def log(tmp_path: Path, clock: ManualClock) -> EventLog:
    events = EventLog(tmp_path / "events.db", clock, "site", "gate")
    for _ in range(3):
        events.append(EventType.EXIT_REQUEST, "main")
    return events


def test_the_uplinks_marks_wait_for_the_writer_lock(log: EventLog) -> None:
    _blocked_while_held(log, lambda: log.mark_sent([1]))
    _blocked_while_held(log, lambda: log.mark_received([(1, 2)]))
    assert log.unreceived() == 1
    _blocked_while_held(log, lambda: log.reopen_from(1))
    assert log.unreceived() == 3 and log.depth() == 1


def test_retention_deletes_under_the_writer_lock(log: EventLog, clock: ManualClock) -> None:
    clock.advance(timedelta(days=40).total_seconds())
    _blocked_while_held(log, lambda: log.prune(1000, timedelta(days=30)))
    assert log.last_seq() == 3 and log.depth() == 0


def test_nonces_and_gate_state_share_the_lock(tmp_path: Path, log: EventLog) -> None:
    guard = ReplayGuard(tmp_path / "events.db", log.turns)
    now = datetime.now(UTC)
    _blocked_while_held(log, lambda: guard.remember("n" * 16, now, WINDOW))
    assert not guard.remember("n" * 16, now, WINDOW)  # a replay is still refused
    assert guard.newest() == now
    state = StateStore(tmp_path / "events.db", log.turns)
    _blocked_while_held(log, lambda: state.set("lockdown", "1"))
    assert state.get("lockdown") == "1"


def test_old_nonces_go_in_one_pass_now_and_then_not_one_a_message(
    tmp_path: Path, log: EventLog
) -> None:
    guard = ReplayGuard(tmp_path / "events.db", log.turns)
    start = datetime.now(UTC)
    for i in range(5):
        assert guard.remember(f"nonce-{i:011d}", start + timedelta(seconds=i), WINDOW)
    later = start + 3 * WINDOW
    assert guard.remember("nonce-late-00000", later, WINDOW)
    assert guard.held() == 1  # the five older than two windows are gone
    assert not guard.remember("nonce-late-00000", later, WINDOW)


def test_a_wal_grown_by_nonces_alone_is_folded_by_housekeeping(
    tmp_path: Path, log: EventLog
) -> None:
    # the replay guard leaves checkpoints to the log (one inside its commit would hold
    # the writer lock), so the log folds a WAL that grew without a single event
    log.checkpoint(force=True)
    guard = ReplayGuard(tmp_path / "events.db", log.turns)
    start = datetime.now(UTC)
    for i in range(CHECKPOINT_EVERY):
        guard.remember(f"nonce-{i:011d}", start, WINDOW)
    folded: list[str] = []
    log._conn.set_trace_callback(folded.append)
    log.checkpoint()
    assert any("wal_checkpoint" in sql for sql in folded)


def test_a_backlog_is_marked_in_steps_a_decision_can_come_between(
    tmp_path: Path, clock: ManualClock
) -> None:
    # the broker's PUBACKs for thousands of events held back during a snapshot arrive
    # at once; marking them in one transaction kept a decision waiting ~100 ms
    log = EventLog(tmp_path / "events.db", clock, "site", "gate")
    with log.together() as stage:
        for _ in range(3 * MARK_STEP + 7):
            stage(EventType.EXIT_REQUEST, "main", {}, clock.now())
    steps: list[str] = []
    log._conn.set_trace_callback(steps.append)
    log.mark_sent(list(range(1, 3 * MARK_STEP + 8)))
    assert sum(sql.startswith("BEGIN") for sql in steps) == 4
    assert log.depth() == 0
    steps.clear()
    assert log.mark_received([(1, 3 * MARK_STEP + 7)]) == 3 * MARK_STEP + 7
    assert sum(sql.startswith("BEGIN") for sql in steps) == 4
    assert log.unreceived() == 0


def test_a_receipt_range_far_past_the_log_marks_what_is_there(log: EventLog) -> None:
    assert log.mark_received([(0, 2**63 - 1)]) == 3
    assert log.mark_received([(10, 2**62)]) == 0
