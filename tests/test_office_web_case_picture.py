"""A gate's plate picture into a case, from the case page (issue 22 item 7), on real parts:
mosquitto, a gate App with its plate pictures and office link, the workplace's own views
through Django's test client. The picture arrives in the signed ack, is kept as a JPEG
attachment with a timeline step and an audit entry; a picture the gate no longer keeps
and a gate that is offline are one-line refusals; who may not handle cases is refused."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from agent.gate.app import App
from tests.office_web_rig import ROLES, db, office_web, signed_in
from tests.test_office_web_case_files import _case
from tests.test_picture_office import gate as gate  # the gate App fixture
from tests.test_plate_gate import JPEG

__all__ = ["db", "gate", "office_web"]

M, C, G, A = ROLES


def _office_toml(tmp_path: Path, broker: Any, port: int | None = None) -> Path:
    config = tmp_path / "office.toml"
    config.write_text(
        f'store = "{tmp_path / "office.db"}"\nsigning_key_file = "{tmp_path / "office.key"}"\n'
        f'[broker]\nhost = "{broker.host}"\nport = {port or broker.port}\n'
    )
    return config


@pytest.fixture
def workplace(db: None, tmp_path: Path, broker: Any, office_key: Any) -> Iterator[Path]:
    overrides = {
        "GATE_OFFICE_CONFIG": str(_office_toml(tmp_path, broker)),
        "GATE_OFFICE_EVENTS_DB": str(tmp_path / "office.db"),
        "GATE_OFFICE_PASS_KEY": "",
    }
    with override_settings(**overrides):
        yield tmp_path


def _from_gate(pk: int) -> None:
    """The case came from an event of gate test-site/g1."""
    from agent.office.web.cases.gate_models import CaseSource

    CaseSource.objects.create(case_id=pk, kind="alarm", key=f"ev-{pk}", event_id=f"ev-{pk}",
                              site="test-site", gate="g1", event_type="door_forced", seq=1,
                              at=timezone.now())  # fmt: skip


def _plate_read(folder: Path, picture: str) -> None:
    """A refused plate read naming ``picture``, as the office service stores it."""
    from agent.office.store import OfficeStore

    store = OfficeStore(folder / "office.db")
    try:
        assert store.add_event({
            "id": uuid.uuid4().hex, "site": "test-site", "gate": "g1", "seq": 7,
            "time": timezone.now().isoformat(), "type": "access_denied", "severity": "info",
            "door": "vehicle", "details": {"plate": True, "picture": picture, "card": "京A***45"},
        })  # fmt: skip
    finally:
        store.close()


def test_staff_fetch_a_kept_picture_into_the_case(gate: App, workplace: Path) -> None:
    from agent.office.web.audit.models import AuditEntry
    from agent.office.web.cases.models import CaseAttachment, CaseStep

    assert gate.pictures is not None
    picture = gate.pictures.keep(JPEG)
    assert picture is not None
    clerk = signed_in(C)
    pk = _case(clerk)
    assert "Fetch the gate" not in clerk.get(f"/cases/{pk}/").content.decode()  # no gate
    _from_gate(pk)
    page = clerk.get(f"/cases/{pk}/").content.decode()
    assert "Fetch the gate" in page and 'id="gate-pictures"' not in page
    _plate_read(workplace, picture)  # the office heard of the read: the page offers it
    page = clerk.get(f"/cases/{pk}/").content.decode()
    offered = page.split('id="gate-pictures"')[1].split("</ul>")[0]
    assert f'value="{picture}"' in offered and "access_denied" in offered and "京A***45" in offered
    form = {"gate": "test-site/g1", "picture": picture}
    page = clerk.post(f"/cases/{pk}/gate-picture/", form, follow=True).content.decode()
    assert "The gate&#x27;s picture was added to the case." in page
    kept = CaseAttachment.objects.get(case_id=pk)
    assert bytes(kept.data) == JPEG and kept.content_type == "image/jpeg"
    assert kept.added_by == "clerk" and picture in kept.name
    step = CaseStep.objects.filter(case_id=pk, action="attach").get()
    assert step.actor == "clerk" and picture in step.note and "test-site/g1" in step.note
    assert AuditEntry.objects.filter(action="case.gate_picture").count() == 1
    served = clerk.get(f"/cases/{pk}/attachments/{kept.pk}/")
    assert served["Content-Type"] == "image/jpeg" and served.content == JPEG
    sent = [e.details for e in gate.events.recent(50) if e.type.value == "picture_sent"]
    assert [(d["picture"], d["incident"]) for d in sent] == [(picture, f"case-{pk}")]


def test_a_gone_picture_and_who_may_not_handle_cases_are_refused(
    gate: App, workplace: Path
) -> None:
    from agent.office.web.cases.models import CaseAttachment

    clerk = signed_in(C)
    pk = _case(clerk)
    _from_gate(pk)
    gone = "0" * 32
    form = {"gate": "test-site/g1", "picture": gone}
    page = clerk.post(f"/cases/{pk}/gate-picture/", form, follow=True).content.decode()
    assert "could not be fetched" in page and f"picture {gone} is not kept" in page
    assert not CaseAttachment.objects.filter(case_id=pk).exists()
    bad = clerk.post(f"/cases/{pk}/gate-picture/", {"gate": "x/y", "picture": gone},
                     follow=True).content.decode()  # fmt: skip
    assert "Choose a gate of this case and a picture id." in bad
    assert signed_in(G).post(f"/cases/{pk}/gate-picture/", form).status_code == 403
    assert signed_in(A).post(f"/cases/{pk}/gate-picture/", form).status_code == 403


def test_an_offline_gate_is_a_one_line_refusal(
    db: None, tmp_path: Path, broker: Any, office_key: Any
) -> None:
    from agent.office.web.cases.models import CaseAttachment

    overrides = {"GATE_OFFICE_CONFIG": str(_office_toml(tmp_path, broker)),
                 "GATE_OFFICE_EVENTS_DB": str(tmp_path / "office.db"),
                 "GATE_OFFICE_PASS_KEY": ""}  # fmt: skip
    with override_settings(**overrides):
        clerk = signed_in(C)
        pk = _case(clerk)
        _from_gate(pk)
        form = {"gate": "test-site/g1", "picture": "1" * 32}
        page = clerk.post(f"/cases/{pk}/gate-picture/", form, follow=True).content.decode()
    (line,) = [x for x in page.splitlines() if "could not be fetched" in x]
    assert "test-site/g1" in line, line
    assert not CaseAttachment.objects.filter(case_id=pk).exists()
