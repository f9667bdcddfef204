"""Transports that misbehave, wrapped around a software card, and an injected clock.

They make the attacks and accidents a gate meets: a card torn away mid-exchange,
a slow (relayed) exchange, a recorded exchange played back, one flipped bit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drivers.secure.base import CardGone, CardTransport


@dataclass(slots=True)
class ManualClock:
    """A monotonic clock that moves only when told to."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Let time pass."""
        self.now += seconds


@dataclass(slots=True)
class Recorder:
    """Passes everything through and keeps the transcript."""

    card: CardTransport
    transcript: list[tuple[bytes, bytes]] = field(default_factory=list)

    def exchange(self, apdu: bytes) -> bytes:
        """Forward, remember both sides."""
        response = self.card.exchange(apdu)
        self.transcript.append((apdu, response))
        return response


@dataclass(slots=True)
class Replayer:
    """Answers with recorded responses in order, whatever it is asked (a replay attack)."""

    responses: list[bytes]
    position: int = 0

    def exchange(self, apdu: bytes) -> bytes:
        """The next recorded answer; the card is gone when they run out."""
        if self.position >= len(self.responses):
            raise CardGone("replay exhausted")
        self.position += 1
        return self.responses[self.position - 1]


@dataclass(slots=True)
class Tearing:
    """A card pulled out of the field before answer number ``fail_at`` (from 0)."""

    card: CardTransport
    fail_at: int
    count: int = 0

    def exchange(self, apdu: bytes) -> bytes:
        """Forward until the tear."""
        if self.count >= self.fail_at:
            raise CardGone("card left the field")
        self.count += 1
        return self.card.exchange(apdu)


@dataclass(slots=True)
class Slow:
    """Every exchange takes ``delay_s`` on the injected clock (a relay adds latency)."""

    card: CardTransport
    clock: ManualClock
    delay_s: float

    def exchange(self, apdu: bytes) -> bytes:
        """Forward, then let the delay pass."""
        self.clock.advance(self.delay_s)
        return self.card.exchange(apdu)


@dataclass(slots=True)
class BitFlip:
    """Flips one bit of one response (by exchange number and byte position)."""

    card: CardTransport
    exchange_no: int
    byte: int
    bit: int
    count: int = 0

    def exchange(self, apdu: bytes) -> bytes:
        """Forward; corrupt the chosen answer."""
        response = self.card.exchange(apdu)
        if self.count == self.exchange_no and response:
            flipped = bytearray(response)
            flipped[self.byte % len(flipped)] ^= 1 << self.bit
            response = bytes(flipped)
        self.count += 1
        return response
