"""One search box over the register: unit, name, phone, and whatever other apps plug in.

The search asks each function in ``SEARCHERS`` in turn with the typed text and shows every
hit once, masked. An app that knows another key (cards: a card number; later, plates)
adds its own searcher in its ``AppConfig.ready``::

    from agent.office.web.register.search import Hit, add_searcher

    def by_card(text: str) -> Iterable[Hit]:
        for card in Card.objects.filter(number=text).select_related("resident"):
            yield Hit(card.resident.household, card.resident, _("card"))

    add_searcher(by_card)

A searcher returns ``Hit``s (the household, the resident or None, and what matched), may
return nothing, and must not raise for text it does not understand.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import Q
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from agent.office.web.register.models import Household, Resident, index_of_phone
from agent.office.web.register.phones import normalise_phone

LIMIT = 100


@dataclass(frozen=True)
class Hit:
    """A household (and maybe one of its residents) that a searcher found, and by what."""

    household: Household
    resident: Resident | None
    matched: str | Promise


Searcher = Callable[[str], Iterable[Hit]]
SEARCHERS: list[Searcher] = []


def add_searcher(searcher: Searcher) -> Searcher:
    """Add a searcher (once; usable as a decorator)."""
    if searcher not in SEARCHERS:
        SEARCHERS.append(searcher)
    return searcher


def search(text: str) -> list[Hit]:
    """The hits of every searcher for ``text``, each (household, resident) once, at most LIMIT."""
    text = text.strip()
    if not text:
        return []
    seen: set[tuple[int, int | None]] = set()
    hits: list[Hit] = []
    for searcher in SEARCHERS:
        for hit in searcher(text):
            key = (hit.household.pk, hit.resident.pk if hit.resident else None)
            if key not in seen:
                seen.add(key)
                hits.append(hit)
            if len(hits) >= LIMIT:
                return hits
    return hits


_PARTS = re.compile(r"[\s\-/#]+")


def _residents() -> Iterable[Resident]:
    return Resident.objects.select_related("household__unit").filter(purged_at__isnull=True)


@add_searcher
def by_unit(text: str) -> Iterable[Hit]:
    """ "3-2-501" (building, entrance, room), "3-501" (building, room) or one part."""
    parts = [p for p in _PARTS.split(text) if p]
    if len(parts) == 3:
        where = Q(unit__building=parts[0], unit__entrance=parts[1], unit__room=parts[2])
    elif len(parts) == 2:
        where = Q(unit__building=parts[0], unit__room=parts[1]) | Q(
            unit__building=parts[0], unit__entrance=parts[1]
        )
    elif len(parts) == 1:
        where = Q(unit__building=parts[0]) | Q(unit__room=parts[0])
    else:
        return []
    found = Household.objects.select_related("unit").filter(where)[:LIMIT]
    return [Hit(household, None, _("unit")) for household in found]


@add_searcher
def by_name(text: str) -> Iterable[Hit]:
    """Any resident whose name contains the text."""
    found = _residents().filter(name__icontains=text)[:LIMIT]  # type: ignore[attr-defined]
    return [Hit(r.household, r, _("name")) for r in found]


@add_searcher
def by_phone(text: str) -> Iterable[Hit]:
    """The residents with exactly this phone number, through its keyed index."""
    phone = normalise_phone(text)
    if phone is None or len(phone.lstrip("+")) < 5:
        return []
    found = _residents().filter(phone_index=index_of_phone(phone))  # type: ignore[attr-defined]
    return [Hit(r.household, r, _("phone")) for r in found]


def _plates(text: str) -> Iterable[Hit]:
    from agent.office.web.register.vehicles import by_plate

    return by_plate(text)


add_searcher(_plates)
