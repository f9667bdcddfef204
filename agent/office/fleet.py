"""``gate-office serve``, ``events list|follow`` and ``fleet``: the service and its views."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
import time
import tomllib
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agent.errors import ConfigError
from agent.link.mqtt import MqttSettings
from agent.link.signing import load_private_key
from agent.models.office import OfficeBroker, OfficeConfig
from agent.models.problems import error_list
from agent.office.db import open_store
from agent.office.db.base import OfficeDb
from agent.office.options import database
from agent.office.service import OfficeService, ServeOptions, run_service
from agent.office.zone import local_text, site_zone

log = logging.getLogger(__name__)


def load_office_config(path: Path) -> OfficeConfig:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        config = OfficeConfig.model_validate(data)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except ValidationError as exc:
        raise ConfigError(f"{path}: invalid configuration", error_list(exc)) from None
    base = path.resolve().parent

    def fix(p: Path | None) -> Path | None:
        return p if p is None or p.is_absolute() else base / p

    broker = config.broker.model_copy(
        update={k: fix(getattr(config.broker, k))
                for k in ("password_file", "ca_file", "cert_file", "key_file")}
    )  # fmt: skip
    key = fix(config.signing_key_file)
    return config.model_copy(update={"broker": broker, "signing_key_file": key})


def _from_flags(args: argparse.Namespace) -> OfficeConfig:
    broker = OfficeBroker(
        host=args.host, port=args.port, protocol=args.protocol, username=args.username,
        password_file=args.password_file, ca_file=args.ca, cert_file=args.cert,
        key_file=args.cert_key, topic_prefix=args.prefix,
        client_id=args.client_id or "gate-office-serve",
    )  # fmt: skip
    return OfficeConfig(store=database(args), signing_key_file=Path(args.key), broker=broker)


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the office service until SIGTERM or Ctrl-C."""
    config = load_office_config(Path(args.config)) if args.config else _from_flags(args)
    b = config.broker
    password = b.password_file.read_text().strip() if b.password_file else None
    settings = MqttSettings(
        host=b.host, port=b.port, client_id=b.client_id, protocol=b.protocol,
        username=b.username, password=password, ca_file=b.ca_file, cert_file=b.cert_file,
        key_file=b.key_file, tls=bool(b.ca_file or b.cert_file), clean_session=False,
        reconnect_max_s=5,
    )  # fmt: skip
    key = load_private_key(config.signing_key_file)
    store = open_store(config.store)
    options = ServeOptions(
        prefix=b.topic_prefix,
        offline_alert_s=config.alerts.offline_after_s,
        lag_alert_s=config.alerts.behind_after_s,
        hook=list(config.alerts.hook),
    )
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    service = OfficeService(settings, store, key, options)
    log.info("office service: broker %s:%s, store %s", b.host, b.port, _redacted(config.store))
    try:
        run_service(service, stop)
    finally:
        store.close()
    return 0


def _redacted(target: str) -> str:
    return target.split("@")[-1] if "://" in target else target


# -- views on the store --------------------------------------------------------------------
def _store(args: argparse.Namespace) -> OfficeDb:
    return open_store(database(args))


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{text!r} is not an ISO 8601 time (2026-11-29T10:00+02:00)") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    types = [t for chunk in (args.type or []) for t in chunk.split(",") if t]
    return {
        "site": args.site, "gate": args.gate, "types": types or None, "door": args.door,
        "holder": args.holder, "since": _when(args.since), "until": _when(args.until),
    }  # fmt: skip


def _line(event: dict[str, Any], zone: tzinfo | None = None) -> str:
    d = event.get("details") or {}
    when = local_text(event["time"], zone)
    extras = " ".join(str(d[k]) for k in ("card", "holder_id", "reason") if d.get(k))
    return (f"{event['site']}/{event['gate']} #{event['seq']} {when} {event['type']} "
            f"{event.get('door') or ''} {extras}").rstrip()  # fmt: skip


def _print(args: argparse.Namespace, event: dict[str, Any]) -> None:
    print(json.dumps(event, default=str) if args.json else _line(event, site_zone(args.timezone)),
          flush=True)  # fmt: skip


def cmd_events_list(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        for event in store.query_events(**_filters(args), limit=args.limit):
            _print(args, event)
    finally:
        store.close()
    return 0


def cmd_events_follow(args: argparse.Namespace) -> int:
    """New events as the service commits them (Ctrl-C ends it)."""
    store = _store(args)
    try:
        after = store.last_serial()
        while True:
            rows = store.query_events(**_filters(args), after=after, limit=1000)
            for event in rows:
                _print(args, event)
                after = max(after, int(event.get("serial", after)))
            if not rows:
                time.sleep(args.poll)
    finally:
        store.close()


def cmd_fleet(args: argparse.Namespace) -> int:
    """Every gate the office knows, one line each."""
    store = _store(args)
    try:
        gates = store.gates()
    finally:
        store.close()
    if args.json:
        print(json.dumps([g.__dict__ for g in gates], default=str, indent=1))
        return 0
    print(f"{'gate':28} {'online':7} {'since':25} {'backlog':>7} {'list':>6} {'rev':>4} "
          f"{'last event':25} {'alarms open':>11} {'24 h':>5}")  # fmt: skip
    zone = site_zone(args.timezone)
    for g in gates:
        since, last = local_text(g.online_since, zone), local_text(g.last_event_time, zone)
        online = {True: "yes", False: "NO", None: "?"}[g.online]
        print(f"{g.site + '/' + g.gate:28} {online:7} {since:25} {g.backlog or 0:>7} "
              f"{g.allowlist_version if g.allowlist_version is not None else '-':>6} "
              f"{g.config_revision if g.config_revision is not None else '-':>4} "
              f"{last:25} {g.open_alarms or 0:>11} {g.alarms_24h or 0:>5}")  # fmt: skip
    return 0
