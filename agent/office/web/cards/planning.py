"""Which gates a change goes to, each gate's whole list from the register, and the alerts.

A gate's list is never edited in steps: every delivery sends the register's current list
(all issued cards not past their end date), so whatever a gate missed, and whatever an
office restore lost, the next delivery brings it to the register's present.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from agent.core.secure import CredentialPolicy
from agent.errors import GateError
from agent.models.wire import AllowListEntry
from agent.office.web.cards.models import Card, CardChange, CardPin, Delivery
from agent.office.web.cards.vehicle_list import VEHICLE_HOLDER, vehicle_entries
from agent.office.web.events import event_store
from agent.office.web.register.models import Resident


def known_gates() -> list[tuple[str, str]] | None:
    """(site, gate) of every gate of the site the office store knows; None without a store."""
    if not settings.GATE_OFFICE_EVENTS_DB:
        return None
    try:
        store = event_store()
    except GateError:
        return None
    try:
        site = settings.GATE_OFFICE_CARDS_SITE
        return [(g.site, g.gate) for g in store.db.gates() if not site or g.site == site]
    finally:
        store.close()


def plan(change: CardChange, gates: list[tuple[str, str]] | None = None) -> bool:
    """One pending delivery per gate; False (left for the delivery worker) without a store."""
    gates = known_gates() if gates is None else gates
    if gates is None:
        return False
    Delivery.objects.bulk_create(
        [Delivery(change=change, site=site, gate=gate) for site, gate in gates]
    )
    change.planned = True
    change.save(update_fields=["planned"])
    return True


def live_cards(today: date) -> QuerySet[Card]:
    """The cards gates should hold: issued, not past their end, holder not moved out."""
    return (
        Card.objects.filter(status=Card.Status.ISSUED)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=today))
        .filter(Q(resident__move_out__isnull=True) | Q(resident__move_out__gte=today))
        .select_related("resident__household__unit")
        .order_by("pk")
    )


def _last_day(card_end: date | None, move_out: date | None) -> date | None:
    """A card ends with its own end date or its holder's move-out, whichever is first: a
    gate offline on the day refuses it by itself."""
    ends = [day for day in (card_end, move_out) if day is not None]
    return min(ends) if ends else None


def gate_list(today: date) -> list[AllowListEntry]:
    """The allow-list every gate of the site gets, from the register alone. A secure card's
    entry asks for its proof at every door: a copy of its UID on a plain blank is refused
    even where plain cards are still let in. A resident's PIN hash goes on each of their
    cards (card plus PIN doors ask for it)."""
    pins = dict(CardPin.objects.values_list("resident_id", "pin_hash"))
    return [
        AllowListEntry(
            credential=card.credential,
            masked=card.masked,
            holder_id=card.resident.holder_id,
            unit=str(card.resident.household.unit),
            valid_until=_last_day(card.valid_until, card.resident.move_out),
            credential_policy=(
                CredentialPolicy.PLAIN if card.kind == Card.Kind.PLAIN else CredentialPolicy.SECURE
            ),
            pin_hash=pins.get(card.resident_id),
        )
        for card in live_cards(today)
    ] + vehicle_entries(today)  # residents' plates (issue 22)


def not_the_registers() -> Callable[[AllowListEntry], bool]:
    """Whether an entry a gate was sent before stays on its list: the register owns the
    cards of its residents' holder ids, and only those; cards of other holders (staff,
    contractors, a lockdown override) pushed by ``gate-office allowlist push`` stay."""
    residents = set(Resident.objects.values_list("holder_id", flat=True))
    return lambda entry: (
        entry.holder_id not in residents and not entry.holder_id.startswith(VEHICLE_HOLDER)
    )


def overdue() -> QuerySet[Delivery]:
    """Deliveries still not applied after the configured minutes: each is an alert."""
    limit = timezone.now() - timedelta(minutes=float(settings.GATE_OFFICE_CARDS_ALERT_MINUTES))
    return (
        Delivery.objects.exclude(state=Delivery.State.APPLIED)
        .filter(change__made_at__lt=limit)
        .select_related("change")
        .order_by("change__made_at")
    )
