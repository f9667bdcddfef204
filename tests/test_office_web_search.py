"""Search by unit, name and phone (a keyed index of a sealed number), and searchers plugged in."""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Iterable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from agent.office.web.register.phones import normalise_phone
from tests.office_web_rig import a_resident, db, office_web, signed_in

__all__ = ["db", "office_web"]

MOBILE = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
SEPARATORS = st.sampled_from([" ", "-", "", "(", ")", ".", "\u3000"])


def _spread(number: str, cuts: list[str]) -> str:
    return "".join(d + (cuts[i % len(cuts)] if cuts else "") for i, d in enumerate(number))


@given(MOBILE, st.lists(SEPARATORS, max_size=11))
def test_separators_do_not_change_a_number(number: str, cuts: list[str]) -> None:
    assert normalise_phone(_spread(number, cuts)) == number


@given(MOBILE, st.sampled_from(["+86", "+86 ", "0086", "0086-", "+ 86"]))
def test_a_mainland_number_written_internationally_is_the_same_number(
    number: str, prefix: str
) -> None:
    assert normalise_phone(prefix + number) == number


@given(st.text(max_size=30))
def test_any_text_is_normalised_once_or_refused(text: str) -> None:
    phone = normalise_phone(text)
    if phone is not None:
        assert normalise_phone(phone) == phone
        assert phone.lstrip("+").isdigit() and phone.isascii()


def test_examples() -> None:
    assert normalise_phone("+852 9123 4567") == "+85291234567"
    assert normalise_phone("010-6512 3456") == "01065123456"
    assert normalise_phone("138OO138000") is None
    assert normalise_phone("") is None


def _hits(client: Any, text: str) -> list[tuple[str, str, str]]:
    answer = client.get("/search/", {"q": text})
    assert answer.status_code == 200
    return [
        (str(h.household.unit), h.resident.name if h.resident else "", str(h.matched))
        for h in answer.context["hits"]
    ]


def test_search_by_unit_in_whole_or_in_parts(db: None) -> None:
    from agent.office.web.register.models import Household, Unit

    a_resident()
    Household.objects.create(unit=Unit.objects.create(building="3", entrance="1", room="502"))
    clerk = signed_in("clerk")
    assert _hits(clerk, "3-2-501") == [("3-2-501", "", "unit")]
    assert _hits(clerk, "3 / 2 / 501") == [("3-2-501", "", "unit")]
    assert _hits(clerk, "3-501") == [("3-2-501", "", "unit")]
    assert sorted(u for u, _n, _m in _hits(clerk, "3")) == ["3-1-502", "3-2-501"]
    assert _hits(clerk, "502") == [("3-1-502", "", "unit")]
    assert _hits(clerk, "4-2-501") == []


def test_search_by_part_of_a_name(db: None) -> None:
    a_resident(name="欧阳明月")
    clerk = signed_in("clerk")
    assert _hits(clerk, "明") == [("3-2-501", "欧阳明月", "name")]
    assert _hits(clerk, "欧阳") == [("3-2-501", "欧阳明月", "name")]
    assert _hits(clerk, "李") == []


def test_search_by_phone_finds_the_exact_number_in_any_spelling_masked(db: None) -> None:
    from django.db import connection

    resident = a_resident(phone="13800138000")
    clerk = signed_in("clerk")
    for spelling in ("13800138000", "138 0013 8000", "+86 138-0013-8000", "0086 13800138000"):
        assert _hits(clerk, spelling) == [("3-2-501", "张三", "phone")], spelling
    assert _hits(clerk, "13800138001") == []
    assert _hits(clerk, "0013800") == []  # not a part of a number: the index is exact
    page = clerk.get("/search/", {"q": "138 0013 8000"}).content.decode()
    assert "138****8000" in page and "13800138000" not in page
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone_index FROM register_resident WHERE id = %s", [resident.pk])
        (index,) = cursor.fetchone()
    assert len(index) == 64 and "13800138000" not in index
    assert index != hashlib.sha256(b"13800138000").hexdigest()  # keyed: not guessable alone


def test_a_guard_supervisor_searches_but_opens_no_full_record(db: None) -> None:
    resident = a_resident()
    supervisor = signed_in("guard supervisor")
    page = supervisor.get("/search/", {"q": "张三"}).content.decode()
    assert "张三" in page and f"/residents/{resident.pk}/" not in page
    assert f"/households/{resident.household_id}/" in page
    assert signed_in("auditor").get("/search/", {"q": "张三"}).status_code == 403


def test_another_app_plugs_in_a_searcher(db: None) -> None:
    from agent.office.web.register.models import Resident
    from agent.office.web.register.search import SEARCHERS, Hit, add_searcher

    resident = a_resident()
    cards = {"CARD-0042": resident.pk}

    def by_card(text: str) -> Iterable[Hit]:
        if text.upper() in cards:
            found = Resident.objects.get(pk=cards[text.upper()])
            yield Hit(found.household, found, "card")

    add_searcher(by_card)
    add_searcher(by_card)  # once is enough
    try:
        assert SEARCHERS.count(by_card) == 1
        assert _hits(signed_in("clerk"), "card-0042") == [("3-2-501", "张三", "card")]
    finally:
        SEARCHERS.remove(by_card)


def test_an_empty_search_finds_nothing_and_the_units_page_has_the_box(db: None) -> None:
    a_resident()
    clerk = signed_in("clerk")
    assert clerk.get("/search/", {"q": "  "}).context["hits"] == []
    assert 'action="/search/"' in clerk.get("/units/").content.decode()


def test_the_data_migration_indexes_phones_registered_before_the_index(db: None) -> None:
    from django.apps import apps

    from agent.office.web.register.models import Resident, index_of_phone

    resident = a_resident(phone="13700137000")
    Resident.objects.filter(pk=resident.pk).update(phone_index="")
    migration = importlib.import_module(
        "agent.office.web.register.migrations.0003_phone_index_of_existing_rows"
    )
    migration.index_phones(apps, None)
    resident.refresh_from_db()
    assert resident.phone_index == index_of_phone("13700137000")
    assert _hits(signed_in("clerk"), "137 0013 7000") == [("3-2-501", "张三", "phone")]
