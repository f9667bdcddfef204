"""``gate-office web demo``: a register a newcomer can click through, against the simulated gate.

The households and holder ids match ``config/sim-allowlist.csv``, so the events the
simulated gate sends name residents the register knows. Staff accounts get one demo
password, printed; the loader refuses a PostgreSQL database (production) and a register
that holds anyone already, so it can never mix demo people into real ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from agent.errors import ConfigError
from agent.office.web.register.idnumber import check_character

DEMO_PASSWORD = "palm grove demo 2026"
DEMO_STAFF = (
    ("manager", "manager"),
    ("clerk", "clerk"),
    ("supervisor", "guard supervisor"),
    ("auditor", "auditor"),
)


@dataclass(frozen=True)
class DemoResident:
    """One person of the demo register."""

    unit: tuple[str, str, str]  # building, entrance, room
    holder_id: str
    name: str
    birth: str  # YYYYMMDD, for a well-formed ID number
    phone: str
    tenure: str


DEMO_RESIDENTS = (
    DemoResident(("A", "", "12"), "R-101", "王伟", "19800314", "13800138001", "owner"),
    DemoResident(("A", "", "12"), "R-102", "李娜", "19830921", "13800138002", "family"),
    DemoResident(("C", "", "1"), "R-103", "张敏", "19751102", "13800138003", "tenant"),
    DemoResident(("B", "1", "301"), "R-104", "刘洋", "19900105", "13800138004", "owner"),
    DemoResident(("B", "1", "302"), "R-105", "陈静", "19950617", "13800138005", "tenant"),
)


def demo_id_number(birth: str, serial: int) -> str:
    """A mainland ID number with a correct check character (region 110105, Beijing)."""
    first17 = f"110105{birth}{serial:03d}"
    return first17 + check_character(first17)


def load_demo() -> list[str]:
    """The demo staff, units, households, residents and their document checks; lines to
    print. Raises ``ConfigError`` on PostgreSQL or a register that is not empty."""
    from django.contrib.auth.models import Group, User
    from django.db import connection, transaction

    from agent.office.web.register.models import DocumentCheck, Household, Resident, Unit
    from agent.office.web.staff.models import StaffProfile

    if connection.vendor != "sqlite":
        raise ConfigError("the demo loads into a SQLite demo database only, never production")
    if Resident.objects.exists() or User.objects.exists():
        raise ConfigError("the register holds people already: the demo loads into an empty one")
    with transaction.atomic():
        for username, role in DEMO_STAFF:
            user = User.objects.create_user(username, password=DEMO_PASSWORD)
            user.groups.add(Group.objects.get(name=role))
            StaffProfile.objects.create(user=user, language="zh-hans")
        clerk = User.objects.get(username="clerk")
        households: dict[tuple[str, str, str], Household] = {}
        for serial, person in enumerate(DEMO_RESIDENTS, start=11):
            if person.unit not in households:
                building, entrance, room = person.unit
                unit = Unit.objects.create(building=building, entrance=entrance, room=room)
                households[person.unit] = Household.objects.create(unit=unit)
            resident = Resident(
                household=households[person.unit],
                holder_id=person.holder_id,
                name=person.name,
                id_type=Resident.IdType.MAINLAND_ID,
                move_in=date(2025, 3, 1),
                tenure=person.tenure,
                proof_seen={
                    "owner": Resident.Proof.OWNERSHIP,
                    "tenant": Resident.Proof.LEASE,
                }.get(person.tenure, Resident.Proof.NONE),
            )
            resident.id_number = demo_id_number(person.birth, serial)
            resident.phone = person.phone
            resident.save()
            proof = {"owner": ["ownership"], "tenant": ["lease"]}.get(person.tenure, [])
            DocumentCheck.objects.create(
                resident=resident, documents=["id_card", *proof], checked_by=clerk
            )
    return [
        f"demo register: {len(DEMO_RESIDENTS)} residents in {len(households)} households",
        "demo staff accounts (password "
        + repr(DEMO_PASSWORD)
        + "): "
        + ", ".join(f"{name} ({role})" for name, role in DEMO_STAFF),
    ]
