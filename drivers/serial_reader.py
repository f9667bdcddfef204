"""125 kHz readers on a serial line: RDM6300-style EM4100 modules and readers that print ids.

``readers = [{ id = "gate-in", driver = "serial", port = "/dev/serial0" }]`` reads an
RDM6300 on the Pi's UART; ``format = "line"`` reads a reader that prints each id and
a newline (``encoding`` decimal or hex, ``bits`` the width of the id it prints).
"""

from __future__ import annotations

import contextlib
import threading
from typing import ClassVar, Literal

import serial
from pydantic import Field, model_validator

from drivers.base import DriverContext, DriverOptions
from drivers.frames import BadFrame, Em4100Parser, LineParser
from drivers.streaming import ReaderOptions, StreamingReader

Parser = Em4100Parser | LineParser


class SerialOptions(ReaderOptions):
    """Where the reader is plugged in and how it frames an id."""

    port: str = Field(min_length=1)  # /dev/serial0 (the Pi's UART), /dev/ttyUSB0, ...
    baud: int = Field(9600, gt=0, le=4_000_000)
    format: Literal["em4100", "line"] = "em4100"
    # for format = "line" only:
    encoding: Literal["decimal", "hex"] = "decimal"
    bits: int = Field(32, ge=8, le=64)  # how many bits the printed id carries
    strip_prefix: str = ""
    strip_suffix: str = ""

    @model_validator(mode="after")
    def _line_options_need_line_format(self) -> SerialOptions:
        line_only = {"encoding", "bits", "strip_prefix", "strip_suffix"}
        if self.format == "em4100" and line_only & self.model_fields_set:
            # an EM4100 frame fixes its own encoding; a line option here is a config slip
            raise ValueError(f"{sorted(line_only & self.model_fields_set)} need format = 'line'")
        return self


class SerialReader(StreamingReader):
    """A reader on a serial port, read on a runner thread and reopened when the port returns."""

    # StreamingReader's own Options fixes the attribute's type at ReaderOptions
    Options: ClassVar[type[ReaderOptions]] = SerialOptions
    READ_TIMEOUT_S = 0.1  # how long a read blocks: bounds how late ``stop`` is noticed

    def __init__(self, name: str, options: DriverOptions, context: DriverContext) -> None:
        assert isinstance(options, SerialOptions)
        super().__init__(name, options, context)
        self.serial_options = options
        self._port: serial.Serial | None = None
        self._parser: Parser = self._new_parser()

    def _new_parser(self) -> Parser:
        opts = self.serial_options
        if opts.format == "em4100":
            return Em4100Parser()
        return LineParser(opts.encoding, opts.bits, opts.strip_prefix, opts.strip_suffix)

    def _connect(self) -> None:
        opts = self.serial_options
        self._port = serial.Serial(opts.port, opts.baud, timeout=self.READ_TIMEOUT_S)
        # a half frame from before the port went away must not join the next one
        self._parser = self._new_parser()

    def _serve(self, stopping: threading.Event) -> None:
        port = self._port
        assert port is not None
        while not stopping.is_set():
            # an unplugged adapter or a closed pty raises SerialException or OSError here,
            # which ends _serve so the base reports the fault and reopens the port
            data: bytes = port.read(port.in_waiting or 1)
            for item in self._parser.feed(data):
                if isinstance(item, BadFrame):
                    self._frame_error(item.why)
                else:
                    self._seen(item)

    def _disconnect(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            # the device may be gone already; then nothing is left to release
            with contextlib.suppress(OSError, serial.SerialException):
                port.close()
