"""The delivery worker: each gate with a change not yet applied gets the register's whole
list, by the office's signed patch (or snapshot) over MQTT, and its ack is recorded.

A gate whose retained status says offline is marked "offline since" and tried again every
``retry`` seconds; when it is back, the next pass brings it to the current list. Runs as
``gate-office web deliver`` (docs/office.md).
"""

from __future__ import annotations

import argparse
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import close_old_connections, transaction
from django.db.models import Max
from django.utils import timezone

from agent.errors import GateError
from agent.models.wire import AllowListEntry
from agent.office.allowlist_push import push_over
from agent.office.web.cards import lifecycle, planning
from agent.office.web.cards.links import GateLinks
from agent.office.web.cards.models import CardChange, Delivery

log = logging.getLogger(__name__)
OPEN = [Delivery.State.PENDING, Delivery.State.OFFLINE]


@dataclass(frozen=True)
class Outcome:
    """What one gate made of one push."""

    state: str
    version: int | None = None
    offline_since: datetime | None = None
    detail: str = ""


def _since(status: dict[str, object]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(status["time"]))
    except (KeyError, ValueError):
        return None


def send(
    args: argparse.Namespace,
    site: str,
    gate: str,
    entries: list[AllowListEntry],
    links: GateLinks | None = None,
    keep: Callable[[AllowListEntry], bool] | None = None,
) -> Outcome:
    """Gate ``site/gate`` brought to ``entries`` (and the entries ``keep`` keeps of what it
    was sent before), or why not (never raises a GateError); over the kept connection in
    ``links``, else over one of its own."""
    if links is None:
        links = GateLinks(args)
        try:
            return send(args, site, gate, entries, links, keep)
        finally:
            links.close()
    try:
        link, _topics, status = links.open(site, gate)
        if status is None:
            return Outcome(Delivery.State.PENDING, detail="the broker holds no status of the gate")
        if not status.get("online"):
            return Outcome(Delivery.State.OFFLINE, offline_since=_since(status))
        held = push_over(
            link, links.gate_args(site, gate), status.get("allowlist_version"), entries, keep
        )
    except GateError as exc:
        links.drop(site, gate)
        return Outcome(Delivery.State.PENDING, detail=str(exc)[:300])
    return Outcome(Delivery.State.APPLIED, version=int(held["version"]))


def _due_gates(retry: float) -> list[tuple[str, str, int]]:
    """(site, gate, highest open delivery id) of gates with open deliveries; a gate seen
    offline less than ``retry`` seconds ago waits."""
    recent = timezone.now() - timedelta(seconds=retry)
    rows = (
        Delivery.objects.filter(state__in=OPEN)
        .values("site", "gate")
        .annotate(upto=Max("pk"), seen=Max("updated_at"))
    )
    due = []
    for row in rows:
        waiting = Delivery.objects.filter(
            site=row["site"], gate=row["gate"], state=Delivery.State.PENDING
        ).exists()
        if waiting or row["seen"] < recent:
            due.append((row["site"], row["gate"], row["upto"]))
    return due


def deliver_pending(
    args: argparse.Namespace,
    today: date | None = None,
    retry: float = 0,
    links: GateLinks | None = None,
) -> int:
    """One pass: end temporary cards past their date, plan changes made without a store,
    send every gate with an open delivery its list; how many deliveries were applied."""
    today = today or timezone.localdate()
    lifecycle.end_temporary(today)
    unplanned = CardChange.objects.filter(planned=False)
    if unplanned.exists():
        gates = planning.known_gates()
        for change in unplanned if gates else []:  # without gates, left for a later pass
            planning.plan(change, gates)
    applied = 0
    keep = planning.not_the_registers()
    for site, gate, upto in _due_gates(retry):
        # the list is read after ``upto``: every delivery up to it is in what is sent
        outcome = send(args, site, gate, planning.gate_list(today), links, keep)
        with transaction.atomic():
            rows = Delivery.objects.filter(site=site, gate=gate, state__in=OPEN, pk__lte=upto)
            if outcome.state == Delivery.State.APPLIED:
                applied += rows.update(
                    state=outcome.state, version=outcome.version, detail="",
                    updated_at=timezone.now(),
                )  # fmt: skip
            else:
                rows.update(
                    state=outcome.state, offline_since=outcome.offline_since,
                    detail=outcome.detail, updated_at=timezone.now(),
                )  # fmt: skip
        log.info("cards: %s/%s %s %s", site, gate, outcome.state, outcome.detail)
    return applied


def run(args: argparse.Namespace, poll: float, retry: float, stop: threading.Event) -> None:
    """Passes every ``poll`` seconds until ``stop`` is set, over connections kept per gate."""
    links = GateLinks(args)
    try:
        while not stop.is_set():
            close_old_connections()
            try:
                deliver_pending(args, retry=retry, links=links)
            except GateError as exc:  # the office store away, a key missing: said, tried again
                log.error("cards: delivery pass failed: %s", exc)
            stop.wait(poll)
    finally:
        links.close()
