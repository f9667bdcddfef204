"""Learning a card: the next read on one reader is taken and named, not decided.

An installer holds a new card to a reader; the read goes to the caller instead of the
decision path, and only its masked form is recorded.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Mapping
from typing import Any

from agent.core.kinds import EventType
from agent.core.loop import CoreLoop
from agent.errors import GateError
from agent.gate.ports import LearnedCard
from agent.gate.reads import ReadHandler
from agent.models.wire import Event
from agent.store.credentials import CredentialHasher
from drivers.base import CardReader
from drivers.cards import CardRead, mask


def learn_card(
    reader: str,
    timeout: float,
    *,
    loop: CoreLoop,
    readers: Mapping[str, CardReader],
    reads: ReadHandler,
    hasher: CredentialHasher,
    record: Callable[..., Event],
) -> LearnedCard:
    """Wait up to ``timeout`` s for a card on ``reader`` (from any thread but the core
    loop's); ``record`` writes the ``card_learned`` event (``App.record``)."""
    if reader not in readers:
        raise GateError(f"no reader {reader!r}; readers: {', '.join(readers)}")
    taken: queue.Queue[CardRead] = queue.Queue(1)
    loop.run_sync(reads.learning.__setitem__, reader, taken.put)
    try:
        read = taken.get(timeout=timeout)
    except queue.Empty:
        loop.run_sync(reads.learning.pop, reader, None)
        raise GateError(f"no card was read on {reader} within {timeout:g} s") from None
    card = read.card.canonical(hasher.prox_bits)
    learned = LearnedCard(reader, card, mask(card))
    details: dict[str, Any] = {"reader": reader, "card": learned.masked}
    record(EventType.CARD_LEARNED, reads.places[reader].door, **details)
    return learned
