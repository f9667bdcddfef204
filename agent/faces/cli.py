"""``gate-agent``: run the daemon and look after it from the command line."""

from __future__ import annotations

import argparse
import atexit
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from agent import __version__
from agent.errors import ConfigError, GateError
from agent.models.config import GateConfig, load_config

log = logging.getLogger(__name__)

EXAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "config" / "sim.toml"
SYSTEM_CONFIG = Path("/etc/gate-agent/gate.toml")


def default_config_path() -> Path:
    if env := os.environ.get("GATE_AGENT_CONFIG"):
        return Path(env)
    return EXAMPLE_CONFIG if EXAMPLE_CONFIG.exists() else SYSTEM_CONFIG


def _config(args: argparse.Namespace) -> GateConfig:
    return load_config(args.config or default_config_path())


def _print(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


# -- commands ------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    from agent.link.remote_config import effective_config

    base = _config(args)
    # A bulk job on another thread (a 100k snapshot) must not hold the GIL for the
    # default 5 ms slices while a card waits.
    sys.setswitchinterval(0.0005)
    stop = threading.Event()
    current: list[Any] = []

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("signal %s: stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    atexit.register(lambda: [app.lock_all() for app in current])
    first = True
    while True:
        config, revision, problem = effective_config(base)
        if problem:
            log.error(problem)
        app = _build_app(config, base, revision)
        current[:] = [app]
        threading.excepthook = _lock_on_thread_crash(app, threading.__excepthook__)
        try:
            if first and args.demo and app.allowlist.count() == 0:
                _demo_import(app, config, Path(args.config or default_config_path()))
            app.start()
            if first and args.demo:
                from agent.faces.demo import play

                threading.Thread(target=play, args=(app, 1.0, stop), daemon=True).start()
            while not stop.wait(0.2) and not app.wait(0):
                pass
        finally:
            app.stop()
        first = False
        if not app.restart_requested or stop.is_set():
            return 0
        log.info("restarting with the new configuration")


def _build_app(config: GateConfig, base: GateConfig, revision: int) -> Any:
    from agent.gate.app import App
    from agent.faces.control import ControlServer
    from agent.gate.systemd import Notifier

    app = App(config, notifier=Notifier(), base_config=base, config_revision=revision)
    app.add_part(ControlServer(app, app.control_path))
    if config.mqtt.enabled:
        from agent.link.uplink import attach

        attach(app)
    return app


def _lock_on_thread_crash(app: Any, previous: Any) -> Any:
    def hook(hook_args: Any) -> None:
        app.lock_all()
        previous(hook_args)

    return hook


def _demo_import(app: Any, config: GateConfig, config_path: Path) -> None:
    from agent.store.importer import load_file

    demo = config_path.resolve().parent / "sim-allowlist.csv"
    entries = load_file(demo, config, app.hasher)
    app.allowlist.replace(entries, 1)
    log.info("demo: loaded %d allow-list entries from %s", len(entries), demo)


def cmd_check_config(args: argparse.Namespace) -> int:
    config = load_config(args.file)
    from agent.store.credentials import read_key_file

    read_key_file(config.security.credential_key_file)
    print(
        f"{args.file}: OK ({len(config.doors)} door(s), "
        f"{sum(len(d.readers) for d in config.doors)} reader(s))"
    )
    return 0


def cmd_keygen(args: argparse.Namespace) -> int:
    from agent.store.credentials import write_new_key

    try:
        write_new_key(Path(args.file))
    except FileExistsError:
        raise GateError(f"{args.file} exists; refusing to overwrite a site key") from None
    print(f"wrote a new 32-byte credential key to {args.file} (mode 0600)")
    return 0


def _stores(config: GateConfig) -> tuple[Any, Any]:
    from agent.store.allowlist import AllowListStore
    from agent.core.clock import SystemClock
    from agent.store.eventlog import EventLog

    store = AllowListStore(config.storage.dir / "allowlist.db", config.zone())
    events = EventLog(
        config.storage.dir / "events.db",
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
    from agent.models.wire import EventType

    config = _config(args)
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
    store, _ = _stores(_config(args))
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

    config = _config(args)
    try:
        reply = request(config.storage.dir / "control.sock", "status")
    except OSError:
        store, events = _stores(config)
        status = {
            "running": False,
            "allowlist": {"version": store.version(), "size": store.count()},
            "outbox_depth": events.depth(),
            "recent_events": [e.model_dump(mode="json") for e in events.recent(10)],
        }
    else:
        status = {"running": True, **reply["result"]}
    if args.json:
        _print(status)
        return 0
    if not status["running"]:
        print("agent: not running")
    else:
        print(
            f"agent: running {status['site']}/{status['gate']} v{status['version']}, "
            f"mode {status['mode']}, clock {'trusted' if status['clock_trusted'] else 'UNTRUSTED'}"
        )
        for door_id, d in status["doors"].items():
            print(
                f"  door {door_id}: {'locked' if d['locked'] else 'UNLOCKED'}, "
                f"{ {True: 'open', False: 'closed', None: 'no contact'}[d['open']] }"
                f"{', FORCED' if d['forced'] else ''}{', HELD OPEN' if d['held'] else ''}"
                f"{', released' if d['released'] else ''}"
            )
    print(
        f"allow-list: version {status['allowlist']['version']}, "
        f"{status['allowlist']['size']} entries"
    )
    print(f"outbox: {status['outbox_depth']} event(s) waiting for the office")
    for event in status["recent_events"]:
        print("  " + _event_line(event))
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
    _, events = _stores(_config(args))
    rows = [e.model_dump(mode="json") for e in events.recent(args.limit)]
    if args.json:
        _print(rows)
    else:
        for row in rows:
            print(_event_line(row))
    return 0


def cmd_sim(args: argparse.Namespace) -> int:
    from agent.faces.control import request

    config = _config(args)
    call: dict[str, Any]
    if args.sim_cmd == "tap":
        call = {"op": "tap", "card": args.card, "door": args.door}
    elif args.sim_cmd == "press":
        call = {"op": "press", "button": args.button, "door": args.door}
    elif args.sim_cmd == "door":
        call = {"op": "door", "state": args.state, "door": args.door}
    else:
        call = {"op": "fire", "on": args.state == "on"}
    sock = config.storage.dir / "control.sock"
    try:
        reply = request(sock, call.pop("op"), **call)
    except OSError as exc:
        raise GateError(
            f"no agent answers on {sock} ({exc.strerror}); start it with `gate-agent run`"
        ) from None
    if not reply["ok"]:
        raise GateError(reply["error"])
    result = reply["result"]
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


def cmd_schema(args: argparse.Namespace) -> int:
    """Write the JSON Schema of the config file and of every MQTT payload."""
    from agent.models.schemas import write_schemas

    for path in write_schemas(Path(args.out)):
        print(path)
    return 0


def cmd_safe_state(args: argparse.Namespace) -> int:
    """Drive every relay to locked; systemd runs this after the agent exits for any reason."""
    from agent.core.clock import SystemClock
    from agent.models.config import FailMode
    from drivers import registry
    from drivers.base import DriverContext

    config = _config(args)
    context = DriverContext(SystemClock())
    for door in config.doors:
        relay: Any = registry.create(
            "relay", door.relay.driver, f"{door.id}.relay", door.relay.options, context
        )
        relay.set_energised(door.fail_mode is FailMode.SAFE)
        print(f"door {door.id}: locked")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gate-agent", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument("--log-level", default=os.environ.get("GATE_AGENT_LOG", "INFO"))
    sub = parser.add_subparsers(dest="cmd", required=True)

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "-c",
            "--config",
            type=Path,
            help="config file (default: $GATE_AGENT_CONFIG or the simulator example)",
        )
        return p

    p = with_config(sub.add_parser("run", help="run the agent"))
    p.add_argument("--demo", action="store_true", help="load the demo allow-list and play a scene")
    p.set_defaults(fn=cmd_run)
    p = sub.add_parser("check-config", help="validate a config file")
    p.add_argument("file", type=Path)
    p.set_defaults(fn=cmd_check_config)
    p = sub.add_parser("keygen", help="create a site credential key file")
    p.add_argument("file")
    p.set_defaults(fn=cmd_keygen)

    allow = sub.add_parser("allowlist", help="the local allow-list").add_subparsers(
        dest="allow_cmd", required=True
    )
    p = with_config(allow.add_parser("import", help="replace the list from a CSV or JSON file"))
    p.add_argument("file")
    p.add_argument("--version", type=int, help="version to record (default: current + 1)")
    p.set_defaults(fn=cmd_allowlist_import)
    p = with_config(allow.add_parser("list", help="show the list (masked cards)"))
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int)
    p.set_defaults(fn=cmd_allowlist_list)

    p = with_config(sub.add_parser("status", help="mode, doors, allow-list, outbox"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_status)
    p = with_config(sub.add_parser("events", help="the local event log, newest last"))
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(fn=cmd_events)
    p = with_config(sub.add_parser("safe-state", help="lock every relay (systemd ExecStopPost)"))
    p.set_defaults(fn=cmd_safe_state)

    p = sub.add_parser("schema", help="write JSON Schemas for the config and MQTT payloads")
    p.add_argument("--out", default=str(EXAMPLE_CONFIG.parent / "schemas"))
    p.set_defaults(fn=cmd_schema)

    sim = sub.add_parser("sim", help="drive a running agent's simulated devices")
    simsub = sim.add_subparsers(dest="sim_cmd", required=True)
    p = with_config(simsub.add_parser("tap", help="present a card"))
    p.add_argument("card", help="uid:HEX, em:HEX10, w26:FAC:CARD ...")
    p.add_argument("--door")
    p = with_config(simsub.add_parser("press", help="press a button"))
    p.add_argument("button", choices=["visitor", "exit"])
    p.add_argument("--door")
    p = with_config(simsub.add_parser("door", help="open or close a door contact"))
    p.add_argument("state", choices=["open", "close"])
    p.add_argument("--door")
    p = with_config(simsub.add_parser("fire", help="fire-alarm input on or off"))
    p.add_argument("state", choices=["on", "off"])
    sim.set_defaults(fn=cmd_sim)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.fn(args))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except GateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
