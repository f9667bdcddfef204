"""``gate-office web digest``: the daily digest (overdue cases, open cases by kind and age,
the last drill per emergency plan, gates offline, alarms not acknowledged) in the site's
language, as plain text, sent by mail and/or to the alert hook. Run once a day by
gate-office-web-digest.timer.

It names cases by number, title, unit and person in charge: never a resident's ID or phone
number (and runs of digits in a title, which could be either, are masked).
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from agent.errors import ConfigError
from agent.office.web.cases import dashboard, sending
from agent.office.web.cases.models import Case

_NUMBERS = re.compile(r"\d{6,}[0-9Xx]?")  # an ID (18) or phone (11) number, or part of one


def mask(text: str) -> str:
    """``text`` with long runs of digits hidden."""
    return _NUMBERS.sub("***", text)


def shown_title(case: dashboard.OverdueRow) -> str:
    """The title a digest may carry: masked, and none for an abnormal behaviour case, which
    only those with their own permission read (in the workplace, not in a mailbox)."""
    return "-" if case.kind == Case.Kind.BEHAVIOUR else mask(case.title)


def _when(at: datetime | None) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M") if at else "?"


def compose(board: dashboard.Dashboard, language: str) -> tuple[str, str]:
    """The subject and the plain-text body of the digest in ``language``."""
    with translation.override(language):
        day = timezone.localtime(board.now).date().isoformat()
        subject = _("[gate-office] Daily digest %(date)s") % {"date": day}
        zone = timezone.get_current_timezone_name()
        lines = [_("Daily digest %(date)s (times in %(zone)s)") % {"date": day, "zone": zone}]
        lines += ["", _("Overdue cases: %(n)d") % {"n": len(board.overdue)}]
        for case in board.overdue:
            lines.append(
                "  "
                + _("#%(pk)d %(kind)s: %(title)s; unit %(unit)s; in charge: %(owner)s; due %(due)s")
                % {"pk": case.pk, "kind": case.kind_label, "title": shown_title(case),
                   "unit": case.unit, "owner": case.owner, "due": _when(case.due_at)}
            )  # fmt: skip
        ages = " / ".join(str(age) for age in dashboard.AGES)
        lines += ["", _("Open cases by kind (%(ages)s):") % {"ages": ages}]
        for row in board.open_by_kind:
            counts = " / ".join(str(n) for n in row.ages)
            lines.append(f"  {row.label}: {counts} ({row.total})")
        lines.append("")
        lines += _drill_lines(board.drills)
        lines += _gate_lines(board.gates)
        return subject, "\n".join(lines) + "\n"


def _drill_lines(drills: list[dashboard.DrillLine] | None) -> list[str]:
    if drills is None:
        return []
    never = _("never drilled")
    lines = [_("Last drill per plan:")]
    lines += [f"  {d.label}: {_when(d.started_at) if d.drill else never}" for d in drills]
    if not drills:
        lines.append("  " + _("No emergency plan yet."))
    return [*lines, ""]


def _gate_lines(gates: dashboard.Gates | None) -> list[str]:
    if gates is None:
        return [_("Gates: no event store was given (--events-db).")]
    if gates.problem:
        return [
            _("Gates: the event store cannot be read: %(problem)s") % {"problem": gates.problem}
        ]
    lines = [_("Gates offline: %(n)d") % {"n": len(gates.offline)}]
    lines += [f"  {g.name} ({_when(g.since)})" for g in gates.offline]
    lines += ["", _("Alarms not acknowledged: %(n)d") % {"n": sum(g.alarms for g in gates.alarms)}]
    lines += [f"  {g.name}: {g.alarms}" for g in gates.alarms]
    return lines


def payload(board: dashboard.Dashboard, subject: str, body: str) -> dict[str, Any]:
    """The digest as the alert hook gets it."""
    gates = board.gates or dashboard.Gates()
    return {
        "alert": "digest",
        "date": timezone.localtime(board.now).date().isoformat(),
        "subject": subject,
        "text": body,
        "overdue": [{"case": c.pk, "kind": c.kind, "title": shown_title(c), "unit": c.unit,
                     "owner": c.owner, "due": c.due_at.isoformat()} for c in board.overdue],
        "open": {row.kind: list(row.ages) for row in board.open_by_kind},
        "last_drills": {d.scenario: {"drill": d.drill, "started": d.started_at.isoformat()}
                        if d.drill and d.started_at else None for d in board.drills or []},
        "gates_offline": [g.name for g in gates.offline],
        "alarms_unacknowledged": {g.name: g.alarms for g in gates.alarms},
    }  # fmt: skip


def main(args: argparse.Namespace) -> int:
    """Build the digest now and send it where ``[workplace.digest]`` says (or print it)."""
    from agent.office.fleet import load_office_config

    where = str(settings.GATE_OFFICE_CONFIG)
    if not where and not args.print:
        raise ConfigError("no office config: give --office-config (its [workplace.digest])")
    config = load_office_config(Path(where)) if where else None
    digest = config.workplace.digest if config else None
    language = (digest.language if digest else None) or settings.LANGUAGE_CODE
    board = dashboard.build(timezone.now())
    subject, body = compose(board, language)
    if args.print:
        print(subject, body, sep="\n\n", end="")
        return 0
    assert config is not None and digest is not None
    if not digest.host and not digest.hook:
        raise ConfigError("nowhere to send the digest: set host and to, or hook = true, "
                          "in [workplace.digest]")  # fmt: skip
    failed = 0
    if digest.host:
        try:
            sending.send_mail(digest, sending.message(digest, subject, body), Path(where).parent)
            print(f"digest mailed to {', '.join(digest.to)} through {digest.host}:{digest.port}")
        except sending.DigestError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
    if digest.hook:
        try:
            sending.send_hook(list(config.alerts.hook), payload(board, subject, body))
            print("digest handed to the alert hook")
        except sending.DigestError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0
