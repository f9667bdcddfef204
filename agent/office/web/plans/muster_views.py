"""The muster pages: the gates' musters (fire or drill), one muster's list with its ticks
as they arrive, and its printable page. Names come from the register only for staff who
may read residents (``register.view_resident``), and each such page is audited like other
register reads; everyone else sees holder ids, kinds and units, as the guards do."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from agent.errors import GateError
from agent.office.web.audit import chain
from agent.office.web.events import event_store
from agent.office.web.plans.muster import MUSTER_TYPES, Muster, build
from agent.office.web.register.models import Resident
from agent.office.web.staff.accounts import signed_in_account

RECENT = 50  # musters listed
CLOCK_SLACK = timedelta(hours=1)  # a tick stamped by a gate clock a little behind


@login_required
@permission_required("plans.view_emergencyplan", raise_exception=True)
def muster_list(request: HttpRequest) -> HttpResponse:
    """The gates' musters, newest first; open ones say so."""
    try:
        store = event_store()
    except GateError as exc:
        return render(request, "plans/musters.html", {"problem": str(exc)}, status=503)
    try:
        started = store.db.query_events(types=["muster_started"], limit=RECENT)
        ends = store.db.query_events(types=["muster_ended"], limit=RECENT * 2)
        ended = {(e["site"], e["gate"], (e["details"] or {}).get("muster")): e for e in ends}
    finally:
        store.close()
    rows = []
    for e in reversed(started):
        d = e["details"] or {}
        end = ended.get((e["site"], e["gate"], d.get("muster"))) or {}
        rows.append({"site": e["site"], "gate": e["gate"], "muster": d.get("muster"),
                     "trigger": d.get("trigger"), "time": e["time"], "total": d.get("total"),
                     "end": end.get("details"), "ended_at": end.get("time")})  # fmt: skip
    return render(request, "plans/musters.html", {"rows": rows})


def _find(site: str, gate: str, ident: str) -> Muster | None:
    store = event_store()
    try:
        starts = [e for e in store.db.query_events(site=site, gate=gate, types=["muster_started"],
                                                   limit=None)
                  if (e["details"] or {}).get("muster") == ident]  # fmt: skip
        if not starts:
            return None
        since = starts[0]["time"] - CLOCK_SLACK
        later = store.db.query_events(site=site, gate=gate, types=MUSTER_TYPES[1:], since=since,
                                      limit=None)  # fmt: skip
    finally:
        store.close()
    return build(starts[0], later)


def _named(request: HttpRequest, muster: Muster) -> bool:
    """Names from the register for staff who may read them; audited. False: ids only."""
    if not request.user.has_perm("register.view_resident") or not muster.rows:
        return False
    ids = [r.holder_id for r in muster.rows]
    names = dict(Resident.objects.filter(holder_id__in=ids).values_list("holder_id", "name"))
    for row in muster.rows:
        row.name = names.get(row.holder_id, "")
    actor = signed_in_account(request).get_username()
    chain.append(actor, "muster.names", f"muster {muster.site}/{muster.gate}/{muster.id}",
                 f"{len(names)} name(s)")  # fmt: skip
    return True


def _page(request: HttpRequest, site: str, gate: str, ident: str, template: str) -> HttpResponse:
    try:
        muster = _find(site, gate, ident)
    except GateError as exc:
        return render(request, "plans/musters.html", {"problem": str(exc)}, status=503)
    if muster is None:  # no such muster (no fire, no drill): said plainly
        text = _("No muster %(id)s at gate %(gate)s: a muster list exists only once a fire "
                 "alarm or a drill has released that gate's doors.") % {
                     "id": ident, "gate": f"{site}/{gate}"}  # fmt: skip
        return render(request, "plans/musters.html", {"problem": text}, status=404)
    context: dict[str, Any] = {
        "m": muster,
        "named": _named(request, muster),
        "rows": sorted(muster.rows, key=lambda r: r.ticked_at is not None),
    }
    return render(request, template, context)


@login_required
@permission_required("plans.view_emergencyplan", raise_exception=True)
def muster(request: HttpRequest, site: str, gate: str, ident: str) -> HttpResponse:
    return _page(request, site, gate, ident, "plans/muster.html")


@login_required
@permission_required("plans.view_emergencyplan", raise_exception=True)
def printable(request: HttpRequest, site: str, gate: str, ident: str) -> HttpResponse:
    return _page(request, site, gate, ident, "plans/muster_print.html")
