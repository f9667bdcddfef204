"""``gate-office``: run a gate from the office over MQTT (installers, small offices, tests)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sqlite3
import sys
import tomllib
import uuid
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from agent.errors import ConfigError, GateError
from agent.link.refusals import ACKS_PER_INTERVAL
from agent.link.signing import public_key_text
from agent.link.topics import Topics
from agent.models.messages import Command, ConfigSet
from agent.office import options
from agent.office.answers import (
    INTERRUPTED,
    NO_ANSWER,
    OK,
    REFUSED,
    USAGE,
    NoAnswer,
    ack_text,
    exit_code,
    refused,
    show,
    status_text,
)
from agent.office.drills import drill_ack_text, drill_body
from agent.office.forgive import forgive_ack_text, forgive_body
from agent.office.pictures import picture_body, save_picture
from agent.office.plain_cards import cmd_plain_cards
from agent.office.presence import gate_status, online_status, site_statuses
from agent.office.tail import cmd_events_tail
from agent.office.zone import site_zone
from agent.streams import ensure_standard_streams

log = logging.getLogger(__name__)


def _name(topics: Topics) -> str:
    return f"{topics.site}/{topics.gate}"


def _answer(args: argparse.Namespace, ack: dict[str, Any], text: str) -> int:
    """An ack: its sentence (or JSON) when ok; a refusal names the gate's reason."""
    if ack.get("ok"):
        show(ack, args.json, text)
        return OK
    if args.json:
        show(ack, True, "")
    raise refused(ack)


def office_acl(prefix: str, username: str) -> str:
    """The office account: read what every gate sends, write what every gate reads."""
    every = Topics(prefix, "+", "+")
    lines = [f"user {username}"]
    lines += [f"topic read {t}" for t in every.outbound]
    lines += [f"topic write {t}" for t in every.inbound]
    return "\n".join(lines) + "\n"


# -- commands --------------------------------------------------------------------
def cmd_keygen(args: argparse.Namespace) -> int:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise GateError(f"{args.out} exists; refusing to overwrite an office key") from None
    except FileNotFoundError:
        folder = Path(args.out).absolute().parent
        raise ConfigError(
            f"cannot write {args.out}: the folder {folder} does not exist "
            f"(make it first, readable by you alone: mkdir -p -m 700 {folder})"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    line = f'office_public_key = "{public_key_text(key)}"'
    text = (
        f"office private key written to {args.out} (keep it at the office)\n"
        f"put this line in each gate's [mqtt] section:\n{line}"
    )
    show({"key_file": args.out, "office_public_key": public_key_text(key)}, args.json, text)
    return OK


def cmd_acl(args: argparse.Namespace) -> int:
    """The gate's block (with --site and --gate) and the office account's block."""
    gate = ""
    if args.site or args.gate:
        topics = options.topics(args)
        gate = topics.acl(args.username or f"gate-{args.site}-{args.gate}")
    office = office_acl(args.prefix, args.office_username)
    text = (gate + "\n" if gate else "") + office
    show({"gate": gate or None, "office": office}, args.json, text.removesuffix("\n"))
    return OK


def cmd_status(args: argparse.Namespace) -> int:
    topics = options.topics(args)
    with options.link(args, [site_statuses(topics)], signed=False) as link:
        status = gate_status(link, topics)
    show(status, args.json, status_text(_name(topics), status, site_zone(args.timezone)))
    return OK if status.get("online") else NO_ANSWER


def cmd_config_push(args: argparse.Namespace) -> int:
    topics = options.topics(args)
    path = Path(args.file)
    try:
        text = path.read_text()
        document = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    with options.link(args, [site_statuses(topics), topics.config_ack]) as link:
        status = online_status(link, topics, "the config")
        revision = args.revision or int(status.get("config_revision") or 0) + 1
        link.send(
            topics.config_set, ConfigSet(revision=revision, config=document).model_dump(mode="json")
        )
        ack = link.expect(topics.config_ack, timeout=args.timeout)
    if ack is None:
        raise NoAnswer(f"gate {_name(topics)} is online but sent no answer in {args.timeout:g} s")
    if not ack["ok"] and not args.json:
        for error in ack.get("errors") or []:
            print(f"  {error.get('path')}: {error.get('message')}")
    how = "restarts with the new devices" if ack.get("restart_required") else "applied it live"
    return _answer(args, ack, f"gate {_name(topics)} took config revision {revision}: {how}")


def cmd_cmd(args: argparse.Namespace) -> int:
    topics = options.topics(args)
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", args.name):
        raise ConfigError(f"{args.name!r} is not a command name (open, lockdown, release, ...)")
    if args.name in ("lockdown", "release") and args.on is None:
        raise ConfigError(f"cmd {args.name} needs --on or --off")
    if args.name == "open" and not args.door:
        raise ConfigError("cmd open needs --door DOOR")
    request_id = uuid.uuid4().hex
    if args.name == "drill":
        body = drill_body(args, request_id)
    elif args.name == "forgive":
        body = forgive_body(args, request_id)
    elif args.name == "picture":
        body = picture_body(args, request_id)
    else:
        try:
            command = Command(request_id=request_id, door=args.door, on=args.on)
        except ValidationError as exc:
            raise ConfigError(f"--door {args.door!r}: {exc.errors()[0]['msg']}") from None
        body = command.model_dump(mode="json", exclude_none=True)
    with options.link(args, [site_statuses(topics), topics.cmd_ack]) as link:
        online_status(link, topics, f"cmd {args.name}")
        link.send(topics.cmd(args.name), body)
        ack = link.expect(topics.cmd_ack, lambda m: m.get("request_id") == request_id, args.timeout)
    if ack is None:
        raise NoAnswer(
            f"gate {_name(topics)} is online but did not answer {args.name} within "
            f"{args.timeout:g} s (it acks only {ACKS_PER_INTERVAL} refused messages a minute of "
            "each kind: with a wrong key or clock, the next minute tells why)"
        )
    if args.name == "picture" and ack.get("ok"):
        return _answer(args, ack, save_picture(args, _name(topics), ack))
    text = {"drill": drill_ack_text, "forgive": forgive_ack_text}.get(args.name, ack_text)
    return _answer(args, ack, text(_name(topics), ack))


def build_parser() -> argparse.ArgumentParser:
    from agent.office import card_desk, fleet, guards, pins
    from agent.office.drills import cmd_drills
    from agent.office.incidents import cmd_incidents
    from agent.office.lists import cmd_allowlist_push, cmd_revoke
    from agent.office.parser import build
    from agent.office.passes import cmd_pass_issue, cmd_pass_push, cmd_pass_revoke
    from agent.office.web.commands import cmd_audit, cmd_web

    return build(
        {
            "keygen": cmd_keygen,
            "acl": cmd_acl,
            "status": cmd_status,
            "allowlist push": cmd_allowlist_push,
            "revoke": cmd_revoke,
            "config push": cmd_config_push,
            "cmd": cmd_cmd,
            "events tail": cmd_events_tail,
            "events list": fleet.cmd_events_list,
            "events follow": fleet.cmd_events_follow,
            "fleet": fleet.cmd_fleet,
            "drills": cmd_drills,
            "incidents": cmd_incidents,
            "guards push": guards.cmd_guards_push,
            "guards hash": guards.cmd_guards_hash,
            "pin hash": pins.cmd_pin_hash,
            "pin set": pins.cmd_pin_set,
            "serve": fleet.cmd_serve,
            "pass issue": cmd_pass_issue,
            "pass push": cmd_pass_push,
            "pass revoke": cmd_pass_revoke,
            "card keygen": card_desk.cmd_card_keygen,
            "card provision": card_desk.cmd_card_provision,
            "card read": card_desk.cmd_card_read,
            "web": cmd_web,
            "audit": cmd_audit,
            "plain-cards": cmd_plain_cards,
        }
    )


def main(argv: list[str] | None = None) -> int:
    """Exit 0 done, 1 refused, 2 usage or configuration, 3 no answer (see --help)."""
    ensure_standard_streams()
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already printed
        return exc.code if isinstance(exc.code, int) else USAGE
    try:
        code = int(args.fn(args))
        sys.stdout.flush()  # a closed pipe shows here, not as noise at interpreter exit
        return code
    except GateError as exc:
        return _error(exc, exit_code(exc))
    except KeyboardInterrupt:
        return INTERRUPTED
    except BrokenPipeError:  # the reader of our output went away (`| head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return OK
    except sqlite3.Error as exc:
        return _error(f"the office database cannot be used: {exc}", USAGE)
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        return _error(f"{exc.strerror or exc}{where}", USAGE)
    except Exception as exc:  # a bug: one line for the person, the traceback in the log
        log.debug("unexpected fault", exc_info=True)
        return _error(f"internal error: {type(exc).__name__}: {exc}", REFUSED)


def _error(problem: object, code: int) -> int:
    print(f"error: {problem}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
