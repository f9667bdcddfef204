"""Residents' plates on the gates' list (issue 22): each registered vehicle of a household
with someone living there is an entry whose credential is the plate's HMAC under the
site key, as a gate computes it from a camera's read (``drivers.plates``).

A vehicle is its own holder (``vehicle-<id>``, kind resident, the household's unit): a
car is not one person, and any of the household may drive it. The register owns these
holder ids as it owns its residents' (``planning.not_the_registers``).
"""

from __future__ import annotations

import logging
from datetime import date

from django.db.models import Q

from agent.errors import ConfigError
from agent.models.wire import AllowListEntry
from agent.office.web.cards.hashing import _hasher
from agent.office.web.register.models import Resident
from agent.office.web.register.sealing import unseal
from agent.office.web.register.vehicles import Vehicle
from agent.store.plates import plate_credential

log = logging.getLogger(__name__)

VEHICLE_HOLDER = "vehicle-"


def vehicle_entries(today: date) -> list[AllowListEntry]:
    """The plates gates should hold: vehicles of households where someone still lives."""
    living = Resident.objects.filter(
        Q(move_out__isnull=True) | Q(move_out__gte=today), purged_at__isnull=True
    ).values("household_id")
    vehicles = Vehicle.objects.filter(household__in=living).select_related("household__unit")
    if not vehicles.exists():
        return []
    try:
        hasher = _hasher()
    except ConfigError as exc:  # no site key: the cards cannot go out either
        log.warning("residents' plates left off the gates' list: %s", exc)
        return []
    entries = []
    for vehicle in vehicles.order_by("pk"):
        identity = plate_credential(unseal(vehicle.plate_sealed), hasher)
        if isinstance(identity, str):  # registered before the forms checked plates
            continue
        credential, masked = identity
        entries.append(
            AllowListEntry(
                credential=credential,
                masked=masked,
                holder_id=f"{VEHICLE_HOLDER}{vehicle.pk}",
                unit=str(vehicle.household.unit),
            )
        )
    return entries
