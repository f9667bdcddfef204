"""The secure-card part of the nfcpy reader: ISO 14443-4 activation and the card session.

A Type A card that says it speaks ISO 14443-4 (SAK bit 6) is activated as nfcpy's Type 4
tag and ``drivers.secure.read_secure`` runs its key exchange through it. nfcpy's own
errors mid-exchange become ``CardGone``, which the session reports as a torn read.
The activation is a seam (``Activator``): tests put a software card behind it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import nfc.clf
import nfc.tag
import nfc.tag.tt4

from drivers.base import SecureSite
from drivers.secure.base import CardGone, CardTransport
from drivers.secure.keys import SiteKeys

ISO_DEP_SAK = 0x20  # ISO/IEC 14443-3 SAK bit 6: the card is ISO 14443-4 compliant
APDU_TIMEOUT_S = 0.5  # one exchange; the whole session is held to the relay budget

# (nfcpy frontend, sensed target) -> a transport to the activated card, None if not ISO-DEP
Activator = Callable[[Any, Any], CardTransport | None]


def speaks_iso_dep(target: Any) -> bool:
    """Whether a sensed target may carry a secure credential (a Type A ISO-DEP card)."""
    sel_res = getattr(target, "sel_res", None)
    if not sel_res:
        return False
    return bool(sel_res[0] & ISO_DEP_SAK)


class TagTransport:
    """An activated nfcpy Type 4 tag as a ``CardTransport``."""

    def __init__(self, tag: Any, timeout_s: float = APDU_TIMEOUT_S) -> None:
        self._tag = tag
        self._timeout_s = timeout_s

    def exchange(self, apdu: bytes) -> bytes:
        try:
            answer = self._tag.transceive(bytearray(apdu), self._timeout_s)
        except (nfc.clf.CommunicationError, nfc.tag.TagCommandError) as exc:
            raise CardGone(f"the card left mid-exchange: {type(exc).__name__}") from None
        if not answer:
            raise CardGone("the card gave no answer")
        return bytes(answer)


def activate_iso_dep(frontend: Any, target: Any) -> CardTransport | None:
    """Activate a sensed ISO-DEP target (RATS) on nfcpy; None when it is not one."""
    try:
        tag = nfc.tag.activate(frontend, target)
    except (nfc.clf.CommunicationError, nfc.tag.TagCommandError):
        return None
    return TagTransport(tag) if isinstance(tag, nfc.tag.tt4.Type4Tag) else None


def site_keys(site: SecureSite) -> SiteKeys:
    """The session's keys from the gate's ``[secure]`` (the master key, the DESFire
    application id as its three bytes, the relay budget)."""
    return SiteKeys(
        master=site.master_key,
        aid=site.application_id.to_bytes(3, "big"),
        relay_budget_s=site.relay_budget_s,
    )
