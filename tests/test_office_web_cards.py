"""Cards at the desk: issue, refusals beside the field, re-issue, end, move-out, the
delivery rows per gate, the overdue alert, the simulated desk reader, and the roles."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.office.store import OfficeStore
from agent.store.credentials import CredentialHasher, read_key_file
from drivers.cards import parse_card
from tests.office_web_rig import ROOT, a_resident, db, make_staff, office_web, signed_in

__all__ = ["db", "office_web"]

SITE_KEY = ROOT / "config" / "sim-site.key"
CARD = "04A224B2C15E80"
GATES = [("palm-grove", "main-gate"), ("palm-grove", "side-gate")]


def _credential(number: str) -> str:
    return CredentialHasher(read_key_file(SITE_KEY)).credential(parse_card(number))


@pytest.fixture
def desk(db: None, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The site key, an office store knowing two gates (and one of another site)."""
    from django.test import override_settings

    store = OfficeStore(tmp_path / "office.db")
    for site, gate in [*GATES, ("other-site", "g1")]:
        store.db.update_gate(site, gate, allowlist_version=1)
    store.close()
    overrides = {
        "GATE_OFFICE_SITE_KEY_FILE": str(SITE_KEY),
        "GATE_OFFICE_EVENTS_DB": str(tmp_path / "office.db"),
        "GATE_OFFICE_CARDS_SITE": "palm-grove",
        "GATE_OFFICE_DESK_READER": "wedge",
    }
    with override_settings(**overrides):
        yield overrides


def _neighbour(resident: Any) -> Any:
    """Another resident, in a unit of their own."""
    from agent.office.web.register.models import Household, Resident, Unit

    other = Household.objects.create(unit=Unit.objects.create(building="9", room="101"))
    neighbour = Resident.objects.get(pk=resident.pk)
    neighbour.pk, neighbour.holder_id, neighbour.household = None, "h-neighbour", other
    neighbour.save()
    return neighbour


def _issue(client: Any, resident: Any, number: str, **extra: str) -> Any:
    return client.post(f"/cards/residents/{resident.pk}/", {"card_number": number, **extra})


def test_a_clerk_issues_a_card_hashed_with_the_site_key(desk: dict[str, Any]) -> None:
    from agent.office.web.audit.models import AuditEntry
    from agent.office.web.cards.models import Card, CardChange

    clerk, resident = signed_in("clerk"), a_resident()
    page = clerk.get(f"/cards/residents/{resident.pk}/")
    assert b"autofocus" in page.content  # the wedge reader types into the focused field
    answer = _issue(clerk, resident, CARD)
    change = CardChange.objects.get()
    assert answer.status_code == 302 and answer.url == f"/cards/changes/{change.pk}/"
    card = Card.objects.get()
    assert card.credential == _credential("uid:" + CARD)
    assert card.masked == "uid:****5E80" and card.status == "issued"
    assert CARD not in str(Card.objects.values().get())  # the raw number is nowhere
    assert card.issued_by.get_username() == "clerk"
    assert sorted((d.site, d.gate, d.state) for d in change.deliveries.all()) == [
        (site, gate, "pending") for site, gate in GATES
    ]
    assert AuditEntry.objects.filter(target=f"card:{card.pk}", actor="clerk").exists()
    shown = clerk.get(answer.url).content.decode()
    assert "palm-grove/side-gate" in shown and "pending" in shown


def test_a_pin_set_at_the_desk_goes_to_the_gates_as_its_hash_only(desk: dict[str, Any]) -> None:
    """Card plus PIN from the workplace: the clerk types the resident's PIN twice; only its
    salted hash is kept, it goes on each of the resident's cards in every gate's list, in
    a change of its own (audited), and it can be removed. Easy or mistyped PINs are told
    beside the field and change nothing; the PIN is never shown back."""
    from agent.office.web.audit.models import AuditEntry
    from agent.office.web.cards.models import CardChange, CardPin
    from agent.office.web.cards.planning import gate_list
    from agent.store.pins import verify_pin

    clerk, resident = signed_in("clerk"), a_resident()
    assert _issue(clerk, resident, CARD).status_code == 302
    assert _issue(clerk, resident, "04AABBCCDD").status_code == 302
    page = clerk.get(f"/cards/residents/{resident.pk}/").content.decode()
    assert "No PIN: at a card plus PIN door these cards are refused." in page
    url = f"/cards/residents/{resident.pk}/pin/"
    refusals = [("1234", "1234", "too easy to guess"), ("12a45", "12a45", "digits only"),
                ("123", "123", "4 to 12 digits"), ("20481", "20418", "differ")]  # fmt: skip
    for pin, again, words in refusals:
        refused = clerk.post(url, {"pin": pin, "again": again})
        assert refused.status_code == 400 and words in refused.content.decode()
        assert pin not in refused.content.decode().replace("1111, 1234", "")
    assert not CardPin.objects.exists() and CardChange.objects.count() == 2
    answer = clerk.post(url, {"pin": "20481", "again": "20481"})
    change = CardChange.objects.get(kind="pin")
    assert answer.status_code == 302 and answer.url == f"/cards/changes/{change.pk}/"
    assert change.cards.count() == 2 and change.deliveries.count() == len(GATES)
    kept = CardPin.objects.get(resident=resident)
    assert "20481" not in kept.pin_hash and verify_pin("20481", kept.pin_hash)
    entries = [e for e in gate_list(date.today()) if e.holder_id == resident.holder_id]
    assert len(entries) == 2 and all(e.pin_hash == kept.pin_hash for e in entries)
    assert AuditEntry.objects.filter(target=f"resident:{resident.pk}", reason="PIN set").exists()
    page = clerk.get(f"/cards/residents/{resident.pk}/").content.decode()
    assert "A PIN is set" in page and "20481" not in page
    assert clerk.post(url, {"remove": "1"}).status_code == 302
    assert not CardPin.objects.exists() and CardChange.objects.filter(kind="pin").count() == 2
    assert all(e.pin_hash is None for e in gate_list(date.today()))
    assert signed_in("auditor").post(url, {"pin": "20481", "again": "20481"}).status_code == 403


def test_refusals_are_told_beside_the_field_and_nothing_is_saved(desk: dict[str, Any]) -> None:
    from agent.office.web.cards.models import Card, CardChange

    clerk, resident = signed_in("clerk"), a_resident()
    assert _issue(clerk, resident, CARD).status_code == 302
    again = _issue(clerk, resident, "uid:" + CARD)
    assert again.status_code == 400
    assert "already issued to this resident" in again.content.decode()
    taken = _issue(clerk, _neighbour(resident), CARD)
    assert "already issued to another resident (3-2-501)" in taken.content.decode()
    bad = _issue(clerk, resident, "not a card")
    assert "Not a card number a reader gives" in bad.content.decode()
    past = (date.today() - timedelta(days=2)).isoformat()
    late = _issue(clerk, resident, "04AABBCCDD", valid_until=past)
    assert "cannot be past" in late.content.decode()
    for answer in (again, taken, late):
        assert CARD not in answer.content.decode()  # never shown back, not even on an error
    assert Card.objects.count() == 1 and CardChange.objects.count() == 1


def test_without_a_site_key_no_card_is_issued(desk: dict[str, Any]) -> None:
    from django.test import override_settings

    clerk, resident = signed_in("clerk"), a_resident()
    with override_settings(GATE_OFFICE_SITE_KEY_FILE=""):
        answer = _issue(clerk, resident, CARD)
    assert answer.status_code == 400 and "no site key" in answer.content.decode()


def test_reissue_revokes_the_old_card_in_the_same_change(desk: dict[str, Any]) -> None:
    from agent.office.web.cards import planning
    from agent.office.web.cards.models import Card, CardChange

    clerk, resident = signed_in("clerk"), a_resident()
    _issue(clerk, resident, CARD)
    old = Card.objects.get()
    answer = clerk.post(f"/cards/{old.pk}/reissue/", {"card_number": "04112233", "reason": "lost"})
    assert answer.status_code == 302
    change = CardChange.objects.first()
    assert change is not None and change.kind == "reissue"
    old.refresh_from_db()
    new = Card.objects.get(status="issued")
    assert old.status == "lost" and new.replaces == old
    assert set(change.cards.all()) == {old, new}
    assert change.deliveries.count() == 2
    listed = {e.credential for e in planning.gate_list(date.today())}
    assert listed == {new.credential}


def test_lost_returned_revoked_and_move_out(desk: dict[str, Any]) -> None:
    from agent.office.web.cards import lifecycle, planning
    from agent.office.web.cards.models import Card, CardChange

    clerk, resident = signed_in("clerk"), a_resident()
    for number in ("04000001", "04000002", "04000003", "04000004"):
        _issue(clerk, resident, number)
    first, second = Card.objects.order_by("pk")[:2]
    for card, status in ((first, "lost"), (second, "returned")):
        assert clerk.post(f"/cards/{card.pk}/end/", {"status": status}).status_code == 302
        card.refresh_from_db()
        assert card.status == status
    moved = lifecycle.move_out_household(resident.household, "clerk")
    assert moved is not None and moved.kind == "move_out" and moved.cards.count() == 2
    assert not Card.objects.filter(status="issued").exists()
    assert planning.gate_list(date.today()) == []
    assert lifecycle.move_out_resident(resident, "clerk") is None  # nothing left to revoke
    assert CardChange.objects.count() == 7


def test_a_temporary_card_ends_by_itself(desk: dict[str, Any]) -> None:
    from agent.office.web.cards import lifecycle, planning
    from agent.office.web.cards.models import Card

    clerk, resident = signed_in("clerk"), a_resident()
    until = date.today() + timedelta(days=3)
    _issue(clerk, resident, CARD, valid_until=until.isoformat())
    (entry,) = planning.gate_list(date.today())
    assert entry.valid_until == until and entry.holder_id == resident.holder_id
    assert lifecycle.end_temporary(until) is None  # the last day still counts
    ended = lifecycle.end_temporary(until + timedelta(days=1))
    assert ended is not None and ended.made_by == "system"
    assert Card.objects.get().status == "ended"


def test_a_late_delivery_raises_an_alert(desk: dict[str, Any]) -> None:
    from django.test import override_settings

    clerk, resident = signed_in("clerk"), a_resident()
    url = _issue(clerk, resident, CARD).url
    assert "card-alerts" not in clerk.get("/").content.decode()
    with override_settings(GATE_OFFICE_CARDS_ALERT_MINUTES=0):
        assert "change-alert" in clerk.get(url).content.decode()
        home = clerk.get("/").content.decode()
        assert "card-alerts" in home and "palm-grove/main-gate" in home


def test_the_simulated_desk_reader_taps_a_card(desk: dict[str, Any]) -> None:
    from django.test import override_settings

    from agent.office.web.cards.models import Card

    clerk, resident = signed_in("clerk"), a_resident()
    url = f"/cards/residents/{resident.pk}/"
    assert "sim-reader" not in clerk.get(url).content.decode()
    assert clerk.post(url, {"tap": "uid:" + CARD}).status_code == 400  # no sim: no tap
    with override_settings(GATE_OFFICE_DESK_READER="sim"):
        assert "sim-reader" in clerk.get(url).content.decode()
        assert clerk.post(url, {"tap": "uid:" + CARD}).status_code == 302
    assert Card.objects.get().credential == _credential("uid:" + CARD)


@pytest.mark.parametrize(
    ("role", "inventory", "issue"),
    [("manager", 200, 302), ("clerk", 200, 302), ("guard supervisor", 200, 403),
     ("auditor", 403, 403), (None, 403, 403)],
)  # fmt: skip
def test_roles(desk: dict[str, Any], role: str | None, inventory: int, issue: int) -> None:
    from agent.office.web.cards.models import Card

    client, resident = signed_in(role), a_resident()
    assert client.get("/cards/").status_code == inventory
    assert _issue(client, resident, CARD).status_code == issue
    assert client.get(f"/cards/residents/{resident.pk}/").status_code == (
        200 if issue == 302 else 403
    )
    if issue == 403:
        assert not Card.objects.exists()
        from agent.office.web.cards import lifecycle

        change = lifecycle.issue(resident, _credential("uid:" + CARD), "uid:****5E80",
                                 make_staff("desk", "clerk"))  # fmt: skip
        card = Card.objects.get()
        assert client.get(f"/cards/{card.pk}/reissue/").status_code == 403
        assert client.post(f"/cards/{card.pk}/end/", {"status": "lost"}).status_code == 403
        seen = client.get(f"/cards/changes/{change.pk}/").status_code
        assert seen == inventory  # the change page goes with the inventory
        assert Card.objects.get().status == "issued"
        return
    card = Card.objects.get()
    assert client.get(f"/cards/changes/{card.changes.get().pk}/").status_code == 200
    shown = client.get("/cards/").content.decode()
    assert card.masked in shown and 'data-status="issued">1<' in shown


def test_the_deliver_command_records_a_resync_and_keeps_it_pending_without_a_broker(
    tmp_path: Path,
) -> None:
    from tests.office_web_rig import gate_office

    state = str(tmp_path / "web")
    assert gate_office("web", "init", "--state", state).returncode == 0
    store = OfficeStore(tmp_path / "office.db")
    store.db.update_gate("palm-grove", "main-gate", online=True)
    store.close()
    with socket.socket() as s:  # a port nobody listens on: the broker is away
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ran = gate_office("web", "deliver", "--state", state, "--db", str(tmp_path / "office.db"),
                      "--port", str(port), "--key", str(tmp_path / "office.key"),
                      "--resync", "--once")  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert "resync: change 1 to 1 gate(s)" in ran.stdout
    assert "0 deliveries applied" in ran.stdout


def test_a_usb_nfc_desk_reader_reads_the_card_held_on_it(desk: dict[str, Any]) -> None:
    from django.test import override_settings

    from agent.office.web.cards.models import Card
    from tests.test_nfc import TagEmulator, free_udp_port

    clerk, resident = signed_in("clerk"), a_resident()
    url = f"/cards/residents/{resident.pk}/"
    tags = TagEmulator(free_udp_port())  # nfcpy's own udp link stands in for the USB cable
    reader = {"GATE_OFFICE_DESK_READER": f"nfc:udp:localhost:{tags.port}"}
    try:
        with override_settings(**reader, GATE_OFFICE_DESK_READER_WAIT_S=1.0):
            assert 'id="nfc-read"' in clerk.get(url).content.decode()
            empty = clerk.post(url, {"read_nfc": "1"})
            assert "No card on the desk reader" in empty.content.decode()
            tags.present(bytes.fromhex(CARD))
            assert clerk.post(url, {"read_nfc": "1"}).status_code == 302
    finally:
        tags.remove()
    assert Card.objects.get().credential == _credential("uid:" + CARD)
