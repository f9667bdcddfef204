"""Which of a gate's seqs the office holds: a mark kept on insert, gaps found by index.

Choice: each gate's row in ``gates`` keeps ``first_seq`` (the lowest seq of the first
batch stored for it) and ``contiguous_seq`` (every seq from ``first_seq`` up to it is
stored). A batch moves the mark only when it holds ``contiguous_seq + 1``: the mark first
runs through the batch's own seqs in memory, then walks the ``(site, gate, seq)`` index
over events stored earlier past a hole, up to the next hole. Each event is walked over at
most once in its life, and ``highest_contiguous_seq`` reads one row. Writers are serialised
(``Sql.lock_writers``), so two batches can never each miss the other's seqs.

``missing_ranges`` scans only the seqs above the mark (events that arrived past a hole),
with a window function in the database, and returns the holes alone. A seq below
``first_seq`` (an old event replayed later) is stored and queried like any other but is
outside this accounting: the office asks only for what came after its first batch.
"""

from __future__ import annotations

from datetime import datetime

from agent.office.db.base import Sql

_ABOVE = "SELECT seq FROM events WHERE site = ? AND gate = ? AND seq > ? ORDER BY seq LIMIT ?"
_HOLES = (
    "SELECT prev + 1, seq - 1 FROM (SELECT seq, LAG(seq) OVER (ORDER BY seq) AS prev "
    "FROM events WHERE site = ? AND gate = ? AND seq > ? AND seq <= ?) AS above "
    "WHERE seq > prev + 1 ORDER BY seq"
)
_SPAN = "SELECT MIN(seq), MAX(seq) FROM events WHERE site = ? AND gate = ? AND seq > ? AND seq <= ?"


def run_end(sql: Sql, site: str, gate: str, mark: int) -> int:
    """The highest seq N >= ``mark`` with ``mark+1 .. N`` all stored (``mark`` if none is).

    Walks the seq index in growing pages and stops at the first hole. A plain ordered
    range scan on purpose: an anti-join ("no seq+1") is faster on paper, but PostgreSQL
    planned it as a nested loop over the whole gate while the table's statistics were
    stale (a fresh table of 50,000 events took minutes).
    """
    page = 256
    while True:
        rows = sql.run(_ABOVE, (site, gate, mark, page))
        for (seq,) in rows:
            if seq > mark + 1:
                return mark
            mark = seq  # seq == mark + 1, or a repeat of mark (a seq stored under two ids)
        if len(rows) < page:
            return mark
        page = min(page * 4, 65536)


def note_batch(
    sql: Sql, site: str, gate: str, seqs: set[int], top_seq: int, top_time: datetime
) -> None:
    """After a batch for one gate is inserted (in its transaction): move the gate's marks."""
    sql.run("INSERT INTO gates (site, gate) VALUES (?, ?) ON CONFLICT DO NOTHING", (site, gate))
    first, mark, last_seq, last_time = sql.run(
        "SELECT first_seq, contiguous_seq, last_event_seq, last_event_time FROM gates "
        "WHERE site = ? AND gate = ?",
        (site, gate),
    )[0]
    if first is None:
        first = min(seqs)
        mark = first - 1
    if mark + 1 in seqs:
        while mark + 1 in seqs:  # the batch itself first: no query for an in-order batch
            mark += 1
        mark = run_end(sql, site, gate, mark)  # then what arrived earlier past a hole
    if last_seq is None or top_seq > last_seq:
        last_seq, last_time = top_seq, sql.time_in(top_time)
    sql.run(
        "UPDATE gates SET first_seq = ?, contiguous_seq = ?, last_event_seq = ?, "
        "last_event_time = ? WHERE site = ? AND gate = ?",
        (first, mark, last_seq, last_time, site, gate),
    )


def backfill(sql: Sql) -> None:
    """Every gate's marks from the events already stored (a migration step)."""
    spans = sql.run("SELECT site, gate, MIN(seq), MAX(seq) FROM events GROUP BY site, gate")
    for site, gate, low, high in spans:
        (top_time,) = sql.run(
            "SELECT MAX(time) FROM events WHERE site = ? AND gate = ? AND seq = ?",
            (site, gate, high),
        )[0]
        sql.run(
            "INSERT INTO gates (site, gate, first_seq, contiguous_seq, last_event_seq, "
            "last_event_time) VALUES (?, ?, ?, ?, ?, ?)",
            (site, gate, low, run_end(sql, site, gate, low - 1), high, top_time),
        )


def contiguous(sql: Sql, site: str, gate: str) -> int:
    """The gate's mark, or 0 when the office has no event of it."""
    rows = sql.run("SELECT contiguous_seq FROM gates WHERE site = ? AND gate = ?", (site, gate))
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0


def missing(sql: Sql, site: str, gate: str, upto: int) -> list[tuple[int, int]]:
    """Inclusive ranges above the gate's mark, up to ``upto``, that hold no stored event."""
    mark = contiguous(sql, site, gate)
    if upto <= mark:
        return []
    low, high = sql.run(_SPAN, (site, gate, mark, upto))[0]
    if low is None:
        return [(mark + 1, upto)]
    holes = [(mark + 1, int(low) - 1)] if low > mark + 1 else []
    holes += [(int(a), int(b)) for a, b in sql.run(_HOLES, (site, gate, mark, upto))]
    if high < upto:
        holes.append((int(high) + 1, upto))
    return holes
