"""What QR and barcode scanners share: their options, a base class, line decoding.

A scanner is a reader kind: it is configured among a door's readers, reports its
health like one and shows grant or deny on its lights, but it delivers text (a
visitor pass's code) through the ``scan`` hook instead of cards. It sends what it
read as a line ended by Enter (CR, LF, or a Tab on some keyboard-wedge models).
Nothing here looks at what the text means; a line is only checked to be whole,
short enough and printable. A bad line's reason never holds its text: it may be
most of a pass.
"""

from __future__ import annotations

from pydantic import Field

from drivers.base import DriverContext, DriverOptions
from drivers.frames import BadFrame
from drivers.streaming import ReaderOptions, StreamingReader

MAX_SCAN_LEN = 1024  # longer than any pass code: the rest of such a line is noise

ScanDecoded = str | BadFrame


class ScannerOptions(ReaderOptions):
    """Options every scanner takes besides its connection."""

    # a scanner in continuous mode reads a code held under it several times a second
    hold_s: float = Field(3.0, ge=0, le=60)
    strip_prefix: str = Field("", max_length=16)  # e.g. a symbology identifier ("]Q1")
    strip_suffix: str = Field("", max_length=16)


class Scanner(StreamingReader):
    """A scanner read on a runner thread; each new line goes out as a ``Scan``."""

    def __init__(self, name: str, options: DriverOptions, context: DriverContext) -> None:
        assert isinstance(options, ScannerOptions)
        super().__init__(name, options, context)
        self.scanner_options = options
        self.text_repeats = TextRepeat(options.hold_s)

    def _lines(self, decoded: list[ScanDecoded]) -> None:
        for item in decoded:
            if isinstance(item, BadFrame):
                self._frame_error(item.why)
            elif self.text_repeats.new(item, self.context.clock.monotonic()):
                self._deliver_scan(item)


def finish_line(text: str, strip_prefix: str, strip_suffix: str) -> str | None:
    text = text.strip().removeprefix(strip_prefix).removesuffix(strip_suffix).strip()
    return text or None  # a blank line is not a scan


class ScanLineParser:
    """Serial scanners: printable ASCII lines ended by CR, LF or both."""

    def __init__(self, strip_prefix: str = "", strip_suffix: str = "") -> None:
        self._strip = (strip_prefix, strip_suffix)
        self._line = bytearray()
        self._overflow = False

    def feed(self, data: bytes) -> list[ScanDecoded]:
        out: list[ScanDecoded] = []
        for byte in data:
            if byte in b"\r\n":
                if self._overflow:
                    out.append(BadFrame("line too long"))
                elif self._line and (decoded := self._decode(bytes(self._line))):
                    out.append(decoded)
                self._line.clear()
                self._overflow = False
            elif len(self._line) < MAX_SCAN_LEN:
                self._line.append(byte)
            else:
                self._overflow = True
        return out

    def _decode(self, line: bytes) -> ScanDecoded | None:
        if any(not 0x20 <= b < 0x7F for b in line):
            return BadFrame("line is not printable ASCII")
        return finish_line(line.decode("ascii"), *self._strip)


class TextRepeat:
    """One scan per presentation: a continuous scanner sees a held code many times a
    second; the same text again within ``hold_s`` of the last sighting is not new."""

    def __init__(self, hold_s: float) -> None:
        self._hold_s = hold_s
        self._last: tuple[str, float] | None = None

    def new(self, text: str, now: float) -> bool:
        last, self._last = self._last, (text, now)
        return last is None or last[0] != text or now - last[1] >= self._hold_s

    def forget(self) -> None:
        self._last = None
