"""The ``gate-agent`` command line: subcommands, their flags, and the help text.

``-c/--config`` and ``--log-level`` are global: they may stand before the
subcommand or anywhere after it (``gate-agent status -c gate.toml``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agent import __version__
from agent.faces import local
from agent.faces.care import cmd_backup, cmd_restore
from agent.faces.configs import CONFIG_ENV, EXAMPLE_CONFIG, SYSTEM_CONFIG
from agent.faces.events import cmd_events, event_types
from agent.faces.guards import cmd_set_breakglass
from agent.faces.show import cmd_config_show
from agent.models.messages import MAX_VERSION

Command = Callable[[argparse.Namespace], int]
JSON_HELP = "JSON (times ISO 8601 in the gate's zone, with the offset)"

DESCRIPTION = "gate-agent: run the gate's daemon and look after it from the command line."
EPILOG = f"""\
exit status:
  0  done
  1  runtime error (the agent, a device or a state file cannot do it)
  2  configuration or usage error (no config file found, invalid config, bad flags)
  3  the agent is not running (status; as `systemctl status` says it)

config file: -c FILE, else ${CONFIG_ENV}, else {SYSTEM_CONFIG}; there is no other
  default (the simulator example is read only when named: -c config/sim.toml).
logging: --log-level or $GATE_AGENT_LOG: LEVEL[,logger=LEVEL...], levels debug, info,
  warning, error, critical (e.g. info,agent.link=debug); `run` otherwise takes the
  config's [logging] level and levels. Under systemd each record is
  one journal entry with its priority (<3> error ... <7> debug) and no own timestamp.
times: every time printed, text and --json alike, is ISO 8601 in the gate's time zone
  (gate.timezone) with its UTC offset, e.g. 2026-01-01T00:00:00+02:00.
"""


@dataclass(frozen=True)
class Commands:
    """The commands implemented in ``agent.faces.cli`` itself."""

    run: Command
    check_config: Command
    keygen: Command
    schema: Command
    safe_state: Command


def list_version(text: str) -> int:
    """An allow-list version as the office's messages carry it (SQLite's integer range):
    one outside it would make the gate refuse every office snapshot afterwards."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= MAX_VERSION:
        raise argparse.ArgumentTypeError(f"{text} is outside 1 to {MAX_VERSION}")
    return value


def _global_flags(p: argparse.ArgumentParser, top: bool = False) -> argparse.ArgumentParser:
    # below the top, an absent flag must not overwrite one given before the subcommand
    default = None if top else argparse.SUPPRESS
    p.add_argument(
        "-c",
        "--config",
        type=Path,
        default=default,
        help=f"config file (default: ${CONFIG_ENV}, else {SYSTEM_CONFIG})",
    )
    p.add_argument(
        "--log-level",
        default=default,
        metavar="SPEC",
        help="LEVEL or LEVEL,logger=LEVEL,... (default: $GATE_AGENT_LOG, else info)",
    )
    return p


def build(commands: Commands) -> argparse.ArgumentParser:
    parser = _global_flags(
        argparse.ArgumentParser(
            prog="gate-agent",
            description=DESCRIPTION,
            epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        ),
        top=True,
    )
    parser.add_argument("--version", action="version", version=f"gate-agent {__version__}")
    sub = parser.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    def command(
        parent: argparse._SubParsersAction,  # type: ignore[type-arg]
        name: str,
        help_: str,
        fn: Command | None = None,
        needs_config: bool = True,
    ) -> argparse.ArgumentParser:
        p = _global_flags(parent.add_parser(name, help=help_, description=help_))
        p.set_defaults(needs_config=needs_config)
        if fn is not None:
            p.set_defaults(fn=fn)
        return p

    p = command(sub, "run", "run the agent", commands.run)
    p.add_argument("--demo", action="store_true", help="load the demo allow-list and play a scene")
    p = command(sub, "check-config", "validate a config file", commands.check_config)
    p.add_argument("file", type=Path, nargs="?", help="default: the config file -c would read")
    p = command(sub, "keygen", "create a site credential key file", commands.keygen, False)
    p.add_argument("file")
    p.add_argument("--secure-master", action="store_true",
                   help="a site master key for secure cards (AES-128: 16 bytes)")  # fmt: skip

    allow = command(sub, "allowlist", "the local allow-list").add_subparsers(
        dest="allow_cmd", required=True, metavar="ACTION"
    )
    p = command(allow, "import", "replace the list from a CSV or JSON file")
    p.add_argument("file")
    p.add_argument(
        "--version",
        type=list_version,
        help=f"version to record, 1 to {MAX_VERSION} (default: current + 1)",
    )
    p.set_defaults(fn=local.cmd_allowlist_import)
    p = command(allow, "list", "show the list (masked cards)", local.cmd_allowlist_list)
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.add_argument("--limit", type=int)

    p = command(sub, "status", "mode, doors, allow-list, outbox (exit 3: not running)")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(fn=local.cmd_status)
    p = command(sub, "events", "the local event log, newest last", cmd_events)
    p.add_argument(
        "--json",
        action="store_true",
        help=f"{JSON_HELP}; a list, with --follow one object per line",
    )
    p.add_argument("--limit", type=int, default=20, help="how many past events (default 20)")
    p.add_argument("-f", "--follow", action="store_true", help="then print new events as stored")
    p.add_argument("--type", action="append", type=event_types, help="TYPE[,TYPE...] only")
    p.add_argument("--door", help="events at this door only")
    cfg = command(sub, "config", "the configuration in force").add_subparsers(
        dest="config_cmd", required=True, metavar="ACTION"
    )
    p = command(cfg, "show", "file plus office overlay, each value's source", cmd_config_show)
    p.add_argument("--json", action="store_true")
    command(sub, "safe-state", "lock every relay (systemd ExecStopPost)", commands.safe_state)
    p = command(sub, "backup", "copy state, config and keys into a new folder", cmd_backup)
    p.add_argument("dir", help="a new or empty folder")
    p.add_argument(
        "--with-master-key",
        action="store_true",
        help="also copy the secure cards' site master key (left out unless asked)",
    )
    p = command(sub, "restore", "put a backup in place (agent stopped)", cmd_restore)
    p.add_argument("dir", help="a folder made by `gate-agent backup`")

    guard = command(sub, "guard", "guard console accounts").add_subparsers(
        dest="guard_cmd", required=True, metavar="ACTION"
    )
    p = command(guard, "set-breakglass", "set the local console account (password: prompt/stdin)")
    p.add_argument("--id", default="breakglass", help="its guard id (default breakglass)")
    p.set_defaults(fn=cmd_set_breakglass)

    p = command(sub, "schema", "write JSON Schemas", commands.schema, needs_config=False)
    p.add_argument("--out", default=str(EXAMPLE_CONFIG.parent / "schemas"))

    p = command(sub, "learn", "show the next card read on a reader", local.cmd_learn)
    p.add_argument("--reader", required=True, help="reader id from the config")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait (default 30)")

    sim = command(sub, "sim", "drive a running agent's simulated devices", local.cmd_sim)
    simsub = sim.add_subparsers(dest="sim_cmd", required=True, metavar="ACTION")
    door_help = "needed when the gate has more than one door"
    p = command(simsub, "tap", "present a card")
    p.add_argument("card", help="uid:HEX, em:HEX10, w26:FAC:CARD ...")
    p.add_argument("--door", help=door_help)
    p = command(simsub, "scan", "show a visitor pass to a simulated scanner")
    p.add_argument("door", help="the door whose scanner reads it")
    p.add_argument("code", help="the pass code (GP1....) or a short code")
    p = command(simsub, "plate", "show a vehicle's plate to a simulated ANPR camera")
    p.add_argument("door", help="the door whose camera reads it")
    p.add_argument("plate", help="the plate, e.g. 京A12345")
    p.add_argument("--confidence", type=float, default=1.0, help="0 to 1 (default 1)")
    p = command(simsub, "press", "press a button")
    p.add_argument("button", choices=["visitor", "exit"])
    p.add_argument("--door", help=f"exit button: {door_help}")
    p = command(simsub, "door", "open or close a door contact")
    p.add_argument("state", choices=["open", "close"])
    p.add_argument("--door", help=door_help)
    p = command(simsub, "keys", "type on a door's keypad (a PIN after a card: 2468#)")
    p.add_argument("keys", help="digits, * (clear) and # (enter)")
    p.add_argument("--door", help=door_help)
    p = command(simsub, "fire", "fire-alarm input on or off")
    p.add_argument("state", choices=["on", "off"])
    p = command(simsub, "loop", "a vehicle on or off a barrier's induction loop")
    p.add_argument("state", choices=["on", "off"])
    p.add_argument("--arming", action="store_true", help="the arming loop before the arm")
    p.add_argument("--door", help=door_help)
    return parser
