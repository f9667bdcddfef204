"""The local allow-list: read in the hot path, replaced by switching files in O(1).

``allowlist.db`` is a small catalog that names the live list, a file of its own
(``listfile.py``). A whole new list (an import, an office snapshot) is built in a
new file while decisions go on reading the old one, then the catalog's pointer
changes in one tiny transaction and the old file is removed. Decisions read through
one connection that has the catalog open and the live list attached; every lookup
reads the pointer in the same statement, so a switch made by this process or by
another (``gate-agent allowlist import`` next to a running agent) is seen by the
next card: the old list or the new one, never a mix. Patches change the live file
in place, in one transaction.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from itertools import islice
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from agent.core.decision import AllowEntry
from agent.errors import ImportRejected
from agent.models.config import GateConfig
from agent.models.messages import MAX_VERSION
from agent.models.wire import AllowListEntry
from agent.store.catalog import STEPS as STEPS
from agent.store.catalog import Catalog, live_list, meta_int
from agent.store.catalog_reader import CatalogReader
from agent.store.db import transaction
from agent.store.list_rows import fields_row as fields_row
from agent.store.list_rows import from_row, to_row
from agent.store.list_writer import COLUMNS, DuplicateRows
from agent.store.listfile import Finish, ListBuilder, StagedList, StageWrite
from agent.store.paths import StatePaths

__all__ = ["STEPS", "AllowListStore", "PatchBaseMismatch", "fields_row", "live_list", "to_row"]

DEFAULT_CACHE_KB = 8 * 1024
SNAPSHOT_SPAN = 1_000_000  # a staged row's place: chunk * SPAN + its index in the chunk
_BATCH = 2000
_INSERT = (
    f"INSERT OR REPLACE INTO allowlist ({', '.join(COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in COLUMNS)})"
)


def check_version(version: int) -> None:
    """Refuse a version the office's messages could not carry (1 to 2**63 - 1): a gate
    holding one would refuse every office snapshot after it."""
    if not 1 <= version <= MAX_VERSION:
        raise ImportRejected(f"allow-list version {version} is outside 1 to {MAX_VERSION}")


class PatchBaseMismatch(ImportRejected):
    """A patch was built against another version than the gate holds."""

    def __init__(self, have: int | None, want: int) -> None:
        super().__init__(f"patch is for version {want}, the gate has {have}")
        self.have = have
        self.want = want


class AllowListStore:
    """Lookups on one connection, changes on another; both thread-safe.

    ``cache_kb`` and ``mmap_bytes`` size what a reader keeps of the live list in
    memory: pages SQLite caches itself, and how much of the file it maps (mapped
    pages count in the process's resident memory as they are touched).
    """

    def __init__(
        self,
        path: Path,
        zone: ZoneInfo,
        cache_kb: int = DEFAULT_CACHE_KB,
        mmap_bytes: int = 0,
    ) -> None:
        self.path = path
        self.zone = zone
        self.folder = path.parent
        self._catalog = Catalog(path)
        self._write_lock = threading.RLock()
        self._staged: StagedList | None = None
        try:
            self._reader = CatalogReader(path, cache_kb, mmap_bytes)
        except BaseException:
            self._catalog.close()
            raise

    @classmethod
    def of(cls, config: GateConfig) -> AllowListStore:
        """The store of a gate's state folder, sized as its ``[storage]`` says."""
        storage = config.storage
        return cls(
            StatePaths(storage.dir).allowlist_db,
            config.zone(),
            cache_kb=storage.allowlist_cache_mb * 1024,
            mmap_bytes=storage.allowlist_mmap_mb << 20,
        )

    def close(self) -> None:
        with self._write_lock:
            self.discard_staged()
            self._reader.close()
            self._catalog.close()

    # -- reading ----------------------------------------------------------------
    def lookup(self, credential: str) -> AllowEntry | None:
        return self.lookup_marked(credential)[0]

    def lookup_marked(self, credential: str) -> tuple[AllowEntry | None, bool]:
        """The entry, and whether the live list is a restored backup's not yet replaced
        by the office's (read in the same statement as the entry)."""
        with self._reader.lock:
            row = self._reader.lookup(credential)
            restored = self._reader.restored is not None
        return (from_row(row) if row else None), restored

    def restore_mark(self) -> dict[str, Any] | None:
        """What ``restore`` recorded (the backup's time and list version) while the
        restored list is in force; None once a list from the office or an import replaced
        or patched it."""
        with self._reader.lock:
            text = self._reader.restore_mark()
        try:
            mark = json.loads(text) if text else None
        except ValueError:
            mark = {}
        return mark if isinstance(mark, dict) or mark is None else {}

    def version(self) -> int | None:
        with self._reader.lock:
            return self._reader.meta("version")

    def count(self) -> int:
        """The list's size as its writer recorded it: one row, not a table scan."""
        with self._reader.lock:
            return self._reader.meta("size") or 0

    def rows(self, limit: int | None = None) -> list[dict[str, Any]]:
        with self._reader.lock:
            self._reader.follow()
            cur = self._reader.conn.execute(
                f"SELECT {', '.join(COLUMNS)} FROM cur.allowlist ORDER BY holder_id, credential "
                "LIMIT ?",
                (-1 if limit is None else limit,),
            )
            return [dict(zip(COLUMNS, row, strict=True)) for row in cur]

    def checkpoint(self) -> None:
        """Housekeeping: checkpoints, and files a reader followed away from (a list
        another process switched out) let go of here, off the decision path."""
        with self._write_lock:
            self._catalog.checkpoint()
        self._reader.release()

    # -- whole lists: built apart, switched in ----------------------------------
    def new_list(self) -> ListBuilder:
        """A new, empty list file to fill and ``install``."""
        with self._write_lock:
            return self._catalog.new_list()

    def install(
        self, build: ListBuilder, version: int, newer_only: bool = False, finish: Finish = None
    ) -> int:
        """Finish ``build`` and make it the live list; returns its size.

        ``newer_only``: refuse a version not above the live one (an old signed snapshot
        must not roll the list back). ``DuplicateRows`` if a credential is there twice.
        ``finish``: how, when another process writes the file (else ``build.finish``).
        """
        check_version(version)
        if newer_only:
            self._refuse_old(version)
        # the slow part, outside every lock
        size = build.finish(version) if finish is None else finish(build, version)
        with self._write_lock:
            with self._catalog.locked():
                if newer_only:
                    self._refuse_old(version)
                build.release()
                self._catalog.point(build)
                self._catalog.clear_restored()
            with self._reader.lock:  # move off the old file now, not at the next card
                self._reader.follow()
            self._catalog.tidy()
        self._reader.release()  # its blocks are freed here, a step at a time
        return size

    def replace(self, entries: Iterable[AllowListEntry], version: int) -> int:
        """Swap in a whole new list; returns its size. Rows stream into the new file."""
        build = self.new_list()
        try:
            rows = ((*to_row(e, self.zone), i) for i, e in enumerate(entries))
            while batch := list(islice(rows, _BATCH)):
                build.add(batch)
            return self.install(build, version)
        except DuplicateRows:
            raise ImportRejected("a credential appears twice in the list") from None
        finally:
            build.discard()

    # -- office snapshots: chunks staged into a new file --------------------------
    def stage(
        self,
        snapshot_id: str,
        version: int,
        chunk: int,
        chunks: int,
        entries: Iterable[AllowListEntry],
    ) -> bool:
        """``stage_with``, the chunk's ``entries`` written by this process."""

        def write(build: ListBuilder, base: int) -> None:
            build.add((*to_row(e, self.zone), base + i) for i, e in enumerate(entries))

        return self.stage_with(snapshot_id, version, chunk, chunks, write)

    def stage_with(
        self, snapshot_id: str, version: int, chunk: int, chunks: int, write: StageWrite
    ) -> bool:
        """Stage one chunk (a repeat is ignored); True when every chunk is staged. A
        chunk of another snapshot discards whatever was staged before: the newest wins.
        ``write(build, base)`` writes the chunk's rows, placed from ``base`` (in another
        process, say, once ``build`` is handed over)."""
        with self._write_lock:
            self._refuse_old(version)
            staged = self._staged
            if staged is not None and staged.snapshot_id != snapshot_id:
                self.discard_staged()
                staged = None
            if staged is not None and (staged.chunks, staged.version) != (chunks, version):
                raise ImportRejected("chunks or version differ within one snapshot")
            if staged is None:
                staged = self._staged = StagedList(snapshot_id, version, chunks, self.new_list())
            if chunk not in staged.seen:
                write(staged.build, chunk * SNAPSHOT_SPAN)
                staged.seen.add(chunk)
            return len(staged.seen) == chunks

    def commit_staged(self, snapshot_id: str, version: int, finish: Finish = None) -> int:
        """Switch the staged snapshot in; returns the new size (``finish``: as ``install``)."""
        with self._write_lock:
            staged, self._staged = self._staged, None
        if staged is None or staged.snapshot_id != snapshot_id:
            raise ImportRejected("no complete snapshot of that id is staged")
        try:
            return self.install(staged.build, version, newer_only=True, finish=finish)
        except DuplicateRows as exc:
            place, first = exc.places
            raise ImportRejected(
                "a credential appears twice in the snapshot (chunk "
                f"{first // SNAPSHOT_SPAN} entry {first % SNAPSHOT_SPAN} and chunk "
                f"{place // SNAPSHOT_SPAN} entry {place % SNAPSHOT_SPAN})"
            ) from None
        finally:
            staged.build.discard()

    def discard_staged(self) -> None:
        with self._write_lock:
            staged, self._staged = self._staged, None
        if staged is not None:
            staged.build.discard()

    # -- patches: in place -------------------------------------------------------
    def patch(
        self,
        base: int,
        version: int,
        upserts: Iterable[AllowListEntry],
        removals: Iterable[str],
    ) -> None:
        """Apply changes made against ``base``; refuses if the gate holds another version."""
        check_version(version)
        rows = {e.credential: to_row(e, self.zone) for e in upserts}  # the last one wins
        gone = [(c,) for c in set(removals) | rows.keys()]
        catalog = self._catalog
        with self._write_lock, catalog.locked() as name, transaction(catalog.live(name)) as conn:
            have = meta_int(conn, "version")
            if have != base:
                raise PatchBaseMismatch(have, base)
            deleted = conn.executemany("DELETE FROM allowlist WHERE credential = ?", gone).rowcount
            conn.executemany(_INSERT, rows.values())
            # a patch on the version the office recorded: the gate holds its list again
            catalog.clear_restored()
            size = (meta_int(conn, "size") or 0) - max(deleted, 0) + len(rows)
            conn.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                [("version", str(version)), ("size", str(size))],
            )

    def _refuse_old(self, version: int) -> None:
        """A snapshot must be newer than the list held: an old signed one cannot roll back."""
        have = self.version()
        if have is not None and version <= have:
            raise ImportRejected(f"snapshot version {version} is not newer than {have}")
