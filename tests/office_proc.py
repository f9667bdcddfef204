"""``gate-office serve`` as a process that a test or a benchmark can kill and start again,
with an SQLite store it can read: what reached the office, and how many times."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


class OfficeProcess:
    """One office service on ``broker``, its store ``folder/office.db``; ``kill`` is SIGKILL."""

    def __init__(self, folder: Path, broker: Any, key: Ed25519PrivateKey) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.db = folder / "office.db"
        key_file = folder / "office-serve.key"
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        self.config = folder / "office.toml"
        self.config.write_text(
            f'store = "{self.db}"\nsigning_key_file = "{key_file}"\n'
            f'[broker]\nhost = "{broker.host}"\nport = {broker.port}\n'
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = (self.folder / f"serve-{self.starts}.log").open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agent.office.cli", "serve", "--config", str(self.config)],
            stderr=log,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    def wait_subscribed(self, timeout: float = 20) -> None:
        """Until the service started last says its session is subscribed (it logs so)."""
        wait_subscribed(self.folder / f"serve-{self.starts}.log", self.proc, timeout)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(15)
        finally:
            self.proc = None

    def logs(self) -> str:
        return "".join(p.read_text() for p in sorted(self.folder.glob("serve-*.log")))

    def stored(self, site: str, gate: str) -> tuple[int, list[int]]:
        """(rows, sorted distinct seqs) the office holds for one gate."""
        if not self.db.exists():
            return 0, []
        with sqlite3.connect(self.db, timeout=5) as conn:
            try:
                rows = conn.execute(
                    "SELECT seq FROM events WHERE site = ? AND gate = ?", (site, gate)
                ).fetchall()
            except sqlite3.OperationalError:  # not created yet
                return 0, []
        return len(rows), sorted({r[0] for r in rows})


SUBSCRIBED = "office: subscribed"


def wait_subscribed(log: Path, proc: subprocess.Popen[bytes] | None, timeout: float = 20) -> None:
    """Until ``gate-office serve`` writing ``log`` has every subscription in place."""
    deadline = time.monotonic() + timeout
    while SUBSCRIBED not in log.read_text(errors="replace"):
        assert proc is not None and proc.poll() is None, f"the office ended:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"the office never subscribed:\n{log.read_text()}"
        time.sleep(0.02)
