"""Cleaning up list files: which generations may go, and freeing a retired one's blocks.

A list file is removed only when no builder or reader (in any process) holds its flock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path

from agent.store.listfile import FREE_PAUSE_S, FREE_STEP_BYTES, SIDE_FILES, generations, list_path


def remove_stale(folder: Path, keep: str | None) -> list[Path]:
    """Delete list files other than ``keep`` that no builder or reader holds; returns
    what went.

    Call it with the catalog locked, so ``keep`` is the live list for certain. A reader
    that still has a removed file open keeps reading it until it notices the switch.
    """
    removed: list[Path] = []
    for gen, paths in generations(folder).items():
        main = list_path(folder, gen)
        if main.name == keep:
            continue
        if main.exists() and _held(main):
            continue
        for path in sorted(paths, key=lambda p: p.name, reverse=True):  # side files first
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _held(path: Path) -> bool:
    """True while a builder or a reader (in any process) holds the file's flock."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def let_go(fd: int, path: Path) -> None:
    """Close ``fd``, open on a list file the catalog no longer names. If no other
    builder or reader holds the file, remove it and free its blocks a step at a time."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)  # still read elsewhere: the last one to close it frees it
        return
    try:
        with contextlib.suppress(FileNotFoundError):
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                for suffix in (*SIDE_FILES, ""):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
        size = os.fstat(fd).st_size
        while size > 0:
            size = max(0, size - FREE_STEP_BYTES)
            os.ftruncate(fd, size)
            time.sleep(FREE_PAUSE_S)  # pacing the disk, not measuring time
    finally:
        os.close(fd)
