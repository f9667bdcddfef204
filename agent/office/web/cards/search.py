"""The register's search box finds a resident by a card number too (hashed, never stored)."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext_lazy as _

from agent.errors import CardFormatError, ConfigError
from agent.office.web.cards.hashing import card_identity
from agent.office.web.cards.models import Card
from agent.office.web.register.search import Hit


def by_card(text: str) -> Iterable[Hit]:
    """Residents holding (or having held) the card typed or read into the search box."""
    try:
        credential, _masked = card_identity(text)
    except (CardFormatError, ConfigError):  # not a card number, or no site key
        return []
    cards = Card.objects.filter(credential=credential).select_related("resident__household")
    return [Hit(card.resident.household, card.resident, _("card")) for card in cards]
