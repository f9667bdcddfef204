"""Card read to relay command, beside the plain-sqlite floor, in one run. Prints JSON.

The floor (``bench/floor.py``) is HMAC, a point lookup in a table of the same size and
one insert committed with synchronous=FULL, on the calling thread; ``bare_floor`` is the
barest honest one (``BareFloor``: one file and connection, the 32-byte digest as key),
timed in the same rounds (issue 23 item 4). The agent is the real App with its core
thread and sim devices: the sim reader stamps a read with the clock's monotonic time as
it hands it over, the sim relay stamps the moment it is commanded; the event is fsynced
in between. Floor and agent taps alternate, so both see the same machine at the same
moments. One card in five is unknown (a denial, timed to the reader's red light).

``--scenarios card,pin`` (the default) runs today's card path (``--readers``) and then
each further scenario on the same App, in the same run: ``pin`` is card plus PIN
(``bench/decision_pin.py``). A scenario is a function in ``SCENARIOS``; its verdict
compares it with the card path's one-reader result.

``--readers N`` taps N readers (a door each) at the same instant every round; with
group commit no tap waits for more than two fsyncs (the one under way, then the one
its group shares). ``--fsync-delay-ms N`` runs the whole benchmark under strace,
which delays every fsync and fdatasync by N ms, as a slow SD card would.

    python bench/decision.py [--entries 100000,1000000] [--readers 1,4] [--taps N]
                             [--synchronous full|normal] [--fsync-delay-ms N] [--passback]
                             [--scenarios card,pin] [--scenario-taps N]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.gate.app import App
from agent.gate.assemble import build_app
from agent.models.config import validate_config
from agent.models.wire import AllowListEntry
from agent.store.credentials import read_key_file, write_new_key
from bench.common import current_rss_mb, machine, peak_rss_mb, percentiles_ms
from bench.decision_pin import entry_fields, pin_door, pin_scenario, pin_verdict
from bench.floor import BareFloor, Floor, Floors
from drivers.cards import CardNumber
from drivers.sim import SimCardReader, SimRelay

WARMUP = 200
_UNDER_STRACE = "GATE_BENCH_FSYNC_DELAY_MS"


def card(i: int) -> CardNumber:
    return CardNumber.from_uid((0x04000000000000 + i * 7919).to_bytes(7, "big"))


def gate(folder: Path, synchronous: str, readers: int) -> App:
    """One sim reader and relay per door; the uplink is configured but never attached,
    so events stay in the outbox as they would offline; alarms never trip."""
    write_new_key(folder / "site.key")
    never = {"count": 10**9, "window_s": 1, "lockout_s": 0}
    config = validate_config(
        {
            "gate": {
                "site": "bench",
                "gate_id": "g1",
                "timezone": "Africa/Cairo",
                "simulated": True,
            },
            "storage": {"dir": "state", "synchronous": synchronous},
            "security": {"credential_key_file": "site.key"},
            "clock": {"sync_marker": ""},
            "doors": [
                {"id": f"d{n}", "readers": [{"id": f"r{n}"}], "relay": {"driver": "sim"}}
                for n in range(1, readers + 1)
            ]
            + [pin_door()],  # card plus PIN on: the PIN scenario's door
            "alarms": {"reader_denials": never, "card_denials": never},
            "mqtt": {"enabled": True, "require_signatures": False},
        },
        folder,
    )
    return build_app(config)


def enroll(app: App, count: int) -> None:
    def entries() -> Iterator[AllowListEntry]:
        for i in range(count):
            number = card(i)
            credential, masked = app.hasher.identify(number)
            yield AllowListEntry(
                credential=credential,
                masked=masked,
                holder_id=f"R-{i}",
                unit=f"U-{i % 500}",
                **entry_fields(i),
            )

    assert app.allowlist.replace(entries(), 1) == count


def single(app: App, floors: Floors, entries: int, taps: int) -> dict[str, Any]:
    """One reader: a tap, then both floors' decisions, and again."""
    reader, door = app.devices.readers["r1"], app.doors["d1"]
    relay = door.relay
    assert isinstance(reader, SimCardReader) and isinstance(relay, SimRelay)
    rng = random.Random(7)
    grants: list[float] = []
    denials: list[float] = []
    commits = app.events.commits
    for i in range(taps + WARMUP):
        n = rng.randrange(entries) if i % 5 else entries + rng.randrange(10**9)  # unknown
        number = card(n)
        app.loop.run_sync(door.lock)
        moves = len(relay.history)
        read = reader.present(f"uid:{number.value:014x}")
        app.loop.run_sync(lambda: None)  # barrier: the read has been handled
        floors.tap(number.canonical(), keep=i >= WARMUP)
        if i < WARMUP:
            continue
        if n < entries:
            assert len(relay.history) == moves + 1, "a grant did not move the relay"
            grants.append(relay.history[-1][0] - read.at)
        else:
            denials.append(reader.shown[-1][0] - read.at)
    return floors.report() | {
        "read_to_relay": percentiles_ms(grants),
        "read_to_denial_light": percentiles_ms(denials),
        "commits_per_tap": round((app.events.commits - commits) / (taps + WARMUP), 3),
    }


def together(app: App, floors: Floors, entries: int, taps: int, readers: int) -> dict[str, Any]:
    """``readers`` readers tapped at the same instant each round (all known cards),
    then one decision of each floor. Each tap is timed from its own read to its own relay."""
    names = [f"r{n}" for n in range(1, readers + 1)]
    sims = [app.devices.readers[name] for name in names]
    doors = [app.doors[f"d{n}"] for n in range(1, readers + 1)]
    relays = [relay for relay in (door.relay for door in doors) if isinstance(relay, SimRelay)]
    assert all(isinstance(r, SimCardReader) for r in sims) and len(relays) == readers
    rounds = max(1, taps // readers) + WARMUP // readers
    rng = random.Random(11)
    plan = [[card(rng.randrange(entries)) for _ in names] for _ in range(rounds)]
    go, done = threading.Barrier(readers + 1), threading.Barrier(readers + 1)
    reads: list[Any] = [None] * readers

    def tapper(k: int) -> None:
        sim = sims[k]
        assert isinstance(sim, SimCardReader)
        for r in range(rounds):
            go.wait()
            reads[k] = sim.present(f"uid:{plan[r][k].value:014x}")
            done.wait()

    threads = [threading.Thread(target=tapper, args=(k,), daemon=True) for k in range(readers)]
    for thread in threads:
        thread.start()
    waits: list[float] = []
    worst: list[float] = []
    commits = app.events.commits
    for r in range(rounds):
        for door in doors:
            app.loop.run_sync(door.lock)
        go.wait()
        done.wait()
        app.loop.run_sync(lambda: None)  # every read of the round has been handled
        floors.tap(plan[r][0].canonical(), keep=r >= WARMUP // readers)
        if r < WARMUP // readers:
            continue
        round_waits = [
            relay.history[-1][0] - read.at for relay, read in zip(relays, reads, strict=True)
        ]
        waits += round_waits
        worst.append(max(round_waits))
    for thread in threads:
        thread.join()
    return floors.report() | {
        "read_to_relay": percentiles_ms(waits),
        "slowest_tap_of_each_round": percentiles_ms(worst),
        "commits_per_round": round((app.events.commits - commits) / rounds, 3),
    }


def verdict(result: dict[str, Any], readers: int, delay_ms: float) -> dict[str, Any]:
    """The targets of issues 11 and 23, computed from this run's own numbers."""
    floor, agent, bare = result["floor"], result["read_to_relay"], result["bare_floor"]
    out: dict[str, Any] = {
        "p50_vs_floor": round(agent["p50_ms"] / floor["p50_ms"], 2),
        "p99_vs_floor": round(agent["p99_ms"] / floor["p99_ms"], 2),
        "p50_vs_bare_floor": round(agent["p50_ms"] / bare["p50_ms"], 2),
        "p99_vs_bare_floor": round(agent["p99_ms"] / bare["p99_ms"], 2),
    }
    fsync = floor["p50_ms"]  # one fsync and the little else the floor does
    if readers == 1 and not delay_ms:
        out["within_2x_floor"] = out["p50_vs_floor"] <= 2 and out["p99_vs_floor"] <= 2
    elif readers == 1:  # the floor's p99 is one fsync at the same percentile
        out["p99_within_one_fsync_plus_2ms"] = agent["p99_ms"] <= floor["p99_ms"] + 2
    elif delay_ms:  # fsyncs dominate only when they are slow; else it is CPU for N reads
        out["slowest_tap_in_fsyncs"] = round(agent["max_ms"] / fsync, 2)
        out["no_tap_waits_more_than_two_fsyncs"] = agent["max_ms"] <= 2 * fsync + 2
    return out


# scenarios beside the card path: (app, entries, taps, card) -> result, and its verdict
# against the card path's one-reader read_to_relay; add one here with its own module
SCENARIOS: dict[str, tuple[Callable[..., dict[str, Any]], Callable[..., dict[str, Any]]]] = {
    "pin": (pin_scenario, pin_verdict),
}


def run(
    entries: int,
    readers: list[int],
    taps: int,
    synchronous: str,
    scenarios: Sequence[str] = ("card", "pin"),
    scenario_taps: int = 300,
) -> list[dict[str, Any]]:
    delay_ms = float(os.environ.get(_UNDER_STRACE, "0"))
    results = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        app = gate(Path(tmp), synchronous, max(readers))
        started = time.perf_counter()
        enroll(app, entries)
        load_s = time.perf_counter() - started
        key = read_key_file(Path(tmp) / "site.key")
        floors = Floors(Floor(Path(tmp), key, synchronous), BareFloor(Path(tmp), key, synchronous))
        assert floors.floor.load(card(i).canonical() for i in range(entries)) == entries
        assert floors.bare.load(card(i).canonical() for i in range(entries)) == entries
        app.start(threaded=True)
        gc.collect()  # as ``gate-agent run`` does once the gate is built (agent/faces/cli.py)
        gc.freeze()
        try:
            card_path = None
            for count in readers if "card" in scenarios else []:
                if count == 1:
                    result = single(app, floors, entries, taps)
                else:
                    result = together(app, floors, entries, taps, count)
                results.append(
                    {"entries": entries, "readers": count, "allowlist_load_s": round(load_s, 1)}
                    | result
                    | {"verdict": verdict(result, count, delay_ms)}
                    | {"rss_while_serving_mb": current_rss_mb()}
                )
                if count == 1:
                    card_path = result["read_to_relay"]
            for name in (n for n in scenarios if n != "card"):
                scenario, judge = SCENARIOS[name]
                result = scenario(app, entries, scenario_taps, card)
                results.append({"entries": entries, "scenario": name} | result
                               | {"verdict": judge(result, card_path)})  # fmt: skip
        finally:
            app.stop()
            floors.floor.close()
            floors.bare.close()
    return results


def under_strace(delay_ms: float) -> None:
    """Run this very command again under strace with every fsync delayed; never returns."""
    strace = shutil.which("strace")
    if strace is None:
        sys.exit(
            "bench/decision.py: --fsync-delay-ms needs strace, which is not installed "
            "(apt-get install strace)"
        )
    delay_us = str(round(delay_ms * 1000))
    argv = [strace, "-f", "-qq", "--seccomp-bpf", "-o", "/dev/null"]
    argv += ["-e", "trace=fsync,fdatasync", "-e", f"inject=fsync,fdatasync:delay_exit={delay_us}"]
    argv += [sys.executable, str(Path(__file__).resolve()), *sys.argv[1:]]
    os.execve(strace, argv, os.environ | {_UNDER_STRACE: str(delay_ms)})


def numbers(text: str) -> list[int]:
    """``100000,1_000_000`` -> [100000, 1000000]; each at least 1."""
    try:
        values = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of whole numbers: {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"give one or more numbers of at least 1: {text!r}")
    return values


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--entries", type=numbers, default=[100_000, 1_000_000], help="allow-list sizes"
    )
    parser.add_argument("--readers", type=numbers, default=[1], help="e.g. 1,4")
    parser.add_argument("--taps", type=int, help="measured taps (default 2000; 400 delayed)")
    parser.add_argument("--synchronous", choices=["full", "normal"], default="full")
    parser.add_argument("--fsync-delay-ms", type=float, default=0.0)
    parser.add_argument("--scenarios", default="card,pin",
                        help=f"card and any of {sorted(SCENARIOS)}, comma-separated")  # fmt: skip
    parser.add_argument("--scenario-taps", type=int, default=300, help="rounds per scenario")
    parser.add_argument(
        "--passback",
        action="store_true",
        help="also: anti-passback beside today's path (bench/presence_bench.py)",
    )
    args = parser.parse_args()
    if args.fsync_delay_ms and os.environ.get(_UNDER_STRACE) is None:
        under_strace(args.fsync_delay_ms)
    taps = args.taps or (400 if args.fsync_delay_ms else 2000)
    sys.setswitchinterval(0.0005)  # as ``gate-agent run`` sets it (agent/faces/cli.py)
    scenarios = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    unknown = set(scenarios) - {"card", *SCENARIOS}
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}: choose from card, {sorted(SCENARIOS)}")
    runs = [
        r
        for n in args.entries
        for r in run(n, args.readers, taps, args.synchronous, scenarios, args.scenario_taps)
    ]
    report = {
        "benchmark": "decision",
        "synchronous": args.synchronous,
        "fsync_delay_ms": args.fsync_delay_ms,
        "taps": taps,
        "scenarios": scenarios,
        "runs": runs,
        "peak_rss_mb": peak_rss_mb(),
        "machine": machine(),
    }
    if args.passback:  # issue 21: a hard area's read path beside today's, in this run
        from bench.presence_bench import passback_runs

        report["passback"] = passback_runs(args.entries, taps, args.synchronous)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
