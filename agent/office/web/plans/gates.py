"""A drill at the plan's gates: the existing ``cmd/drill`` sent to each (one request id for
the drill, which the drill row keeps), and the gates' ``drill_ended`` reports found in the
event store by that id, whenever they arrive: nothing about the match lives in memory, so
a restart of ``gate-office serve`` or of the workplace mid-drill loses nothing."""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

from agent.errors import GateError
from agent.models.drills import DrillCommand
from agent.office import options
from agent.office.answers import refused
from agent.office.presence import online_status, site_statuses
from agent.office.web.events import event_store
from agent.office.web.gate_link import gate_args
from agent.office.web.plans.models import Drill

# a gate's clock may differ from the office's: reports are looked for from a while before
CLOCK_SLACK = timedelta(hours=1)


def _send(args: argparse.Namespace, command: DrillCommand) -> dict[str, Any]:
    topics = options.topics(args)
    body = command.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    with options.link(args, [site_statuses(topics), topics.cmd_ack]) as link:
        online_status(link, topics, "cmd drill")
        link.send(topics.cmd("drill"), body)
        ack = link.expect(
            topics.cmd_ack, lambda m: m.get("request_id") == command.request_id, args.timeout
        )
    if ack is None:
        raise GateError(f"gate {topics.site}/{topics.gate} sent no answer in {args.timeout:g} s")
    if not ack.get("ok"):
        raise refused(ack)
    result: dict[str, Any] = ack.get("result") or {}
    return result


def _each_gate(drill: Drill, command: DrillCommand) -> list[dict[str, Any]]:
    rows = []
    for site, gate in drill.version.gates():
        try:
            result = _send(gate_args(site, gate), command)
            rows.append({"site": site, "gate": gate, "ok": True, "result": result})
        except GateError as exc:
            rows.append({"site": site, "gate": gate, "ok": False, "error": str(exc)})
    return rows


def start(drill: Drill, note: str) -> list[dict[str, Any]]:
    """Start the plan's drill at each of its gates; a row per gate, never raising."""
    version = drill.version
    command = DrillCommand(
        request_id=drill.request_id,
        kind=version.drill_kind,
        minutes=version.drill_minutes,
        note=note[:128],
    )
    return _each_gate(drill, command)


def stop(drill: Drill) -> list[dict[str, Any]]:
    """Stop the drill at each gate. A stop answers with the gate's report: kept when it
    is this drill's (the same report also reaches the event store)."""
    command = DrillCommand(request_id=f"{drill.request_id[:50]}-stop", stop=True)
    rows = _each_gate(drill, command)
    for row in rows:
        result = row.pop("result", None) or {}
        if row["ok"] and result.get("request_id") == drill.request_id:
            drill.reports[f"{row['site']}/{row['gate']}"] = result
    return rows


def match_reports(drill: Drill) -> bool:
    """Find the gates' reports of this drill in the event store (by request id) and keep
    them in the drill's row; True when one was new."""
    if not drill.request_id or drill.started_at is None or drill.complete():
        return False
    store = event_store()
    try:
        found = {}
        for site, gate in drill.version.gates():
            if f"{site}/{gate}" in drill.reports:
                continue
            events = store.db.query_events(
                site=site,
                gate=gate,
                types=["drill_ended"],
                since=drill.started_at - CLOCK_SLACK,
                limit=None,
            )
            for ev in events:
                details = ev.get("details") or {}
                if details.get("request_id") == drill.request_id:
                    found[f"{site}/{gate}"] = details
    finally:
        store.close()
    if not found:
        return False
    drill.reports = {**drill.reports, **found}
    drill.save(update_fields=["reports"])
    return True
