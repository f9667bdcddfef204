"""Pushes to a group of gates (``--to all``, ``--to site:S``, ``--to S/G,S/G``), with every
gate's answer collected into one report, and a holder revoked everywhere by one patch.

Each gate gets what it would get alone (a patch from the version it holds, else a
snapshot); one gate offline or refusing does not stop the others. The report says,
per gate, what it now holds or why not; the exit code is the worst outcome.
"""

from __future__ import annotations

import argparse
import copy
from collections.abc import Callable
from typing import Any

from agent.errors import ConfigError, GateError
from agent.models.wire import AllowListEntry
from agent.office import options
from agent.office.answers import NO_ANSWER, OK, REFUSED, NoAnswer, show

Push = Callable[[argparse.Namespace], dict[str, Any]]


def targets(args: argparse.Namespace) -> list[tuple[str, str]]:
    """The gates ``--to`` names; ``all`` and ``site:S`` are the gates the office knows."""
    spec = (args.to or "").strip()
    if not spec:
        raise ConfigError("--to is empty: all, site:SITE or SITE/GATE[,SITE/GATE...]")
    if spec == "all" or spec.startswith("site:"):
        store = options.store(args)
        try:
            known = [(g.site, g.gate) for g in store.db.gates()]
        finally:
            store.close()
        chosen = [k for k in known if spec == "all" or k[0] == spec[5:]]
        if not chosen:
            raise ConfigError(f"--to {spec}: the office knows no such gate (see `fleet`)")
        return chosen
    gates = []
    for item in spec.split(","):
        site, sep, gate = item.strip().partition("/")
        if not sep or not site or not gate:
            raise ConfigError(f"--to: {item!r} is not SITE/GATE")
        gates.append((site, gate))
    return gates


def each_gate(args: argparse.Namespace, push: Push, what: str) -> int:
    """Run ``push`` for every target gate and report them all."""
    report: list[dict[str, Any]] = []
    worst = OK
    for site, gate in targets(args):
        one = copy.copy(args)
        one.site, one.gate, one.json = site, gate, False
        try:
            row = {"site": site, "gate": gate, **push(one)}
        except NoAnswer as exc:
            row, worst = {"site": site, "gate": gate, "ok": False, "error": str(exc)}, NO_ANSWER
        except GateError as exc:
            row = {"site": site, "gate": gate, "ok": False, "error": str(exc)}
            worst = max(worst, REFUSED) if worst != NO_ANSWER else worst
        report.append(row)
    lines = [f"{what} to {len(report)} gate(s):"]
    for row in report:
        state = "ok" if row.get("ok") else "FAILED"
        detail = row.get("error") or ", ".join(f"{k} {v}" for k, v in row.items()
                                               if k not in ("site", "gate", "ok"))  # fmt: skip
        lines.append(f"  {row['site']}/{row['gate']}: {state} {detail}".rstrip())
    show({"ok": worst == OK, "gates": report}, args.json, "\n".join(lines))
    return worst


def without_holder(
    entries: dict[str, AllowListEntry], holder: str
) -> tuple[list[AllowListEntry], int]:
    """The list minus every card of ``holder``, and how many cards that was."""
    kept = [e for e in entries.values() if e.holder_id != holder]
    return kept, len(entries) - len(kept)
