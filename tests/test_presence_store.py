"""Presence records in events.db: staged with their event, merged last-writer-wins."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.core.clock import ManualClock
from agent.core.kinds import EventType
from agent.core.presence import OUTSIDE, Presence
from agent.errors import StorageFault
from agent.store.eventlog import EventLog

WHEN = datetime(2027, 1, 1, tzinfo=UTC)


@pytest.fixture
def log(tmp_path: Path) -> Iterator[EventLog]:
    events = EventLog(tmp_path / "events.db", ManualClock(), site="s", gate="east")
    yield events
    events.close()


def test_a_move_is_durable_with_its_event_or_not_at_all(log: EventLog, tmp_path: Path) -> None:
    with log.together() as stage:
        stored = stage(EventType.ACCESS_GRANTED, "main", {"holder_id": "h1"}, WHEN)
        log.presence.put(Presence("h1", "compound", "resident", 10, "east", stored.seq))
    with pytest.raises(RuntimeError), log.together() as stage:
        stored = stage(EventType.ACCESS_GRANTED, "main", {"holder_id": "h2"}, WHEN)
        log.presence.put(Presence("h2", "compound", "resident", 11, "east", stored.seq))
        raise RuntimeError("the commit never happens")
    log.close()
    again = EventLog(tmp_path / "events.db", ManualClock(), site="s", gate="east")
    try:
        with again.together():
            assert [r.holder_id for r in again.presence.all()] == ["h1"]
    finally:
        again.close()


def test_an_older_move_from_another_gate_loses(log: EventLog) -> None:
    with log.together():
        assert log.presence.put(Presence("h1", "compound", None, 100, "east", 5))
        assert not log.presence.put(Presence("h1", OUTSIDE, None, 99, "west", 9))
        assert not log.presence.put(Presence("h1", OUTSIDE, None, 100, "east", 5))  # again
        assert log.presence.put(Presence("h1", OUTSIDE, None, 100, "west", 1))  # gate id
        assert log.presence.get("h1") == Presence("h1", OUTSIDE, None, 100, "west", 1)


def test_inside_retention_and_deletion(log: EventLog) -> None:
    with log.together():
        log.presence.put_all(
            [
                Presence("a", "compound", "resident", 100, "east", 1),
                Presence("b", OUTSIDE, "resident", 100, "east", 2),
                Presence("c", "car-park", "visitor", 50, "east", 3),
                Presence("d", None, "visitor", 100, "east", 4),
            ]
        )
        assert [r.holder_id for r in log.presence.inside(0)] == ["c", "a"]
        assert [r.holder_id for r in log.presence.inside(60)] == ["a"]
        assert log.presence.forget_before(60) == 1
        assert log.presence.forget_holders(["a", "zz"]) == 1
        assert [r.holder_id for r in log.presence.all()] == ["b", "d"]


def test_a_closed_log_says_so_as_a_storage_fault(log: EventLog) -> None:
    log.close()
    with pytest.raises(StorageFault):
        log.presence.get("h1")
