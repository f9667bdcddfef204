"""The card pages: the inventory, a resident's cards with "issue card", re-issue, and a
change with each gate's state."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db import IntegrityError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from agent.office.web.cards import desk_nfc, lifecycle, planning
from agent.office.web.cards.forms import EndCardForm, IssueCardForm, PinForm, ReissueForm
from agent.office.web.cards.models import Card, CardChange, CardPin, Delivery
from agent.office.web.register.models import Resident
from agent.office.web.staff.accounts import signed_in_account
from agent.store.pins import hash_pin

ISSUE = "cards.issue_card"


def _sim_reader() -> bool:
    return str(settings.GATE_OFFICE_DESK_READER) == "sim"


def _reader_data(request: HttpRequest) -> QueryDict:
    """The form data; on the simulated desk reader a tap is the card number it read, on
    an NFC desk reader "read" senses the card held on it (a problem goes in ``reader``)."""
    data = request.POST.copy()
    tapped = request.POST.get("tap") or request.POST.get("tap_number")
    if _sim_reader() and tapped:
        data["card_number"] = tapped
    device = _nfc_device()
    if device and request.POST.get("read_nfc"):
        data["card_number"], data["reader"] = "-", ""
        try:
            card = desk_nfc.read_card(device, float(settings.GATE_OFFICE_DESK_READER_WAIT_S))
        except desk_nfc.DeskReaderError:
            data["reader"] = "broken"
        else:
            data["card_number"] = card.canonical() if card else "-"
            data["reader"] = "" if card else "none"
    return data


def _nfc_device() -> str:
    reader = str(settings.GATE_OFFICE_DESK_READER)
    return reader[4:] if reader.startswith("nfc:") else ""


def _sim_cards() -> list[str]:
    """Blank cards lying by the simulated reader: fresh 7-byte UIDs."""
    return ["04" + secrets.token_hex(6).upper() for _ in range(3)]


def _save(form: IssueCardForm, make: Any) -> CardChange | None:
    """``make()`` in its transaction; a card issued meanwhile by someone else is told
    beside the field (the unique constraint refused it, nothing was saved)."""
    try:
        change: CardChange = make()
    except IntegrityError:
        holder = Card.objects.filter(credential=form.credential, status=Card.Status.ISSUED).first()
        form.add_error("card_number", form.taken(holder) if holder else _("Try again."))
        return None
    return change


@login_required
@permission_required("cards.view_card", raise_exception=True)
def inventory(request: HttpRequest) -> HttpResponse:
    """Counts by status, the cards (filtered by status), the recent changes, the alerts."""
    counts = dict(
        Card.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    rows = [(value, label, counts.get(value, 0)) for value, label in Card.Status.choices]
    cards = Card.objects.select_related("resident__household__unit")
    status = request.GET.get("status", "")
    if status in Card.Status.values:
        cards = cards.filter(status=status)
    context = {
        "counts": rows,
        "cards": cards[:300],
        "status": status,
        "changes": CardChange.objects.all()[:20],
        "overdue": planning.overdue(),
    }
    return render(request, "cards/inventory.html", context)


def _resident_page(
    request: HttpRequest,
    resident: Resident,
    form: IssueCardForm,
    status: int = 200,
    pin_form: PinForm | None = None,
) -> HttpResponse:
    context = {
        "resident": resident,
        "cards": Card.objects.filter(resident=resident),
        "form": form,
        "pin_form": pin_form or PinForm(),
        "card_pin": CardPin.objects.filter(resident=resident).first(),
        "end_form": EndCardForm(),
        "sim_reader": _sim_reader(),
        "sim_cards": _sim_cards(),
        "nfc_reader": bool(_nfc_device()),
    }
    return render(request, "cards/resident.html", context, status=status)


@login_required
@permission_required(ISSUE, raise_exception=True)
def resident_cards(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A resident's cards and "issue card" (the desk reader types into the focused field)."""
    resident = get_object_or_404(Resident.objects.select_related("household__unit"), pk=pk)
    if request.method != "POST":
        return _resident_page(request, resident, IssueCardForm(resident))
    form = IssueCardForm(resident, _reader_data(request))
    if form.is_valid():
        until = form.cleaned_data["valid_until"]
        kind = form.cleaned_data.get("kind") or Card.Kind.PLAIN
        made = _save(
            form,
            lambda: lifecycle.issue(
                resident, form.credential, form.masked, signed_in_account(request), until, kind
            ),
        )
        if made is not None:
            messages.success(request, _("Card %(card)s issued.") % {"card": form.masked})
            return redirect("cards:change", made.pk)
    return _resident_page(request, resident, form, status=400)


@require_POST
@login_required
@permission_required(ISSUE, raise_exception=True)
def pin(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Set the resident's PIN for card plus PIN doors (typed twice), or remove it."""
    resident = get_object_or_404(Resident.objects.select_related("household__unit"), pk=pk)
    actor = signed_in_account(request).get_username()
    if "remove" in request.POST:
        made = lifecycle.set_pin(resident, None, actor)
        messages.success(request, _("PIN removed."))
        return redirect("cards:change", made.pk)
    form = PinForm(request.POST)
    if not form.is_valid():
        return _resident_page(request, resident, IssueCardForm(resident), 400, form)
    made = lifecycle.set_pin(resident, hash_pin(form.cleaned_data["pin"]), actor)
    messages.success(request, _("PIN set: it goes to the gates with the resident's cards."))
    return redirect("cards:change", made.pk)


@login_required
@permission_required(ISSUE, raise_exception=True)
def reissue(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A new card for a lost or damaged one; the old card is off the gates in the same change."""
    old = get_object_or_404(
        Card.objects.select_related("resident__household__unit"), pk=pk, status=Card.Status.ISSUED
    )
    form = ReissueForm(old.resident, _reader_data(request) if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        lost, until = form.cleaned_data["reason"] == "lost", form.cleaned_data["valid_until"]
        kind = form.cleaned_data.get("kind") or Card.Kind.PLAIN
        made = _save(
            form,
            lambda: lifecycle.reissue(
                old, form.credential, form.masked, signed_in_account(request), lost, until, kind
            ),
        )
        if made is not None:
            messages.success(request, _("Card %(card)s issued.") % {"card": form.masked})
            return redirect("cards:change", made.pk)
    context = {
        "card": old,
        "form": form,
        "sim_reader": _sim_reader(),
        "sim_cards": _sim_cards(),
        "nfc_reader": bool(_nfc_device()),
    }
    return render(request, "cards/reissue.html", context, status=400 if form.errors else 200)


@require_POST
@login_required
@permission_required(ISSUE, raise_exception=True)
def end(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Report a card lost, take it back or revoke it."""
    card = get_object_or_404(Card, pk=pk, status=Card.Status.ISSUED)
    form = EndCardForm(request.POST)
    if not form.is_valid():
        return HttpResponse(status=400)
    made = lifecycle.end(card, form.cleaned_data["status"], signed_in_account(request))
    return redirect("cards:change", made.pk)


@login_required
@permission_required("cards.view_card", raise_exception=True)
def change(request: HttpRequest, pk: int) -> HttpResponse:
    """One change and each gate's state: applied (with the version), pending, offline since."""
    found = get_object_or_404(CardChange, pk=pk)
    deliveries = list(found.deliveries.all())
    late = {d.pk for d in planning.overdue().filter(change=found)}
    context = {
        "change": found,
        "cards": found.cards.select_related("resident"),
        "deliveries": [(d, d.pk in late) for d in deliveries],
        "late": bool(late),
        "applied": all(d.state == Delivery.State.APPLIED for d in deliveries),
    }
    return render(request, "cards/change.html", context)
