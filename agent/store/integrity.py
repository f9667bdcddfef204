"""Checking a gate's databases before they are opened: a damaged file is set aside.

A corrupt, truncated or foreign file must never become a crash loop. At start each
database gets ``PRAGMA quick_check`` and a look at its tables; a bad one is renamed
with a timestamp (with its WAL, so nothing is thrown away), and the gate starts on
the safe default: an empty allow-list (every card denied until the office sends a
snapshot), or an event log holding whatever rows of the old one SQLite can still
read. The gate reports each recovery as an alarm once it runs.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from agent.errors import StorageError
from agent.store.catalog import live_list
from agent.store.db import connect
from agent.store.event_schema import STEPS as EVENT_STEPS
from agent.store.listfile import generations, list_path
from agent.store.paths import StatePaths
from agent.store.salvage import Salvaged, salvage_events, whole_pages
from agent.store.schema import upgrade
from agent.store.seq_reserve import SeqReserve

log = logging.getLogger(__name__)

_BATCH = 500
_SIDE_FILES = ("-wal", "-shm", "-journal")


@dataclass(frozen=True)
class Recovery:
    """One database found damaged at start, and what was done about it."""

    database: str  # "events", "allowlist" or "passes"
    problem: str
    moved_to: Path | None
    salvaged: int = 0
    lost: int = 0  # seqs between the oldest salvaged and the newest handed out

    def outcome(self) -> str:
        """What the gate did, in words for its log."""
        aside = f"set aside as {self.moved_to}; " if self.moved_to else ""
        if self.database == "allowlist":
            return aside + "every card is denied until the office sends the list"
        if self.database == "passes":
            return aside + "visitor passes start afresh (uses and revocations are lost)"
        return aside + (
            f"{self.salvaged} event(s) salvaged, {self.lost} lost (gaps in seq); "
            "seq continues above the old log's"
        )

    def details(self) -> dict[str, object]:
        return {
            "database": self.database,
            "problem": self.problem,
            "moved_to": str(self.moved_to) if self.moved_to else None,
            "salvaged_rows": self.salvaged,
            "lost_rows": self.lost,
        }


def probe_writable(folder: Path) -> None:
    """Fail at once, in one line, if the state folder cannot take a write and an fsync."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".write-probe"
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"\0" * 4096)
            os.fsync(fd)
        finally:
            os.close(fd)
            probe.unlink(missing_ok=True)
    except OSError as exc:
        raise StorageError(
            f"state folder {folder} cannot be written: {exc.strerror or exc}"
        ) from None


def problem_with(path: Path, required: Iterable[str]) -> str | None:
    """Why the database at ``path`` cannot be trusted, or None if it can (or is absent)."""
    if not path.exists():
        return None
    if path.is_dir():
        return "is a folder, not a database"
    if path.stat().st_size == 0:
        return "empty file (truncated)"
    try:
        conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True)
    except sqlite3.Error as exc:
        return str(exc)
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
        if rows != [("ok",)]:
            return "quick_check: " + "; ".join(str(r[0]) for r in rows[:3])
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.Error as exc:
        return str(exc)
    finally:
        conn.close()
    missing = sorted(set(required) - tables)
    if tables and missing:
        return f"missing table(s): {', '.join(missing)}"
    return None


def move_aside(path: Path, when: datetime) -> Path:
    """Rename the database and its side files to ``NAME.corrupt-YYYYmmddTHHMMSSZ``."""
    stamp = when.strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    try:
        if path.is_dir():
            path.rename(target)
            return target
        for suffix in _SIDE_FILES:
            side = path.with_name(path.name + suffix)
            if side.exists():
                side.rename(target.with_name(target.name + suffix))
        path.rename(target)
    except OSError as exc:
        raise StorageError(f"cannot move damaged {path} aside: {exc.strerror or exc}") from None
    return target


def salvage(old: Path, new: Path) -> Salvaged:
    """Copy every row SQLite, or a read of the file's pages, can still get from ``old``
    into a fresh ``new`` (``salvage.py``); returns how many events were saved and lost.

    Tables are created from the old file's own definitions, at its schema version (so
    later upgrade steps run on the rows as they were); if those cannot be read, the
    new file gets the current layout. Events keep their seq.
    """
    with whole_pages(old, new.with_name(new.name + ".whole-pages")) as readable:
        return _salvage_from(readable, old, new)


def _salvage_from(readable: Path, old: Path, new: Path) -> Salvaged:
    try:
        src = sqlite3.connect(f"file:{readable}?mode=ro", uri=True)
    except sqlite3.Error:
        src = sqlite3.connect(":memory:")
    dst = connect(new)
    try:
        try:
            tables = src.execute(
                "SELECT name, sql FROM sqlite_master WHERE type='table' "
                "AND name NOT LIKE 'sqlite_%' AND sql IS NOT NULL"
            ).fetchall()
            version = int(src.execute("PRAGMA user_version").fetchone()[0])
        except sqlite3.Error:
            tables, version = [], 0
        made = set()
        for name, sql in tables:
            try:
                dst.execute(sql)
            except sqlite3.Error:
                continue
            made.add(name)
            if name != "events":
                _copy_table(src, dst, name)
        if "events" in made and 0 < version <= len(EVENT_STEPS):
            dst.execute(f"PRAGMA user_version = {version}")  # an int we read
        elif "events" not in made:
            upgrade(dst, "events", EVENT_STEPS)
        return salvage_events(src, old, dst)
    finally:
        src.close()
        dst.close()


def _copy_table(src: sqlite3.Connection, dst: sqlite3.Connection, name: str) -> None:
    quoted = '"' + name.replace('"', '""') + '"'
    try:
        cur = src.execute(f"SELECT * FROM {quoted}")
        while rows := cur.fetchmany(_BATCH):
            marks = ",".join("?" for _ in rows[0])
            dst.executemany(f"INSERT OR IGNORE INTO {quoted} VALUES ({marks})", rows)
    except sqlite3.Error as exc:
        log.warning("salvage of table %s stopped at a damaged page: %s", name, exc)


def _check_allowlist(paths: StatePaths, now: datetime) -> Recovery | None:
    """The catalog, then the list file it names. Never salvaged: a half-read allow-list
    could grant a card the office revoked. Whatever is damaged is set aside with the
    list files, and the gate starts with no list."""
    problem = problem_with(paths.allowlist_db, ("meta",))
    damaged = paths.allowlist_db
    if problem is None and (live := live_list(paths.allowlist_db)) is not None:
        problem = "missing" if not live.exists() else problem_with(live, ("allowlist", "meta"))
        if problem:
            problem, damaged = f"{live.name}: {problem}", live
    if problem is None:
        return None
    moved = move_aside(damaged, now) if damaged.exists() else None
    for gen in sorted(generations(paths.dir)):
        if list_path(paths.dir, gen).exists():
            move_aside(list_path(paths.dir, gen), now)
    if paths.allowlist_db.exists():
        move_aside(paths.allowlist_db, now)
    return Recovery("allowlist", problem, moved)


def check_state(paths: StatePaths, now: datetime) -> list[Recovery]:
    """Check a gate's databases (its folder is known writable); set aside and rebuild
    what is damaged. Run only under the gate's instance lock."""
    recoveries: list[Recovery] = []
    if recovery := _check_allowlist(paths, now):
        recoveries.append(recovery)
    if problem := problem_with(paths.passes_db, ("uses", "revoked", "delivered")):
        recoveries.append(Recovery("passes", problem, move_aside(paths.passes_db, now)))
    reserve = SeqReserve(paths.events_seq).value
    if problem := problem_with(paths.events_db, ("events",)):
        moved = move_aside(paths.events_db, now)
        try:
            got = salvage(moved, paths.events_db)
        except (sqlite3.Error, OSError) as exc:
            raise StorageError(f"cannot rebuild {paths.events_db}: {exc}") from None
        recoveries.append(Recovery("events", problem, moved, got.saved, got.lost))
    elif reserve and not paths.events_db.exists():
        recoveries.append(Recovery("events", "missing", None))
    for recovery in recoveries:
        log.error(
            "%s database %s: %s; %s",
            recovery.database,
            "damaged" if recovery.moved_to else "gone",
            recovery.problem,
            recovery.outcome(),
        )
    return recoveries
