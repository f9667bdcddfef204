"""The gate's side of the list worker (``snapshot_worker.py``): started for a snapshot's
first chunk, asked one request at a time, stopped when the snapshot is in or given up.

The worker's memory is its own and goes when it exits: a peak of about 42 MB, 36 MB of
it Python, pydantic and the models imported, the rest a chunk in hand and SQLite's 2 MB
build cache (``bench/snapshot.py`` reports it as ``list_worker_peak_rss_mb``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from agent.errors import Rejected
from agent.link.snapshot_worker_start import NICE
from agent.models.config import GateConfig
from agent.store.list_writer import DuplicateRows
from agent.store.listfile import ListBuilder

log = logging.getLogger(__name__)

REPLY_TIMEOUT_S = 900.0  # a finish indexes the whole list: minutes on an SD card at 2M
POLL_S = 0.5  # how often a wait looks whether the worker is still there
STOP_S = 5.0
# where ``agent`` is, for ``python -m`` in the worker whatever the gate's directory
_ROOT = str(Path(__file__).resolve().parents[2])


class BuildFailed(Rejected):
    """The list worker could not write the new list: the snapshot is to be given up."""


class WorkerGone(BuildFailed):
    """The list worker could not be started, died or did not answer."""


class ListWorker:
    """One list worker process, started when first asked; ``stop`` ends it."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self.peak_rss_kb: int | None = None  # of the last finished build

    @property
    def pid(self) -> int | None:
        """The worker's process id while it runs."""
        return None if self._proc is None else self._proc.pid

    def _start(self) -> Connection:
        ours, theirs = socket.socketpair()
        path = os.pathsep.join(filter(None, [_ROOT, os.environ.get("PYTHONPATH")]))
        env = {**os.environ, "PYTHONPATH": path}
        command = [sys.executable, "-m", "agent.link.snapshot_worker_start", str(theirs.fileno())]
        # at a low priority from its first instruction: Python's own start-up is tens
        # of milliseconds of CPU, on a core a card decision may need
        nice = shutil.which("nice")
        command = [nice, "-n", str(NICE), *command] if nice else command
        try:
            self._proc = subprocess.Popen(
                command, pass_fds=[theirs.fileno()], env=env, stdin=subprocess.DEVNULL
            )
        except OSError as exc:
            ours.close()
            raise WorkerGone(f"cannot start the list worker: {exc}") from None
        finally:
            theirs.close()
        self._conn = Connection(ours.detach())
        return self._conn

    def tell(self, request: dict[str, Any]) -> None:
        """Send a request that gets no reply."""
        conn = self._conn or self._start()
        try:
            conn.send_bytes(json.dumps(request).encode())
        except OSError as exc:
            self.stop()
            raise WorkerGone(f"the list worker stopped ({exc.__class__.__name__})") from None

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        """Send one request and wait for its reply; ``WorkerGone`` if there is none."""
        self.tell(request)
        conn = self._conn
        assert conn is not None
        try:
            waited = 0.0
            while not conn.poll(POLL_S):
                waited += POLL_S
                if self._exited() or waited >= REPLY_TIMEOUT_S:
                    raise WorkerGone(f"the list worker stopped ({self._exit_text()})")
            reply: dict[str, Any] = json.loads(conn.recv_bytes())
        except (OSError, EOFError, ValueError) as exc:
            self.stop()
            raise WorkerGone(f"the list worker stopped ({exc.__class__.__name__})") from None
        except WorkerGone:
            self.stop()
            raise
        return reply

    def _exited(self) -> bool:
        return self._proc is not None and self._proc.poll() is not None

    def _exit_text(self) -> str:
        code = None if self._proc is None else self._proc.poll()
        return "no answer" if code is None else f"exit code {code}"

    def check(self, body: str, config: GateConfig) -> dict[str, Any]:
        """A chunk's header once its body is valid for this gate; ``Rejected`` says why
        not (``ValueError``: the body is not JSON)."""
        reply = self.ask(
            {
                "op": "check",
                "body": body,
                "doors": [d.id for d in config.doors],
                "schedules": list(config.schedules),
                "zone": config.zone().key,
            }
        )
        if "malformed" in reply:  # (a failed write before it is answered first, by _ok)
            raise ValueError(reply["malformed"])
        return self._ok(reply)

    def write(self, build: ListBuilder, base: int) -> None:
        """The checked chunk's rows into ``build`` (``AllowListStore.stage_with``),
        without waiting: a failure is the reply to the next request."""
        path = build.hand_over()
        self.tell({"op": "stage", "path": str(path), "base": base})

    def finish(self, build: ListBuilder, version: int) -> int:
        """Index and sync ``build`` (``AllowListStore.commit_staged``); its size."""
        reply = self.ask({"op": "finish", "version": version})
        if "duplicate" in reply:
            place, first = reply["duplicate"]
            raise DuplicateRows("a credential appears twice", (int(place), int(first)))
        size = int(self._ok(reply)["size"])
        self.peak_rss_kb = reply.get("peak_rss_kb")
        build.sealed()
        return size

    @staticmethod
    def _ok(reply: dict[str, Any]) -> dict[str, Any]:
        if not reply.get("ok"):
            errors = [(str(p), str(m)) for p, m in reply.get("errors") or []]
            error = str(reply.get("error") or "refused by the list worker")
            raise (BuildFailed if reply.get("build_failed") else Rejected)(error, errors)
        return reply

    def stop(self) -> None:
        """End the worker (it lets go of any unfinished file as its socket closes)."""
        conn, self._conn = self._conn, None
        proc, self._proc = self._proc, None
        if conn is not None:
            conn.close()
        if proc is not None:
            try:
                proc.wait(STOP_S)
            except subprocess.TimeoutExpired:
                log.warning("list worker did not stop: killed")
                proc.kill()
                proc.wait()
