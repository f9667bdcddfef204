"""Rows read from an SQLite file's pages without SQLite: what salvage finds past damage.

SQLite stops at the first page it cannot read, and a truncated file loses the pages a
query would pass through on its way to the rows that are still there. This reader does
what the sqlite3 shell's ``.recover`` does, in plain Python (a Pi needs nothing more):
it walks a table's b-tree from its root page, stepping over pages that are missing or
malformed, and then looks at every other page that is a table leaf and not on the
freelist (a leaf whose parent page was lost). Every cell is decoded with bounds
checks; a cell that does not decode, or whose overflow chain is broken, is skipped, so
a row is either returned whole, as written, or not at all. The file format is
https://www.sqlite.org/fileformat2.html.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

_HEADER = b"SQLite format 3\x00"
_INTERIOR_TABLE, _LEAF_TABLE = 0x05, 0x0D
_MAX_OVERFLOW = 100_000  # pages in one row's overflow chain: a loop guard

Value = int | float | str | bytes | None


class PageFile:
    """One database file's pages, read whole into memory (the file is set aside)."""

    def __init__(self, path: Path) -> None:
        self.data = path.read_bytes()
        head = self.data[:100]
        size = struct.unpack(">H", head[16:18])[0] if len(head) >= 100 else 0
        page_size = 65536 if size == 1 else size
        if not head.startswith(_HEADER) or page_size < 512 or page_size & (page_size - 1):
            page_size, reserved, self.header_ok = 4096, 0, False  # SQLite's default
        else:
            reserved, self.header_ok = head[20], True
        self.page_size = page_size
        self.usable = page_size - reserved
        self.pages = len(self.data) // page_size  # a torn last page is not a page

    def page(self, number: int) -> bytes | None:
        if not 1 <= number <= self.pages:
            return None
        start = (number - 1) * self.page_size
        return self.data[start : start + self.page_size]

    def freelist(self) -> set[int] | None:
        """Pages on the freelist (they may hold deleted rows); None if it cannot be read."""
        if not self.header_ok:
            return None
        trunk, free = struct.unpack(">I", self.data[32:36])[0], set()
        while trunk:
            page = self.page(trunk)
            if page is None or trunk in free:
                return None
            free.add(trunk)
            following, count = struct.unpack(">II", page[:8])
            if 8 + 4 * count > self.usable:
                return None
            free.update(struct.unpack(f">{count}I", page[8 : 8 + 4 * count]))
            trunk = following
        return free

    def master(self) -> list[tuple[Value, ...]]:
        """The readable rows of ``sqlite_master`` (type, name, tbl_name, rootpage, sql)."""
        return [row for _, row in self.table_rows(1, set())]

    def table_rows(self, root: int, visited: set[int]) -> Iterator[tuple[int, tuple[Value, ...]]]:
        """(rowid, values) of the table whose b-tree starts at ``root``; pages that are
        missing or not table pages are stepped over. ``visited`` collects the pages read."""
        stack = [root]
        while stack:
            number = stack.pop()
            page = self.page(number)
            if number in visited or page is None:
                continue
            offset = 100 if number == 1 else 0
            kind = page[offset]
            if kind not in (_INTERIOR_TABLE, _LEAF_TABLE):
                continue
            visited.add(number)
            if kind == _LEAF_TABLE:
                yield from self.leaf_rows(number)
                continue
            children = [*self._cell_offsets(page, offset, 12), offset + 8]  # + the rightmost
            stack += [int.from_bytes(page[at : at + 4], "big") for at in children]

    def leaf_pages(self) -> Iterator[int]:
        """Every page that looks like a table leaf."""
        for number in range(1, self.pages + 1):
            page = self.page(number)
            if page is not None and page[100 if number == 1 else 0] == _LEAF_TABLE:
                yield number

    def leaf_rows(self, number: int) -> Iterator[tuple[int, tuple[Value, ...]]]:
        page = self.page(number)
        if page is None:
            return
        offset = 100 if number == 1 else 0
        for cell in self._cell_offsets(page, offset, 8):
            try:
                row = self._leaf_cell(page, cell)
            except (IndexError, ValueError, struct.error, UnicodeDecodeError):
                continue  # a damaged cell: its row is not made up from what is left
            if row is not None:
                yield row

    def _cell_offsets(self, page: bytes, offset: int, header: int) -> list[int]:
        count = struct.unpack(">H", page[offset + 3 : offset + 5])[0]
        start = offset + header
        if start + 2 * count > self.usable:
            return []
        cells = struct.unpack(f">{count}H", page[start : start + 2 * count])
        return [c for c in cells if start + 2 * count <= c < self.usable]

    def _leaf_cell(self, page: bytes, cell: int) -> tuple[int, tuple[Value, ...]] | None:
        size, cell = varint(page, cell)
        rowid, cell = varint(page, cell)
        rowid = rowid - (1 << 64) if rowid >= 1 << 63 else rowid
        local = self._local_size(size)
        if cell + local > self.usable:
            return None
        payload: bytes | None = page[cell : cell + local]
        if local < size:
            first = struct.unpack(">I", page[cell + local : cell + local + 4])[0]
            payload = self._overflow(page[cell : cell + local], first, size)
        return None if payload is None else (rowid, record(payload))

    def _local_size(self, size: int) -> int:
        usable = self.usable
        most = usable - 35
        if size <= most:
            return size
        least = (usable - 12) * 32 // 255 - 23
        local = least + (size - least) % (usable - 4)
        return local if local <= most else least

    def _overflow(self, payload: bytes, number: int, size: int) -> bytes | None:
        parts, have, seen = [payload], len(payload), set[int]()
        while have < size:
            page = self.page(number)
            if page is None or number in seen or len(seen) > _MAX_OVERFLOW:
                return None  # a broken chain: the row is incomplete
            seen.add(number)
            part = page[4 : self.usable][: size - have]
            parts.append(part)
            have += len(part)
            number = struct.unpack(">I", page[:4])[0]
        return b"".join(parts)


def varint(data: bytes, at: int) -> tuple[int, int]:
    """SQLite's big-endian varint at ``at``: (value, the offset after it)."""
    value = 0
    for i in range(8):
        byte = data[at + i]
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, at + i + 1
    return (value << 8) | data[at + 8], at + 9


_INT_SIZES = {1: 1, 2: 2, 3: 3, 4: 4, 5: 6, 6: 8}


def record(payload: bytes) -> tuple[Value, ...]:
    """The values of one record; ValueError if its header and body do not add up."""
    header_size, at = varint(payload, 0)
    if not 0 < header_size <= len(payload):
        raise ValueError("record header out of range")
    types: list[int] = []
    while at < header_size:
        serial, at = varint(payload, at)
        types.append(serial)
    if at != header_size:
        raise ValueError("record header overruns")
    values: list[Value] = []
    body = header_size
    for serial in types:
        if serial in (0, 8, 9):
            values.append(None if serial == 0 else serial - 8)
        elif serial in _INT_SIZES:
            n = _INT_SIZES[serial]
            values.append(int.from_bytes(payload[body : body + n], "big", signed=True))
            body += n
        elif serial == 7:
            values.append(struct.unpack(">d", payload[body : body + 8])[0])
            body += 8
        elif serial >= 12:
            n = (serial - 12) // 2
            chunk = payload[body : body + n]
            values.append(chunk.decode("utf-8") if serial % 2 else chunk)
            body += n
        else:
            raise ValueError("reserved serial type")
        if body > len(payload):
            raise ValueError("record body overruns")
    if body != len(payload):
        raise ValueError("record body size does not match")
    return tuple(values)
