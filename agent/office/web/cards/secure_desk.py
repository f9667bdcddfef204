"""A secure card made at the card desk: the simulated desk reader provisions the card it
read (a blank DESFire or NTAG 424 with that UID) with the site master key's diversified
keys, before the card is issued by its hashed UID as any card is.

Only with ``--desk-reader sim`` and a site master key (``--site-master-key``); an NFC
desk reader provisions with ``gate-office card provision`` (docs/secure-cards.md).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

from agent.errors import CardFormatError, FatalError
from agent.store.credentials import read_key_file
from drivers.cards import Technology, parse_card
from drivers.secure.base import CardGone, CardTransport
from drivers.secure.ev2 import ProtocolViolation
from drivers.secure.keys import SiteKeys
from drivers.secure.provision import provision_desfire, provision_ntag424
from drivers.secure.softcard import SoftDesfire
from drivers.secure.softcard_ntag import SoftNtag424

Blank = Callable[[str, bytes], CardTransport]


class ProvisionFailed(Exception):
    """The card could not be made a secure card; ``code``: not_blank, torn, no_uid, no_key."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def available() -> bool:
    """Whether the card desk offers secure cards: the sim desk reader and a master key."""
    master = str(getattr(settings, "GATE_OFFICE_SITE_MASTER_KEY_FILE", ""))
    return bool(master) and str(settings.GATE_OFFICE_DESK_READER) == "sim"


def sim_blank(kind: str, uid: bytes) -> CardTransport:
    """The blank card the simulated reader holds: a software card with the read UID."""
    return SoftDesfire(uid) if kind == "desfire" else SoftNtag424(uid)


def _keys() -> SiteKeys:
    path = str(getattr(settings, "GATE_OFFICE_SITE_MASTER_KEY_FILE", ""))
    try:
        return SiteKeys(read_key_file(Path(path)))
    except (FatalError, ValueError):
        raise ProvisionFailed("no_key") from None


def provision(kind: str, number: str, blank: Blank = sim_blank) -> None:
    """Provision the card numbered ``number`` (its UID) as ``kind`` on the desk reader."""
    try:
        card = parse_card(number if ":" in number else "uid:" + number)
    except CardFormatError:
        raise ProvisionFailed("no_uid") from None
    if card.technology is not Technology.UID:
        raise ProvisionFailed("no_uid")
    uid = card.value.to_bytes(card.bits // 8, "big")
    keys, transport = _keys(), blank(kind, uid)
    try:
        if kind == "desfire":
            made = provision_desfire(transport, keys, secrets.token_hex(8))
        else:
            made = provision_ntag424(transport, keys)
    except CardGone:
        raise ProvisionFailed("torn") from None
    except ProtocolViolation:
        raise ProvisionFailed("not_blank") from None
    if made != uid:  # another card than the one read is on the reader
        raise ProvisionFailed("not_blank")


__all__ = ["ProvisionFailed", "available", "provision"]
