"""One agent per state folder: an exclusive lock taken before any device is touched."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from agent.errors import FatalError


class InstanceLock:
    """flock on ``<state>/agent.lock``; the kernel drops it if the process dies."""

    def __init__(self, path: Path) -> None:
        state_dir = path.parent
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self._fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(self._fd)
            raise FatalError(
                f"another agent is already running on {state_dir} (pid {holder})"
            ) from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
