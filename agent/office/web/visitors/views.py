"""The visitor pages: issue a pass at the desk, show and print its QR code, send it to
its gates again, revoke it.

Each issue, sending and revoke is written to the audit log; the pass's gates get what
``gate-office pass push | revoke`` sends them, and the page says per gate whether it
arrived. A pass the retention purge erased shows what is left of it, and no code.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from pydantic import ValidationError

from agent.errors import GateError
from agent.models.pass_codec import decode, display_short, new_pass_id
from agent.models.passes import VisitorPass as SignedFields
from agent.office.web.audit import chain
from agent.office.web.audit.models import AuditEntry
from agent.office.web.visitors import issuing
from agent.office.web.visitors.forms import IssueForm
from agent.office.web.visitors.models import VisitorPass


def _tell_gates(request: HttpRequest, rows: list[dict[str, Any]], done: str) -> None:
    """One message per gate: it took the change, or why not (the gate-office words)."""
    for row in rows:
        where = f"{row['site']}/{row['gate']}"
        if row["ok"]:
            messages.success(request, _("%(gate)s: %(done)s") % {"gate": where, "done": done})
        else:
            text = _("%(gate)s: not reached (%(error)s); send it again when the gate is online.")
            messages.error(request, text % {"gate": where, "error": row.get("error", "")})


@login_required
@permission_required("visitors.view_visitorpass", raise_exception=True)
def passes(request: HttpRequest) -> HttpResponse:
    """The passes issued, newest first."""
    page = Paginator(VisitorPass.objects.select_related("unit"), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "visitors/list.html", {"page": page, "now": timezone.now()})


@login_required
@permission_required("visitors.add_visitorpass", raise_exception=True)
def issue(request: HttpRequest) -> HttpResponseBase:
    """Pre-register a visitor and issue the signed pass."""
    try:
        doors_of = issuing.known_doors()
    except GateError as exc:
        return render(request, "visitors/issue.html", {"problem": str(exc)}, status=503)
    now = timezone.localtime().replace(second=0, microsecond=0)
    initial = {"valid_from": now, "valid_until": now + timedelta(hours=4)}
    form = IssueForm(request.POST or None, initial=initial, doors_of=doors_of)
    context: dict[str, Any] = {"form": form, "broker": issuing.broker_configured()}
    if request.method == "POST" and form.is_valid():
        try:
            made = _issue(request, form)
        except ValidationError as exc:
            form.add_error(None, "; ".join(e["msg"] for e in exc.errors()))
        except GateError as exc:
            context["problem"] = str(exc)
        else:
            return redirect("visitor_pass", made.pk)
    return render(request, "visitors/issue.html", context, status=400 if form.errors else 200)


def _issue(request: HttpRequest, form: IssueForm) -> VisitorPass:
    data = form.cleaned_data
    site, gate = form.site_and_gate
    now = timezone.now().replace(microsecond=0)
    fields = SignedFields(
        id=new_pass_id(), site=site, gate=gate or None, unit=str(data["unit"])[:32],
        valid_from=data["valid_from"], valid_until=data["valid_until"],
        doors=list(data["doors"]) or None, uses=data["uses"], issued_at=now,
        issued_by=request.user.get_username()[:32],
    )  # fmt: skip
    signed = issuing.sign_pass(fields)
    with transaction.atomic():
        made = VisitorPass.objects.create(
            pass_id=fields.id, visitor_name=data["visitor_name"], unit=data["unit"], site=site,
            gate=gate, doors=fields.doors or [], valid_from=fields.valid_from,
            valid_until=fields.valid_until, uses=fields.uses, code=signed.text,
            plate_masked=data["plate"][1] if data["plate"] else "",
            plate_credential=data["plate"][0] if data["plate"] else "",
            issued_by=request.user, issued_at=now,  # type: ignore[misc]
        )  # fmt: skip
        target = f"visitor_pass:{fields.id}"
        chain.append(request.user.get_username(), AuditEntry.Action.CHANGE, target, "issued")
    messages.success(request, _("Visitor pass issued."))
    if data["deliver"] or data["plate"]:  # a plate reaches the gates only with the pass
        _send(request, lambda: issuing.deliver(signed, data["plate"]), _("pass delivered"))
    return made


def _send(request: HttpRequest, send: Callable[[], list[dict[str, Any]]], done: str) -> None:
    try:
        rows = send()
    except GateError as exc:
        messages.error(request, _("Not sent to the gates: %(problem)s") % {"problem": exc})
    else:
        _tell_gates(request, rows, done)


def _pass_context(found: VisitorPass) -> dict[str, Any]:
    if found.purged_at is not None:  # the code went with the visitor's name
        return {"vp": found}
    return {
        "vp": found,
        "qr": issuing.qr_data_uri(found.code),
        "short_code": display_short(decode(found.code).short_code),
    }


def _kept(pk: int) -> VisitorPass:
    """A pass whose code is still kept (not erased by the retention purge), else 404."""
    return get_object_or_404(VisitorPass.objects.select_related("unit"), pk=pk,
                             purged_at__isnull=True)  # fmt: skip


@login_required
@permission_required("visitors.view_visitorpass", raise_exception=True)
def visitor_pass(request: HttpRequest, pk: int) -> HttpResponse:
    """One pass: its QR code, its terms, print, download, revoke."""
    found = get_object_or_404(VisitorPass.objects.select_related("unit"), pk=pk)
    response = render(request, "visitors/pass.html", _pass_context(found))
    response.headers["Cache-Control"] = "no-store"  # the code opens doors
    return response


@login_required
@permission_required("visitors.view_visitorpass", raise_exception=True)
def printable(request: HttpRequest, pk: int) -> HttpResponse:
    """The pass on one printed page (print CSS), for the visitor to carry."""
    response = render(request, "visitors/print.html", _pass_context(_kept(pk)))
    response.headers["Cache-Control"] = "no-store"
    return response


@login_required
@permission_required("visitors.view_visitorpass", raise_exception=True)
def qr_png(request: HttpRequest, pk: int) -> HttpResponse:
    """The QR code as a PNG file, to send to the visitor's phone."""
    found = _kept(pk)
    response = HttpResponse(issuing.qr_png(found.code), content_type="image/png")
    response.headers["Content-Disposition"] = f'attachment; filename="pass-{found.pass_id}.png"'
    response.headers["Cache-Control"] = "no-store"
    return response


@require_POST
@login_required
@permission_required("visitors.add_visitorpass", raise_exception=True)
def send_again(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Send a valid pass to its gates once more: one that was offline when it was issued,
    or a gate put in since (with its car's plate, if it has one)."""
    found = _kept(pk)
    if not found.in_force:
        messages.error(request, _("Only a pass that is still valid is sent to the gates."))
        return redirect("visitor_pass", found.pk)
    with transaction.atomic():
        target = f"visitor_pass:{found.pass_id}"
        chain.append(request.user.get_username(), AuditEntry.Action.CHANGE, target, "sent again")
    signed = decode(found.code)
    plate = (found.plate_credential, found.plate_masked) if found.plate_credential else None
    _send(request, lambda: issuing.deliver(signed, plate), _("pass delivered"))
    return redirect("visitor_pass", found.pk)


@require_POST
@login_required
@permission_required("visitors.revoke_visitorpass", raise_exception=True)
def revoke(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Refuse the pass from now on at its gates (again: send the revocation once more)."""
    found = get_object_or_404(VisitorPass, pk=pk)
    if found.revoked_at is None:
        with transaction.atomic():
            found.revoked_at, found.revoked_by = timezone.now(), request.user  # type: ignore[assignment]
            found.save(update_fields=["revoked_at", "revoked_by"])
            target = f"visitor_pass:{found.pass_id}"
            chain.append(request.user.get_username(), AuditEntry.Action.CHANGE, target, "revoked")
        messages.success(request, _("Visitor pass revoked at the office."))
    revoking = (found.site, found.gate, found.pass_id, found.valid_until)
    _send(request, lambda: issuing.revoke(*revoking), _("pass revoked"))
    return redirect("visitor_pass", found.pk)
