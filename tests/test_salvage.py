"""A truncated or damaged events.db gives back every row that can still be read, says how
many are lost, never raises and never makes a row up."""

from __future__ import annotations

import json
import random
import sqlite3
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from agent.core.kinds import EventType
from agent.gate.app import App
from agent.models.config import GateConfig
from agent.store.db import connect
from agent.store.event_schema import STEPS
from agent.store.integrity import salvage
from agent.store.schema import upgrade

PAGE = 4096
ROWS = "SELECT seq, id, time, type, door, details, sent FROM events ORDER BY seq"


def _rows(db: Path) -> dict[int, tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return {row[0]: tuple(row) for row in conn.execute(ROWS)}
    finally:
        conn.close()


def _rows_on_pages(db: Path, pages: int) -> int:
    """How many event rows sit on leaf pages among the file's first ``pages``: what a cut
    there leaves readable, wherever the other tables put their pages."""
    conn = sqlite3.connect(db)
    try:
        query = "SELECT SUM(ncell) FROM dbstat WHERE name = 'events' AND pagetype = 'leaf' "
        return int(conn.execute(query + "AND pageno <= ?", (pages,)).fetchone()[0] or 0)
    finally:
        conn.close()


@pytest.mark.parametrize(("cut", "at_least"), [("last page", 290), ("half", 50)])
def test_a_truncated_event_log_gives_back_what_can_be_read(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig], cut: str, at_least: int
) -> None:
    """Every row on a page the cut left is given back (``at_least``: a floor for the
    layout of today's file, about a sixth of the rows for a cut in half)."""
    config = make_config()
    gate = make_app(config)
    gate.start(threaded=False)
    gate.loop.pump()
    for n in range(300):
        gate.emit(EventType.EXIT_REQUEST, "main", n=n, pad="x" * 200)
    paths = gate.paths
    gate.stop()
    conn = sqlite3.connect(paths.events_db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    before = _rows(paths.events_db)
    highest = max(before)
    data = paths.events_db.read_bytes()
    keep = len(data) - PAGE if cut == "last page" else len(data) // 2 // PAGE * PAGE
    readable = _rows_on_pages(paths.events_db, keep // PAGE)
    assert readable >= at_least
    paths.events_db.write_bytes(data[:keep])

    again = make_app(config)
    again.start(threaded=False)
    again.loop.pump()
    (recovery,) = [
        e.details for e in again.events.recent(2000) if e.type is EventType.DATABASE_RECOVERED
    ]
    saved = int(str(recovery["salvaged_rows"]))
    after = {seq: row for seq, row in _rows(paths.events_db).items() if seq <= highest}
    assert saved == len(after) >= readable, (saved, readable, len(before))
    lost = int(str(recovery["lost_rows"]))
    assert lost == len(before) - saved  # nothing was pruned: every gap is a loss
    assert all(before[seq] == row for seq, row in after.items())  # as written, none made up
    assert 1 in after  # the oldest pages survive a cut at the end
    print(f"{cut}: {saved} of {len(before)} salvaged, {lost} lost")


@cache
def _source() -> bytes:
    """An events.db of 300 events, checkpointed, as bytes (built once)."""
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "events.db"
        conn = connect(db)
        upgrade(conn, "events", STEPS)
        for n in range(300):
            details = json.dumps({"n": n, "pad": "x" * (n % 7) * 300})  # some overflow pages
            conn.execute(
                "INSERT INTO events (id, time, type, door, details, sent) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (f"e{n:04d}", "2026-12-01T10:00:00+00:00", "exit_request", "main", details, n % 3),
            )
        conn.execute("DELETE FROM events WHERE seq <= 20")  # retention: freed pages stay
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.close()
        return db.read_bytes()


@cache
def _source_rows() -> dict[int, tuple[object, ...]]:
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "events.db"
        db.write_bytes(_source())
        return _rows(db)


DAMAGE = st.lists(
    st.tuples(st.integers(0, 200), st.sampled_from(["zero", "noise", "pattern"])), max_size=4
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.floats(0.0, 1.0), damage=DAMAGE, seed=st.integers(0, 2**32 - 1))
@example(cut=0.9999999999999999, damage=[], seed=0)  # one byte short: a torn last page
def test_salvage_never_raises_and_never_makes_a_row_up(
    cut: float, damage: list[tuple[int, str]], seed: int
) -> None:
    data = bytearray(_source())
    original = _source_rows()
    pages = len(data) // PAGE
    noise = random.Random(seed)
    for page, kind in damage:
        start = (page % pages) * PAGE
        if kind == "zero":
            fill = bytes(PAGE)
        elif kind == "noise":
            fill = noise.randbytes(PAGE)
        else:
            fill = bytes(range(256)) * (PAGE // 256)
        data[start : start + PAGE] = fill
    with tempfile.TemporaryDirectory() as folder:
        old, new = Path(folder) / "old.db", Path(folder) / "new.db"
        old.write_bytes(bytes(data[: int(len(data) * cut)]))
        got = salvage(old, new)
        saved = _rows(new)
    assert got.saved == len(saved) and got.lost >= 0
    for seq, row in saved.items():
        assert original.get(seq) == row, f"seq {seq} was not in the log as written"


def test_a_row_on_a_torn_last_page_is_not_read_as_zeros() -> None:
    # the last byte of the file is the newest row's sent (2); SQLite reads a torn page
    # with the missing bytes as zeros, which made that row come back unsent
    data = _source()
    assert data[-1] == 2 and _source_rows()[300][-1] == 2
    with tempfile.TemporaryDirectory() as folder:
        old, new = Path(folder) / "old.db", Path(folder) / "new.db"
        old.write_bytes(data[:-1])
        got = salvage(old, new)
        saved = _rows(new)
        assert sorted(p.name for p in Path(folder).iterdir()) == ["new.db", "old.db"]
    assert got.saved == len(saved) >= 250
    assert 300 not in saved and got.lost >= 1  # its page is torn: lost, not made up
    assert all(_source_rows()[seq] == row for seq, row in saved.items())


@settings(max_examples=100, deadline=None)
@given(head=st.integers(0, 3), body=st.binary(max_size=3 * PAGE))
def test_salvage_of_any_bytes_never_raises(head: int, body: bytes) -> None:
    # a real header (page size, freelist) in front of arbitrary pages, or none at all
    data = _source()[: head * PAGE] + body
    with tempfile.TemporaryDirectory() as folder:
        old, new = Path(folder) / "old.db", Path(folder) / "new.db"
        old.write_bytes(data)
        got = salvage(old, new)
        saved = _rows(new)
    assert got.saved == len(saved)
    assert all(_source_rows().get(seq) == row for seq, row in saved.items())
