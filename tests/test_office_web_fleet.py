"""The fleet page and the live event view against a real event store: alarms counted as
``gate-office fleet`` counts them, times in the site's zone, every filter, keyset pages,
the JSON feed, names only to the register's readers, and each page refused by role."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.office.db import OfficeDb
from tests.office_events_rig import event, event_store_at, gate_with_doors
from tests.office_web_rig import ROLES, a_resident, db, office_web, signed_in

__all__ = ["db", "office_web"]

M, C, G, A = ROLES
NOON_UTC = datetime(2026, 6, 10, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


@pytest.fixture
def store(tmp_path: Path) -> Iterator[OfficeDb]:
    with event_store_at(tmp_path / "events.db", TIME_ZONE="Asia/Shanghai") as events:
        yield events


def _cells(html: str, gate: str) -> dict[str, str]:
    row = re.search(rf'<tr data-gate="{gate}">(.*?)</tr>', html, re.S)
    assert row, gate
    return {k: re.sub(r"<[^>]+>", "", v).strip()
            for k, v in re.findall(r'<td class="([\w-]+)">(.*?)</td>', row[1], re.S)}  # fmt: skip


def test_fleet_shows_each_gate_with_alarms_counted_as_gate_office_fleet_does(
    db: None, store: OfficeDb
) -> None:
    from django.test import override_settings

    now = datetime.now(UTC)
    gate_with_doors(store, "s1", "g1", "main", online=True, online_since=NOON_UTC, backlog=3,
                    allowlist_version=7)  # fmt: skip
    store.update_gate("s1", "g2", online=False, online_since=NOON_UTC)
    alarm = {"severity": "alarm", "door": "main"}
    store.add_events([
        event("s1", "g1", 1, now - timedelta(hours=30), "door_forced_open", **alarm),
        event("s1", "g1", 2, now - timedelta(hours=1), "door_forced_open", **alarm),
        event("s1", "g1", 3, now - timedelta(minutes=10), "door_held_open", **alarm),
        event("s1", "g1", 4, now - timedelta(hours=29), "fire_alarm", **alarm),
        event("s1", "g1", 5, now - timedelta(minutes=50), "alarm_acknowledged", alarm_seq=2),
        event("s1", "g2", 1, now - timedelta(minutes=5), "access_granted", holder_id="h-1"),
    ])  # fmt: skip
    (cli,) = [g for g in store.gates() if g.gate == "g1"]  # what `gate-office fleet` prints
    assert (cli.open_alarms, cli.alarms_24h) == (3, 2)
    page = signed_in(G).get("/gates/").content.decode()
    one = _cells(page, "s1/g1")
    assert one == {"since": "2026-06-10 12:00:00 +0800", "backlog": "3", "version": "7",
                   "open-alarms": "3", "alarms-24h": "2"}, one  # fmt: skip
    two = _cells(page, "s1/g2")
    assert (two["open-alarms"], two["alarms-24h"], two["version"]) == ("0", "0", "—")
    assert "Asia/Shanghai" in page and "offline" in page
    with override_settings(TIME_ZONE="America/New_York"):
        page = signed_in(M).get("/gates/").content.decode()
    assert _cells(page, "s1/g1")["since"] == "2026-06-10 00:00:00 -0400"


def test_without_an_event_store_the_pages_say_so_in_one_line(db: None) -> None:
    from django.test import override_settings

    client = signed_in(C)
    with override_settings(GATE_OFFICE_EVENTS_DB=""):
        for path in ("/gates/", "/events/"):
            answer = client.get(path)
            text = answer.content.decode()
            assert answer.status_code == 503 and "--events-db" in text, path
            assert "Traceback" not in text
        assert client.get("/events/feed/").status_code == 503


def _serials(answer: Any) -> list[int]:
    return [r["serial"] for r in answer.context["rows"]]


def _a_day(store: OfficeDb, holder: str) -> dict[str, int]:
    """Events at two gates; their serials by name."""
    rows = [
        ("s1", "g1", NOON_UTC, "access_granted", {"door": "main", "holder_id": holder}),
        ("s1", "g1", NOON_UTC + timedelta(hours=1), "access_denied",
         {"door": "side", "card": "ab12…", "reason": "unknown_card"}),
        ("s1", "g2", NOON_UTC + timedelta(hours=2), "access_granted",
         {"door": "main", "holder_id": "h-other"}),
        ("s1", "g2", NOON_UTC + timedelta(hours=3), "door_forced_open",
         {"door": "main", "severity": "alarm"}),
    ]  # fmt: skip
    for seq, (site, gate, when, kind, extra) in enumerate(rows, 1):
        store.add_events([event(site, gate, seq, when, kind, **extra)])
    serials = [e["serial"] for e in store.query_events(limit=None)]
    return dict(zip(["mine", "denied", "other", "forced"], serials, strict=True))


def test_every_filter_narrows_the_events_shown_in_the_sites_zone(db: None, store: OfficeDb) -> None:
    resident = a_resident()
    ids = _a_day(store, resident.holder_id)
    store.update_gate("s1", "g1")
    store.update_gate("s1", "g2")
    clerk = signed_in(C)
    every = clerk.get("/events/")
    assert _serials(every) == [ids["forced"], ids["other"], ids["denied"], ids["mine"]]
    assert every.context["rows"][-1]["time"] == "2026-06-10 12:00:00 +0800"
    assert every.context["rows"][-1]["name"] == resident.name  # a clerk reads the register
    cases = {
        "gate=s1/g2": ["forced", "other"],
        "door=side": ["denied"],
        f"holder={resident.holder_id}": ["mine"],
        f"unit={resident.household.unit}": ["mine"],
        "type=access_granted&type=door_forced_open": ["forced", "other", "mine"],
        # typed in the site's zone: 13:00 to 15:00 Shanghai is 05:00 to 07:00 UTC
        "since=2026-06-10T13:00&until=2026-06-10T15:00": ["other", "denied"],
        "gate=s1/g1&type=access_granted": ["mine"],
        f"unit={resident.household.unit}&holder=h-other": [],
    }
    for query, names in cases.items():
        answer = clerk.get(f"/events/?{query}")
        assert answer.status_code == 200, (query, answer.context["form"].errors)
        assert _serials(answer) == [ids[n] for n in names], query


def test_bad_filters_are_told_beside_the_field(db: None, store: OfficeDb) -> None:
    clerk = signed_in(C)
    for query, field in [("gate=nowhere/x", "gate"), ("type=teleported", "type"),
                         ("since=2026-06-10T15:00&until=2026-06-10T13:00", "until"),
                         ("since=yesterday", "since"), ("door=two%20words", "door"),
                         ("unit=9-9-999", "unit")]:  # fmt: skip
        answer = clerk.get(f"/events/?{query}")
        assert answer.status_code == 400 and list(answer.context["form"].errors) == [field], query
        assert clerk.get(f"/events/feed/?{query}&after=1").status_code == 400


def test_names_only_for_the_registers_readers_and_the_unit_filter_only_for_unit_readers(
    db: None, store: OfficeDb
) -> None:
    resident = a_resident(name="王五")
    _a_day(store, resident.holder_id)
    for role, names, units in [(C, True, True), (M, True, True), (G, False, True),
                               (A, False, False)]:  # fmt: skip
        page = signed_in(role).get("/events/")
        text = page.content.decode()
        assert resident.holder_id in text, role
        assert ("王五" in text) == names, role
        assert ("unit" in page.context["form"].fields) == units, role


def test_names_shown_from_the_register_are_audited_the_live_feed_at_most_every_ten_minutes(
    db: None, store: OfficeDb
) -> None:
    from agent.office.web.audit.models import AuditEntry
    from agent.office.web.fleet.views import FEED_AUDIT_S

    resident = a_resident(name="王五")
    _a_day(store, resident.holder_id)
    assert "王五" not in signed_in(G).get("/events/").content.decode()
    assert not AuditEntry.objects.exists()  # no names shown: nothing to audit
    clerk = signed_in(C)
    assert "王五" in clerk.get("/events/").content.decode()
    entries = list(AuditEntry.objects.values_list("actor", "action", "target", "reason"))
    assert entries == [(C.replace(" ", "-"), "events.names", "events page", "1 name(s)")]
    newest = store.last_serial()
    later = NOON_UTC + timedelta(hours=5)
    for seq in (10, 11):
        store.add_events([event("s1", "g1", seq, later, "access_granted",
                                holder_id=resident.holder_id)])  # fmt: skip
        polled = clerk.get(f"/events/feed/?after={newest}").json()
        assert polled["events"][-1]["name"] == "王五"
        newest = polled["after"]
    assert AuditEntry.objects.count() == 1  # the page's entry covers its feed for a while
    session = clerk.session
    session["events_names_audited_at"] -= FEED_AUDIT_S + 1
    session.save()
    store.add_events([event("s1", "g1", 12, later, "access_granted", holder_id=resident.holder_id)])
    assert clerk.get(f"/events/feed/?after={newest}").json()["events"][0]["name"] == "王五"
    last = AuditEntry.objects.order_by("-position").first()
    assert last is not None and (last.action, last.target) == ("events.names", "events feed")
    assert AuditEntry.objects.count() == 2


def test_pages_of_fifty_by_keyset_cover_every_event_once_even_at_one_instant(
    db: None, store: OfficeDb
) -> None:
    # 120 events, three at each instant: a page boundary falls between equal times
    store.add_events([event("s1", "g1", n, NOON_UTC + timedelta(seconds=n // 3), "door_opened")
                      for n in range(1, 121)])  # fmt: skip
    client = signed_in(A)
    seen: list[int] = []
    url, pages = "/events/?door=main", 0
    while url:
        answer = client.get(url)
        seen += _serials(answer)
        pages += 1
        assert len(answer.context["rows"]) <= 50
        older = answer.context["older"]
        url = f"/events/?{older}" if older else ""
        assert (answer.context["live"]) == (pages == 1)
    assert pages == 3 and seen == sorted(range(1, 121), reverse=True)


def test_the_feed_brings_new_matching_events_in_the_sites_zone(db: None, store: OfficeDb) -> None:
    client = signed_in(G)
    start = client.get("/events/feed/?gate=&after=0").json()
    assert start == {"events": [], "after": 0}
    _a_day(store, "h-1")
    store.update_gate("s1", "g1")
    page = client.get("/events/?gate=s1/g1")
    newest = page.context["newest"]
    assert 'data-feed="/events/feed/?gate=s1%2Fg1"' in page.content.decode()
    later = NOON_UTC + timedelta(hours=5)
    store.add_events([event("s1", "g1", 9, later, "access_granted", holder_id="h-9"),
                      event("s1", "g2", 9, later, "access_granted", holder_id="h-8")])  # fmt: skip
    got = client.get(f"/events/feed/?gate=s1/g1&after={newest}").json()
    assert [(e["gate"], e["holder"], e["time"]) for e in got["events"]] == [
        ("s1/g1", "h-9", "2026-06-10 17:00:00 +0800")
    ]
    assert "name" in got["events"][0] and got["events"][0]["name"] == ""
    assert got["after"] == store.last_serial()  # the other gate's event is never scanned again
    again = client.get(f"/events/feed/?gate=s1/g1&after={got['after']}").json()
    assert again == {"events": [], "after": got["after"]}


PAGES = [
    ("get", "/visitors/", {M, C, G}),
    ("get", "/visitors/new/", {M, C}),
    ("get", "/visitors/{pk}/", {M, C, G}),
    ("get", "/visitors/{pk}/print/", {M, C, G}),
    ("get", "/visitors/{pk}/qr.png", {M, C, G}),
    ("post", "/visitors/{pk}/revoke/", {M, C}),
    ("get", "/gates/", {M, C, G, A}),
    ("get", "/events/", {M, C, G, A}),
    ("get", "/events/feed/?after=0", {M, C, G, A}),
]


@pytest.mark.parametrize("role", [*ROLES, None])
def test_each_page_is_refused_with_the_403_page_to_roles_without_it(
    db: None, store: OfficeDb, tmp_path: Path, office_key: Any, role: str | None
) -> None:
    from django.test import Client, override_settings

    from agent.office.web.register.models import Unit
    from agent.office.web.visitors.models import VisitorPass

    gate_with_doors(store, "s1", "g1", "main")
    signed_in(C)  # the issuer
    with override_settings(GATE_OFFICE_PASS_KEY=str(tmp_path / "office.key")):
        issuer = Client()
        assert issuer.login(username="clerk", password="correct horse battery 7")
        Unit.objects.create(building="1", room="101")
        day = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
        form = {"visitor_name": "x", "unit": "1-101", "gate": "s1/g1", "uses": 1,
                "valid_from": f"{day}T10:00", "valid_until": f"{day}T12:00"}  # fmt: skip
        assert issuer.post("/visitors/new/", form).status_code == 302
        pk = VisitorPass.objects.get().pk
        client = signed_in(role) if role != C else issuer
        for method, path, allowed in PAGES:
            answer = getattr(client, method)(path.format(pk=pk))
            if role in allowed:
                assert answer.status_code in (200, 302), (role, path)
            else:
                assert answer.status_code == 403, (role, path)
                assert "Not allowed" in answer.content.decode()
            stranger = getattr(Client(), method)(path.format(pk=pk))
            assert stranger.status_code == 302 and stranger.url.startswith("/signin/")


def test_a_unit_of_several_residents_pages_and_feeds_their_events_merged(
    db: None, store: OfficeDb
) -> None:
    from agent.office.web.register.models import Resident

    first = a_resident()
    second = Resident.objects.create(
        household=first.household, name="李四", id_type="passport", id_number_sealed="x",
        move_in=first.move_in, tenure="family", proof_seen="none",
    )  # fmt: skip
    holders = [first.holder_id, second.holder_id, "h-neighbour"]
    store.add_events([event("s1", "g1", n, NOON_UTC + timedelta(seconds=n // 2), "access_granted",
                            holder_id=holders[n % 3]) for n in range(1, 91)])  # fmt: skip
    theirs = [e["serial"] for e in store.query_events(limit=None) if e["details"]["holder_id"]
              != "h-neighbour"][::-1]  # fmt: skip
    client = signed_in(G)
    page = client.get(f"/events/?unit={first.household.unit}")
    older = client.get(f"/events/?{page.context['older']}")
    assert _serials(page) + _serials(older) == theirs and len(_serials(page)) == 50
    assert older.context["older"] is None
    later = NOON_UTC + timedelta(hours=1)
    store.add_events([event("s1", "g2", n, later, "access_granted", holder_id=holders[n % 3])
                      for n in range(1, 7)])  # fmt: skip
    got = client.get(f"/events/feed/?unit={first.household.unit}&after={page.context['newest']}")
    assert [e["holder"] for e in got.json()["events"]] == [holders[n % 3] for n in range(1, 7)
                                                           if n % 3 != 2]  # fmt: skip
