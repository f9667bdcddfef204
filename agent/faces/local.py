"""``gate-agent`` commands that work on a gate's local state: allow-list, status, events, sim."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from agent.core.clock import SystemClock
from agent.core.kinds import EventType
from agent.errors import GateError
from agent.models.config import GateConfig, load_config
from agent.models.messages import GateStatus
from agent.store.allowlist import AllowListStore
from agent.store.eventlog import EventLog
from agent.store.paths import StatePaths

EXAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "config" / "sim.toml"
SYSTEM_CONFIG = Path("/etc/gate-agent/gate.toml")

__all__ = ["EXAMPLE_CONFIG", "config_of", "default_config_path", "load_config"]


def default_config_path() -> Path:
    if env := os.environ.get("GATE_AGENT_CONFIG"):
        return Path(env)
    return EXAMPLE_CONFIG if EXAMPLE_CONFIG.exists() else SYSTEM_CONFIG


def config_of(args: argparse.Namespace) -> GateConfig:
    return load_config(args.config or default_config_path())


def _print(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def _stores(config: GateConfig) -> tuple[AllowListStore, EventLog]:
    paths = StatePaths(config.storage.dir)
    store = AllowListStore(paths.allowlist_db, config.zone())
    events = EventLog(
        paths.events_db,
        SystemClock(),
        config.gate.site,
        config.gate.gate_id,
        synchronous=config.storage.synchronous,
        upload=config.mqtt.enabled,
    )
    return store, events


def cmd_allowlist_import(args: argparse.Namespace) -> int:
    from agent.store.credentials import CredentialHasher
    from agent.store.importer import load_file

    config = config_of(args)
    hasher = CredentialHasher.from_file(
        config.security.credential_key_file, config.security.prox_bits
    )
    entries = load_file(Path(args.file), config, hasher)
    store, events = _stores(config)
    version = args.version if args.version is not None else (store.version() or 0) + 1
    size = store.replace(entries, version)
    events.append(EventType.ALLOWLIST_UPDATED, version=version, size=size, source="cli")
    print(f"allow-list version {version}: {size} entries imported from {args.file}")
    return 0


def cmd_allowlist_list(args: argparse.Namespace) -> int:
    store, _ = _stores(config_of(args))
    rows = store.rows(args.limit)
    if args.json:
        _print({"version": store.version(), "size": store.count(), "entries": rows})
        return 0
    print(f"allow-list version {store.version()}, {store.count()} entries")
    for r in rows:
        flags = " SUSPENDED" if r["suspended"] else ""
        flags += " lockdown-override" if r["lockdown_override"] else ""
        print(
            f"  {r['masked'] or r['credential'][:12]:<16} {r['holder_id']:<10} {r['kind']:<10} "
            f"unit={r['unit'] or '-'} doors={r['doors'] or '*'} schedule={r['schedule'] or '-'}"
            f" from={r['valid_from'] or '-'} until={r['valid_until'] or '-'}{flags}"
        )
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from agent.faces.control import request

    config = config_of(args)
    try:
        reply = request(StatePaths(config.storage.dir).control_socket, "status")
    except OSError:
        running = False
        store, events = _stores(config)
        status = GateStatus(
            online=False,
            site=config.gate.site,
            gate=config.gate.gate_id,
            allowlist_version=store.version(),
            allowlist_size=store.count(),
            outbox_depth=events.depth(),
            last_seq=events.last_seq(),
            recent_events=events.recent(10),
        )
    else:
        running = True
        status = GateStatus.model_validate(reply["result"])
    if args.json:
        _print({"running": running, **status.model_dump(mode="json")})
        return 0
    if not running:
        print("agent: not running")
    else:
        trust = "trusted" if status.clock_trusted else "UNTRUSTED"
        print(
            f"agent: running {status.site}/{status.gate} v{status.version}, "
            f"mode {status.mode}, clock {trust}"
        )
        for door_id, d in status.doors.items():
            print(
                f"  door {door_id}: {'locked' if d.locked else 'UNLOCKED'}, "
                f"{ {True: 'open', False: 'closed', None: 'no contact'}[d.open] }"
                f"{', FORCED' if d.forced else ''}{', HELD OPEN' if d.held else ''}"
                f"{', released' if d.released else ''}"
            )
    print(f"allow-list: version {status.allowlist_version}, {status.allowlist_size} entries")
    print(f"outbox: {status.outbox_depth} event(s) waiting for the office")
    for event in status.recent_events:
        print("  " + _event_line(event.model_dump(mode="json")))
    return 0


def _event_line(e: dict[str, Any]) -> str:
    d = e.get("details", {})
    bits = [f"{k}={d[k]}" for k in ("card", "holder_id", "reason", "count", "by") if d.get(k)]
    mark = "!" if e["severity"] == "alarm" else " "
    return (
        f"{mark}#{e['seq']:<6} {e['time'][:19]} {e['type']:<20} {e.get('door') or '':<11} "
        + " ".join(bits)
    )


def cmd_events(args: argparse.Namespace) -> int:
    _, events = _stores(config_of(args))
    rows = [e.model_dump(mode="json") for e in events.recent(args.limit)]
    if args.json:
        _print(rows)
    else:
        for row in rows:
            print(_event_line(row))
    return 0


def cmd_sim(args: argparse.Namespace) -> int:

    config = config_of(args)
    call: dict[str, Any]
    if args.sim_cmd == "tap":
        call = {"op": "tap", "card": args.card, "door": args.door}
    elif args.sim_cmd == "press":
        call = {"op": "press", "button": args.button, "door": args.door}
    elif args.sim_cmd == "door":
        call = {"op": "door", "state": args.state, "door": args.door}
    else:
        call = {"op": "fire", "on": args.state == "on"}
    result = _ask(config, call.pop("op"), **call)
    if args.sim_cmd == "tap":
        verdict = "GRANTED" if result["granted"] else "DENIED"
        print(
            f"{verdict} ({result['reason']}) card={result['card']} "
            f"holder={result['holder_id'] or '-'} seq={result['seq']}"
        )
    else:
        print(f"mode {result['mode']}")
        for door_id, d in result["doors"].items():
            print(f"  door {door_id}: {'locked' if d['locked'] else 'UNLOCKED'}, open={d['open']}")
        for event in result["events"][-3:]:
            print("  " + _event_line(event))
    return 0


def cmd_learn(args: argparse.Namespace) -> int:
    """Print the next card read on a reader, for an office to register (no decision)."""
    config = config_of(args)
    print(f"present a card to reader {args.reader} (waiting up to {args.timeout:g} s)...")
    result = _ask(
        config, "learn", wait_s=args.timeout + 5, reader=args.reader, timeout_s=args.timeout
    )
    print(f"{result['card']}  (masked {result['masked']}, reader {result['reader']})")
    return 0


def _ask(config: GateConfig, op: str, wait_s: float = 10.0, **args: Any) -> Any:
    """One request to the running agent's control socket; its result, or a GateError."""
    from agent.faces.control import request

    sock = StatePaths(config.storage.dir).control_socket
    try:
        reply = request(sock, op, timeout=wait_s, **args)
    except OSError as exc:
        raise GateError(
            f"no agent answers on {sock} ({exc.strerror}); start it with `gate-agent run`"
        ) from None
    if not reply["ok"]:
        raise GateError(reply["error"])
    return reply["result"]
