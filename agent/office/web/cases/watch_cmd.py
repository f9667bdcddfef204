"""``gate-office web watch``: the watch worker as a command of its own.

It runs beside ``gate-office serve`` (which fills the event store) and ``gate-office web
serve`` (its own systemd unit, gate-office-web-watch.service). ``--office-config`` gives
the alert hook (``[alerts] hook``), ``[workplace.incidents]`` and, unless ``--events-db``,
the store.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.errors import ConfigError
from agent.office.answers import OK
from agent.office.web.command_flags import env


def add_parser(sub: Any, where: Callable[[argparse.ArgumentParser], None]) -> None:
    """The ``watch`` subcommand with the workplace's flags."""
    p: argparse.ArgumentParser = sub.add_parser(
        "watch",
        help="make cases of the gates' incidents and alarms, alert on unacknowledged "
        "alarms (runs until stopped; --once: one pass)",
    )
    where(p)
    p.add_argument("--office-config", default=env("OFFICE_CONFIG"),
                   help="office.toml: [alerts] hook, [workplace.incidents], and the store "
                   "unless --events-db")  # fmt: skip
    p.add_argument("--once", action="store_true", help="one pass, then exit")
    p.add_argument("--poll", type=float, default=1.0, help="seconds between passes (default 1)")


def main(args: argparse.Namespace, setup: Callable[[argparse.Namespace], None]) -> int:
    """Set Django up on the office database, then watch the event store."""
    from agent.models.office import OfficeAlerts
    from agent.office.fleet import load_office_config

    alerts = OfficeAlerts()
    if args.office_config:
        office = load_office_config(Path(args.office_config))
        os.environ["GATE_OFFICE_WEB_OFFICE_CONFIG"] = str(Path(args.office_config).resolve())
        args.events_db = args.events_db or office.store
        alerts = office.alerts
    if not args.events_db:
        raise ConfigError("no event store: give --events-db or --office-config")
    if args.poll <= 0:
        raise ConfigError("--poll must be more than 0")
    setup(args)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from agent.office.alerts import Alerts
    from agent.office.web.cases.watch import Watch
    from agent.office.web.events import event_store
    from agent.office.web.workplace import workplace_config

    store = event_store()
    watch = Watch(store.db, Alerts(alerts.hook), lambda: workplace_config().incidents,
                  where=args.events_db)  # fmt: skip
    try:
        if args.once:
            read = watch.catch_up()
            late = watch.check_unacknowledged()
            print(f"{read} event(s) read, {len(late)} unacknowledged alarm(s) alerted")
            return OK
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        print(f"watching {args.events_db} from event {watch.cursor()}", flush=True)
        watch.run(args.poll, stop)
    finally:
        store.close()
    return OK
