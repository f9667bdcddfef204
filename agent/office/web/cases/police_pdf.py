"""The police report of a behaviour case, as a PDF: the case, the residents concerned by name
only, the timeline, the gate events around the incident (time, gate, door, type: no holder
ids), the guards named in those events, and the police record.

Personal data is limited to what the case needs: no ID or phone numbers. Text from users is
written as plain text (fpdf2 without markup), so ``<script>`` reads as written.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from agent.errors import ConfigError, GateError
from agent.office.web.audit import chain
from agent.office.web.cases import access
from agent.office.web.cases.behaviour import behaviour_case
from agent.office.web.cases.behaviour_models import BehaviourDetails
from agent.office.web.cases.models import Case
from agent.office.web.events import event_store
from agent.office.web.guards.models import GuardAccount
from agent.office.web.staff.accounts import signed_in_account
from agent.office.web.workplace import workplace_config

EVENT_LIMIT = 500


class ReportFontMissing(ConfigError):
    """The font the police report needs (Chinese glyphs) is not installed."""


def window_events(details: BehaviourDetails, hours: int) -> list[dict[str, Any]] | None:
    """The gate events from ``hours`` before to ``hours`` after the incident, oldest first;
    None when the workplace has no event store."""
    if not settings.GATE_OFFICE_EVENTS_DB:
        return None
    span = timedelta(hours=hours)
    store = event_store()
    try:
        return store.db.query_events(
            since=details.occurred_at - span, until=details.occurred_at + span, limit=EVENT_LIMIT
        )
    finally:
        store.close()


def guard_ids(events: Iterable[dict[str, Any]]) -> list[str]:
    """The guards the events name (``guard``, or ``by``/``ended_by`` as ``guard:ID``)."""
    found: set[str] = set()
    for event in events:
        details = event.get("details") or {}
        if isinstance(details.get("guard"), str) and details["guard"]:
            found.add(details["guard"])
        for key in ("by", "ended_by"):
            value = details.get(key)
            if isinstance(value, str) and value.startswith("guard:") and len(value) > 6:
                found.add(value[6:])
    return sorted(found)


def _when(at: datetime) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M")


class _Report:
    """The PDF as it is written: headings and plain lines, one font with Chinese."""

    def __init__(self) -> None:
        font = Path(settings.GATE_OFFICE_PDF_FONT)
        if not font.is_file():
            raise ReportFontMissing(
                _("The police report needs a font with Chinese (fonts-noto-cjk): %(path)s")
                % {"path": font}
            )
        self.pdf = FPDF()
        self.pdf.add_font(
            "cjk", fname=str(font), collection_font_number=settings.GATE_OFFICE_PDF_FONT_NUMBER
        )
        self.pdf.add_page()

    def heading(self, text: str, size: int = 13) -> None:
        self.pdf.ln(2)
        self.pdf.set_font("cjk", size=size)
        self.line(text)
        self.pdf.set_font("cjk", size=10)

    def line(self, text: str) -> None:
        self.pdf.multi_cell(0, 5.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def render(
    case: Case,
    details: BehaviourDetails,
    events: list[dict[str, Any]] | None,
    guards: list[str],
    hours: int,
) -> bytes:
    """The report's bytes, in the active language."""
    r = _Report()
    r.heading(_("Police report: case %(pk)s") % {"pk": case.pk}, size=16)
    r.line(f"{_('title')}: {case.title}")
    r.line(f"{_('kind')}: {case.get_kind_display()}; {details.get_kind_display()}")
    r.line(f"{_('unit')}: {case.unit}")
    r.line(f"{_('when it happened')}: {_when(details.occurred_at)}")
    names = ", ".join(resident.name for resident in case.residents.all())
    r.line(f"{_('residents concerned')}: {names or '-'}")
    r.line(f"{_('person in charge')}: {case.owner.get_username()}")
    r.heading(_("what happened"))
    r.line(case.description)
    r.heading(_("Reported to the police"))
    for report in case.police_reports.all():
        r.line(
            f"{_when(report.reported_at)}  {_('police station')}: {report.station}  "
            f"{_('police officer')}: {report.officer}  {_('police report number')}: {report.number}"
        )
    r.heading(_("Timeline"))
    for step in case.steps.all():
        note = f": {step.note}" if step.note else ""
        r.line(f"{_when(step.at)}  {step.actor}  {step.action_label()}{note}")
    r.heading(_("Gate events from %(hours)s h before to %(hours)s h after") % {"hours": hours})
    if events is None:
        r.line(_("No event store is configured."))
    for event in events or []:
        door = event.get("door") or "-"
        r.line(f"{_when(event['time'])}  {event['site']}/{event['gate']}  {door}  {event['type']}")
    if events == []:
        r.line(_("No gate events in this window."))
    r.heading(_("Guards on duty in these events"))
    known = dict(
        GuardAccount.objects.filter(guard_id__in=guards).values_list("guard_id", "display_name")
    )
    for guard in guards:
        r.line(f"{known[guard]} ({guard})" if guard in known else guard)
    if not guards:
        r.line("-")
    return bytes(r.pdf.output())


@login_required
@permission_required(("cases.view_case", access.VIEW_BEHAVIOUR), raise_exception=True)
def police_report(request: HttpRequest, pk: int) -> HttpResponse:
    case, details = behaviour_case(request, pk)
    hours = workplace_config().behaviour.event_window_hours
    try:
        events = window_events(details, hours)
        data = render(case, details, events, guard_ids(events or []), hours)
    except GateError as error:
        first = str(error).splitlines()[0]
        return HttpResponse(first, status=503, content_type="text/plain; charset=utf-8")
    chain.append(signed_in_account(request).get_username(), "case.police_report", f"case {case.pk}")
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="case-{case.pk}-police.pdf"'
    return response
