"""A card number from the desk reader, hashed with the site key the moment it arrives."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from agent.errors import CardFormatError, ConfigError, FatalError
from agent.store.credentials import CredentialHasher, read_key_file
from drivers.cards import Technology, parse_card
from drivers.plates import PlateNumber, normalise_plate


def _hasher() -> CredentialHasher:
    where = str(settings.GATE_OFFICE_SITE_KEY_FILE)
    if not where:
        raise ConfigError("no site key: start the workplace with --site-key")
    try:
        return CredentialHasher(read_key_file(Path(where)))
    except FatalError as exc:
        raise ConfigError(str(exc)) from None


def card_identity(number: str) -> tuple[str, str]:
    """(credential, masked form) of a card number as a reader or a person wrote it.

    ``CardFormatError`` for a number no reader gives; ``ConfigError`` without a site key.
    A bare run of hex digits (what a wedge reader types for a UID) is read as a UID.
    """
    text = number.strip()
    if text and ":" not in text and len(text) % 2 == 0 and _is_hex(text):
        text = "uid:" + text
    card = parse_card(text)
    return _hasher().identify(card)


def plate_identity(text: str) -> tuple[str, str]:
    """(credential, masked) of a car plate as a person typed it: the HMAC a gate computes
    from a camera's read of it (``plate:`` + the normal form). ``CardFormatError`` if it is
    not a plate; ``ConfigError`` without a site key."""
    plate = normalise_plate(text)
    if plate is None:
        raise CardFormatError("not a licence plate")
    return _hasher().identify(PlateNumber(Technology.PLATE, 0, 0, plate))


def _is_hex(text: str) -> bool:
    try:
        int(text, 16)
    except ValueError:
        return False
    return True


__all__ = ["CardFormatError", "card_identity", "plate_identity"]
