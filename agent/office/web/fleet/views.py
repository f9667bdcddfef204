"""The fleet page and the live event view, read from the event store in the site's zone.

The event view pages with a keyset (the time and serial of the last row shown), so no page
reads more than a page of rows however large the store; the newest page polls a JSON
feed for the events stored after the page was read.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import dateformat, timezone

from agent.errors import GateError
from agent.office.db import OfficeDb
from agent.office.web.audit import chain
from agent.office.web.events import event_store
from agent.office.web.fleet.forms import EventFilterForm
from agent.office.web.register.models import Resident
from agent.office.web.staff.accounts import signed_in_account

PAGE = 50
FEED_MAX = 200  # events one poll returns at most; the next poll fetches the rest
FEED_AUDIT_S = 600.0  # a live feed showing names: audited at most this often a session
_AUDITED = "events_names_audited_at"  # session key: when names were last audited here


_OPEN = threading.local()  # this thread's store connection, by where the store is


@contextmanager
def _store() -> Iterator[OfficeDb]:
    """The event store, its connection kept for the thread's next page (opening one, and
    checking its schema, costs more than a page's query). Dropped when a call fails."""
    where = str(settings.GATE_OFFICE_EVENTS_DB)
    held: dict[str, OfficeDb] = _OPEN.__dict__.setdefault("stores", {})
    db = held.get(where)
    if db is None:
        db = held[where] = event_store().db
    try:
        yield db
    except GateError:
        held.pop(where, None)
        db.close()
        raise


@login_required
@permission_required("fleet.view_fleet", raise_exception=True)
def fleet(request: HttpRequest) -> HttpResponse:
    """Every gate: online, since when, backlog, allow-list version, alarms."""
    try:
        with _store() as db:
            gates = db.gates()
    except GateError as exc:
        return render(request, "fleet/fleet.html", {"problem": str(exc)}, status=503)
    return render(request, "fleet/fleet.html", {"gates": gates})


def _filters(request: HttpRequest, db: OfficeDb) -> tuple[EventFilterForm, dict[str, Any] | None]:
    """The form, and the store's filters (None when the form has errors)."""
    gates = db.gate_names()
    units = request.user.has_perm("register.view_unit")
    form = EventFilterForm(request.GET, gates=gates, units=units)
    if not form.is_valid():
        return form, None
    data = form.cleaned_data
    site, _sep, gate = str(data.get("gate") or "").partition("/")
    filters: dict[str, Any] = {
        "site": site or None, "gate": gate or None, "door": data.get("door") or None,
        "types": data.get("type") or None, "since": data.get("since"), "until": data.get("until"),
        "holder": data.get("holder") or None,
    }  # fmt: skip
    if data.get("unit") is not None:
        ids = list(
            Resident.objects.filter(household__unit=data["unit"]).values_list(
                "holder_id", flat=True
            )
        )
        held = filters["holder"]
        filters["holder"] = [h for h in ids if held in (None, h)]
    return form, filters


def _query(db: OfficeDb, filters: dict[str, Any], **paging: Any) -> list[dict[str, Any]]:
    """``query_events``, one query per holder for a unit's several: each then walks the
    holder index (measured: PostgreSQL plans ``holder IN (...)`` as a walk back through
    every event). Merged in the store's order: by serial with ``after``, else by time."""
    holders = filters.get("holder")
    if not isinstance(holders, list) or len(holders) < 2:
        return db.query_events(**filters, **paging)
    found = [e for h in holders for e in db.query_events(**{**filters, "holder": h}, **paging)]
    if paging.get("after") is not None:
        return sorted(found, key=lambda e: e["serial"])[: paging["limit"]]
    return sorted(found, key=lambda e: (e["time"], e["serial"]))[-paging["limit"] :]


def _audit_names(request: HttpRequest, names: dict[str, str], feed: bool) -> None:
    """Names from the register were shown: an audit entry for the page, and for its live
    feed at most once every ``FEED_AUDIT_S`` in one session (a page left open at a busy
    gate would otherwise add one at every poll)."""
    now = timezone.now().timestamp()
    last = request.session.get(_AUDITED)
    if feed and isinstance(last, float) and 0 <= now - last < FEED_AUDIT_S:
        return
    where = "events feed" if feed else "events page"
    chain.append(signed_in_account(request).get_username(), "events.names", where,
                 f"{len(names)} name(s)")  # fmt: skip
    request.session[_AUDITED] = now


def _rows(
    request: HttpRequest, events: list[dict[str, Any]], feed: bool = False
) -> list[dict[str, Any]]:
    """Events as shown: times in the site's zone, holder ids, and names to those who may
    (audited)."""
    names: dict[str, str] = {}
    holders = {str((e["details"] or {}).get("holder_id") or "") for e in events} - {""}
    if holders and request.user.has_perm("register.view_resident"):
        names = dict(
            Resident.objects.filter(holder_id__in=holders).values_list("holder_id", "name")
        )
        if names:
            _audit_names(request, names, feed)
    rows = []
    for e in events:
        details = e["details"] or {}
        holder = str(details.get("holder_id") or "")
        rows.append({
            "serial": e["serial"],
            "time": dateformat.format(timezone.localtime(e["time"]), "Y-m-d H:i:s O"),
            "time_utc": e["time"].isoformat(),
            "gate": f"{e['site']}/{e['gate']}", "door": e["door"] or "", "type": e["type"],
            "holder": holder, "name": names.get(holder, ""),
            "card": str(details.get("card") or ""), "reason": str(details.get("reason") or ""),
        })  # fmt: skip
    return rows


def _before(request: HttpRequest) -> tuple[datetime, int] | None:
    """The keyset of the page asked for: the time and serial of the last row above it."""
    try:
        when = datetime.fromisoformat(request.GET["before_time"])
        return when, int(request.GET["before_serial"])
    except (KeyError, ValueError):
        return None


@login_required
@permission_required("fleet.view_events", raise_exception=True)
def events(request: HttpRequest) -> HttpResponse:
    """A page of events, newest first, filtered; the newest page keeps itself current."""
    before = _before(request)
    try:
        with _store() as db:
            top = db.last_serial()  # the feed brings what is stored after this page was read
            form, filters = _filters(request, db)
            found = [] if filters is None else _query(db, filters, before=before, limit=PAGE + 1)
    except GateError as exc:
        return render(request, "fleet/events.html", {"problem": str(exc)}, status=503)
    found.reverse()  # newest first
    rows = _rows(request, found[:PAGE])
    query = request.GET.copy()
    for key in ("before_time", "before_serial"):
        query.pop(key, None)
    older = None
    if len(found) > PAGE:
        last = found[PAGE - 1]
        query["before_time"], query["before_serial"] = last["time"].isoformat(), last["serial"]
        older = query.urlencode()
    context = {
        "form": form, "rows": rows, "older": older, "live": before is None and filters is not None,
        "newest": top, "filters": query.urlencode(),
    }  # fmt: skip
    return render(request, "fleet/events.html", context, status=200 if filters else 400)


@login_required
@permission_required("fleet.view_events", raise_exception=True)
def events_feed(request: HttpRequest) -> JsonResponse:
    """Events stored after ``after`` (a serial: the page's ``newest``, then each answer's
    ``after``) that match the filters, oldest first."""
    try:
        after = max(0, int(request.GET.get("after", "0")))
    except ValueError:
        return JsonResponse({"error": "after: a serial number is needed"}, status=400)
    try:
        with _store() as db:
            form, filters = _filters(request, db)
            if filters is None:
                return JsonResponse({"error": form.errors.get_json_data()}, status=400)
            top = db.last_serial()  # serials are handed out in commit order
            found = _query(db, filters, after=after, limit=FEED_MAX)
    except GateError as exc:
        return JsonResponse({"error": str(exc)}, status=503)
    # every match up to `top` is in hand unless the poll was full: never scan them again
    newest = max([e["serial"] for e in found] + ([top] if len(found) < FEED_MAX else [after]))
    return JsonResponse({"events": _rows(request, found, feed=True), "after": newest})
