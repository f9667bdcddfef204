"""The seams of a secure card session: the transport, the clock and the one failure."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from agent.errors import GateError
from drivers.cards import SecureProof

NOT_GENUINE = "card_not_genuine"
TORN = "card_torn"
RELAY = "relay_suspected"

Clock = Callable[[], float]  # monotonic seconds, injected so tests never sleep


class CardGone(GateError):
    """The card left the field (or the reader lost it) in the middle of an exchange."""


class CardTransport(Protocol):
    """One ISO 14443-4 APDU exchange with the card in the field."""

    def exchange(self, apdu: bytes) -> bytes:
        """Send a command APDU, return the response (data || SW1 SW2); ``CardGone`` if gone."""
        ...


class SecureFailure(GateError):
    """A secure card that did not prove the site's key; ``reason`` is the proof's verdict."""

    def __init__(self, reason: str, kind: str, detail: str = "", elapsed_s: float = 0.0) -> None:
        super().__init__(f"{kind}: {reason}" + (f" ({detail})" if detail else ""))
        self.reason = reason
        self.kind = kind
        self.detail = detail
        self.elapsed_s = elapsed_s

    def proof(self) -> SecureProof:
        """The refused read as the gate receives it."""
        return SecureProof(kind=self.kind, verdict=self.reason, elapsed_s=self.elapsed_s)


def native(cmd: int, data: bytes = b"") -> bytes:
    """A DESFire native command wrapped in ISO 7816-4: ``90 cmd 00 00 [Lc data] 00``."""
    if not data:
        return bytes([0x90, cmd, 0, 0, 0])
    return bytes([0x90, cmd, 0, 0, len(data)]) + data + b"\x00"


def split_status(response: bytes) -> tuple[bytes, int, int]:
    """(data, SW1, SW2) of a response APDU; ``ValueError`` when it has no status word."""
    if len(response) < 2:
        raise ValueError("response without a status word")
    return response[:-2], response[-2], response[-1]
