"""Every change to the cards: one transaction that changes the cards, records the change,
plans its delivery to the gates and writes the audit log, or does none of it.

``move_out_resident`` and ``move_out_household`` are what the change-request "apply" flow
calls when someone moves out.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from agent.office.web.audit import chain
from agent.office.web.audit.models import AuditEntry
from agent.office.web.cards import planning
from agent.office.web.cards.models import Card, CardChange, CardPin
from agent.office.web.register.models import Household, Resident

SYSTEM = "system"  # the actor of changes nobody clicked (a temporary card's end)


def _record(kind: str, cards: Iterable[Card], actor: str) -> CardChange:
    change = CardChange.objects.create(kind=kind, made_by=actor)
    touched = list(cards)
    change.cards.set(touched)
    for card in touched:
        chain.append(actor, AuditEntry.Action.CHANGE, f"card:{card.pk}", f"{kind} #{change.pk}")
    planning.plan(change)
    return change


def _end(cards: Iterable[Card], status: str) -> list[Card]:
    ended = []
    for card in cards:
        card.status = status
        card.ended_at = timezone.now()
        card.save(update_fields=["status", "ended_at"])
        ended.append(card)
    return ended


def issue(
    resident: Resident,
    credential: str,
    masked: str,
    by: User,
    valid_until: date | None = None,
    kind: str = Card.Kind.PLAIN,
) -> CardChange:
    """A new card for ``resident`` (the form has refused duplicates already)."""
    with transaction.atomic():
        card = Card.objects.create(
            resident=resident,
            credential=credential,
            masked=masked,
            valid_until=valid_until,
            kind=kind,
            issued_by=by,
        )
        return _record(CardChange.Kind.ISSUE, [card], by.get_username())


def reissue(
    old: Card,
    credential: str,
    masked: str,
    by: User,
    lost: bool = True,
    valid_until: date | None = None,
    kind: str = Card.Kind.PLAIN,
) -> CardChange:
    """A new card for a lost (or damaged) one: the old card off the gates in the same change."""
    with transaction.atomic():
        ended = _end([old], Card.Status.LOST if lost else Card.Status.REVOKED)
        card = Card.objects.create(
            resident=old.resident,
            credential=credential,
            masked=masked,
            valid_until=valid_until,
            kind=kind,
            issued_by=by,
            replaces=old,
        )
        return _record(CardChange.Kind.REISSUE, [*ended, card], by.get_username())


_END_KINDS = {
    Card.Status.LOST: CardChange.Kind.LOST,
    Card.Status.RETURNED: CardChange.Kind.RETURN,
    Card.Status.REVOKED: CardChange.Kind.REVOKE,
}


def end(card: Card, status: str, by: User) -> CardChange:
    """A card reported lost, returned or revoked."""
    with transaction.atomic():
        ended = _end([card], status)
        return _record(_END_KINDS[Card.Status(status)], ended, by.get_username())


def move_out_resident(resident: Resident, actor: str) -> CardChange | None:
    """Every issued card of ``resident`` revoked; None if there was none."""
    return _move_out(Card.objects.filter(resident=resident), actor)


def move_out_planned(resident: Resident, actor: str) -> CardChange | None:
    """A move-out set for a later day: the resident's issued cards sent again, now ending
    on that day (``planning.gate_list``); None if there was none."""
    with transaction.atomic():
        issued = list(Card.objects.filter(resident=resident, status=Card.Status.ISSUED))
        if not issued:
            return None
        return _record(CardChange.Kind.MOVE_OUT, issued, actor)


def move_out_household(household: Household, actor: str) -> CardChange | None:
    """Every issued card of the household's residents revoked, in one change."""
    return _move_out(Card.objects.filter(resident__household=household), actor)


def _move_out(cards: QuerySet[Card], actor: str) -> CardChange | None:
    with transaction.atomic():
        issued = list(cards.filter(status=Card.Status.ISSUED).select_for_update())
        if not issued:
            return None
        return _record(CardChange.Kind.MOVE_OUT, _end(issued, Card.Status.REVOKED), actor)


def end_temporary(today: date) -> CardChange | None:
    """Temporary cards past their end date marked ended (the gates refuse them already by
    their ``valid_until``; the change takes them off the lists)."""
    with transaction.atomic():
        due = list(
            Card.objects.filter(
                status=Card.Status.ISSUED, valid_until__lt=today
            ).select_for_update()
        )
        if not due:
            return None
        return _record(CardChange.Kind.ENDED, _end(due, Card.Status.ENDED), SYSTEM)


def set_pin(resident: Resident, pin_hash: str | None, actor: str) -> CardChange:
    """The resident's PIN (its hash) set, or removed with None, on every card the gates
    hold of them: one change, so each gate is sent its list again."""
    with transaction.atomic():
        if pin_hash is None:
            CardPin.objects.filter(resident=resident).delete()
        else:
            CardPin.objects.update_or_create(
                resident=resident, defaults={"pin_hash": pin_hash, "set_by": actor}
            )
        issued = Card.objects.filter(resident=resident, status=Card.Status.ISSUED)
        what = "PIN removed" if pin_hash is None else "PIN set"
        chain.append(actor, AuditEntry.Action.CHANGE, f"resident:{resident.pk}", what)
        return _record(CardChange.Kind.PIN, issued, actor)


def resync(actor: str) -> CardChange:
    """Every gate's whole list sent again from the register (after an office restore)."""
    with transaction.atomic():
        return _record(CardChange.Kind.RESYNC, [], actor)
