"""``gate-agent``: run the daemon and look after it from the command line."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from agent.core.kinds import EventType
from agent.errors import ConfigError, DriverError, GateError
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
    if not args.log_level and not os.environ.get("GATE_AGENT_LOG"):
        from agent.faces.logs import setup_logging

        setup_logging(base.logging.spec())  # the config's [logging], flags and env win
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
        app.add_part(ControlServer(sim, app.paths.control_socket, ready=app.devices_ready))
        if config.mqtt.enabled:
            from agent.link.wiring import attach

            link = attach(app)
            if problem:
                link.report_rollback(revision, problem)
        plates = None
        if any(r.driver.startswith("anpr-") for d in config.doors for r in d.readers):
            from agent.console.anpr import attach_plates  # the vehicle gate (issue 22)

            plates = attach_plates(app)
        if config.console.enabled:
            from agent.console.wiring import attach_console

            console = attach_console(app)
            if plates is not None:
                from agent.console.plates import attach_plate_screen

                attach_plate_screen(console.console, app, plates)
        if demo:
            if app.allowlist.count() == 0:
                _demo_import(app, config, config_path)
            from agent.faces.demo import DemoPart

            app.add_part(DemoPart(sim), after_devices=True)
    except BaseException:
        app.stop()
        raise
    # What exists now is the program itself: keep it out of later full garbage
    # collections, which would otherwise walk all of it (30 ms here) while a card waits,
    # each time a bulk job such as an office snapshot has churned enough objects.
    gc.collect()
    gc.freeze()
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
    from agent.faces.checks import warnings
    from agent.models.secure import reader_warnings
    from agent.store.credentials import CredentialHasher
    from agent.store.keyfiles import check_secret_files, secure_site

    # the same checks `run` makes: present, private, not the demo key; hex, long enough
    check_secret_files(config)
    CredentialHasher.from_file(config.security.credential_key_file)
    secure_site(config)
    if errors := reader_warnings(config)[0]:  # secure doors whose readers give numbers
        raise ConfigError(f"{args.file}: invalid configuration", errors)
    if _uses_gpio(config):
        from agent.models.lines import gpio_pins
        from drivers.gpio import probe_pin_factory, unknown_pins

        try:
            probe_pin_factory()
        except DriverError as exc:
            raise DriverError(
                f"{exc}; to check a config off the Pi: "
                f"GPIOZERO_PIN_FACTORY=mock gate-agent check-config {args.file}"
            ) from None
        if problems := unknown_pins(gpio_pins(config)):
            raise ConfigError(f"{args.file}: invalid configuration", problems)
    for path, warning in warnings(config):
        print(f"warning: {path}: {warning}", file=sys.stderr)
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

    size, what = (16, "secure-card master") if args.secure_master else (32, "credential")
    try:
        write_new_key(Path(args.file), size)
    except FileExistsError:
        raise GateError(f"{args.file} exists; refusing to overwrite a site key") from None
    print(f"wrote a new {size}-byte {what} key to {args.file} (mode 0600)")
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
    """Subcommands, global flags (before or after the subcommand) and exit codes in --help."""
    from agent.faces.parser import Commands, build

    return build(
        Commands(
            run=cmd_run,
            check_config=cmd_check_config,
            keygen=cmd_keygen,
            schema=cmd_schema,
            safe_state=cmd_safe_state,
        )
    )


def main(argv: list[str] | None = None) -> int:
    """Exit 0 done, 1 runtime error, 2 config or usage error, 3 not running (status)."""
    from agent.faces.entry import run_cli

    return run_cli(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
