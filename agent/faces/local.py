"""``gate-agent`` commands that work on a gate's local state: allow-list, status, events, sim."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from agent.core.kinds import EventType
from agent.errors import GateError
from agent.faces.configs import (
    EXAMPLE_CONFIG,
    SYSTEM_CONFIG,
    config_of,
    default_config_path,
    open_stores,
)
from agent.faces.events import cmd_events, event_line
from agent.faces.times import local_iso, localized
from agent.models.config import GateConfig, load_config
from agent.models.messages import GateStatus, OfficeLinkStatus
from agent.store.paths import StatePaths

__all__ = [
    "EXAMPLE_CONFIG",
    "SYSTEM_CONFIG",
    "cmd_events",
    "config_of",
    "default_config_path",
    "load_config",
]

NOT_RUNNING = 3  # LSB: "program is not running", as `systemctl status` says it


def _print(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def cmd_allowlist_import(args: argparse.Namespace) -> int:
    from agent.store.credentials import CredentialHasher
    from agent.store.importer import import_file

    config = config_of(args)
    hasher = CredentialHasher.from_file(
        config.security.credential_key_file, config.security.prox_bits
    )
    store, events = open_stores(config)
    version = args.version if args.version is not None else (store.version() or 0) + 1
    stale = store.restore_mark() is not None
    size = import_file(Path(args.file), config, hasher, store, version)
    events.append(EventType.ALLOWLIST_UPDATED, version=version, size=size, source="cli")
    if stale:
        events.append(EventType.ALLOWLIST_RESYNCED, version=version, source="cli")
    print(f"allow-list version {version}: {size} entries imported from {args.file}")
    return 0


def cmd_allowlist_list(args: argparse.Namespace) -> int:
    config = config_of(args)
    zone = config.zone()
    store, _ = open_stores(config)
    rows = [_local_bounds(r, config) for r in store.rows(args.limit)]
    if args.json:
        _print({"version": store.version(), "size": store.count(), "entries": rows})
        return 0
    print(
        f"allow-list version {store.version()}, {store.count()} entries "
        f"(times in {zone.key}; until = the first moment no longer valid)"
    )
    for r in rows:
        flags = " SUSPENDED" if r["suspended"] else ""
        flags += " lockdown-override" if r["lockdown_override"] else ""
        policy = r.get("credential_policy") or "plain"
        flags += f" {policy}-card" if policy != "plain" else ""
        print(
            f"  {r['masked'] or r['credential'][:12]:<16} {r['holder_id']:<10} {r['kind']:<10} "
            f"unit={r['unit'] or '-'} doors={r['doors'] or '*'} schedule={r['schedule'] or '-'}"
            f" from={r['valid_from'] or '-'} until={r['valid_until'] or '-'}{flags}"
        )
    return 0


def _local_bounds(row: dict[str, Any], config: GateConfig) -> dict[str, Any]:
    """Validity bounds are stored as UTC instants; people read them in the gate's zone."""
    return row | {
        k: local_iso(row[k], config.zone()) for k in ("valid_from", "valid_until") if row[k]
    }


def cmd_status(args: argparse.Namespace) -> int:
    """Exit 0 when the agent answers, 3 when it is not running (what is stored is shown)."""
    from agent.faces.control import request

    config = config_of(args)
    zone = config.zone()
    sock = StatePaths(config.storage.dir).control_socket
    try:
        reply = request(sock, "status")
    except (FileNotFoundError, ConnectionRefusedError):  # no socket, or one left by a crash
        running = False
        store, events = open_stores(config)
        status = GateStatus(
            online=False,
            site=config.gate.site,
            gate=config.gate.gate_id,
            allowlist_version=store.version(),
            allowlist_size=store.count(),
            allowlist_stale=store.restore_mark() is not None,
            outbox_depth=events.depth(),
            last_seq=events.last_seq(),
            recent_events=events.recent(10),
        )
    except OSError as exc:  # there is an agent, but this user or this moment cannot ask it
        raise GateError(f"cannot ask the agent on {sock}: {exc.strerror or exc}") from None
    else:
        running = True
        status = GateStatus.model_validate(reply["result"])
    if args.json:
        _print({"running": running, **localized(status.model_dump(), zone)})
        return 0 if running else NOT_RUNNING
    if not running:
        print("agent: not running")
    else:
        trust = "trusted" if status.clock_trusted else "UNTRUSTED"
        now = f" at {local_iso(status.time, zone, 'seconds')}" if status.time else ""
        print(
            f"agent: running {status.site}/{status.gate} v{status.version}, "
            f"mode {status.mode}, clock {trust}{now}"
        )
        for door_id, d in status.doors.items():
            print(
                f"  door {door_id}: {'locked' if d.locked else 'UNLOCKED'}, "
                f"{ {True: 'open', False: 'closed', None: 'no contact'}[d.open] }"
                f"{', FORCED' if d.forced else ''}{', HELD OPEN' if d.held else ''}"
                f"{', released' if d.released else ''}"
            )
        for area, o in status.occupancy.items():  # issue 21: who is inside, by kind
            kinds = ", ".join(f"{k} {n}" for k, n in o.counts.items() if n)
            cap = f" of {o.capacity}" if o.capacity else ""
            full = " FULL (visitors refused)" if o.refuses_visitors else " FULL" * o.full
            full = " FULL (all refused)" if o.refuses_all else full
            print(f"  area {area}: {o.total}{cap} inside ({kinds or 'nobody'}){full}")
        if (plates := status.plate_receiver) is not None:  # issue 22: what cameras pushed
            for source, counts in plates.items():
                shown = ", ".join(f"{k} {n}" for k, n in sorted(counts.items())) or "none"
                what = "accepted" if source == "outcomes" else "refused"
                print(f"  plate receiver {source}: {what} {shown}")
    stale = " (STALE: restored from a backup; waiting for the office)" * bool(
        status.allowlist_stale
    )
    print(f"allow-list: version {status.allowlist_version}, {status.allowlist_size} entries{stale}")
    print(f"outbox: {status.outbox_depth} event(s) waiting for the office")
    if running and status.readers:
        for name, r in status.readers.items():
            seen = f", last read {local_iso(r.last_read, zone, 'seconds')}" if r.last_read else ""
            problem = f" ({r.last_error})" if r.last_error else ""
            print(f"  reader {name} ({r.driver}) at {r.door}: {r.state}{problem}{seen}")
    if running and status.exits_without_entry is not None:
        print(f"exits without a recorded entry since start: {status.exits_without_entry}")
    if running and (link := status.office_link) is not None:
        print("office link: " + office_link_line(link, zone))
    for event in status.recent_events:
        print("  " + event_line(event.model_dump(), zone))
    return 0 if running else NOT_RUNNING


def cmd_sim(args: argparse.Namespace) -> int:

    config = config_of(args)
    call: dict[str, Any]
    if args.sim_cmd == "tap":
        call = {"op": "tap", "card": args.card, "door": args.door}
    elif args.sim_cmd == "scan":
        call = {"op": "scan", "door": args.door, "code": args.code}
    elif args.sim_cmd == "plate":
        call = {"op": "plate", "door": args.door, "plate": args.plate}
        call["confidence"] = args.confidence
    elif args.sim_cmd == "press":
        call = {"op": "press", "button": args.button, "door": args.door}
    elif args.sim_cmd == "door":
        call = {"op": "door", "state": args.state, "door": args.door}
    elif args.sim_cmd == "keys":
        call = {"op": "keys", "keys": args.keys, "door": args.door}
    elif args.sim_cmd == "loop":
        which = "arming" if args.arming else "loop"
        call = {"op": "loop", "on": args.state == "on", "door": args.door, "which": which}
    else:
        call = {"op": "fire", "on": args.state == "on"}
    result = _ask(config, call.pop("op"), **call)
    if args.sim_cmd == "keys":  # never the keys themselves: they may be a PIN
        result = result["decision"] or {"typed": result["typed"]}
    if "typed" in result:
        print(f"{result['typed']} key(s) typed; no card was waiting for them")
    elif args.sim_cmd in ("tap", "keys"):
        verdict = "GRANTED" if result["granted"] else "DENIED"
        print(
            f"{verdict} ({result['reason']}) card={result['card']} "
            f"holder={result['holder_id'] or '-'} seq={result['seq']}"
        )
    elif args.sim_cmd == "scan":
        print(pass_line(result))
    elif args.sim_cmd == "plate":
        print(plate_line(result))
    else:
        print(f"mode {result['mode']}")
        for door_id, d in result["doors"].items():
            print(f"  door {door_id}: {'locked' if d['locked'] else 'UNLOCKED'}, open={d['open']}")
        for event in result["events"][-3:]:
            print("  " + event_line(event, config.zone()))
    return 0


def plate_line(result: dict[str, Any]) -> str:
    """``GRANTED (granted) plate 京A****45 holder=r-1 seq=12``, or the camera's outcome."""
    if "granted" not in result:
        return f"{result['outcome'].upper()} {result.get('reason', '')}".rstrip()
    verdict = "GRANTED" if result["granted"] else "DENIED"
    return (
        f"{verdict} ({result['reason']}) plate={result['card']} "
        f"holder={result['holder_id'] or '-'} seq={result['seq']}"
    )


def pass_line(result: dict[str, Any]) -> str:
    """``LET IN (granted) pass 3f... unit A-12, 0 use(s) left, seq 41``."""
    verdict = "LET IN" if result["granted"] else "REFUSED"
    facts = [f"pass {result['pass_id'] or '-'}"]
    if result.get("unit"):
        facts[0] += f" unit {result['unit']}"
    if result.get("uses_left") is not None:
        facts.append(f"{result['uses_left']} use(s) left")
    return f"{verdict} ({result['reason']}) {', '.join(facts)}, seq {result['seq']}"


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


def office_link_line(link: OfficeLinkStatus, zone: ZoneInfo) -> str:
    """``connected to H:P since T`` or ``DOWN since T (error), N failed attempts``."""
    if not link.enabled:
        return "off (mqtt.enabled = false)"
    if link.connected:
        since = local_iso(link.connected_since, zone, "seconds") if link.connected_since else "?"
        text = f"connected to {link.broker} since {since}"
    else:
        down = link.disconnected_since
        when = f" since {local_iso(down, zone, 'seconds')}" if down else ""
        text = f"DOWN ({link.broker}){when}: {link.last_error or 'not connected yet'}"
        text += f", {link.failed_attempts} failed attempt(s)"
    if link.last_event_acked is not None:
        text += f"; last event acked: seq {link.last_event_acked.seq}"
    if link.backlog:
        text += f"; {link.backlog} waiting, oldest {link.oldest_waiting_age_s or 0:.0f} s"
    return text
