from datetime import timedelta
from pathlib import Path

from agent.core.clock import ManualClock
from agent.core.kinds import EventType
from agent.gate.app import App
from agent.store.delivery import RECEIVED
from agent.store.eventlog import EventLog
from tests.conftest import types


def log_at(path: Path, clock: ManualClock) -> EventLog:
    return EventLog(path, clock, "site", "gate")


def test_sequence_survives_restart_and_deletion(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "events.db"
    log = log_at(path, clock)
    seqs = [log.append(EventType.DOOR_OPENED, "main").seq for _ in range(3)]
    assert seqs == [1, 2, 3]
    # the newest rows vanish (retention, a crash before upload...) and the log reopens
    log._conn.execute("DELETE FROM events WHERE seq >= 2")
    log.close()
    reopened = log_at(path, clock)
    event = reopened.append(EventType.DOOR_CLOSED, "main")
    assert event.seq == 4
    assert reopened.last_seq() == 4
    ids = {e.id for e in reopened.recent(10)}
    assert len(ids) == 2


def test_unsent_and_mark_sent(tmp_path: Path, clock: ManualClock) -> None:
    log = log_at(tmp_path / "e.db", clock)
    for _ in range(5):
        log.append(EventType.EXIT_REQUEST, "main")
    assert log.depth() == 5
    log.mark_sent([1, 2])
    assert [e.seq for e in log.unsent()] == [3, 4, 5]
    assert [e.seq for e in log.unsent(after_seq=3, limit=1)] == [4]


def test_retention_drops_sent_first_and_counts_unsent_losses(
    tmp_path: Path, clock: ManualClock
) -> None:
    log = log_at(tmp_path / "e.db", clock)
    for _ in range(10):
        log.append(EventType.DOOR_OPENED)
    log.mark_sent([1, 2, 3], RECEIVED)
    assert log.prune(max_rows=8, max_age=timedelta(days=1)) == 0
    assert log.recent(100)[0].seq == 3
    assert log.prune(max_rows=5, max_age=timedelta(days=1)) == 2
    assert [e.seq for e in log.recent(100)] == [6, 7, 8, 9, 10]
    clock.advance(2 * 86400)
    log.append(EventType.DOOR_CLOSED)
    assert log.prune(max_rows=100, max_age=timedelta(days=1)) == 5
    assert [e.seq for e in log.recent(100)] == [11]


def test_app_raises_an_alarm_for_dropped_events(make_app, make_config) -> None:  # type: ignore[no-untyped-def]
    config = make_config(
        storage={"events_max_rows": 100}, mqtt={"enabled": True, "require_signatures": False}
    )
    app = make_app(config)
    for _ in range(150):
        app.events.append(EventType.DOOR_OPENED)
    app.start(threaded=False)
    app.loop.pump()
    dropped = [e for e in app.events.recent(200) if e.type is EventType.EVENTS_DROPPED]
    assert len(dropped) == 1 and dropped[0].details["count"] >= 50
    assert dropped[0].severity == "alarm"


def test_no_uplink_means_nothing_pending(app: App) -> None:
    assert app.events.depth() == 0
    assert "agent_started" in types(app)


def test_receipts_not_pubacks_make_an_event_done(tmp_path: Path, clock: ManualClock) -> None:
    """The broker's PUBACK is not the office's commit: until a receipt says so, an event is
    sent again after a reconnect, and retention drops it last and counts it lost."""
    log = log_at(tmp_path / "e.db", clock)
    for _ in range(6):
        log.append(EventType.DOOR_OPENED)
    log.mark_sent([1, 2, 3, 4])  # PUBACKs
    assert log.depth() == 2 and log.unreceived() == 6
    assert [e.seq for e in log.unsent(unreceived=True)] == [1, 2, 3, 4, 5, 6]
    assert log.mark_received([(2, 3), (6, 6)]) == 3
    log.mark_sent([2])  # a late PUBACK never moves an event back
    assert [e.seq for e in log.unsent(unreceived=True)] == [1, 4, 5]
    # retention: the received go first, then the ones only the broker has (counted lost)
    assert log.prune(max_rows=4, max_age=timedelta(days=1)) == 0
    assert [e.seq for e in log.recent(10)] == [1, 4, 5, 6]
    assert log.prune(max_rows=2, max_age=timedelta(days=1)) == 1  # 6 went first, then 1
    assert [e.seq for e in log.recent(10)] == [4, 5]


def test_a_replay_sends_received_events_again(tmp_path: Path, clock: ManualClock) -> None:
    log = log_at(tmp_path / "e.db", clock)
    for _ in range(5):
        log.append(EventType.DOOR_OPENED)
    log.mark_received([(1, 5)])
    assert log.prune(max_rows=3, max_age=timedelta(days=1)) == 0  # 1 and 2 are gone
    assert log.reopen_from(2) == (3, 3)  # 3..5 go again; 3 is the oldest held
    assert [e.seq for e in log.unsent(unreceived=True)] == [3, 4, 5]
