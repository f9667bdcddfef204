"""``gate-office web deliver``: the card delivery worker as a command of its own.

It runs beside ``gate-office web serve`` (its own systemd unit, gate-office-web-deliver
.service): the workplace stays up when the broker is away, and one worker serves however
many web processes. The MQTT flags are ``gate-office``'s own (and GATE_OFFICE_HOST, ...).
"""

from __future__ import annotations

import argparse
import getpass
import os
import signal
import threading
from collections.abc import Callable
from typing import Any

from agent.office import options
from agent.office.answers import OK
from agent.office.parser import _connection as connection_flags


def add_parser(sub: Any, where: Callable[[argparse.ArgumentParser], None]) -> None:
    """The ``deliver`` subcommand with the workplace's and the MQTT connection's flags."""
    p: argparse.ArgumentParser = sub.add_parser(
        "deliver",
        help="send card changes to the gates (runs until stopped; --once: one pass)",
        conflict_handler="resolve",  # --timezone: the workplace's and the connection's are one
    )
    where(p)
    connection_flags(p)
    p.add_argument("--once", action="store_true", help="one pass, then exit")
    p.add_argument("--resync", action="store_true",
                   help="first record a change that sends every gate the register's whole "
                   "list (after the office database was restored)")  # fmt: skip
    p.add_argument("--poll", type=float, default=0.25, help="seconds between passes (default 0.25)")
    p.add_argument("--retry", type=float, default=5.0,
                   help="seconds before an offline gate is tried again (default 5)")  # fmt: skip


def main(args: argparse.Namespace, setup: Callable[[argparse.Namespace], None]) -> int:
    """Set Django up on the office database, then deliver."""
    args.events_db = args.events_db or options.database(args)
    if args.site:
        os.environ["GATE_OFFICE_SITE"] = args.site
    setup(args)
    from agent.office.web.cards import delivery, lifecycle

    if args.resync:
        change = lifecycle.resync(f"{getpass.getuser()} (gate-office web deliver --resync)")
        print(f"resync: change {change.pk} to {change.deliveries.count()} gate(s)")
    if args.once:
        applied = delivery.deliver_pending(args)
        print(f"{applied} deliveries applied")
        return OK
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    delivery.run(args, args.poll, args.retry, stop)
    return OK
