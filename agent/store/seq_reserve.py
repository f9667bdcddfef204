"""The highest event seq a gate may have issued, kept in a small file of its own.

The event log's AUTOINCREMENT never reuses a seq as long as the database survives.
This file covers the case where it does not (a corrupt, truncated or deleted
events.db): the new log continues above every seq the old one could have issued,
so the office never sees two events under one seq. It is written ahead of use, a
block at a time, so the decision path pays for it once in hundreds of events.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from agent.errors import StorageFault

log = logging.getLogger(__name__)

BLOCK = 1000  # how far ahead of the newest seq the reservation is written
MARGIN = BLOCK // 2  # renew once fewer than this many seqs are left


class SeqReserve:
    """An upper bound on issued seqs, durable before any seq under it is used."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.value = self._read()

    def _read(self) -> int:
        try:
            text = self.path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return 0
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("seq reservation %s unreadable (%s): ignored", self.path, exc)
            return 0
        try:
            return max(0, int(text))
        except ValueError:
            log.warning("seq reservation %s is damaged; trusting the event log", self.path)
            return 0

    def cover(self, seq: int) -> None:
        """Make sure ``seq`` (the next to be issued) lies under the reservation."""
        if seq + MARGIN <= self.value:
            return
        # another process on the same log (a CLI import) may have moved it further
        target = max(seq + BLOCK, self._read())
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, f"{target}\n".encode("ascii"))
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            raise StorageFault(
                f"cannot write the seq reservation {self.path}: {exc.strerror or exc}"
            ) from None
        self.value = target
