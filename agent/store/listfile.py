"""One allow-list in a file of its own, built apart at full speed and then switched in.

A new list (an import, an office snapshot, a list carried over from an older layout)
is written into a fresh file named for its generation, ``allowlist.<gen>.db``, beside
the catalog ``allowlist.db`` that names the live one (its rows: ``list_writer.py``).

Locks (``flock``): a builder holds its file exclusively and a reader holds the list
it has attached shared, so a cleanup never removes a list another process is still
building or reading; every other file of that name pattern that the catalog does not
name is stale (a build cut short, a list replaced) and may go. Freeing a large file's
blocks at once holds up the event log's fsync for tens of milliseconds, so whoever
lets go of a replaced list last shrinks it a few megabytes at a time (``let_go``).
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import ImportRejected
from agent.store.list_writer import BUILD_CACHE_KB, ListWriter, fsync_dir

_NAME = re.compile(r"^allowlist\.(\d+)\.db(-wal|-shm|-journal)?$")
SIDE_FILES = ("-wal", "-shm", "-journal")
FREE_STEP_BYTES = 8 << 20  # a replaced list is freed this much at a time ...
FREE_PAUSE_S = 0.001  # ... with the disk left to others in between


def list_path(folder: Path, gen: int) -> Path:
    return folder / f"allowlist.{gen:06d}.db"


def generations(folder: Path) -> dict[int, list[Path]]:
    """Every list file (and its side files) in ``folder``, by generation."""
    found: dict[int, list[Path]] = {}
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return found
    for name in names:
        match = _NAME.match(name)
        if match:
            found.setdefault(int(match.group(1)), []).append(folder / name)
    return found


class ListBuilder:
    """A new list file, created and held (``flock``) until the catalog names it or it goes.

    Its rows are written by a ``ListWriter``: this one's own (``add``, ``copy_from``,
    ``finish``), or, after ``hand_over``, one in another process (an office snapshot
    built by the list worker), which ends with ``sealed``. ``discard`` removes the file
    (a no-op once the catalog names it: ``adopted``).
    """

    def __init__(self, path: Path, cache_kb: int = BUILD_CACHE_KB) -> None:
        self.path = path
        self.adopted = False
        # created here, so no other builder can have the name; the flock says "in use"
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        folder = os.stat(path.parent)
        if os.geteuid() == 0 and (folder.st_uid, folder.st_gid) != (0, 0):
            os.fchown(self._fd, folder.st_uid, folder.st_gid)  # an import run as root
        self._writer: ListWriter | None = None
        try:
            self._writer = ListWriter(path, cache_kb, create=True)
        except BaseException:
            self.discard()
            raise

    @property
    def writer(self) -> ListWriter:
        if self._writer is None:
            raise ImportRejected("the new list was already finished, handed over or discarded")
        return self._writer

    @property
    def size(self) -> int:
        return self.writer.size

    def add(self, rows: Iterable[Sequence[Any]]) -> None:
        """Append rows (each ``COLUMNS`` plus its place) in one transaction."""
        self.writer.add(rows)

    def copy_from(self, source: Path) -> int | None:
        """Take every row of an older layout's file; returns the version it recorded."""
        return self.writer.copy_from(source)

    def duplicates(self, limit: int) -> tuple[list[tuple[int, int]], int]:
        return self.writer.duplicates(limit)

    def finish(self, version: int | None) -> int:
        """Index, record version and size, make the file WAL and durable; returns the size.

        ``DuplicateRows`` if a credential is there twice (the rows stay, for ``duplicates``).
        """
        size = self.writer.finish(version)
        self._writer = None
        self.sealed()
        return size

    def hand_over(self) -> Path:
        """Close this process's connection so another may write the file (the flock
        stays here); returns the file's path."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        return self.path

    def sealed(self) -> None:
        """The writer finished and synced the file: make its name durable too."""
        fsync_dir(self.path.parent)

    def release(self) -> None:
        """The catalog names the file now: give up the flock, keep the file."""
        self.adopted = True
        self._close_fd()

    def discard(self) -> None:
        """Remove the file (unless the catalog took it)."""
        self.hand_over()
        if not self.adopted:
            for suffix in ("", *SIDE_FILES):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        self._close_fd()

    def _close_fd(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


# writes a staged chunk's rows into a new list, placed from the given base
StageWrite = Callable[[ListBuilder, int], None]
# finishes a list another process wrote (``ListBuilder.hand_over``); returns its size
Finish = Callable[[ListBuilder, int], int] | None


@dataclass
class StagedList:
    """A snapshot arriving in chunks, built into its own file as they come."""

    snapshot_id: str
    version: int
    chunks: int
    build: ListBuilder
    seen: set[int] = field(default_factory=set)
