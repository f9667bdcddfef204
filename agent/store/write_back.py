"""Hand a file's dirty pages to the disk as they build up, without waiting for them.

A disk flush (the event log's fsync, a decision's) waits for every write queued before
it. A list build that leaves megabytes dirty and then syncs them in one go puts a burst
of that size in front of the next decision's fsync. Linux's ``sync_file_range`` with
``SYNC_FILE_RANGE_WRITE`` starts writing a file's dirty pages and returns at once, so a
caller that calls it every few hundred kilobytes keeps the queue short: what PostgreSQL's
``*_flush_after`` settings and RocksDB's ``bytes_per_sync`` do for the same reason.
Python's ``os`` module does not offer the call, so it is reached through libc; where it
is missing (not Linux), a plain ``fdatasync`` at a coarser step stands in.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable

SYNC_FILE_RANGE_WRITE = 2  # <fcntl.h>: start writing dirty pages, wait for nothing
START_EVERY_BYTES = 256 << 10  # what a build may leave dirty before it is handed on
SYNC_EVERY_BYTES = 4 << 20  # without sync_file_range: flushed (and waited for) this often

_StartWrite = Callable[[int, int, int, int], int]


def _libc_sync_file_range() -> _StartWrite | None:
    try:
        call = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (AttributeError, OSError):
        return None
    call.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    call.restype = ctypes.c_int
    return call


class PageWriter:
    """Keeps what a file being built leaves dirty under ``START_EVERY_BYTES``.

    ``grew(size)`` after each write: once the file has grown that much since the last
    hand-over, every dirty page of the file is handed to the disk (not waited for).
    ``now()`` hands them over whatever the growth (a long statement, paced by a timer).
    """

    def __init__(self, fd: int, start: _StartWrite | bool | None = True) -> None:
        """``start``: True finds libc's call; False or None uses ``fdatasync`` only."""
        self._fd = fd
        self._start = _libc_sync_file_range() if start is True else start or None
        self._step = START_EVERY_BYTES if self._start else SYNC_EVERY_BYTES
        self._handed_at = 0
        self.handed = 0  # hand-overs so far (tests and benchmarks read it)

    @property
    def starts_writes(self) -> bool:
        """True when pages are handed over without waiting (sync_file_range)."""
        return self._start is not None

    def grew(self, size: int) -> None:
        if size - self._handed_at >= self._step:
            self.now()
            self._handed_at = size

    def now(self) -> None:
        """Hand every dirty page over; without sync_file_range, flush them (and wait)."""
        self.handed += 1
        if self._start is None:
            os.fdatasync(self._fd)
            return
        if self._start(self._fd, 0, 0, SYNC_FILE_RANGE_WRITE) != 0:
            # refused (a kernel without it, a file system that fails): from now on the
            # plain flush, which reports a failing disk as an OSError
            self._start = None
            self._step = SYNC_EVERY_BYTES
            os.fdatasync(self._fd)
