"""The flags of ``gate-office web ...`` and ``gate-office audit ...`` (commands.py runs them)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from agent.errors import ConfigError

DEFAULT_PORT = 8480


def env(name: str, default: str = "") -> str:
    return os.environ.get(f"GATE_OFFICE_WEB_{name}", default)


def env_number(name: str, default: str, kind: type[int] | type[float] = int) -> Any:
    """``env(name)`` as a number, or one line naming the variable, not a traceback."""
    text = env(name, default)
    try:
        return kind(text)
    except ValueError:
        whole = "a whole number" if kind is int else "a number"
        raise ConfigError(f"GATE_OFFICE_WEB_{name}={text!r} is not {whole}") from None


def _state_default() -> str:
    systemd = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    return env("STATE") or (f"{systemd}/web" if systemd else "var/office-web")


def where(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--database",
        default=env("DATABASE"),
        help="the office database: a SQLite file (the demo) or postgresql://... "
        "(default: STATE/office-web.sqlite3; $GATE_OFFICE_WEB_DATABASE)",
    )
    p.add_argument(
        "--state",
        default=_state_default(),
        help="folder of the secret key, field key (unless $GATE_OFFICE_WEB_FIELD_KEY) and "
        "compiled catalogues (default $STATE_DIRECTORY/web, else ./var/office-web)",
    )
    p.add_argument(
        "--timezone",
        default=env("TIMEZONE") or os.environ.get("GATE_OFFICE_TIMEZONE") or "Asia/Shanghai",
        help="the site's zone for every time shown (default Asia/Shanghai; "
        "$GATE_OFFICE_WEB_TIMEZONE, else $GATE_OFFICE_TIMEZONE)",
    )
    p.add_argument(
        "--site-language",
        choices=["zh-hans", "en"],
        default=env("LANGUAGE", "zh-hans"),
        help="pages' language for people who chose none, and the sign-in page "
        "(default zh-hans; $GATE_OFFICE_WEB_LANGUAGE)",
    )
    p.add_argument(
        "--events-db",
        default=os.environ.get("GATE_OFFICE_DB", ""),
        help="the gates' event store (gate-office --db), for pages that show events",
    )
    p.add_argument(
        "--site-key",
        default=env("SITE_KEY") or os.environ.get("GATE_OFFICE_SITE_KEY", ""),
        help="the site key file gates hash card numbers with (cards; $GATE_OFFICE_SITE_KEY)",
    )


def _desk_reader(text: str) -> str:
    if text in ("wedge", "sim") or (text.startswith("nfc:") and len(text) > 4):
        return text
    raise argparse.ArgumentTypeError("wedge, sim or nfc:PATH (an nfcpy path, e.g. nfc:usb)")


def web_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gate-office web", description="the office workplace")
    sub = parser.add_subparsers(dest="web_cmd", required=True, metavar="COMMAND")
    p = sub.add_parser("init", help="make the keys (where missing) and migrate the database")
    where(p)
    p = sub.add_parser("migrate", help="bring the database to the current schema")
    where(p)
    p = sub.add_parser("createstaff", help="a staff account with a role (the first manager)")
    where(p)
    p.add_argument("username")
    p.add_argument("--role", required=True,
                   choices=["manager", "clerk", "guard supervisor", "auditor",
                            "case officer"])  # fmt: skip
    p.add_argument("--password-file", help="read the password from this file (else asked)")
    p.add_argument("--language", choices=["zh-hans", "en"], default="zh-hans")
    p = sub.add_parser("demo", help="load the demo register into an empty SQLite database")
    where(p)
    p = sub.add_parser("push-guards", help="send the guard accounts kept here to the gates "
                       "(GATE_OFFICE_HOST, ..., GATE_OFFICE_WEB_GUARD_GATES)")  # fmt: skip
    where(p)
    p = sub.add_parser("purge", help="erase personal data of residents who moved out long "
                       "ago and of visitors whose passes ended long ago")  # fmt: skip
    where(p)
    p.add_argument("--retention-months", type=int, default=None,
                   help="months kept after a move-out (default: the setting, 12)")  # fmt: skip
    p.add_argument("--visitor-retention-days", type=int, default=None,
                   help="days a visitor's name and plate are kept after the pass ended "
                   "(default: the setting, 90)")  # fmt: skip
    p.add_argument("--dry-run", action="store_true", help="only count who would be purged")
    p = sub.add_parser("digest", help="send the daily digest of cases and gates "
                       "([workplace.digest]: by mail and/or to the alert hook)")  # fmt: skip
    where(p)
    p.add_argument("--office-config", default=env("OFFICE_CONFIG"),
                   help="office.toml: its [workplace.digest] and [alerts] hook")  # fmt: skip
    p.add_argument("--print", action="store_true", help="print the digest; send nothing")
    p = sub.add_parser("serve", help="serve the workplace (uvicorn, ASGI)")
    where(p)
    p.add_argument("--host", default=env("BIND", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(env("PORT", str(DEFAULT_PORT))))
    p.add_argument("--tls-cert", default=env("TLS_CERT"), help="serve TLS with this certificate")
    p.add_argument("--tls-key", default=env("TLS_KEY"), help="... and this key")
    p.add_argument("--proxy", action="store_true", default=env("PROXY") == "1",
                   help="behind a reverse proxy: trust its X-Forwarded-* headers")  # fmt: skip
    p.add_argument("--allowed-host", action="append", default=None,
                   help="a host name the office is reached by (repeatable)")  # fmt: skip
    p.add_argument("--key", default=env("PASS_KEY"),
                   help="the office's Ed25519 key that signs visitor passes")  # fmt: skip
    p.add_argument("--office-config", default=env("OFFICE_CONFIG"),
                   help="office.toml of `gate-office serve`: the broker that takes visitor "
                   "passes and revocations to the gates (and the key, unless --key)")  # fmt: skip
    p.add_argument("--desk-reader", type=_desk_reader, default=env("DESK_READER", "wedge"),
                   help="wedge: a keyboard-wedge reader types into the card field; sim: "
                   "a simulated desk reader on the page (demo, tests); nfc:PATH: a USB NFC "
                   "reader on this PC through nfcpy (nfc:usb, nfc:tty:USB0:pn532)")  # fmt: skip
    p.add_argument("--site-master-key", default=env("SITE_MASTER_KEY"),
                   help="secure cards' site master key: the sim desk reader makes DESFire "
                   "and NTAG 424 cards (docs/secure-cards.md)")  # fmt: skip
    from agent.office.web.cards import deliver_cmd

    deliver_cmd.add_parser(sub, where)
    from agent.office.web.cases import watch_cmd

    watch_cmd.add_parser(sub, where)
    return parser


def audit_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gate-office audit", description="the audit log")
    sub = parser.add_subparsers(dest="audit_cmd", required=True, metavar="COMMAND")
    p = sub.add_parser("verify", help="walk the hash chain; exit 1 at the first bad entry")
    where(p)
    return parser
