"""A resident's or visitor's plate as an allow-list credential: the same per-site HMAC
as a card number, in a namespace of its own (``plate:`` + the normal form)."""

from __future__ import annotations

from agent.store.credentials import CredentialHasher
from drivers.cards import Technology
from drivers.plates import PlateNumber, normalise_plate


def plate_credential(text: str, hasher: CredentialHasher | None) -> tuple[str, str] | str:
    """(credential, masked) for a plate as an office file or a guard gives it, or why not."""
    if hasher is None:
        return "plate: a plate needs the site key to hash it"
    plate = normalise_plate(text)
    if plate is None:
        return "plate: not a licence plate"
    return hasher.identify(PlateNumber(Technology.PLATE, 0, 0, plate))
