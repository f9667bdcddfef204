"""The allow-list at scale: import, snapshot and serving for 10,000 / 100,000 / 1,000,000
entries (and 2,000,000 with --huge). JSON out.

Every figure comes from one run, each phase in a child process of its own so that
each RSS is that phase's alone:

- import: ``gate-agent allowlist import LIST.csv`` (the real CLI) on an empty state
  folder: wall time and peak RSS, next to the peak of the same command importing a
  one-row file (what the process costs whatever the list).
- plain load: the floor the import is held to (issue 23: at most 1.5x it). A child
  process reads the same CSV with ``csv.reader``, HMACs each card's canonical text
  (``hmac.digest``), ``executemany``s the rows into a table with the import's columns
  (agent/store/listfile.py's ``_TABLE``) in one transaction with synchronous=OFF and
  journal_mode=MEMORY, makes the unique index on the credential and fsyncs the file.
  Both figures are wall times of a child process from spawn to exit: the interpreter's
  start is counted for both; the modules the import loads (pydantic, the agent) count
  for the import only, since they are part of what it costs. No validation, no error
  reporting, no catalog switch: it is a floor, not an alternative.
- snapshot: a gate holding that list gets N new entries over MQTT, signed chunks from
  an office process through mosquitto (bench/snapshot.py): time until the ack, the
  gate's peak RSS above its idle RSS, and read-to-relay for cards tapped all along.
- serving: the gate on the new list; RSS after 2,000 taps of random cards of the
  list, and their read-to-relay. Then ``gate-agent allowlist import`` of another N
  entries runs beside it (another process switching the list under the running gate):
  read-to-relay for cards tapped all along, and the import's own time and peak RSS.

    python bench/scale.py [--huge] [--sizes 10000,100000] [--chunk 1000]
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.models.messages import SNAPSHOT_CHUNK
from bench.common import bench_gate, current_rss_mb, machine, percentiles_ms
from bench.snapshot import card_uid, measure, tap_loop
from drivers.cards import CardNumber
from drivers.sim import SimCardReader, SimRelay

SIZES = (10_000, 100_000, 1_000_000)
HUGE = 2_000_000
SERVING_TAPS = 2000
TOML = """[gate]
site = "bench"
gate_id = "g1"
timezone = "Africa/Cairo"
simulated = true

[storage]
dir = "state"
events_max_rows = 1000000

[security]
credential_key_file = "site.key"

[clock]
sync_marker = ""

[mqtt]
enabled = false

[[doors]]
id = "main"
readers = [{ id = "r1" }]
relay = { driver = "sim" }
"""


def write_csv(path: Path, count: int, holder: str = "R") -> None:
    """``count`` rows of raw cards; a mix of kinds, units, door limits and end dates."""
    kinds = ("resident", "resident", "resident", "staff", "visitor")
    with path.open("w") as out:
        out.write("card,holder_id,kind,unit,doors,valid_from,valid_until,suspended\n")
        for i in range(count):
            doors = "main" if i % 7 == 0 else ""
            until = "2030-12-31" if i % 10 == 0 else ""
            out.write(
                f"uid:{card_uid(i).hex()},{holder}-{i},{kinds[i % 5]},U-{i % 500},{doors},,{until},"
                f"{int(i % 97 == 0)}\n"
            )
        # on disk now: left to the kernel's write-back, this file's 46 MB (at 1M) went
        # out in the middle of the next phase, and a tap's event fsync waited 20-25 ms
        # behind them: the bench's own set-up, not the gate's doing
        out.flush()
        os.fsync(out.fileno())


# The CLI run in a process of its own that reports its own peak RSS (VmHWM): a forked
# child's ru_maxrss starts at its parent's RSS, so wait4 would report this process's.
_PEAK = (
    "import sys\n"
    "from agent.faces.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]\n"
    "print('peak_kb', hwm, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def _cli(config: Path, *argv: str) -> tuple[float, float, str]:
    """Run gate-agent; (wall s, peak RSS MB of that process alone, stdout)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, *argv, "-c", str(config)],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"gate-agent {' '.join(argv)} failed ({done.returncode}): {done.stderr}")
    peak_kb = int(done.stderr.rsplit("peak_kb", 1)[1].split()[0])
    return wall, round(peak_kb / 1024, 1), done.stdout


# The plain load (see the module's doc): argv is the CSV, the key file, the new file
# and the import's own statements (so that the child loads nothing of the agent).
_PLAIN = (
    "import csv, hmac, os, sqlite3, sys\n"
    "source, key_file, target, table, add, index = sys.argv[1:7]\n"
    "key = bytes.fromhex(open(key_file).read().strip())\n"
    "conn = sqlite3.connect(target, isolation_level=None)\n"
    "conn.execute('PRAGMA journal_mode=MEMORY')\n"
    "conn.execute('PRAGMA synchronous=OFF')\n"
    "conn.execute(table)\n"
    "with open(source, newline='') as f:\n"
    "    reader = csv.reader(f)\n"
    "    next(reader)\n"
    "    rows = (\n"
    "        (hmac.digest(key, ('uid:' + c[4:].upper()).encode(), 'sha256').hex(), h, k,\n"
    "         u or None, d or None, vf or None, vu or None, None, int(s), 0, '', 'plain',\n"
    "         None, n)\n"
    "        for n, (c, h, k, u, d, vf, vu, s) in enumerate(reader, 2)\n"
    "    )\n"
    "    conn.execute('BEGIN')\n"
    "    conn.executemany(add, rows)\n"
    "    conn.execute('COMMIT')\n"
    "conn.execute(index)\n"
    "conn.close()\n"
    "fd = os.open(target, os.O_RDONLY)\n"
    "os.fsync(fd)\n"
    "os.close(fd)\n"
)


def plain_load(folder: Path, source: Path) -> float:
    """Wall seconds of the plain load of ``source`` (see the module's doc)."""
    from agent.store.list_writer import _ADD, _INDEX, _TABLE

    target = folder / "plain.db"
    argv = [str(source), str(folder / "site.key"), str(target), _TABLE, _ADD, _INDEX]
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", _PLAIN, *argv], check=True)
    wall = time.perf_counter() - started
    target.unlink()
    return wall


def import_phase(folder: Path, count: int) -> dict[str, Any]:
    config = folder / "gate.toml"
    config.write_text(TOML)
    source = folder / "list.csv"
    write_csv(source, count)
    one = folder / "one.csv"
    write_csv(one, 1)
    floor_folder = folder / "floor"
    floor_folder.mkdir()
    (floor_folder / "gate.toml").write_text(TOML)
    (floor_folder / "site.key").write_text((folder / "site.key").read_text())
    _, floor_rss, _ = _cli(floor_folder / "gate.toml", "allowlist", "import", str(one))
    wall, peak, out = _cli(config, "allowlist", "import", str(source))
    assert f"{count} entries" in out, out
    plain = plain_load(folder, source)
    return {
        "wall_s": round(wall, 2),
        "plain_load_s": round(plain, 2),
        "ratio_to_plain": round(wall / plain, 2),
        "peak_rss_mb": peak,
        "peak_rss_one_row_mb": floor_rss,
        "peak_above_one_row_mb": round(peak - floor_rss, 1),
        "csv_mb": round(source.stat().st_size / 2**20, 1),
    }


def _snapshot_child(folder: Path, count: int, chunk: int, conn: Any) -> None:
    from bench.mqtt_common import NO_RESEND, broker_and_gate

    broker, key, app = broker_and_gate(folder, NO_RESEND)
    try:
        assert app.allowlist.count() == count, "the import phase's list is not there"
        conn.send(measure(app, broker, key, count, chunk))
    finally:
        broker.stop()


def _serving_child(folder: Path, count: int, conn: Any) -> None:
    app = bench_gate(folder, {}, {"require_signatures": False})
    sys.setswitchinterval(0.0005)  # as `gate-agent run` does
    app.start(threaded=True)
    gc.collect()
    gc.freeze()
    reader, door = app.devices.readers["r1"], app.doors["main"]
    relay = door.relay
    assert isinstance(reader, SimCardReader) and isinstance(relay, SimRelay)
    rng = random.Random(11)
    samples: list[float] = []
    for n in range(SERVING_TAPS + 200):
        i = rng.randrange(count)
        while i % 97 == 0:  # suspended
            i = rng.randrange(count)
        app.loop.run_sync(door.lock)
        before = len(relay.history)
        read = reader.present("uid:" + card_uid(i).hex())
        app.loop.run_sync(lambda: None)
        assert len(relay.history) == before + 1, "a listed card was not let in"
        if n >= 200:  # warm-up
            samples.append(relay.history[-1][0] - read.at)
    conn.send({"rss_mb": current_rss_mb(), "read_to_relay": percentiles_ms(samples)})
    assert conn.recv() == "go"
    during: list[float] = []
    stop = threading.Event()
    tapper = threading.Thread(target=tap_loop, args=(app, stop, during, min(count, 1000)))
    tapper.start()
    assert conn.recv() == "done"
    stop.set()
    tapper.join()
    entry = app.allowlist.lookup(app.hasher.credential(CardNumber.from_uid(card_uid(0))))
    assert entry is not None and entry.holder_id == "S-0", "the gate did not follow the switch"
    app.stop()
    conn.send(percentiles_ms(during))


def _in_child(target: Any, *args: Any) -> dict[str, Any]:
    ours, theirs = multiprocessing.Pipe()
    child = multiprocessing.get_context("spawn").Process(target=target, args=(*args, theirs))
    child.start()
    result: dict[str, Any] = ours.recv()
    child.join(60)
    return result


def serving_phase(folder: Path, count: int) -> dict[str, Any]:
    """The serving child's figures, then an import beside it (see the module's doc)."""
    second = folder / "list2.csv"
    write_csv(second, count, holder="S")
    ours, theirs = multiprocessing.Pipe()
    child = multiprocessing.get_context("spawn").Process(
        target=_serving_child, args=(folder, count, theirs)
    )
    child.start()
    serving: dict[str, Any] = ours.recv()
    ours.send("go")
    time.sleep(1)  # taps before the import starts
    wall, peak, _ = _cli(folder / "gate.toml", "allowlist", "import", str(second))
    time.sleep(1)  # and after it
    ours.send("done")
    during: dict[str, Any] = ours.recv()
    child.join(60)
    return {
        **serving,
        "import_beside_it": {"wall_s": round(wall, 2), "peak_rss_mb": peak},
        "read_to_relay_during_import": during,
    }


def one_size(count: int, chunk: int) -> dict[str, Any]:
    from agent.store.credentials import write_new_key

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_new_key(folder / "site.key")
        imported = import_phase(folder, count)
        snapshot = _in_child(_snapshot_child, folder, count, chunk)
        serving = serving_phase(folder, count)
    during = snapshot["read_to_relay_during_snapshot"]
    return {
        "entries": count,
        "import": imported,
        "snapshot": {
            "apply_s_until_ack": snapshot["apply_s_until_ack"],
            "office_send_s": snapshot["office_send_s"],
            "gate_idle_rss_mb": snapshot["gate_idle_rss_mb"],
            "gate_peak_rss_mb": snapshot["gate_peak_rss_mb"],
            "gate_peak_above_idle_mb": snapshot["gate_peak_above_idle_mb"],
            "list_worker_peak_rss_mb": snapshot["list_worker_peak_rss_mb"],
            "decision_during_p50_ms": during["p50_ms"],
            "decision_during_p99_ms": during["p99_ms"],
            "decision_during_max_ms": during["max_ms"],
            "decision_during_samples": during["samples"],
            "decision_quiet_p99_ms": snapshot["read_to_relay_quiet"]["p99_ms"],
        },
        "serving": serving,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--huge", action="store_true", help="also 2,000,000 entries")
    parser.add_argument("--sizes", help="comma-separated entry counts instead of the default")
    parser.add_argument(
        "--chunk", type=int, default=SNAPSHOT_CHUNK, help="entries a snapshot chunk (as the office)"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else list(SIZES)
    if args.huge:
        sizes.append(HUGE)
    started = time.perf_counter()
    results = [one_size(n, args.chunk) for n in sizes]
    print(
        json.dumps(
            {
                "benchmark": "scale",
                "sizes": results,
                "total_s": round(time.perf_counter() - started, 1),
                "machine": machine(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
