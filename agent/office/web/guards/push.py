"""Sending the guard list to the gates with ``gate-office guards push``'s own code (from the
page, and from ``gate-office web push-guards``).

The connection comes from the same environment as the command line (``GATE_OFFICE_HOST``,
``_PORT``, ``_KEY``, ``_CA``, ...); the gates from ``GATE_OFFICE_WEB_GUARD_GATES`` (``all``,
``site:SITE`` or ``SITE/GATE,...``), else ``GATE_OFFICE_SITE``/``GATE_OFFICE_GATE``.
"""

from __future__ import annotations

import argparse
import copy
import os
import time
from typing import Any

from django.db import transaction
from django.db.models import Max

from agent.errors import GateError
from agent.models.guards import GuardEntry
from agent.office import group
from agent.office.answers import NoAnswer
from agent.office.guards import push_guards
from agent.office.options import env
from agent.office.web.audit import chain
from agent.office.web.audit.models import AuditEntry
from agent.office.web.guards.models import GuardAccount, GuardPush

TIMEOUT_S = 10.0  # a page waits for the gates' acks; offline gates are told within 3 s


def gates_spec() -> str:
    """The gates to push to, '' when nothing says."""
    spec = os.environ.get("GATE_OFFICE_WEB_GUARD_GATES", "").strip()
    if spec:
        return spec
    site, gate = env("SITE"), env("GATE")
    return f"{site}/{gate}" if site and gate else ""


def configured() -> bool:
    """True when a broker and the gates to reach are named (``all`` and ``site:`` need the
    event store that knows the gates: without one the command line would make an empty one)."""
    spec = gates_spec()
    by_store = spec == "all" or spec.startswith("site:")
    return bool(env("HOST")) and bool(spec) and (bool(env("DB")) or not by_store)


def connection() -> argparse.Namespace:
    """The command line's connection options, read from the same environment."""
    return argparse.Namespace(
        host=env("HOST", "localhost"),
        port=int(env("PORT", "1883") or 1883),
        protocol=env("PROTOCOL", "3.1.1"),
        username=env("USERNAME"),
        password_file=env("PASSWORD_FILE"),
        ca=env("CA"),
        cert=env("CERT"),
        cert_key=env("CERT_KEY"),
        prefix=env("PREFIX", "gate"),
        site=env("SITE"),
        gate=env("GATE"),
        key=env("KEY", "office.key"),
        db=env("DB"),
        timeout=TIMEOUT_S,
        to=gates_spec(),
        json=False,
        version=None,
    )


def push_to_gates(entries: list[GuardEntry], version: int) -> list[dict[str, Any]]:
    """Each gate's answer: ``ok`` with the version and count it holds, or the error."""
    args = connection()
    args.version = version
    try:
        gates = group.targets(args)
    except GateError as exc:
        return [{"site": "", "gate": "", "ok": False, "error": str(exc)}]
    report: list[dict[str, Any]] = []
    for site, gate in gates:
        one = copy.copy(args)
        one.site, one.gate = site, gate
        try:
            report.append({"site": site, "gate": gate, **push_guards(one, entries)})
        except (NoAnswer, GateError) as exc:
            report.append({"site": site, "gate": gate, "ok": False, "error": str(exc)})
    return report


def push_recorded(actor: str) -> GuardPush:
    """The office's whole list to the gates, kept as a push and audited (page and command)."""
    guards = list(GuardAccount.objects.all())
    last = GuardPush.objects.aggregate(last=Max("version"))["last"] or 0
    version = max(int(time.time() * 1000), last + 1)  # each push newer than the one before
    report = push_to_gates([g.entry() for g in guards], version)
    held = sum(1 for row in report if row.get("ok"))
    with transaction.atomic():
        done = GuardPush.objects.create(
            actor=actor, version=version, count=len(guards), report=report
        )
        what = f"pushed {len(guards)} to {held}/{len(report)} gates"
        chain.append(actor, AuditEntry.Action.CHANGE, f"guards:{version}", what)
    return done
