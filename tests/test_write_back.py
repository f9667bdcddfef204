"""A list build hands its pages to the disk as it grows (``PageWriter``), so no burst of
megabytes waits in front of a decision's fsync; without ``sync_file_range`` it flushes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.store import write_back
from agent.store.listfile import COLUMNS, ListBuilder
from agent.store.write_back import PageWriter


def test_pages_are_handed_over_every_step_of_growth_without_waiting(tmp_path: Path) -> None:
    calls: list[tuple[int, int, int, int]] = []

    def start(fd: int, offset: int, count: int, flags: int) -> int:
        calls.append((fd, offset, count, flags))
        return 0

    fd = os.open(tmp_path / "f", os.O_RDWR | os.O_CREAT)
    try:
        pages = PageWriter(fd, start)
        step = write_back.START_EVERY_BYTES
        pages.grew(step - 1)
        assert calls == []
        pages.grew(step)
        pages.grew(step + 10)  # not a step past the last hand-over
        pages.grew(2 * step + 5)
        assert calls == [(fd, 0, 0, write_back.SYNC_FILE_RANGE_WRITE)] * 2
        assert pages.handed == 2 and pages.starts_writes
    finally:
        os.close(fd)


def test_a_refused_hand_over_falls_back_to_flushing_at_a_coarser_step(tmp_path: Path) -> None:
    fd = os.open(tmp_path / "f", os.O_RDWR | os.O_CREAT)
    try:
        refused: list[int] = []
        pages = PageWriter(fd, lambda *args: refused.append(1) or -1)
        os.write(fd, b"x" * 4096)
        pages.now()  # refused: flushed instead, and never asked again
        pages.now()
        assert refused == [1] and not pages.starts_writes and pages.handed == 2
        pages.grew(write_back.START_EVERY_BYTES * 2)  # below the flush step now
        assert pages.handed == 2
        pages.grew(write_back.SYNC_EVERY_BYTES)
        assert pages.handed == 3
    finally:
        os.close(fd)
    closed = PageWriter(fd, None)  # a flush that fails says so (the build then fails)
    with pytest.raises(OSError):
        closed.now()


def test_a_list_build_hands_its_pages_over_as_rows_arrive(tmp_path: Path) -> None:
    build = ListBuilder(tmp_path / "allowlist.000001.db")
    try:
        assert build._pages.starts_writes  # libc's sync_file_range was found
        row = ["x" * 64, "R-1", "resident", *[None] * (len(COLUMNS) - 3)]
        for batch in range(20):
            build.add([(f"{batch:04d}{i:060d}", *row[1:], i) for i in range(1000)])
        assert build._pages.handed >= 4  # about 100 bytes a row: 2 MB in all
        assert build.finish(None) == 20_000
    finally:
        build.discard()
