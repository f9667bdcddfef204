"""Secure credentials (DESFire EV2/EV3, NTAG 424 DNA) as the decision sees them. Pure.

A reader that ran a card's key exchange hands the gate a proof; the gate turns it into
``ProofFacts`` (adding the NTAG 424 read counter it last kept for that card) and the
engine denies whatever the proof or the door's and holder's policy refuse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

GENUINE = "genuine"


class CredentialPolicy(StrEnum):
    """What a holder or a door requires of a card."""

    PLAIN = "plain"  # a number is enough
    SECURE_PREFERRED = "secure_preferred"  # migration: plain admitted, and noted
    SECURE = "secure"  # only a card that proved the site's key


_STRICTNESS = {
    CredentialPolicy.PLAIN: 0,
    CredentialPolicy.SECURE_PREFERRED: 1,
    CredentialPolicy.SECURE: 2,
}


def stricter(first: str, second: str) -> CredentialPolicy:
    """The stricter of two policies (a holder's and a door's)."""
    a, b = CredentialPolicy(first), CredentialPolicy(second)
    return a if _STRICTNESS[a] >= _STRICTNESS[b] else b


def replayed(counter: int | None, last: int | None) -> bool:
    """An NTAG 424 read counter not strictly above the last one kept is a replay."""
    return counter is not None and last is not None and counter <= last


@dataclass(frozen=True, slots=True)
class ProofFacts:
    """A secure read's proof, with what the gate knows of the card's past reads."""

    verdict: str  # GENUINE or the reader's reason (card_not_genuine, card_torn, ...)
    replayed: bool = False  # the read counter did not move forward
    not_nxp: bool = False  # NXP's originality signature checked and not held
    deny_not_nxp: bool = True  # the site's choice for such a card

    @property
    def genuine(self) -> bool:
        """Whether the card proved the site's key."""
        return self.verdict == GENUINE


# the reasons a proof's verdict may carry; anything else a reader says is a clone
VERDICTS = frozenset({"card_not_genuine", "card_torn", "relay_suspected"})


def proof_refusal(proof: ProofFacts) -> str | None:
    """Why a proof refuses the card, or None: fails closed on an unknown verdict."""
    if not proof.genuine:
        return proof.verdict if proof.verdict in VERDICTS else "card_not_genuine"
    if proof.replayed:
        return "replayed_card"
    if proof.not_nxp and proof.deny_not_nxp:
        return "card_not_nxp"
    return None


@dataclass
class AlarmLimiter:
    """At most one alarm per key per ``every_s``; counts those held back meanwhile."""

    every_s: float = 60.0
    _last: dict[str, float] = field(default_factory=dict)
    _held: dict[str, int] = field(default_factory=dict)

    def allow(self, key: str, mono: float) -> int | None:
        """None: hold this alarm back. Else how many were held back since the last one."""
        last = self._last.get(key)
        if last is not None and mono - last < self.every_s:
            self._held[key] = self._held.get(key, 0) + 1
            return None
        self._last[key] = mono
        return self._held.pop(key, 0)
