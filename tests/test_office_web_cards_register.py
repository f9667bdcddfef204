"""The register and the cards together: a move-out applied at the register revokes the cards
on the day, or sends them to the gates again ending on a later day (the register's
``resident_moved_out`` signal); the search box finds a resident by a card number."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.office.store import OfficeStore
from tests.office_web_rig import ROOT, a_resident, db, make_staff, office_web, signed_in

__all__ = ["db", "office_web"]


@pytest.fixture
def desk(db: None, tmp_path: Path) -> Iterator[None]:
    from django.test import override_settings

    store = OfficeStore(tmp_path / "office.db")
    store.db.update_gate("palm-grove", "main-gate", allowlist_version=1)
    store.close()
    overrides = {
        "GATE_OFFICE_SITE_KEY_FILE": str(ROOT / "config" / "sim-site.key"),
        "GATE_OFFICE_EVENTS_DB": str(tmp_path / "office.db"),
        "GATE_OFFICE_CARDS_SITE": "palm-grove",
    }
    with override_settings(**overrides):
        yield


def _move_out(clerk: Any, resident: Any, when: date) -> None:
    from agent.office.web.register.models import ChangeRequest

    change = ChangeRequest.objects.create(
        household=resident.household, kind="move_out", description="…", asked_by="张三",
        recorded_by=make_staff("desk", "clerk"), status="approved",
    )  # fmt: skip
    answer = clerk.post(
        f"/changes/{change.pk}/", {"resident": resident.pk, "move_out": when.isoformat()}
    )
    assert answer.status_code == 302


def test_a_move_out_today_revokes_the_residents_cards(desk: None) -> None:
    from django.utils import timezone

    from agent.office.web.cards import planning
    from agent.office.web.cards.models import Card, CardChange

    clerk, resident = signed_in("clerk"), a_resident()
    assert clerk.post(f"/cards/residents/{resident.pk}/", {"card_number": "04000001"}).url
    today = timezone.localdate()
    _move_out(clerk, resident, today)
    card = Card.objects.get()
    assert card.status == "revoked"
    change = CardChange.objects.latest("pk")
    assert (change.kind, change.made_by, list(change.cards.all())) == ("move_out", "clerk", [card])
    assert change.deliveries.get().state == "pending"  # on its way to the gate
    assert planning.gate_list(today) == []


def test_a_later_move_out_ends_the_card_on_that_day_at_the_gates(desk: None) -> None:
    from django.utils import timezone

    from agent.office.web.cards import planning
    from agent.office.web.cards.models import Card, CardChange

    clerk, resident = signed_in("clerk"), a_resident()
    clerk.post(f"/cards/residents/{resident.pk}/", {"card_number": "04000001"})
    today = timezone.localdate()
    leaving = today + timedelta(days=20)
    _move_out(clerk, resident, leaving)
    assert Card.objects.get().status == "issued"  # still living here until then
    assert CardChange.objects.latest("pk").kind == "move_out"
    (entry,) = planning.gate_list(today)
    assert entry.valid_until == leaving  # an offline gate refuses it from then by itself
    assert planning.gate_list(leaving + timedelta(days=1)) == []


def test_the_search_finds_a_resident_by_card_number(desk: None) -> None:
    clerk, resident = signed_in("clerk"), a_resident()
    clerk.post(f"/cards/residents/{resident.pk}/", {"card_number": "04A224B2C15E80"})
    for typed in ("04A224B2C15E80", "uid:04a224b2c15e80"):  # as a wedge reader or a person
        hits = clerk.get("/search/", {"q": typed}).context["hits"]
        assert [(h.resident, str(h.matched)) for h in hits] == [(resident, "card")]
    assert clerk.get("/search/", {"q": "04A224B2C15E81"}).context["hits"] == []
