"""Plate reads on the read path (issue 22): what differs from a card read.

* An unreadable plate (below its camera's confidence) is not decided: it is recorded as
  ``plate_unreadable`` with its picture's id, and a guard decides at the console.
* A tolerant match (a camera's ``tolerant = true``, off by default): a plate not on the
  list is looked up again with one classic OCR confusion swapped (0/O/D, 1/I, 8/B, 2/Z);
  it matches only if exactly one such plate is on the list. The risk is in docs/plates.md.
* A registered visitor's car (``agent.gate.visitor_cars``) is let in while its
  registration holds.
* A delivered visitor pass's car (the office sent its plate's HMAC with the pass) is
  decided by the pass desk, after the open group's commit, with the pass's own checks.
* A plate read's event says how sure the camera was, which picture, and how it matched.

Called from ``ReadHandler`` on the core loop, inside the open event group.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from agent.core.clock import Clock
from agent.core.decision import AllowEntry
from agent.core.kinds import EventType
from agent.gate.passes import PassDesk
from agent.gate.visitor_cars import VisitorCars
from agent.store.allowlist import AllowListStore
from agent.store.credentials import CredentialHasher
from agent.store.passes import PassStore
from drivers.anpr import PlateCamera
from drivers.base import CardReader
from drivers.cards import CardRead
from drivers.plates import PlateNumber

Record = Callable[[EventType, str | None, dict[str, Any], datetime], int]
Lookup = tuple[str, str, AllowEntry | None, bool]


class PlateReads:
    """The plate-specific steps of deciding a read."""

    def __init__(
        self,
        readers: Mapping[str, CardReader],
        hasher: CredentialHasher,
        allowlist: AllowListStore,
        clock: Clock,
        visitor_hours: float = 4.0,
    ) -> None:
        self.visitors = VisitorCars(visitor_hours)  # cars registered with a visitor
        self._readers = readers
        self._hasher = hasher
        self._allowlist = allowlist
        self._clock = clock
        self.unreadable_seen: list[int] = []  # seqs of plate_unreadable, for the console
        self.passes: PassDesk | None = None  # set by the App: passes carrying a plate

    def keep_visitors(self, book: PassStore) -> int:
        """Keep registered visitors' cars in the pass book across restarts; how many of
        those registered before this start still hold."""
        return self.visitors.restore(book, self._clock.now())

    def unreadable(self, read: CardRead, door: str, record: Record) -> None:
        """Record a read too unsure to decide; the guard's console shows its picture."""
        assert read.sighting is not None
        masked = read.card.masked() if isinstance(read.card, PlateNumber) and read.card.text else ""
        details = {
            "reader": read.reader,
            "card": masked,
            "confidence": round(read.sighting.confidence, 3),
            "picture": read.sighting.picture_id,
        }
        seq = record(EventType.PLATE_UNREADABLE, door, details, self._clock.now())
        self.unreadable_seen.append(seq)
        del self.unreadable_seen[:-50]

    def by_pass(
        self, read: CardRead, credential: str, door: str, after: list[Callable[[], None]]
    ) -> bool:
        """Whether the plate is a delivered pass's car; if so the pass desk decides it once
        the open group has committed (it records its own event, then moves the relay)."""
        found = self.passes.store.by_plate(credential) if self.passes is not None else None
        if found is None or self.passes is None:
            return False
        code, masked = found
        desk = self.passes

        def admit() -> None:  # after the commit: the pass desk records, then opens
            desk.admit(door, code, f"camera:{read.reader}", plate=(read.reader, masked))

        after.append(admit)
        return True

    def tolerate(self, read: CardRead, credential: str, masked: str) -> Lookup:
        """For a plate not on the list: a registered visitor's car, or the one list plate a
        single OCR confusion away, or the miss."""
        visitor = self.visitors.entry(credential, self._clock.now())
        if visitor is not None:
            self.visitors.arrived(credential)
            return credential, masked, visitor, False
        camera = self._readers.get(read.reader)
        card = read.card
        if not (isinstance(camera, PlateCamera) and camera.opts.tolerant):
            return credential, masked, None, False
        if not isinstance(card, PlateNumber):
            return credential, masked, None, False
        found: list[Lookup] = []
        for variant in camera.formats.variants(card):
            other, other_masked = self._hasher.identify(variant)
            entry, restored = self._allowlist.lookup_marked(other)
            if entry is not None:
                found.append((other, other_masked, entry, restored))
        if len(found) == 1:  # two list plates a confusion away: neither is guessed
            return found[0]
        return credential, masked, None, False

    @staticmethod
    def details(read: CardRead, credential: str, read_credential: str) -> dict[str, Any]:
        """What a plate read's access event says besides a card read's."""
        assert read.sighting is not None
        return {
            "plate": True,
            "confidence": round(read.sighting.confidence, 3),
            "picture": read.sighting.picture_id,
            "matched": "tolerant" if credential != read_credential else "exact",
        }
