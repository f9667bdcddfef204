"""The LED sign's serial backend through a real pty (the call a Pi makes), and its layout."""

from __future__ import annotations

import os
import select
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.core.clock import ManualClock
from agent.core.runner import Threads
from agent.gate.barrier_sign import outcome_words
from drivers import registry
from drivers.base import DriverContext
from drivers.sign import SerialSign, cells, encode_update, layout


def read_update(master: int, timeout: float = 5.0) -> bytes:
    """Bytes from the sign's port up to the empty row that ends one update."""
    data, deadline = b"", time.monotonic() + timeout
    while not data.endswith(b"\r\n\r\n"):
        left = deadline - time.monotonic()
        assert left > 0, f"no whole update, got {data!r}"
        if select.select([master], [], [], left)[0]:
            data += os.read(master, 4096)
    return data


@pytest.fixture
def threads() -> Iterator[Threads]:
    t = Threads("test")
    yield t
    t.stop()


def make_sign(port: Path | str, **options: object) -> SerialSign:
    sign = registry.create("sign", "serial", "car.sign", {"port": str(port), **options},
                           DriverContext(ManualClock()))  # fmt: skip
    assert isinstance(sign, SerialSign)
    return sign


def test_rows_go_out_in_gb2312_one_update_at_a_time(threads: Threads) -> None:
    master, slave = os.openpty()
    sign = make_sign(os.ttyname(slave), columns=16)
    try:
        sign.start(threads)
        sign.show(("欢迎回家", "剩余车位 12"))
        update = read_update(master)
        assert update == "欢迎回家\r\n剩余车位 12\r\n\r\n".encode("gb2312")
        sign.show(("未登记车辆请联系保安值班台", ""))  # cut to 16 cells: 8 characters
        assert read_update(master).decode("gb2312") == "未登记车辆请联系\r\n\r\n\r\n"
    finally:
        sign.close()
        os.close(master)
        os.close(slave)


def test_an_unplugged_sign_never_blocks_and_gets_the_newest_text_when_back(
    threads: Threads, tmp_path: Path
) -> None:
    link = tmp_path / "ttyLED"
    sign = make_sign(link, retry_s=0.05, encoding="utf-8")
    sign.start(threads)
    for n in range(200):  # nothing to write to: each waits in the mailbox, newest wins
        sign.show((f"car {n}",))
    deadline = time.monotonic() + 5
    while not sign.last_error and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sign.last_error and sign.sent == 0
    master, slave = os.openpty()
    os.symlink(os.ttyname(slave), link)
    try:
        assert read_update(master) == b"car 199\r\n\r\n\r\n"  # only the newest
        # counted once the write returns: the bytes can reach the pty's reader first
        deadline = time.monotonic() + 5
        while sign.sent == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)  # and nothing older follows it
        assert sign.sent == 1
    finally:
        sign.close()
        os.close(master)
        os.close(slave)


@given(st.lists(st.text(max_size=40), max_size=6), st.integers(1, 8), st.integers(4, 40),
       st.sampled_from(["gb2312", "gbk", "gb18030", "utf-8"]))  # fmt: skip
def test_any_text_fits_the_sign_and_encodes(rows: list[str], count: int, columns: int,
                                            encoding: str) -> None:  # fmt: skip
    shown = layout(tuple(rows), count, columns)
    assert len(shown) == count
    for row in shown:
        assert sum(cells(c) for c in row) <= columns
        assert "\r" not in row and "\n" not in row
    data = encode_update(shown, encoding)
    assert data.endswith(b"\r\n\r\n") or count == 0
    assert data.count(b"\r\n") == count + 1


@pytest.mark.parametrize(("granted", "reason", "kind", "zh", "en"), [
    (True, "granted", "resident", "欢迎回家", "Welcome home"),
    (True, "granted", "staff", "允许通行", "Go ahead"),
    (False, "unknown", None, "未登记车辆", "Not registered"),
    (False, "car_park_full", "visitor", "车位已满", "Car park full"),
    (False, "card_locked_out", None, "拒绝通行", "Access denied"),
])  # fmt: skip
def test_outcome_words(granted: bool, reason: str, kind: str | None, zh: str, en: str) -> None:
    assert outcome_words(granted, reason, kind, "zh-Hans") == zh
    assert outcome_words(granted, reason, kind, "en") == en
