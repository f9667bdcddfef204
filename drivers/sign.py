"""LED text signs at a car park's barrier: what a sign is, and its serial backend.

The cheap single- and two-row LED text displays sold for car parks take text over
RS-232/RS-485 (a USB adapter or the Pi's UART). Their vendors' framed protocols
differ and are rarely published; most controllers also offer a plain text mode, and
that is what the ``line`` protocol here speaks (docs/hardware.md, "LED sign"):

* one update is every row of the sign, top row first, each row's text followed by
  CR LF, then one empty row (CR LF) that ends the update;
* text is encoded in the sign's character set (``gb2312`` by default, as most of
  these controllers expect; ``gbk``, ``gb18030``, ``utf-8``); a character the set
  lacks is sent as ``?``;
* a row is cut to ``columns`` display cells (a Chinese character takes two).

Showing never blocks the caller: the newest text waits in a one-slot mailbox for the
writer thread, so a stalled or unplugged sign delays no card decision and only its
latest text is sent when it is back.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from typing import Any, ClassVar, Literal

from pydantic import Field

from drivers.base import Device, DriverContext, DriverOptions, Spawner

log = logging.getLogger(__name__)

END_ROW = b"\r\n"


def cells(char: str) -> int:
    """Display cells a character takes: two for wide (CJK) ones."""
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def fit(text: str, columns: int) -> str:
    """``text`` on one row: control characters dropped, cut to ``columns`` cells."""
    out, used = [], 0
    for char in text:
        if unicodedata.category(char)[0] == "C":
            continue
        width = cells(char)
        if used + width > columns:
            break
        out.append(char)
        used += width
    return "".join(out)


def layout(rows: tuple[str, ...], count: int, columns: int) -> tuple[str, ...]:
    """Exactly ``count`` rows of at most ``columns`` cells each."""
    fitted = [fit(row, columns) for row in rows[:count]]
    return tuple(fitted + [""] * (count - len(fitted)))


def encode_update(rows: tuple[str, ...], encoding: str) -> bytes:
    """One update of the ``line`` protocol: each row and CR LF, then an empty row."""
    body = b"".join(row.encode(encoding, errors="replace") + END_ROW for row in rows)
    return body + END_ROW


class SignOptions(DriverOptions):
    rows: int = Field(2, ge=1, le=8)
    columns: int = Field(16, ge=4, le=256)  # display cells a row: a Chinese character is 2


class TextSign(Device):
    """A text display. ``show`` takes the rows to display and returns at once."""

    kind = "sign"
    Options: ClassVar[type[DriverOptions]] = SignOptions

    def __init__(self, name: str, options: DriverOptions, context: DriverContext) -> None:
        super().__init__(name, options, context)
        assert isinstance(options, SignOptions)
        self.rows, self.columns = options.rows, options.columns
        self.showing: tuple[str, ...] = ("",) * options.rows

    def start(self, threads: Spawner) -> None:
        """Begin sending (a backend that writes from its own thread starts it here)."""

    def show(self, rows: tuple[str, ...]) -> None:
        """Display ``rows`` (cut to the sign's size); never blocks."""
        self.showing = layout(rows, self.rows, self.columns)
        self._send(self.showing)

    def _send(self, rows: tuple[str, ...]) -> None:
        """Hand the rows to the hardware; must not block."""


class SerialSignOptions(SignOptions):
    port: str
    baudrate: int = Field(9600, ge=1200, le=921_600)
    encoding: Literal["gb2312", "gbk", "gb18030", "utf-8"] = "gb2312"
    protocol: Literal["line"] = "line"
    write_timeout_s: float = Field(1.0, gt=0, le=30)
    retry_s: float = Field(5.0, gt=0, le=300)  # reopening an unplugged sign


class SerialSign(TextSign):
    """A sign on a serial port (pyserial), written from its own thread."""

    Options = SerialSignOptions

    def __init__(self, name: str, options: DriverOptions, context: DriverContext) -> None:
        super().__init__(name, options, context)
        assert isinstance(options, SerialSignOptions)
        self._opts = options
        self._wake = threading.Condition()
        self._pending: tuple[str, ...] | None = None
        self._closed = False
        self._port: Any = None
        self._started = False
        self.sent = 0  # updates written, for tests and status
        self.last_error = ""

    def start(self, threads: Spawner) -> None:
        self._stopping = threads.stopping
        self._started = True
        threads.spawn(f"sign-{self.name}", self._run)

    def _send(self, rows: tuple[str, ...]) -> None:
        with self._wake:
            self._pending = rows  # newest wins: an old outcome is not worth sending late
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._pending is None and not self._done():
                    self._wake.wait(0.5)
                if self._done():
                    break
                rows, self._pending = self._pending, None
            if rows is not None and not self._write(rows):
                with self._wake:  # keep the newest text for when the sign is back
                    self._pending = self._pending or rows
                    self._wake.wait(self._opts.retry_s)
        self._drop_port()  # the writer's own port, closed by the writer

    def _done(self) -> bool:
        return self._closed or self._stopping.is_set()

    def _write(self, rows: tuple[str, ...]) -> bool:
        import serial  # the sign's library, loaded only when a sign is configured

        data = encode_update(rows, self._opts.encoding)
        try:
            if self._port is None:
                self._port = serial.Serial(
                    self._opts.port,
                    self._opts.baudrate,
                    timeout=0,
                    write_timeout=self._opts.write_timeout_s,
                )
            self._port.write(data)
            self._port.flush()
        except Exception as exc:  # a vanished adapter fails in any way
            # (SerialException, OSError, termios.error from the drain): the writer lives on
            if self.last_error != str(exc):
                log.warning("sign %s on %s: %s", self.name, self._opts.port, exc)
            self.last_error = str(exc)
            self._drop_port()
            return False
        self.last_error = ""
        self.sent += 1
        return True

    def _drop_port(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except Exception:  # a vanished adapter can fail any way on close
                log.debug("sign %s: closing the port failed", self.name)

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        if not self._started:
            self._drop_port()
