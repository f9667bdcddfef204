"""The office workplace on PostgreSQL at size: 20,000 residents in the register and
1,000,000 events in the event store; pages/s and p50/p99 of the resident search (by name,
unit and phone) and of the live event page per filter. The time from a re-issue at the
desk to the old card denied at a gate is bench/office_reissue.py's.

Each page is a real request through Django's test client (URL routing, sign-in session,
permission check, the filter form, the store's query, the register lookups for names and
units, the template), signed in as a clerk, one request at a time. Scratch databases are
made on the server (``--pg``, default ``$GATE_OFFICE_TEST_PG``) and dropped after. The
events table is ANALYZEd after the load, as autovacuum does on a running office.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from common import machine

from agent.office.db import open_store

T0 = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
GATES, DOORS = 10, ("main", "side", "garage")
TYPES = ("access_granted", "access_granted", "access_granted", "access_denied", "door_opened")
PG = os.environ.get("GATE_OFFICE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def scratch(server: str, what: str) -> Iterator[str]:
    import psycopg

    name = f"office_web_{what}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def load_register(residents: int) -> list[str]:
    """Units of four residents each; the residents' holder ids."""
    from agent.office.web.register.models import Household, Resident, Unit

    units = Unit.objects.bulk_create(
        Unit(building=str(n // 500 + 1), entrance=str(n // 100 % 5 + 1), room=str(n % 100 + 101))
        for n in range(residents // 4)
    )
    households = Household.objects.bulk_create(Household(unit=u) for u in units)
    people = []
    for n in range(residents):
        person = Resident(
            household=households[n // 4], name=f"住户{n}", id_type=Resident.IdType.PASSPORT,
            move_in=date(2025, 1, 1), tenure=Resident.Tenure.OWNER,
            proof_seen=Resident.Proof.OWNERSHIP, holder_id=f"h-{n:06d}",
        )  # fmt: skip
        person.id_number = f"E{n:08d}"
        person.phone = f"138{n:08d}"
        people.append(person)
    Resident.objects.bulk_create(people, batch_size=2000)
    return [p.holder_id for p in people]


def load_events(dsn: str, total: int, holders: list[str]) -> float:
    """``total`` events from ten gates, 3 s apart per gate; seconds taken."""
    store = open_store(dsn)
    started = time.perf_counter()
    try:
        for start in range(0, total, 20_000):
            batch = []
            for n in range(start, min(total, start + 20_000)):
                kind = TYPES[(n // GATES) % len(TYPES)]  # every gate has every type
                details = {"reader": "r1", "card": "uid:****24B2"}
                if kind == "access_granted":
                    details["holder_id"] = holders[(n * 7919) % len(holders)]
                batch.append({
                    "id": uuid.uuid4().hex, "site": "s1", "gate": f"g{n % GATES}",
                    "seq": n // GATES + 1, "time": (T0 + timedelta(milliseconds=n * 300)),
                    "type": kind, "severity": "info", "door": DOORS[n % 3 if n % 7 else 2],
                    "details": details,
                })  # fmt: skip
            store.add_events(batch)
        for g in range(GATES):
            store.update_gate("s1", f"g{g}", online=True, backlog=0)
    finally:
        store.close()
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ANALYZE events")
    return time.perf_counter() - started


def _rows(answer: Any) -> int:
    """Rows on the page: events, search hits, or the live feed's events."""
    if not answer.context:
        return len(answer.json()["events"])
    for key in ("rows", "hits"):
        if key in answer.context:
            return len(answer.context[key])
    raise KeyError(f"no rows on {answer.request['PATH_INFO']}")


def measure(client: Any, url: str, times: int) -> dict[str, Any]:
    samples = []
    rows = 0
    for _ in range(times):
        started = time.perf_counter()
        answer = client.get(url)
        samples.append(time.perf_counter() - started)
        assert answer.status_code == 200, (url, answer.status_code)
        rows = _rows(answer)
    samples.sort()
    return {
        "url": url,
        "rows": rows,
        "pages_per_s": round(times / sum(samples), 1),
        "p50_ms": round(statistics.median(samples) * 1000, 1),
        "p99_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--residents", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--times", type=int, default=200, help="requests per page measured")
    parser.add_argument("--pg", default=PG)
    args = parser.parse_args()
    with (
        scratch(args.pg, "web") as web_dsn,
        scratch(args.pg, "events") as events_dsn,
        tempfile.TemporaryDirectory() as state,
    ):
        from django.core.management import call_command
        from django.test import Client
        from django.test.utils import setup_test_environment

        from agent.office.web import boot

        boot.make_keys(Path(state))
        boot.configure(web_dsn, Path(state), events_dsn)
        setup_test_environment()
        call_command("migrate", verbosity=0, interactive=False)
        from django.contrib.auth.models import Group, User

        started = time.perf_counter()
        holders = load_register(args.residents)
        register_s = time.perf_counter() - started
        events_s = load_events(events_dsn, args.events, holders)
        clerk = User.objects.create_user("clerk", password="bench password 7")
        clerk.groups.add(Group.objects.get(name="clerk"))
        client = Client()
        assert client.login(username="clerk", password="bench password 7")
        from agent.office.web.register.models import Resident

        unit = Resident.objects.get(holder_id=holders[len(holders) // 2]).household.unit
        first = client.get("/events/?gate=s1/g3")
        deep = "/events/?" + first.context["older"]
        for _ in range(20):  # twenty pages further back
            deep = "/events/?" + client.get(deep).context["older"]
        pages = [
            f"/search/?q=住户{args.residents // 2}",  # a name: a substring match
            f"/search/?q={unit}",  # a unit: building-entrance-room
            f"/search/?q=138{args.residents // 3:08d}",  # a phone: the keyed index
            "/events/",
            "/events/?gate=s1/g3",
            "/events/?gate=s1/g3&door=garage&type=access_granted",
            f"/events/?holder={holders[len(holders) // 3]}",
            f"/events/?unit={unit}",
            "/events/?type=access_denied&since=2026-06-02T08:00&until=2026-06-02T20:00",
            deep,
            f"/events/feed/?gate=s1/g3&after={args.events - 500}",
        ]
        results = [measure(client, url, args.times) for url in pages]
    print(json.dumps({
        "machine": machine(), "residents": args.residents, "events": args.events,
        "load_s": {"register": round(register_s, 1), "events": round(events_s, 1)},
        "client": "django.test.Client, signed-in clerk, sequential", "pages": results,
    }, indent=2, ensure_ascii=False))  # fmt: skip


if __name__ == "__main__":
    main()
