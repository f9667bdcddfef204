"""The register: mainland ID check digit, sealed numbers, masking, reveal with a reason."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from agent.office.web.register.idnumber import check_character, is_valid_mainland_id
from agent.office.web.register.sealing import mask
from tests.office_web_rig import GOOD_ID, a_resident, db, office_web, signed_in

__all__ = ["db", "office_web"]

SEVENTEEN = st.text(alphabet="0123456789", min_size=17, max_size=17)


def test_known_numbers() -> None:
    assert is_valid_mainland_id(GOOD_ID)
    assert is_valid_mainland_id("11010519491231002x")  # staff type a lower-case x
    assert is_valid_mainland_id("440524188001010014")
    assert not is_valid_mainland_id("440524188001010015")
    assert not is_valid_mainland_id("11010519491231002")  # 17 characters
    assert not is_valid_mainland_id("1101051949123100X2")


@given(SEVENTEEN)
def test_the_check_character_makes_a_valid_number(first17: str) -> None:
    assert is_valid_mainland_id(first17 + check_character(first17))


@given(SEVENTEEN, st.sampled_from("0123456789X"))
def test_any_other_check_character_is_refused(first17: str, last: str) -> None:
    assert is_valid_mainland_id(first17 + last) == (last == check_character(first17))


@given(SEVENTEEN, st.integers(0, 16), st.integers(1, 9))
def test_one_changed_digit_is_caught(first17: str, where: int, by: int) -> None:
    number = first17 + check_character(first17)
    changed = str((int(number[where]) + by) % 10)
    assert not is_valid_mainland_id(number[:where] + changed + number[where + 1 :])


@given(st.text(max_size=40))
def test_any_text_is_answered_without_raising(text: str) -> None:
    assert isinstance(is_valid_mainland_id(text), bool)


def test_masks() -> None:
    assert mask("110105194912310021") == "110***********0021"
    assert mask("13800138000") == "138****8000"
    assert mask("1234567") == "*******"


def _resident_form(**changes: str) -> dict[str, str]:
    form = {
        "name": "李四",
        "id_type": "mainland_id",
        "id_number": GOOD_ID,
        "phone": "139 0013 9000",
        "move_in": "2026-03-01",
        "move_out": "",
        "tenure": "tenant",
        "proof_seen": "lease",
    }
    return {**form, **changes}


def test_a_bad_id_number_is_refused_beside_the_field_and_nothing_is_saved(db: None) -> None:
    from agent.office.web.register.models import Resident

    household = a_resident().household
    clerk = signed_in("clerk")
    bad = clerk.post(
        f"/households/{household.pk}/residents/new/", _resident_form(id_number="110105194912310021")
    )
    assert bad.status_code == 200
    assert list(bad.context["form"].errors) == ["id_number"]
    assert "check digit" in bad.content.decode()
    # a passport number has no check digit to test
    ok = clerk.post(
        f"/households/{household.pk}/residents/new/",
        _resident_form(id_type="passport", id_number="E12345678"),
    )
    assert ok.status_code == 302
    assert Resident.objects.filter(name="李四").count() == 1


def test_impossible_dates_are_refused(db: None) -> None:
    household = a_resident().household
    clerk = signed_in("clerk")
    answer = clerk.post(
        f"/households/{household.pk}/residents/new/", _resident_form(move_out="2026-02-01")
    )
    assert list(answer.context["form"].errors) == ["move_out"]


def test_numbers_are_sealed_at_rest_and_shown_masked(db: None, office_web: Path) -> None:
    from django.db import connection

    from agent.office.web.register.models import Resident

    household = a_resident().household
    clerk = signed_in("clerk")
    created = clerk.post(f"/households/{household.pk}/residents/new/", _resident_form())
    resident = Resident.objects.get(name="李四")
    assert created.url == f"/residents/{resident.pk}/"
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM register_resident WHERE id = %s", [resident.pk])
        row = " ".join(str(v) for v in cursor.fetchone())
    assert GOOD_ID not in row and "13900139000" not in row and "0139000" not in row
    assert resident.id_number == GOOD_ID and resident.phone == "13900139000"
    page = clerk.get(created.url).content.decode()
    assert "110***********002X" in page and "139****9000" in page
    assert GOOD_ID not in page and "13900139000" not in page


def test_the_database_file_alone_does_not_open_the_numbers(office_web: Path) -> None:
    from django.db import connection

    from agent.office.web.register.models import Resident

    resident = a_resident(id_number="440524188001010014")  # committed: read from the file
    try:
        raw = sqlite3.connect(office_web / "office.sqlite3")
        sealed = raw.execute(
            "SELECT id_number_sealed FROM register_resident WHERE id = ?", [resident.pk]
        ).fetchone()[0]
        raw.close()
        assert "440524188001010014" not in Path(office_web / "office.sqlite3").read_bytes().decode(
            "latin-1"
        )
        assert sealed.startswith("gAAAA")  # a Fernet token
    finally:
        Resident.objects.filter(pk=resident.pk).delete()
        resident.household.delete()
        resident.household.unit.delete()
        connection.close()


def test_a_reveal_asks_for_a_reason_and_is_audited(db: None) -> None:
    from agent.office.web.audit.models import AuditEntry

    resident = a_resident()
    clerk = signed_in("clerk")
    before = AuditEntry.objects.count()
    refused = clerk.post(f"/residents/{resident.pk}/reveal/", {"reason": ""})
    assert refused.status_code == 400 and GOOD_ID not in refused.content.decode()
    assert AuditEntry.objects.count() == before
    shown = clerk.post(f"/residents/{resident.pk}/reveal/", {"reason": "card re-issue at desk"})
    page = shown.content.decode()
    assert GOOD_ID in page and "13800138000" in page
    assert shown.headers["Cache-Control"] == "no-store"
    entry = AuditEntry.objects.order_by("-position").first()
    assert entry is not None
    assert (entry.actor, entry.action, entry.target, entry.reason) == (
        "clerk",
        "reveal",
        f"resident:{resident.pk}",
        "card re-issue at desk",
    )


def test_a_document_check_records_who_and_what(db: None) -> None:
    from agent.office.web.register.models import DocumentCheck

    resident = a_resident()
    clerk = signed_in("clerk")
    answer = clerk.post(
        f"/residents/{resident.pk}/checks/", {"documents": ["id_card", "ownership"], "note": "原件"}
    )
    assert answer.status_code == 302
    check = DocumentCheck.objects.get(resident=resident)
    assert check.documents == ["id_card", "ownership"]
    assert check.checked_by.get_username() == "clerk"
    page = signed_in("manager").get(f"/residents/{resident.pk}/").content.decode()
    assert "resident identity card, proof of property ownership" in page
