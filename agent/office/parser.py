"""The ``gate-office`` command line: subcommands, flags, help and exit codes.

Connection flags come before the subcommand; ``--json`` may stand before or after it.
Text is the default output; ``--json`` gives the gate's own JSON on every command.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping

from agent import __version__
from agent.models.messages import SNAPSHOT_CHUNK
from agent.office.answers import exit_help
from agent.office.options import env

Command = Callable[[argparse.Namespace], int]
CHUNK = SNAPSHOT_CHUNK  # entries per snapshot message; see the --chunk help
TIMEOUT_S = 30.0
TO_HELP = "gates: all, site:SITE, or SITE/GATE[,SITE/GATE...]; one report for all"

DESCRIPTION = "gate-office: run gates from the office over MQTT (installers, small offices)."
EPILOG = f"""\
{exit_help()}
answers: an unknown gate, a gate that is offline and an unreachable broker are told
  within 3 s, from the gate's retained status; a gate that is online gets --timeout
  seconds to answer.
office database (--db): $GATE_OFFICE_DB, else $STATE_DIRECTORY/office.db (systemd
  StateDirectory=), else /var/lib/gate-office/office.db as user gate-office, else
  $XDG_DATA_HOME/gate-office/office.db (~/.local/share/gate-office/office.db).
environment: every connection flag also reads GATE_OFFICE_<FLAG> (GATE_OFFICE_HOST, ...).
"""


def _json_flag(p: argparse.ArgumentParser, top: bool = False) -> None:
    # below the top an absent flag must not overwrite one given before the subcommand
    default = False if top else argparse.SUPPRESS
    p.add_argument("--json", action="store_true", default=default, help="print JSON")


def _sub(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    fn: Command,
    help_text: str,
) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(name, help=help_text, description=help_text)
    _json_flag(p)
    p.set_defaults(fn=fn)
    return p


def _connection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=env("HOST", "localhost"))
    parser.add_argument("--port", type=int, default=int(env("PORT", "1883") or 1883))
    parser.add_argument("--protocol", choices=["3.1.1", "5"], default=env("PROTOCOL", "3.1.1"))
    parser.add_argument("--username", default=env("USERNAME"))
    parser.add_argument("--password-file", default=env("PASSWORD_FILE"))
    parser.add_argument("--ca", default=env("CA"), help="CA certificate (turns TLS on)")
    parser.add_argument("--cert", default=env("CERT"), help="client certificate")
    parser.add_argument("--cert-key", default=env("CERT_KEY"), help="client certificate key")
    parser.add_argument("--prefix", default=env("PREFIX", "gate"))
    parser.add_argument("--site", default=env("SITE"))
    parser.add_argument("--gate", default=env("GATE"))
    parser.add_argument(
        "--key", default=env("KEY", "office.key"), help="office Ed25519 private key (signs)"
    )
    parser.add_argument(
        "--db", default=env("DB"), help="office database: a file or postgresql:// (see below)"
    )
    parser.add_argument(
        "--timezone",
        default=env("TIMEZONE"),
        help="the site's zone for the times printed (Africa/Cairo; default this computer's)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=TIMEOUT_S,
        help=f"seconds an online gate has to answer (default {TIMEOUT_S:g})",
    )


def build(commands: Mapping[str, Command]) -> argparse.ArgumentParser:
    """The parser; ``commands`` maps each subcommand ("allowlist push", ...) to its code."""
    parser = argparse.ArgumentParser(
        prog="gate-office",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"gate-office {__version__}")
    _connection(parser)
    _json_flag(parser, top=True)
    sub = parser.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    p = _sub(sub, "keygen", commands["keygen"], "make the office signing key")
    p.add_argument("out")
    p = _sub(sub, "acl", commands["acl"], "mosquitto ACL blocks: one gate's and the office's")
    p.add_argument("--username", help="the gate's account (default gate-SITE-GATE)")
    p.add_argument("--office-username", default="office", help="the office's account")
    _sub(sub, "status", commands["status"], "the gate's retained status (exit 3: offline)")

    allow = sub.add_parser(
        "allowlist", help="allowlist push: send a card list to gates"
    ).add_subparsers(dest="allow_cmd", required=True)
    p = _sub(allow, "push", commands["allowlist push"], "send a CSV/JSON list (patch or snapshot)")
    p.add_argument("file")
    p.add_argument("--site-key", default=env("SITE_KEY"), help="hashes raw card numbers")
    p.add_argument("--snapshot", action="store_true", help="always send the whole list")
    p.add_argument("--to", help=TO_HELP)
    p.add_argument(
        "--chunk",
        type=int,
        default=CHUNK,
        help=f"entries per message (default {CHUNK:,}: the gate keeps deciding fast while "
        "it applies them; bench/snapshot.py measures it)",
    )

    p = _sub(sub, "revoke", commands["revoke"], "take a holder's cards off gates, by patch")
    p.add_argument("--holder", required=True, help="the holder id")
    p.add_argument("--to", help=TO_HELP + " (default: --site/--gate)")
    p.add_argument("--allow-missing", action="store_true",
                   help="a holder on none of the gates' lists is not an error")  # fmt: skip
    p.add_argument("--snapshot", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--chunk", type=int, default=CHUNK, help=argparse.SUPPRESS)

    _pass_commands(sub, commands)
    _card_commands(sub, commands)

    config = sub.add_parser(
        "config", help="config push: send config sections to a gate"
    ).add_subparsers(dest="config_cmd", required=True)
    p = _sub(config, "push", commands["config push"], "send config sections (TOML or JSON)")
    p.add_argument("file")
    p.add_argument("--revision", type=int)

    p = _sub(sub, "cmd", commands["cmd"],
             "a command: open, lockdown, release, resync, status, drill, forgive")  # fmt: skip
    p.add_argument("name", metavar="NAME",
                   help="open, lockdown, release, resync, status, drill or forgive")  # fmt: skip
    p.add_argument("--door", help="the door to open")
    switch = p.add_mutually_exclusive_group()
    switch.add_argument("--on", dest="on", action="store_true", default=None)
    switch.add_argument("--off", dest="on", action="store_false")
    _drill_flags(p)
    _forgive_flags(p)
    picture = p.add_argument_group("picture", "cmd picture --picture ID --incident CASE")
    picture.add_argument("--picture", help="the plate picture's id (a plate event names it)")
    picture.add_argument("--incident", help="the incident (case) it is for: required")
    picture.add_argument("--out", help="the folder to keep it in (default: here)")

    events = sub.add_parser(
        "events", help="events tail | list | follow: the gates' events"
    ).add_subparsers(dest="events_cmd", required=True)
    p = _sub(events, "tail", commands["events tail"], "print and store events, each once")
    p.add_argument("--count", type=int, help="stop after this many new events")
    p.add_argument("--idle", type=float, default=3600.0, help="stop after this long quiet")
    p.add_argument(
        "--client-id",
        default=env("CLIENT_ID"),
        help="the persistent session's client id (default: one per computer, user, "
        "database and filter, so runs resume it and other tails keep theirs)",
    )
    p = _sub(events, "list", commands["events list"], "events the office stored, newest last")
    _event_filters(p)
    p.add_argument("--limit", type=int, default=100, help="how many (default 100)")
    p = _sub(events, "follow", commands["events follow"], "new events as they are stored")
    _event_filters(p)
    p.add_argument("--poll", type=float, default=0.5, help="seconds between looks")
    _sub(sub, "fleet", commands["fleet"], "every gate: online, since, backlog, versions, alarms")
    p = _sub(sub, "drills", commands["drills"], "drill reports from the gates (the store)")
    p.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    plain_help = "who still uses a plain card where a secure one is wanted (secure_preferred)"
    p = _sub(sub, "plain-cards", commands["plain-cards"], plain_help)
    p.add_argument("--since", help="ISO 8601 time (default: every stored event)")
    p = _sub(sub, "incidents", commands["incidents"], "incidents from gate consoles (the store)")
    p.add_argument("--status", action="append", choices=["open", "acknowledged", "closed"],
                   help="only these (default: all; live ones first)")  # fmt: skip
    guards = sub.add_parser(
        "guards", help="guards push | hash: console accounts for gates"
    ).add_subparsers(dest="guards_cmd", required=True)
    p = _sub(guards, "push", commands["guards push"], "send console accounts (CSV or JSON)")
    p.add_argument("file")
    p.add_argument("--to", help=TO_HELP)
    p.add_argument("--version", type=int, help="default: the time in ms (newer each push)")
    _sub(guards, "hash", commands["guards hash"], "a password hash for the accounts file")
    pins = sub.add_parser("pin", help="pin hash | set: a holder's PIN for card plus PIN")
    pins_sub = pins.add_subparsers(dest="pin_cmd", required=True)
    _sub(pins_sub, "hash", commands["pin hash"], "a PIN hash for a list's pin_hash column")
    p = _sub(pins_sub, "set", commands["pin set"], "set a holder's PIN in a CSV list file")
    p.add_argument("file")
    p.add_argument("--holder", required=True, help="the holder id")
    p = _sub(sub, "serve", commands["serve"], "the office service: store, receipt, alert")
    p.add_argument("--config", help="office.toml (else the connection flags, --db, --key)")
    p.add_argument("--client-id", default=env("CLIENT_ID"), help="default gate-office-serve")
    for name, what in (("web", "the office workplace: serve, deliver, init, demo, ..."),
                       ("audit", "the workplace's audit log: verify")):  # fmt: skip
        p = sub.add_parser(name, help=what, description=what, add_help=False)
        p.add_argument("-h", "--help", action="store_true", dest="sub_help")
        p.add_argument("rest", nargs=argparse.REMAINDER, help="see gate-office %(prog)s --help")
        p.set_defaults(fn=commands[name])
    return parser


def _pass_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], commands: Mapping[str, Command]
) -> None:
    passes = sub.add_parser("pass", help="visitor passes: issue, push, revoke")
    psub = passes.add_subparsers(dest="pass_cmd", required=True)
    p = _sub(psub, "issue", commands["pass issue"], "sign a visitor pass; print it, write its QR")
    p.add_argument("--unit", required=True, help="the unit the visitor comes to")
    p.add_argument("--until", required=True, help="ISO 8601 time, or +N[m|h|d] from now")
    p.add_argument("--from", dest="valid_from", help="ISO 8601 time, or +N[m|h|d] (default now)")
    p.add_argument("--doors", help="DOOR[,DOOR...] (default: every door)")
    p.add_argument(
        "--allow-unknown-doors", action="store_true",
        help="issue even when the office has no status of the gates to check --doors against",
    )  # fmt: skip
    p.add_argument("--uses", type=int, default=1, help="openings allowed, per gate (default 1)")
    p.add_argument("--by", help="who issues it, e.g. a resident's id (default: your user)")
    p.add_argument(
        "--any-gate", action="store_true", help="valid at every gate of --site, not just --gate"
    )
    p.add_argument("--png", help="write the QR code as PNG here")
    p.add_argument("--svg", help="write the QR code as SVG here")
    p.add_argument("--push", action="store_true", help="deliver it now: the short code works")
    p.add_argument("--to", help=TO_HELP + " (with --push; default the pass's gate)")
    p.add_argument("--plate", help="the visitor's car: cameras let it in with the pass (--push)")
    p.add_argument("--site-key", default=env("SITE_KEY"), help="hashes --plate as gates do")
    p = _sub(psub, "push", commands["pass push"], "deliver a pass to gates (its short code works)")
    p.add_argument("code", help="the pass code (GP1....)")
    p.add_argument("--to", help=TO_HELP + " (default the pass's gate, else --site/--gate)")
    p.add_argument("--plate", help="the visitor's car (as issued): cameras let it in too")
    p.add_argument("--site-key", default=env("SITE_KEY"), help="hashes --plate as gates do")
    p = _sub(psub, "revoke", commands["pass revoke"], "refuse a pass from now on")
    p.add_argument("pass_", metavar="PASS", help="the pass id (16 hex digits) or its code")
    p.add_argument("--to", help=TO_HELP + " (default the pass's gate, else --site/--gate)")


def _card_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], commands: Mapping[str, Command]
) -> None:
    card = sub.add_parser("card", help="card keygen | provision | read: secure cards at the desk")
    csub = card.add_subparsers(dest="card_cmd", required=True)
    p = _sub(csub, "keygen", commands["card keygen"], "make the site master key file")
    p.add_argument("--out", required=True, help="the new key file (refused if it exists)")
    for name, what in (("provision", "make a blank DESFire or NTAG 424 a site credential"),
                       ("read", "read a secure card as the gate does: its proof")):  # fmt: skip
        p = _sub(csub, name, commands[f"card {name}"], what)
        p.add_argument("--site-master-key", default=env("SITE_MASTER_KEY"), help="key file")
        p.add_argument("--reader", required=True, help="sim, or nfc:PATH (nfcpy: usb, tty:...)")
        p.add_argument("--aid", default="A1C0DE", help="DESFire application (default A1C0DE)")
        p.add_argument("--sim-card", default="sim-card.json", help="the sim card's state file")
        p.add_argument("--sim-tear-after", type=int, help="sim: leave the field after N APDUs")
        p.add_argument("--wait", type=float, default=10.0, help="nfc: seconds to wait for a card")
        if name == "provision":
            p.add_argument("--kind", choices=["desfire", "ntag424"], required=True)
            p.add_argument("--credential-id", help="DESFire: the id written (default random)")
            p.add_argument("--site-key", default=env("SITE_KEY"), help="hashes the UID")


def _drill_flags(p: argparse.ArgumentParser) -> None:
    drill = p.add_argument_group("drill", "cmd drill --kind fire --minutes 10 | cmd drill --stop")
    drill.add_argument(
        "--kind",
        choices=["fire", "evacuation"],
        help="fire: releases what the fire alarm does; evacuation: every door",
    )
    drill.add_argument("--minutes", type=int, help="how long the drill runs (1-240)")
    drill.add_argument("--until", help="or when it ends: ISO 8601 time, or +N[m|h]")
    drill.add_argument("--note", help="kept in the drill's events (who leads it, why)")
    drill.add_argument("--stop", action="store_true", help="end the drill running now")


def _forgive_flags(p: argparse.ArgumentParser) -> None:
    forgive = p.add_argument_group("forgive", "cmd forgive --holder ID [--reason TEXT]")
    forgive.add_argument("--holder", help="the holder id whose anti-passback is forgiven")
    forgive.add_argument("--reason", help="why (kept in the passback_forgiven event)")
    forgive.add_argument("--by", help="the office user recorded (default: your login name)")


def _event_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--type", action="append", help="TYPE[,TYPE...]")
    p.add_argument("--door")
    p.add_argument("--holder", help="holder id")
    p.add_argument("--since", help="ISO 8601 time")
    p.add_argument("--until", help="ISO 8601 time")
