"""``gate-agent``: run the daemon and look after it from the command line."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sqlite3
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from agent import __version__
from agent.core.kinds import EventType
from agent.errors import ConfigError, GateError
from agent.faces import local
from agent.faces.local import config_of
from agent.models.config import GateConfig

if TYPE_CHECKING:
    from agent.gate.app import App

log = logging.getLogger(__name__)

EXAMPLE_CONFIG = local.EXAMPLE_CONFIG


# -- commands ------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    from agent.gate.supervisor import supervise

    base = config_of(args)
    # A bulk job on another thread (a 100k snapshot) must not hold the GIL for the
    # default 5 ms slices while a card waits.
    sys.setswitchinterval(0.0005)
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("signal %s: stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    config_path = Path(args.config or local.default_config_path())
    supervise(lambda first: _build_gate(base, config_path, demo=args.demo and first), stop)
    return 0


def _build_gate(base: GateConfig, config_path: Path, demo: bool) -> App:
    """The gate with its faces and office link, on the configuration now in force.

    An office config whose devices cannot be opened is rolled back to the last one
    that started (or the installer's file), and the gate says so in a
    ``config_rollback`` alarm instead of failing to start again and again.
    """
    from agent.faces.control import ControlServer
    from agent.faces.simulate import SimControls
    from agent.gate.assemble import build_app
    from agent.gate.systemd import Notifier
    from agent.link.remote_config import OverlayStore, effective_config, fall_back

    config, revision, problem = effective_config(base)
    overlay = OverlayStore.of(base)
    try:
        app = build_app(config, notifier=Notifier(), base_config=base, config_revision=revision)
    except GateError as exc:
        if config is base:
            raise  # the installer's own file: nothing to fall back to
        config, problem = fall_back(base, revision, str(exc))
        app = build_app(config, notifier=Notifier(), base_config=base, config_revision=revision)
    if problem:
        log.error("%s", problem)
        app.record(EventType.CONFIG_ROLLBACK, None, revision=revision, error=problem)
    elif config is not base:
        overlay.mark_good()
    try:
        sim = SimControls(app)
        app.add_part(ControlServer(sim, app.paths.control_socket))
        if config.mqtt.enabled:
            from agent.link.wiring import attach

            link = attach(app)
            if problem:
                link.report_rollback(revision, problem)
        if demo:
            if app.allowlist.count() == 0:
                _demo_import(app, config, config_path)
            from agent.faces.demo import DemoPart

            app.add_part(DemoPart(sim), after_devices=True)
    except BaseException:
        app.stop()
        raise
    return app


def _demo_import(app: App, config: GateConfig, config_path: Path) -> None:
    from agent.store.importer import load_file

    demo = config_path.resolve().parent / "sim-allowlist.csv"
    entries = load_file(demo, config, app.hasher)
    app.allowlist.replace(entries, 1)
    log.info("demo: loaded %d allow-list entries from %s", len(entries), demo)


GPIO_DRIVERS = frozenset({"gpio", "wiegand"})


def cmd_check_config(args: argparse.Namespace) -> int:
    config = local.load_config(args.file)
    from agent.store.credentials import CredentialHasher

    # the same check `run` makes: readable, hex, long enough
    CredentialHasher.from_file(config.security.credential_key_file)
    if _uses_gpio(config):
        from agent.models.lines import gpio_pins
        from drivers.gpio import probe_pin_factory, unknown_pins

        probe_pin_factory()
        if problems := unknown_pins(gpio_pins(config)):
            raise ConfigError(f"{args.file}: invalid configuration", problems)
    print(
        f"{args.file}: OK ({len(config.doors)} door(s), "
        f"{sum(len(d.readers) for d in config.doors)} reader(s))"
    )
    return 0


def _uses_gpio(config: GateConfig) -> bool:
    """Whether any device of the config drives GPIO lines (so the Pi must offer them)."""
    from agent.gate.build import input_specs

    specs = [d.relay for d in config.doors] + list(input_specs(config).values())
    readers = [r for d in config.doors for r in d.readers]
    return any(s.driver in GPIO_DRIVERS for s in [*specs, *readers]) or any(
        r.options.get("feedback") for r in readers
    )


def cmd_keygen(args: argparse.Namespace) -> int:
    from agent.store.credentials import write_new_key

    try:
        write_new_key(Path(args.file))
    except FileExistsError:
        raise GateError(f"{args.file} exists; refusing to overwrite a site key") from None
    print(f"wrote a new 32-byte credential key to {args.file} (mode 0600)")
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
    from agent.core.kinds import coil_energised
    from drivers import registry
    from drivers.base import DriverContext, Relay

    config = config_of(args)
    context = DriverContext(SystemClock())
    for door in config.doors:
        relay = registry.create(
            "relay", door.relay.driver, f"{door.id}.relay", door.relay.options, context
        )
        assert isinstance(relay, Relay)
        relay.set_energised(coil_energised(door.fail_mode, locked=True))
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
    p.set_defaults(fn=local.cmd_allowlist_import)
    p = with_config(allow.add_parser("list", help="show the list (masked cards)"))
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int)
    p.set_defaults(fn=local.cmd_allowlist_list)

    p = with_config(sub.add_parser("status", help="mode, doors, allow-list, outbox"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=local.cmd_status)
    p = with_config(sub.add_parser("events", help="the local event log, newest last"))
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(fn=local.cmd_events)
    p = with_config(sub.add_parser("safe-state", help="lock every relay (systemd ExecStopPost)"))
    p.set_defaults(fn=cmd_safe_state)

    p = sub.add_parser("schema", help="write JSON Schemas for the config and MQTT payloads")
    p.add_argument("--out", default=str(EXAMPLE_CONFIG.parent / "schemas"))
    p.set_defaults(fn=cmd_schema)

    p = with_config(sub.add_parser("learn", help="show the next card read on a reader"))
    p.add_argument("--reader", required=True, help="reader id from the config")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait (default 30)")
    p.set_defaults(fn=local.cmd_learn)

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
    sim.set_defaults(fn=local.cmd_sim)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # nfcpy's debug lines carry raw UIDs: they never reach the agent's log
    logging.getLogger("nfc").setLevel(max(logging.INFO, logging.root.level))
    try:
        return int(args.fn(args))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except GateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # the reader of our output went away (`| head`): nothing more to say to it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130
    except sqlite3.Error as exc:
        # a damaged state database seen by a local command; `run` sets such files aside
        print(f"error: the state database cannot be used: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
