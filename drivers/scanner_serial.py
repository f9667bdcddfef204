"""QR and barcode scanners on a serial line (USB CDC-ACM or a UART): a line per scan.

``readers = [{ id = "main-qr", driver = "scanner-serial", port = "/dev/ttyACM0" }]``
"""

from __future__ import annotations

import contextlib
import threading
from typing import ClassVar

import serial
from pydantic import Field

from drivers.base import DriverContext, DriverOptions
from drivers.scan_text import ScanLineParser, Scanner, ScannerOptions
from drivers.streaming import ReaderOptions


class SerialScannerOptions(ScannerOptions):
    """Where the scanner is plugged in."""

    port: str = Field(min_length=1)  # /dev/ttyACM0, /dev/ttyUSB0, /dev/serial0
    baud: int = Field(9600, gt=0, le=4_000_000)


class SerialScanner(Scanner):
    """A scanner on a serial port, read on a runner thread and reopened when it returns."""

    Options: ClassVar[type[ReaderOptions]] = SerialScannerOptions
    READ_TIMEOUT_S = 0.1  # how long a read blocks: bounds how late ``stop`` is noticed

    def __init__(self, name: str, options: DriverOptions, context: DriverContext) -> None:
        assert isinstance(options, SerialScannerOptions)
        super().__init__(name, options, context)
        self.serial_options = options
        self._port: serial.Serial | None = None
        self._parser = ScanLineParser(options.strip_prefix, options.strip_suffix)

    def _connect(self) -> None:
        opts = self.serial_options
        self._port = serial.Serial(opts.port, opts.baud, timeout=self.READ_TIMEOUT_S)
        # half a line from before the port went away must not join the next one
        self._parser = ScanLineParser(opts.strip_prefix, opts.strip_suffix)
        self.text_repeats.forget()

    def _serve(self, stopping: threading.Event) -> None:
        port = self._port
        assert port is not None
        while not stopping.is_set():
            # a gone adapter or a closed pty raises here, which ends _serve: the base
            # reports the fault and reopens the port
            data: bytes = port.read(port.in_waiting or 1)
            self._lines(self._parser.feed(data))

    def _disconnect(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            with contextlib.suppress(OSError, serial.SerialException):
                port.close()
