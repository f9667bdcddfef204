"""A gate's plate picture into a case (issue 22 item 7): staff who may handle the case ask
the gate for the picture a plate event names; it arrives in the signed ``cmd/ack``, must
be a JPEG within the attachment limit, and is kept as a case attachment with a timeline
step. A picture leaves a gate only this way, tied to the case."""

from __future__ import annotations

import re
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db import transaction
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from agent.errors import ConfigError, GateError
from agent.models.pictures import PICTURE_ID
from agent.office.pictures import fetch_picture
from agent.office.web.audit import chain
from agent.office.web.cases import access
from agent.office.web.cases.attachments import sniff
from agent.office.web.cases.models import Case, CaseAttachment, CaseStep
from agent.office.web.events import event_store
from agent.office.web.gate_link import gate_args
from agent.office.web.staff.accounts import signed_in_account

# the plate reads whose pictures a case page offers: near the case's own gate events
PLATE_TYPES = ["access_granted", "access_denied", "plate_unreadable", "plate_decided"]
NEAR = timedelta(minutes=30)
SHOWN = 20


def case_gates(case: Case) -> list[str]:
    """The gates (site/gate) the case's events came from."""
    pairs = case.sources.values_list("site", "gate").distinct()
    return sorted({f"{site}/{gate}" for site, gate in pairs})


def case_pictures(case: Case) -> list[dict[str, str]]:
    """Plate reads that name a picture, at the case's gates within ``NEAR`` of its events
    (from the office's event store; empty when the workplace has none)."""
    sources = list(case.sources.all())
    if not sources or not settings.GATE_OFFICE_EVENTS_DB:
        return []
    found: dict[str, dict[str, str]] = {}
    store = event_store()
    try:
        for source in sources:
            for event in store.db.query_events(
                site=source.site, gate=source.gate, types=PLATE_TYPES,
                since=source.at - NEAR, until=source.at + NEAR, limit=SHOWN,
            ):  # fmt: skip
                picture = str((event.get("details") or {}).get("picture") or "")
                if re.fullmatch(PICTURE_ID, picture):
                    found[picture] = {
                        "gate": f"{source.site}/{source.gate}", "picture": picture,
                        "door": str(event.get("door") or "-"), "type": str(event["type"]),
                        "card": str(event["details"].get("card") or "?"),
                        "time": timezone.localtime(event["time"]).strftime("%Y-%m-%d %H:%M:%S"),
                    }  # fmt: skip
    finally:
        store.close()
    return list(found.values())[:SHOWN]


class GatePictureForm(forms.Form):
    """Which gate, and the picture id a plate event of the case names."""

    gate = forms.ChoiceField(label=gettext_lazy("gate"))
    picture = forms.RegexField(label=gettext_lazy("picture id (from the plate event)"),
                               regex=PICTURE_ID, max_length=32)  # fmt: skip

    def __init__(self, *args: object, case: Case, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["gate"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(g, g) for g in case_gates(case)]


@login_required
@permission_required("cases.handle_case", raise_exception=True)
@require_POST
def fetch(request: HttpRequest, pk: int) -> HttpResponseBase:
    staff = signed_in_account(request)
    case = access.check(request.user, get_object_or_404(Case, pk=pk))
    form = GatePictureForm(request.POST, case=case)
    if not form.is_valid():
        messages.error(request, _("Choose a gate of this case and a picture id."))
        return redirect("cases:case", pk=case.pk)
    site, _slash, gate = form.cleaned_data["gate"].partition("/")
    picture = form.cleaned_data["picture"]
    try:
        data = fetch_picture(gate_args(site, gate), picture, f"case-{case.pk}")
    except (GateError, ConfigError) as exc:
        messages.error(request, _("The gate's picture could not be fetched: %(why)s")
                       % {"why": str(exc).splitlines()[0]})  # fmt: skip
        return redirect("cases:case", pk=case.pk)
    if sniff(data) != "image/jpeg" or len(data) > int(settings.GATE_OFFICE_CASE_ATTACHMENT_BYTES):
        messages.error(request, _("The gate sent something that is not a JPEG picture."))
        return redirect("cases:case", pk=case.pk)
    actor = staff.get_username()
    name = f"gate-{site}-{gate}-picture-{picture}.jpg"
    with transaction.atomic():
        CaseAttachment.objects.create(case=case, name=name[:200], content_type="image/jpeg",
                                      data=data, added_by=actor)  # fmt: skip
        CaseStep.objects.create(case=case, actor=actor, action="attach",
                                state_before=case.state, state_after=case.state,
                                note=_("picture %(picture)s from gate %(gate)s") % {
                                    "picture": picture, "gate": f"{site}/{gate}"})  # fmt: skip
        chain.append(actor, "case.gate_picture", f"case {case.pk}", name)
    messages.success(request, _("The gate's picture was added to the case."))
    return redirect("cases:case", pk=case.pk)
