"""From ``gate-office``'s flags to what a command uses: settings, topics, a link, the store."""

from __future__ import annotations

import argparse
import os
import uuid
from pathlib import Path

from agent.errors import ConfigError
from agent.link.mqtt import MqttSettings
from agent.link.signing import load_private_key
from agent.link.topics import Topics
from agent.office.client import OfficeLink
from agent.office.places import current_user, default_db
from agent.office.presence import CONNECT_WAIT_S
from agent.office.store import OfficeStore

ENV_PREFIX = "GATE_OFFICE_"


def env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"{ENV_PREFIX}{name}", default)


def settings(args: argparse.Namespace, client_id: str, clean: bool = True) -> MqttSettings:
    password = None
    if args.password_file:
        try:
            password = Path(args.password_file).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"password file {args.password_file}: {exc.strerror}") from None
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


def topics(args: argparse.Namespace) -> Topics:
    if not args.site or not args.gate:
        raise ConfigError("--site and --gate are needed (or GATE_OFFICE_SITE / _GATE)")
    return Topics(args.prefix, args.site, args.gate)


def link(
    args: argparse.Namespace,
    subscriptions: list[str],
    signed: bool = True,
    client_id: str | None = None,
    clean: bool = True,
) -> OfficeLink:
    """A connection of its own (a fresh client id unless given): runs never collide."""
    key = load_private_key(Path(args.key)) if signed else None
    client_id = client_id or f"gate-office-{uuid.uuid4().hex[:11]}"
    return OfficeLink(settings(args, client_id, clean), subscriptions, key, CONNECT_WAIT_S)


def database(args: argparse.Namespace) -> str:
    """``--db`` (or ``$GATE_OFFICE_DB``), else the default place (``places.default_db``)."""
    return str(args.db or default_db(os.environ, current_user()))


def store(args: argparse.Namespace) -> OfficeStore:
    where = database(args)
    try:
        return OfficeStore(where)
    except OSError as exc:
        raise ConfigError(f"office database {where}: {exc.strerror or exc}") from None
