"""Plumbing for ``bench/fleet.py``: child processes on a pipe, /proc readings, a broker
tuned for the fleet, and a private PostgreSQL database."""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.errors import GateError
from tests.broker import Mosquitto

TICK = os.sysconf("SC_CLK_TCK")
BROKER_QUEUE = 1_000_000  # messages kept for the absent office session (mosquitto default 1,000)


class BenchError(GateError):
    """The bench cannot go on: one line for the user."""


class Child:
    """A spawned process that takes command dicts on a pipe and answers each with a dict."""

    def __init__(self, name: str, target: Callable[..., None], *args: Any) -> None:
        context = multiprocessing.get_context("spawn")
        self.name = name
        self.conn, theirs = context.Pipe()
        self.proc = context.Process(target=target, args=(theirs, *args), name=name, daemon=True)
        self.proc.start()
        theirs.close()

    @property
    def pid(self) -> int:
        assert self.proc.pid is not None
        return self.proc.pid

    def send(self, op: str, **args: Any) -> None:
        self.conn.send({"op": op, **args})

    def reply(self, timeout: float) -> dict[str, Any]:
        try:
            ready = self.conn.poll(timeout)
            answer = self.conn.recv() if ready else None
        except (EOFError, OSError):
            raise BenchError(f"{self.name} exited (code {self.proc.exitcode})") from None
        if answer is None:
            raise BenchError(f"{self.name} did not answer within {timeout:.0f} s")
        if "error" in answer:
            raise BenchError(str(answer["error"]))
        return dict(answer)

    def ask(self, op: str, timeout: float, **args: Any) -> dict[str, Any]:
        self.send(op, **args)
        return self.reply(timeout)

    def end(self) -> None:
        """Our own child, by its pid: asked by its pipe first, then terminated."""
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(5)


class LogTally(logging.Handler):
    """Counts a process's warnings and errors by message template, keeping one example
    of each: a thousand gates' log lines become a few rows of the JSON."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: dict[str, int] = {}
        self.examples: dict[str, str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        key = f"{record.levelname} {record.name}: {record.msg}"
        self.counts[key] = self.counts.get(key, 0) + 1
        if key not in self.examples:
            text = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None:
                text += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
            self.examples[key] = text[:300]

    @classmethod
    def install(cls) -> LogTally:
        tally = cls()
        root = logging.getLogger()
        root.handlers[:] = [tally]
        root.setLevel(logging.WARNING)
        return tally

    def report(self) -> list[dict[str, Any]]:
        ranked = sorted(self.counts.items(), key=lambda item: -item[1])
        return [{"what": key, "count": n, "example": self.examples[key]} for key, n in ranked]


def merge_logs(reports: list[list[dict[str, Any]]], top: int = 12) -> list[dict[str, Any]]:
    """Several processes' tallies as one, most frequent first."""
    merged: dict[str, dict[str, Any]] = {}
    for report in reports:
        for row in report:
            seen = merged.setdefault(row["what"], {**row, "count": 0})
            seen["count"] += row["count"]
    return sorted(merged.values(), key=lambda row: -row["count"])[:top]


def ask_all(children: list[Child], op: str, timeout: float, **args: Any) -> list[dict[str, Any]]:
    """The same command to every child at once; their replies in order."""
    for child in children:
        child.send(op, **args)
    return [child.reply(timeout) for child in children]


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS (now) and VmHWM (peak) of a process, in MB."""
    found = {"rss": 0.0, "peak": 0.0}
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key = "rss" if line.startswith("VmRSS") else "peak"
                    found[key] = round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return found


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used (0 when it cannot be read)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU ticks of the whole machine since boot."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]
    return float(sum(values) - idle), float(sum(values))


def fleet_broker(folder: Path, queued: int = BROKER_QUEUE) -> Mosquitto:
    """The tests' mosquitto, with the queue for an absent office session raised to
    ``queued`` messages and only errors logged (``log_type all`` would write every
    PUBLISH of the run to disk)."""
    broker = Mosquitto(folder, persistence=False)
    lines = [
        line
        for line in broker.conf.read_text().splitlines()
        if not line.startswith(("max_queued_messages", "log_type"))
    ]
    lines += [f"max_queued_messages {queued}", "log_type error", "log_type warning"]
    broker.conf.write_text("\n".join(lines) + "\n")
    return broker


def say(text: str) -> None:
    """Progress, on stderr: stdout carries only the JSON."""
    print(f"fleet: {text}", file=sys.stderr, flush=True)


@contextmanager
def store_target(store: str, folder: Path, server: str) -> Iterator[str]:
    """The office store of one run: a SQLite file in ``folder`` or a new PG database."""
    if store == "sqlite":
        yield str(folder / "office.db")
    else:
        with postgres_database(server) as dsn:
            yield dsn


@contextmanager
def postgres_database(server: str) -> Iterator[str]:
    """A new database on ``server`` for one run, dropped after; yields its DSN."""
    import psycopg

    name = f"fleet_bench_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(server, autocommit=True, connect_timeout=10) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()
        raise BenchError(f"PostgreSQL at {server}: {first[0] if first else exc}") from None
    try:
        yield server.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_pids(server: str, dsn: str) -> list[int]:
    """Server processes serving the run's database (their CPU is the database's work)."""
    import psycopg

    name = dsn.rsplit("/", 1)[1]
    with psycopg.connect(server, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,)
        ).fetchall()
    return [int(row[0]) for row in rows]
