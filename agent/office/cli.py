"""``gate-office``: run a gate from the office over MQTT (installers, small offices, tests)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tomllib
import uuid
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.errors import ConfigError, GateError
from agent.link.mqtt import MqttSettings
from agent.link.signing import load_private_key, public_key_text
from agent.link.topics import Topics
from agent.models.messages import Command, ConfigSet
from agent.models.wire import AllowListEntry
from agent.office.allowlist_push import gate_version, push_patch, push_snapshot
from agent.office.client import OfficeLink
from agent.office.store import OfficeStore


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"GATE_OFFICE_{name}", default)


def _settings(args: argparse.Namespace, client_id: str, clean: bool = True) -> MqttSettings:
    password = Path(args.password_file).read_text().strip() if args.password_file else None
    return MqttSettings(
        host=args.host,
        port=args.port,
        client_id=client_id,
        protocol=args.protocol,
        username=args.username,
        password=password,
        ca_file=args.ca,
        cert_file=args.cert,
        key_file=args.cert_key,
        tls=bool(args.ca or args.cert),
        clean_session=clean,
        reconnect_max_s=5,
    )


def _topics(args: argparse.Namespace) -> Topics:
    if not args.site or not args.gate:
        raise GateError("--site and --gate are needed (or GATE_OFFICE_SITE / _GATE)")
    return Topics(args.prefix, args.site, args.gate)


def _link(args: argparse.Namespace, subscriptions: list[str], signed: bool = True) -> OfficeLink:
    key = load_private_key(Path(args.key)) if signed else None
    return OfficeLink(_settings(args, f"office-cli-{uuid.uuid4().hex[:8]}"), subscriptions, key)


def _print(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


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
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    print(f"office private key written to {args.out} (keep it at the office)")
    print("put this line in each gate's [mqtt] section:")
    print(f'office_public_key = "{public_key_text(key)}"')
    return 0


def cmd_acl(args: argparse.Namespace) -> int:
    topics = _topics(args)
    print(topics.acl(args.username or f"gate-{args.site}-{args.gate}"), end="")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    topics = _topics(args)
    with _link(args, [topics.status], signed=False) as link:
        status = link.expect(topics.status, timeout=args.timeout)
    if status is None:
        raise GateError(f"no status retained on {topics.status}: the gate never connected")
    _print(status)
    return 0 if status.get("online") else 3


def _read_entries(path: Path, site_key: str | None) -> list[AllowListEntry]:
    from agent.store.credentials import CredentialHasher, read_key_file
    from agent.store.importer import build_entries, read_rows

    hasher = CredentialHasher(read_key_file(Path(site_key))) if site_key else None
    return build_entries(read_rows(path), None, hasher, str(path))


def cmd_allowlist_push(args: argparse.Namespace) -> int:
    topics = _topics(args)
    entries = _read_entries(Path(args.file), args.site_key)
    store = OfficeStore(Path(args.db))
    sent_version, sent = store.pushed(args.site, args.gate)
    with _link(args, [topics.status, topics.allowlist_ack]) as link:
        have = gate_version(link, topics, 3)
        result = None
        if not args.snapshot and have is not None and have == sent_version:
            result = push_patch(link, topics, have, sent, entries, args.timeout)
        if result is None or (not result["ok"] and "does not match" in str(result.get("error"))):
            version = max(have or 0, sent_version or 0) + 1
            result = push_snapshot(link, topics, version, entries, args.chunk, args.timeout)
    if result is None:
        raise GateError("no answer from the gate (offline?); nothing is known to have changed")
    if not result["ok"]:
        _print(result)
        raise GateError(f"the gate refused the allow-list: {result.get('error')}")
    store.record_push(args.site, args.gate, result["version"], entries)
    print(
        f"gate {args.site}/{args.gate} holds allow-list version {result['version']} "
        f"({result['kind']}, {len(entries)} entries)"
    )
    return 0


def cmd_config_push(args: argparse.Namespace) -> int:
    topics = _topics(args)
    path = Path(args.file)
    try:
        document = (
            tomllib.loads(path.read_text())
            if path.suffix == ".toml"
            else json.loads(path.read_text())
        )
    except (OSError, ValueError) as exc:
        raise GateError(f"{path}: {exc}") from None
    with _link(args, [topics.status, topics.config_ack]) as link:
        revision = args.revision
        if revision is None:
            status = link.expect(topics.status, timeout=3) or {}
            revision = int(status.get("config_revision") or 0) + 1
        link.send(
            topics.config_set, ConfigSet(revision=revision, config=document).model_dump(mode="json")
        )
        ack = link.expect(topics.config_ack, timeout=args.timeout)
    if ack is None:
        raise GateError("no answer from the gate (offline?)")
    _print(ack)
    return 0 if ack["ok"] else 1


def cmd_cmd(args: argparse.Namespace) -> int:
    topics = _topics(args)
    request_id = uuid.uuid4().hex
    command = Command(request_id=request_id, door=args.door, on=args.on)
    with _link(args, [topics.cmd_ack]) as link:
        link.send(topics.cmd(args.name), command.model_dump(mode="json", exclude_none=True))
        ack = link.expect(topics.cmd_ack, lambda m: m.get("request_id") == request_id, args.timeout)
    if ack is None:
        raise GateError("no answer from the gate (offline?)")
    _print(ack)
    return 0 if ack["ok"] else 1


def cmd_events_tail(args: argparse.Namespace) -> int:
    """A persistent session (fixed client id, clean session off): the broker keeps events
    for the office while it is away, so starting this once is enough to miss none."""
    gate = args.gate or "+"
    pattern = f"{args.prefix}/{args.site or '+'}/{gate}/events"
    store = OfficeStore(Path(args.db))
    settings = _settings(args, args.client_id, clean=False)
    new = 0
    with OfficeLink(settings, [pattern]) as link:
        while args.count is None or new < args.count:
            message = link.expect(pattern, timeout=args.idle)
            if message is None:
                break
            if store.add_event(message):
                new += 1
                if args.json:
                    print(json.dumps(message), flush=True)
                else:
                    d = message.get("details", {})
                    print(
                        f"{message['site']}/{message['gate']} #{message['seq']} "
                        f"{message['time'][:19]} {message['type']} {message.get('door') or ''} "
                        f"{d.get('card', '')} {d.get('holder_id') or ''} {d.get('reason', '')}",
                        flush=True,
                    )
    print(f"{new} new event(s) stored in {args.db}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gate-office", description=__doc__)
    parser.add_argument("--host", default=_env("HOST", "localhost"))
    parser.add_argument("--port", type=int, default=int(_env("PORT", "1883") or 1883))
    parser.add_argument("--protocol", choices=["3.1.1", "5"], default=_env("PROTOCOL", "3.1.1"))
    parser.add_argument("--username", default=_env("USERNAME"))
    parser.add_argument("--password-file", default=_env("PASSWORD_FILE"))
    parser.add_argument("--ca", default=_env("CA"), help="CA certificate (turns TLS on)")
    parser.add_argument("--cert", default=_env("CERT"), help="client certificate")
    parser.add_argument("--cert-key", default=_env("CERT_KEY"), help="client certificate key")
    parser.add_argument("--prefix", default=_env("PREFIX", "gate"))
    parser.add_argument("--site", default=_env("SITE"))
    parser.add_argument("--gate", default=_env("GATE"))
    parser.add_argument(
        "--key",
        default=_env("KEY", "office.key"),
        help="office Ed25519 private key (signs every message)",
    )
    parser.add_argument("--db", default=_env("DB", "office.db"))
    parser.add_argument("--timeout", type=float, default=30.0)
    sub = parser.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("keygen", help="make the office signing key")
    p.add_argument("out")
    p.set_defaults(fn=cmd_keygen)
    p = sub.add_parser("acl", help="print a mosquitto ACL block for one gate")
    p.add_argument("--username")
    p.set_defaults(fn=cmd_acl)
    p = sub.add_parser("status", help="the gate's retained status")
    p.set_defaults(fn=cmd_status)

    allow = sub.add_parser("allowlist").add_subparsers(dest="allow_cmd", required=True)
    p = allow.add_parser("push", help="send a CSV/JSON list: a patch if possible, else a snapshot")
    p.add_argument("file")
    p.add_argument("--site-key", default=_env("SITE_KEY"), help="hashes raw card numbers")
    p.add_argument("--snapshot", action="store_true", help="always send the whole list")
    p.add_argument(
        "--chunk",
        type=int,
        default=1000,
        help="entries per message (1,000 keeps the gate's decisions fast while it applies)",
    )
    p.set_defaults(fn=cmd_allowlist_push)

    config = sub.add_parser("config").add_subparsers(dest="config_cmd", required=True)
    p = config.add_parser("push", help="send config sections (TOML or JSON)")
    p.add_argument("file")
    p.add_argument("--revision", type=int)
    p.set_defaults(fn=cmd_config_push)

    p = sub.add_parser("cmd", help="open, lockdown, release, resync, status")
    p.add_argument("name")
    p.add_argument("--door")
    p.add_argument("--on", dest="on", action="store_true", default=None)
    p.add_argument("--off", dest="on", action="store_false")
    p.set_defaults(fn=cmd_cmd)

    events = sub.add_parser("events").add_subparsers(dest="events_cmd", required=True)
    p = events.add_parser("tail", help="print and store events, dropping repeats")
    p.add_argument("--count", type=int, help="stop after this many new events")
    p.add_argument("--idle", type=float, default=3600.0, help="stop after this long quiet")
    p.add_argument("--client-id", default=_env("CLIENT_ID", "gate-office"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_events_tail)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.fn(args))
    except (ConfigError, GateError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ConfigError) else 1


if __name__ == "__main__":
    sys.exit(main())
