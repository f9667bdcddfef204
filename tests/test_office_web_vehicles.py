"""A household's vehicles: plates checked and normalised, sealed and masked, refused twice,
found by the search box in any spelling, and gone with the household's personal data."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from agent.office.web.register.plates import mask_plate, normalise_plate
from tests.office_web_rig import a_resident, db, office_web, signed_in

__all__ = ["db", "office_web"]


def test_plates_in_any_spelling_are_one_plate() -> None:
    for typed in ("京A·12345", "京a 12345", "京A-12345", " 京A12345 "):
        assert normalise_plate(typed) == "京A12345"
    assert normalise_plate("粤B D12345") == "粤BD12345"  # a new-energy plate
    for bad in ("", "京", "ABCDE", "京A<script>", "12", "京A123456789012"):
        assert normalise_plate(bad) is None
    assert mask_plate("京A12345") == "京A****45"


@given(st.text(max_size=30))
def test_the_normaliser_never_raises_and_is_idempotent(text: str) -> None:
    plate = normalise_plate(text)
    assert plate is None or normalise_plate(plate) == plate


def test_a_clerk_adds_a_plate_and_the_search_finds_it(db: None) -> None:
    from agent.office.web.register.models import Vehicle

    clerk, resident = signed_in("clerk"), a_resident()
    household = resident.household
    answer = clerk.post(f"/households/{household.pk}/vehicles/", {"plate": "京a·12345"})
    assert answer.status_code == 302
    vehicle = Vehicle.objects.get()
    assert "京A12345" not in vehicle.plate_sealed and vehicle.plate_masked == "京A****45"
    assert "京A****45" in clerk.get(f"/households/{household.pk}/").content.decode()
    hits = clerk.get("/search/", {"q": "京A 12345"}).context["hits"]
    assert [(h.household, h.resident, str(h.matched)) for h in hits] == [(household, None, "plate")]
    again = clerk.post(f"/households/{household.pk}/vehicles/", {"plate": "京A-12345"})
    assert again.status_code == 400 and "registered already" in again.content.decode()
    bad = clerk.post(f"/households/{household.pk}/vehicles/", {"plate": "not a plate"})
    assert bad.status_code == 400 and "not a licence plate" in bad.content.decode()
    assert Vehicle.objects.count() == 1


def test_an_auditor_cannot_add_a_plate(db: None) -> None:
    resident = a_resident()
    answer = signed_in("auditor").post(
        f"/households/{resident.household.pk}/vehicles/", {"plate": "京A12345"}
    )
    assert answer.status_code == 403


def test_plates_go_with_the_households_personal_data(db: None) -> None:
    from agent.office.web.register import retention
    from agent.office.web.register.models import Vehicle

    clerk, resident = signed_in("clerk"), a_resident()
    clerk.post(f"/households/{resident.household.pk}/vehicles/", {"plate": "京A12345"})
    resident.move_out = date(2024, 1, 31)
    resident.save()
    retention.purge(datetime(2026, 12, 7, tzinfo=ZoneInfo("Asia/Shanghai")), 12)
    assert not Vehicle.objects.exists()


def test_a_residents_plate_goes_to_the_gates_as_an_hmac(db: None) -> None:
    """Issue 22: the register's vehicles are on the list every gate gets, hashed as a gate
    hashes a camera's read; gone once nobody of the household lives there."""
    from django.test import override_settings

    from agent.office.web.cards import planning
    from agent.office.web.cards.models import CardChange
    from agent.store.credentials import CredentialHasher, read_key_file
    from agent.store.plates import plate_credential
    from tests.office_web_rig import ROOT

    key = ROOT / "config" / "sim-site.key"
    with override_settings(GATE_OFFICE_SITE_KEY_FILE=str(key)):
        clerk, resident = signed_in("clerk"), a_resident()
        clerk.post(f"/households/{resident.household.pk}/vehicles/", {"plate": "京a 12345"})
        assert CardChange.objects.filter(kind=CardChange.Kind.RESYNC).count() == 1
        (entry,) = planning.gate_list(date.today())
        hasher = CredentialHasher(read_key_file(key))
        assert (entry.credential, entry.masked) == plate_credential("京A12345", hasher)
        assert entry.holder_id.startswith("vehicle-") and entry.unit
        assert not planning.not_the_registers()(entry)  # the register's to drop
        resident.move_out = date(2024, 1, 31)
        resident.save()
        assert planning.gate_list(date.today()) == []
