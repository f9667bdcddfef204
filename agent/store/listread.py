"""An office's allow-list file (CSV or JSON) read as a stream: rows with their line
numbers, never the whole text in memory.

Errors are the ones reading the whole text would give, in the same order: a file
that is not UTF-8 (at which byte), then a NUL (on which line), then the first
parse error; a JSON array is walked element by element with ``raw_decode`` over a
window of the text that grows only while an element is cut at its edge.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from agent.errors import ImportRejected
from agent.models.jsonin import TOO_DEEP

MAX_LISTED_ERRORS = 20
BLOCK = 1 << 16
MAX_ENTRY_CHARS = 1 << 22  # one element longer than this is not an allow-list entry
_NEAR_END = 16  # a parse error this close to the window's edge may be a cut, not a fault
_WS = re.compile(r"[ \t\r\n]*")


class RowErrors(ImportRejected):
    """Problems found, each with the line it is on: the first ones, and how many in all."""

    def __init__(self, source: str, errors: list[tuple[int, str]], total: int | None = None):
        self.errors = errors
        self.total = len(errors) if total is None else total
        shown = [f"  line {line}: {msg}" for line, msg in errors[:MAX_LISTED_ERRORS]]
        if self.total > len(shown):
            shown.append(f"  ... and {self.total - len(shown)} more")
        super().__init__(
            f"{source}: {self.total} bad row(s); nothing was changed\n" + "\n".join(shown)
        )

    def named(self, source: str) -> RowErrors:
        """The same problems, said of ``source`` (the readers here know only the format)."""
        return RowErrors(source, self.errors, self.total)


def _breaks(data: bytes, after_cr: bool) -> int:
    """Line breaks in ``data`` as universal newlines count them ("\\r\\n" is one)."""
    n = data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")
    return n - 1 if after_cr and data.startswith(b"\n") else n


def precheck(path: Path, block: int = BLOCK) -> None:
    """Raise what reading the whole text first would: not UTF-8, then a NUL byte."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as f:
        head = f.read(3)
        # byte offsets count past a BOM; a file that is only part of one decodes, as a
        # whole, to nothing ("utf-8-sig" does so), though not a byte at a time
        whole_bom = head == codecs.BOM_UTF8 or (len(head) < 3 and codecs.BOM_UTF8.startswith(head))
        data = b"" if whole_bom else head
        offset, breaks, after_cr, nul_line = 0, 0, False, 0
        while True:
            chunk = data + f.read(block)
            data = b""
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                byte = offset - pending + exc.start
                raise ImportRejected(f"{path}: not UTF-8 text (byte {byte})") from None
            if not chunk:
                break
            if not nul_line and b"\0" in chunk:
                nul_line = breaks + _breaks(chunk[: chunk.index(b"\0")], after_cr) + 1
            breaks += _breaks(chunk, after_cr)
            after_cr = chunk.endswith(b"\r")
            offset += len(chunk)
    if nul_line:  # csv reads NUL as data since Python 3.11; no list has one
        raise RowErrors(path.suffix.lower().lstrip(".") or "file", [(nul_line, "a NUL byte")])


class CsvHeader:
    """A CSV file's header: its keys, and how a row under it becomes the dict the
    model reads (empty cells kept as "", except in the ``blank_is_default`` columns,
    where an empty cell is left out, as if the row had no such cell)."""

    def __init__(
        self, fieldnames: list[str], known: set[str], blank_is_default: frozenset[str]
    ) -> None:
        unknown = [f for f in fieldnames if f.strip() not in known]
        if unknown:
            raise RowErrors("csv", [(1, f"unknown column(s): {', '.join(unknown)}")])
        self.keys = [f.strip() for f in fieldnames]
        self.width = len(self.keys)
        # a column named twice: the last cell wins, blank or not, then blanks go
        unique = len(set(self.keys)) == self.width
        self._skip = blank_is_default if unique else frozenset()
        self._after = frozenset() if unique else blank_is_default

    def as_dict(self, row: list[str]) -> dict[str, str]:
        """The row's cells by column, in one pass (not two) where no column repeats."""
        skip = self._skip
        values = {k: v for k, v in zip(self.keys, row, strict=False) if v or k not in skip}
        if len(row) < self.width:
            for missing in self.keys[len(row) :]:  # a short row: those columns are absent
                values.pop(missing, None)
        if self._after:
            values = {k: v for k, v in values.items() if v or k not in self._after}
        return values


def csv_records(
    text: TextIO, known: set[str], blank_is_default: frozenset[str] = frozenset()
) -> tuple[CsvHeader, Iterator[tuple[int, list[str]]]]:
    """The header (read now) and (line, cells) for each data row (read as iterated)."""
    reader = csv.reader(text)
    try:
        fieldnames = next(reader, None)
    except csv.Error as exc:
        raise RowErrors("csv", [(1, f"not valid CSV: {exc}")]) from None
    if not fieldnames:
        raise RowErrors("csv", [(1, "no header row")])
    header = CsvHeader(fieldnames, known, blank_is_default)
    return header, _records(reader, header.width)


def _records(reader: Any, width: int) -> Iterator[tuple[int, list[str]]]:
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # a field over csv's size limit, ...
            raise RowErrors("csv", [(reader.line_num, f"not valid CSV: {exc}")]) from None
        if not row:
            continue  # a blank line
        if len(row) > width:
            raise RowErrors("csv", [(reader.line_num, "more fields than header columns")])
        yield reader.line_num, row


def csv_rows(
    text: TextIO, known: set[str], blank_is_default: frozenset[str] = frozenset()
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, row) for each data row, keys stripped (see ``CsvHeader``)."""
    header, records = csv_records(text, known, blank_is_default)
    for line, row in records:
        yield line, header.as_dict(row)


class _Window:
    """A window on a text stream that knows the line of each position in it."""

    def __init__(self, stream: TextIO, block: int) -> None:
        self.stream = stream
        self.block = block
        self.text = ""
        self.eof = False
        self.lines_before = 0  # line breaks before text[0]
        self._counted = 0  # text[:_counted] holds _count line breaks
        self._count = 0

    def more(self) -> bool:
        if not self.eof:
            chunk = self.stream.read(self.block)
            if chunk:
                self.text += chunk
                return True
            self.eof = True
        return False

    def has(self, pos: int) -> bool:
        """Whether a character at ``pos`` exists (reading on to find out)."""
        while pos >= len(self.text):
            if not self.more():
                return False
        return True

    def line(self, pos: int) -> int:
        if pos < self._counted:
            self._counted = self._count = 0
        self._count += self.text.count("\n", self._counted, pos)
        self._counted = pos
        return self.lines_before + self._count + 1

    def drop(self, pos: int) -> int:
        """Forget the text before ``pos``, which becomes position 0."""
        self.lines_before = self.line(pos) - 1
        self.text = self.text[pos:]
        self._counted = self._count = 0
        return 0

    def skip_ws(self, pos: int) -> int:
        while True:
            end = _WS.match(self.text, pos)
            pos = end.end() if end else pos
            if pos > self.block:
                pos = self.drop(pos)
            if pos < len(self.text) or not self.more():
                return pos


def _decode(win: _Window, decoder: json.JSONDecoder, pos: int, line: int) -> tuple[Any, int]:
    while len(win.text) - pos < win.block and win.more():
        pass
    while True:
        try:
            return decoder.raw_decode(win.text, pos)
        except json.JSONDecodeError as exc:
            cut = exc.pos >= len(win.text) - _NEAR_END or exc.msg.startswith("Unterminated")
            if cut and len(win.text) - pos < MAX_ENTRY_CHARS and win.more():
                continue  # the element runs past the window: widen it and try again
            where = win.lines_before + exc.lineno
            raise RowErrors("json", [(where, f"not valid JSON: {exc.msg}")]) from None
        except RecursionError:
            raise RowErrors("json", [(line, f"not valid JSON: {TOO_DEEP}")]) from None


def json_rows(stream: TextIO, block: int = BLOCK) -> Iterator[tuple[int, Any]]:
    """Walk a top-level JSON array element by element so errors can name lines."""
    win = _Window(stream, block)
    decoder = json.JSONDecoder()
    pos = win.skip_ws(0)
    if not win.has(pos) or win.text[pos] != "[":
        raise RowErrors("json", [(1, "expected a JSON array of entries")])
    pos = win.skip_ws(pos + 1)
    if win.has(pos) and win.text[pos] == "]":
        _end(win, pos)
        return
    while True:
        line = win.line(pos)
        value, pos = _decode(win, decoder, pos, line)
        if not isinstance(value, dict):
            raise RowErrors("json", [(line, "each entry must be an object")])
        yield line, value
        pos = win.skip_ws(pos)
        if win.has(pos) and win.text[pos] == ",":
            pos = win.skip_ws(pos + 1)
            continue
        if win.has(pos) and win.text[pos] == "]":
            _end(win, pos)
            return
        raise RowErrors("json", [(win.line(pos), "expected ',' or ']'")])


def _end(win: _Window, pos: int) -> None:
    """Nothing may follow the array's closing bracket (a second array would be lost)."""
    rest = win.skip_ws(pos + 1)
    if win.has(rest):
        raise RowErrors("json", [(win.line(rest), "text after the closing ']'")])
