"""The list worker: an office snapshot's chunks parsed, checked and written apart.

A 1,000,000-entry snapshot is about 20 seconds of JSON parsing, validation and row
writing. In the gate's process that work holds the GIL the decision path needs, and a
card read waited behind it (issue 23: p99 3-5 ms during a snapshot against 0.8 ms
quiet). In a process of its own, at a lower CPU priority, it shares nothing with a
decision but the disk. The gate keeps everything else: the signature and replay check,
which chunks are staged, the list file's name and flock, the switch to the new list.

Run as ``python -m agent.link.snapshot_worker_start FD`` (at a low CPU priority);
requests and replies are JSON messages on the socket ``FD`` (``multiprocessing.connection``
framing), one reply per request, until the gate closes it:

- ``check`` ``{body, doors, schedules, zone}``: parse and validate a chunk's signed body
  and its doors and schedules against the gate's; the reply names the chunk
  (``snapshot_id``, ``version``, ``chunk``, ``chunks``), and its rows wait for
  ``stage`` or the next ``check``;
- ``stage`` ``{path, base}``: append those rows, placed from ``base``, to the list
  file at ``path`` (handed over by the gate, its tables made); no reply (below);
- ``finish`` ``{version}``: index and sync the file; the reply gives its ``size`` and
  this process's peak memory;
- ``close``: let go of the file unfinished.

A refusal is ``{"ok": false, "error", "errors"}`` (``malformed``: the body is not
JSON; ``duplicate``: the places of a credential listed twice; ``build_failed``: an
earlier ``stage`` failed, and the file is to be given up).
"""

from __future__ import annotations

import json
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from agent.errors import Rejected
from agent.link.entry_slices import validate_in_slices, validation_errors
from agent.models.jsonin import loads_bounded
from agent.models.messages import SnapshotChunk
from agent.store.importer import References
from agent.store.list_rows import to_row
from agent.store.list_writer import DuplicateRows, ListWriter


def peak_rss_kb() -> int | None:
    """This process's peak resident memory (``VmHWM``: its own since the exec, where
    ``getrusage`` would report the gate's, from before it)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class ChunkWriter:
    """The worker's state: the rows of the last checked chunk and the open list file."""

    def __init__(self) -> None:
        self._rows: list[tuple[Any, ...]] = []
        self._path: str | None = None
        self._writer: ListWriter | None = None

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "check":
            return self.check(request)
        if op == "stage":
            return self.stage(request["path"], int(request["base"]))
        if op == "finish":
            return self.finish(request["version"])
        if op == "close":
            self.close()
            return {"ok": True}
        raise Rejected(f"unknown request {op!r}")

    def check(self, request: dict[str, Any]) -> dict[str, Any]:
        self._rows = []
        try:
            body = loads_bounded(request["body"])
        except ValueError as exc:
            return {"ok": False, "malformed": f"body is not JSON: {str(exc)[:80]}"}
        try:
            chunk = validate_in_slices(SnapshotChunk, body, "entries")
        except ValidationError as exc:
            raise Rejected("invalid message", validation_errors(exc)) from None
        References(request["doors"], request["schedules"]).check_entries(chunk.entries, "entries")
        zone = ZoneInfo(request["zone"])
        self._rows = [to_row(e, zone) for e in chunk.entries]
        return {
            "ok": True,
            "snapshot_id": chunk.snapshot_id,
            "version": chunk.version,
            "chunk": chunk.chunk,
            "chunks": chunk.chunks,
            "count": len(self._rows),
        }

    def stage(self, path: str, base: int) -> dict[str, Any]:
        if path != self._path:  # a new snapshot: the gate removes the old one's file
            self.close()
            self._writer = ListWriter(Path(path))
            self._path = path
        assert self._writer is not None
        rows, self._rows = self._rows, []
        self._writer.add((*row, base + i) for i, row in enumerate(rows))
        return {"ok": True, "size": self._writer.size}

    def finish(self, version: int) -> dict[str, Any]:
        writer = self._writer
        if writer is None:
            raise Rejected("no list file is open to finish")
        try:
            size = writer.finish(version)
        except DuplicateRows as exc:
            self.close()
            return {"ok": False, "error": "duplicate", "duplicate": list(exc.places)}
        self._writer = self._path = None
        return {"ok": True, "size": size, "peak_rss_kb": peak_rss_kb()}

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._writer = self._path = None


def serve(conn: Connection) -> None:
    """Answer requests until the gate closes the socket. A ``stage`` gets no reply (the
    gate goes on receiving the next chunk while its rows are written); if it fails, the
    next reply is that failure (``build_failed``), whatever was asked."""
    state = ChunkWriter()
    failed: dict[str, Any] | None = None
    while True:
        try:
            request = json.loads(conn.recv_bytes())
        except EOFError:
            break
        try:
            reply = state.handle(request)
        except Rejected as exc:
            reply = {"ok": False, "error": exc.error, "errors": exc.errors}
        except Exception as exc:  # a full disk, say: the gate refuses the chunk, says why
            reply = {"ok": False, "error": f"list worker: {exc!r}"}
        if request.get("op") == "stage":
            if not reply["ok"] and failed is None:
                failed = {**reply, "build_failed": True}
                state.close()
            continue
        if failed is not None:
            reply, failed = failed, None
        conn.send_bytes(json.dumps(reply).encode())
    state.close()


def main(argv: list[str]) -> int:
    """Serve the gate on the socket ``argv[1]`` (started by ``snapshot_worker_start``)."""
    with Connection(int(argv[1])) as conn:
        serve(conn)
    return 0
