"""Secure cards at the card desk: the sim desk reader provisions a DESFire or NTAG 424 before
it is issued by its hashed UID; re-issue and revocation as for plain cards."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from agent.store.credentials import CredentialHasher, read_key_file
from drivers.cards import parse_card
from drivers.secure.base import CardTransport
from drivers.secure.hostile import ManualClock, Tearing
from drivers.secure.keys import SiteKeys
from drivers.secure.session import read_secure
from drivers.secure.softcard import SoftDesfire
from drivers.secure.softcard_ntag import SoftNtag424
from tests.office_web_rig import ROOT, a_resident, db, office_web, signed_in

__all__ = ["db", "office_web"]

SITE_KEY = ROOT / "config" / "sim-site.key"
CARD = "04A224B2C15E80"
UID = bytes.fromhex(CARD)


@pytest.fixture
def master(db: None, tmp_path: Path) -> Iterator[Path]:
    """The sim desk reader and a site master key."""
    from django.test import override_settings

    key = tmp_path / "master.key"
    key.write_text(secrets.token_hex(16) + "\n")
    overrides = {
        "GATE_OFFICE_SITE_KEY_FILE": str(SITE_KEY),
        "GATE_OFFICE_EVENTS_DB": str(tmp_path / "office.db"),
        "GATE_OFFICE_DESK_READER": "sim",
        "GATE_OFFICE_SITE_MASTER_KEY_FILE": str(key),
    }
    with override_settings(**overrides):
        yield key


def _issue(client: Any, path: str, **data: str) -> Any:
    return client.post(path, {"tap": CARD, **data})


@pytest.mark.parametrize("kind", ["desfire", "ntag424"])
def test_a_secure_card_is_issued_by_its_hashed_uid_and_reissued_as_any_card(
    master: Path, kind: str
) -> None:
    from agent.office.web.cards.models import Card
    from agent.office.web.cards.planning import gate_list

    clerk, resident = signed_in("clerk"), a_resident()
    page = clerk.get(f"/cards/residents/{resident.pk}/")
    assert b'name="kind"' in page.content and b"secure card: DESFire" in page.content
    answer = _issue(clerk, f"/cards/residents/{resident.pk}/", kind=kind)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    card = Card.objects.get()
    hashed = CredentialHasher(read_key_file(SITE_KEY)).credential(parse_card("uid:" + CARD))
    assert (card.kind, card.credential, card.masked) == (kind, hashed, "uid:****5E80")
    label = {"desfire": "secure card: DESFire", "ntag424": "secure card: NTAG 424"}[kind]
    assert label in clerk.get(f"/cards/residents/{resident.pk}/").content.decode()
    # the gates are told to ask this card for its proof at every door (a UID copy is refused)
    (entry,) = gate_list(date.today())
    assert (entry.credential, entry.credential_policy) == (hashed, "secure")
    again = clerk.post(f"/cards/{card.pk}/reissue/", {"tap": "04" + "11" * 6, "reason": "lost"})
    assert again.status_code == 302
    card.refresh_from_db()
    new = Card.objects.get(status="issued")
    assert card.status == "lost" and new.kind == "plain" and new.replaces == card
    (entry,) = gate_list(date.today())
    assert entry.credential == new.credential and entry.credential_policy == "plain"


def test_a_plain_card_stays_plain_and_no_choice_without_a_master_key(master: Path) -> None:
    from django.test import override_settings

    from agent.office.web.cards.models import Card

    clerk, resident = signed_in("clerk"), a_resident()
    assert _issue(clerk, f"/cards/residents/{resident.pk}/").status_code == 302
    assert Card.objects.get().kind == "plain"
    with override_settings(GATE_OFFICE_SITE_MASTER_KEY_FILE=""):
        page = clerk.get(f"/cards/residents/{resident.pk}/")
    assert b'name="kind"' not in page.content


def test_problems_are_told_beside_the_field_and_nothing_is_issued(master: Path) -> None:
    from django.test import override_settings

    from agent.office.web.cards.models import Card

    clerk, resident = signed_in("clerk"), a_resident()
    path = f"/cards/residents/{resident.pk}/"
    refused = clerk.post(path, {"card_number": "w26:12:3456", "kind": "desfire"})
    assert refused.status_code == 400 and b"read on the reader by its UID" in refused.content
    with override_settings(GATE_OFFICE_SITE_MASTER_KEY_FILE=str(master.parent / "absent.key")):
        refused = _issue(clerk, path, kind="ntag424")
    assert refused.status_code == 400 and b"master key cannot be read" in refused.content
    assert not Card.objects.exists()


@pytest.mark.parametrize("kind", ["desfire", "ntag424"])
def test_the_desk_provisions_what_the_gate_reads_and_refuses_used_or_torn_cards(
    master: Path, kind: str
) -> None:
    from agent.office.web.cards import secure_desk

    made: list[CardTransport] = []

    def keep(kind: str, uid: bytes) -> CardTransport:
        card = SoftDesfire(uid) if kind == "desfire" else SoftNtag424(uid)
        made.append(card)
        return card

    secure_desk.provision(kind, CARD, keep)
    keys = SiteKeys(read_key_file(master), originality_key=b"")
    uid, proof = read_secure(made[0], keys, ManualClock())
    assert uid == UID and proof.genuine and proof.kind == kind
    for blank, code in ((lambda k, u: made[0], "not_blank"),
                        (lambda k, u: Tearing(keep(k, u), 5), "torn")):  # fmt: skip
        with pytest.raises(secure_desk.ProvisionFailed) as failed:
            secure_desk.provision(kind, CARD, blank)
        assert failed.value.code == code
