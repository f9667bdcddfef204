"""Plate pictures on the gate: kept a configured number of days (0: not at all), named
by a random id that events carry instead of the picture, never uploaded by themselves.

A picture is personal data (a plate, often a face behind the windscreen). Files are
written owner-only, in a folder of the state directory; ``prune`` deletes what is older
than the retention and runs every ``PRUNE_EVERY`` pictures kept and at start.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
import time
from pathlib import Path

MAX_PICTURE = 1024 * 1024
PRUNE_EVERY = 100
_ID = re.compile(r"^[0-9a-f]{32}$")


class PictureStore:
    """The gate's plate pictures in ``folder``; thread-safe (the receiver's thread and
    the console both use it)."""

    def __init__(self, folder: Path, keep_days: float) -> None:
        self.folder = folder
        self.keep_s = keep_days * 86400.0
        self._lock = threading.Lock()
        self._kept = 0
        if self.keep_s > 0:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.prune()

    @property
    def keeps(self) -> bool:
        """Whether pictures are kept at all (``picture_days`` above 0)."""
        return self.keep_s > 0

    def keep(self, picture: bytes) -> str | None:
        """Store one picture under a new id; the id, or None if it was not stored."""
        picture_id = secrets.token_hex(16)
        return picture_id if self.keep_as(picture_id, picture) else None

    def keep_as(self, picture_id: str, picture: bytes) -> bool:
        """Store one picture under ``picture_id`` (a camera names it in the read first);
        whether it was stored (not when pictures are not kept, or it is too big)."""
        if self.keep_s <= 0 or not picture or len(picture) > MAX_PICTURE:
            return False
        if not _ID.match(picture_id):
            return False
        path = self.folder / f"{picture_id}.jpg"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(picture)
        except OSError:
            return False  # a full card costs the picture, never the read
        with self._lock:
            self._kept += 1
            due = self._kept % PRUNE_EVERY == 0
        if due:
            self.prune()
        return True

    def get(self, picture_id: str, now: float | None = None) -> bytes | None:
        """A kept picture by id (the console shows it to a guard); None if gone, or older
        than the retention and not yet pruned (it is deleted then: the retention is a
        promise, not a pruning schedule)."""
        if not _ID.match(picture_id):
            return None
        path = self.folder / f"{picture_id}.jpg"
        cutoff = (time.time() if now is None else now) - self.keep_s
        try:
            if self.keep_s <= 0 or path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                return None
            return path.read_bytes()
        except OSError:
            return None

    def prune(self, now: float | None = None) -> int:
        """Delete pictures older than the retention (every one if it is 0); how many."""
        if not self.folder.is_dir():
            return 0
        cutoff = (time.time() if now is None else now) - self.keep_s
        removed = 0
        for path in self.folder.glob("*.jpg"):
            try:
                if self.keep_s <= 0 or path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except OSError:
                continue
        return removed
