"""Visitors' cars (issue 22): a plate a guard registered with a visitor is let in by the
camera for ``[plates] visitor_hours`` after the registration, as the visitor's own
credential (kind visitor, holder ``visitor-<seq>``, the host's unit).

The registration event carries the plate's HMAC and masked form, never the plate; the
gate learns the car from that event (an event listener). Once given the pass book
(``restore``), the gate also keeps each car there (HMAC, mask, unit, expiry, whether it
arrived) so a restart forgets no registration that still holds; expired ones are
dropped at start. The office's allow-list is not touched.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from agent.core.decision import AllowEntry
from agent.core.kinds import EventType, HolderKind
from agent.models.wire import Event
from agent.store.passes import PassStore

KEEP = 200  # registered cars remembered at most


@dataclass(frozen=True)
class VisitorCar:
    """One registered visitor's car."""

    credential: str
    masked: str
    seq: int  # the visitor_registered event
    unit: str | None
    until: datetime
    registered_at: datetime


class VisitorCars:
    """Cars of registered visitors, by plate HMAC; thread-safe (events are heard on the
    core loop, the console reads the waiting list from its own thread)."""

    def __init__(self, hours: float) -> None:
        self.hours = hours
        self._cars: dict[str, VisitorCar] = {}
        self._arrived: set[str] = set()  # cars seen at the gate since they were registered
        self._lock = threading.Lock()
        self._book: PassStore | None = None  # where cars outlive a restart

    def restore(self, book: PassStore, now: datetime) -> int:
        """Keep cars in ``book`` from now on, and take back those registered before a
        restart whose registration still holds at ``now``; how many came back."""
        # visitor_hours 0 now: no car is let in, whatever was registered before
        cars = book.cars(now) if self.hours > 0 else []
        with self._lock:
            for car, arrived in cars:
                self._cars[car[0]] = VisitorCar(*car)
                if arrived:
                    self._arrived.add(car[0])
            self._book = book
        return len(cars)

    def heard(self, event: Event) -> None:
        """An event listener: a visitor registration with a plate adds its car."""
        if event.type is not EventType.VISITOR_REGISTERED or self.hours <= 0:
            return
        credential, masked = event.details.get("plate_credential"), event.details.get("plate")
        if not isinstance(credential, str) or not isinstance(masked, str):
            return
        unit = event.details.get("host_unit")
        car = VisitorCar(credential, masked, event.seq, str(unit) if unit else None,
                         event.time + timedelta(hours=self.hours), event.time)  # fmt: skip
        with self._lock:
            self._cars[credential] = car
            self._arrived.discard(credential)
            while len(self._cars) > KEEP:
                self._arrived.discard(self._cars.pop(next(iter(self._cars))).credential)
            book = self._book
        if book is not None:  # on disk after the event, so a crash between loses the car only
            book.keep_car((credential, masked, car.seq, car.unit, car.until, car.registered_at),
                          KEEP)  # fmt: skip

    def entry(self, credential: str, now: datetime) -> AllowEntry | None:
        """The visitor's entry for a plate read, while the registration holds."""
        with self._lock:
            car = self._cars.get(credential)
        if car is None or now >= car.until:
            return None
        return AllowEntry(credential=credential, holder_id=f"visitor-{car.seq}",
                          kind=HolderKind.VISITOR, unit=car.unit, valid_until=car.until,
                          masked=car.masked)  # fmt: skip

    def arrived(self, credential: str) -> None:
        """The car came in: no longer waiting (its registration still holds)."""
        with self._lock:
            if credential not in self._cars or credential in self._arrived:
                return
            self._arrived.add(credential)
            book = self._book
        if book is not None:
            book.car_arrived(credential)

    def waiting(self, now: datetime) -> list[VisitorCar]:
        """Registered cars not yet seen at the gate whose registration still holds."""
        with self._lock:
            return [c for c in self._cars.values()
                    if now < c.until and c.credential not in self._arrived]  # fmt: skip
