"""Visitor passes at the desk: issued signed (the gate-office verifier agrees), shown as a QR
code that reads back, printed, downloaded, revoked at a real gate over mosquitto; doors
checked against the gates' doors; every issue and revoke in the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.core.clock import SystemClock
from agent.gate.app import App
from agent.link.wiring import attach
from agent.models.pass_codec import decode, display_short
from agent.office.db import OfficeDb
from tests.conftest import mqtt_table
from tests.office_events_rig import event_store_at, gate_with_doors
from tests.office_web_rig import db, office_web, signed_in
from tests.pass_rig import pass_config
from tests.reader_rig import wait_for
from tests.test_pass_office import png_pixels

__all__ = ["db", "office_web"]


@pytest.fixture
def store(tmp_path: Path, office_key: Ed25519PrivateKey) -> Iterator[OfficeDb]:
    """g1 with doors main and side, g2 with main and garage; the office key to sign with."""
    with event_store_at(tmp_path / "events.db", GATE_OFFICE_PASS_KEY=str(tmp_path / "office.key"),
                        GATE_OFFICE_CONFIG="") as events:  # fmt: skip
        gate_with_doors(events, "test-site", "g1", "main", "side")
        gate_with_doors(events, "test-site", "g2", "main", "garage")
        yield events


def _unit() -> Any:
    from agent.office.web.register.models import Unit

    return Unit.objects.create(building="3", entrance="2", room="501")


def _form(host: Any, **changes: Any) -> dict[str, Any]:
    from django.utils import timezone

    start = timezone.localtime().replace(second=0, microsecond=0)
    form = {
        "visitor_name": "李四", "unit": str(host), "gate": "test-site/g1", "doors": ["main"],
        "valid_from": f"{start:%Y-%m-%dT%H:%M}",
        "valid_until": f"{start + timedelta(hours=3):%Y-%m-%dT%H:%M}", "uses": 2,
    }  # fmt: skip
    return {**form, **changes}


def office_toml(tmp_path: Path, broker: Any) -> Path:
    """The office.toml of ``gate-office serve`` on the test's broker and event store."""
    toml = tmp_path / "office.toml"
    toml.write_text(f'store = "{tmp_path / "events.db"}"\nsigning_key_file = "office.key"\n'
                    f'[broker]\nhost = "{broker.host}"\nport = {broker.port}\n')  # fmt: skip
    return toml


def _read_qr(png: bytes) -> str:
    width, height, pixels = png_pixels(png)
    (found,) = zxingcpp.read_barcodes(memoryview(pixels).cast("B", (height, width)))
    return str(found.text)


def test_a_clerk_issues_a_signed_pass_and_sees_its_qr_code(
    db: None, store: OfficeDb, office_key: Ed25519PrivateKey
) -> None:
    from agent.office.web.audit import chain
    from agent.office.web.audit.models import AuditEntry
    from agent.office.web.visitors.models import VisitorPass

    clerk = signed_in("clerk")
    unit = _unit()
    answer = clerk.post("/visitors/new/", _form(unit))
    assert answer.status_code == 302, answer.content.decode()
    made = VisitorPass.objects.get()
    signed = decode(made.code)
    assert signed.verify(office_key.public_key())  # the verifier gates use
    vp = signed.visitor_pass
    assert (vp.site, vp.gate, vp.unit, vp.doors, vp.uses) == ("test-site", "g1", "3-2-501",
                                                             ["main"], 2)  # fmt: skip
    assert vp.valid_until - vp.valid_from == timedelta(hours=3)
    assert "李四" not in made.code and made.visitor_name == "李四"
    page = clerk.get(answer.url)
    text = page.content.decode()
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "data:image/png;base64," in text and display_short(signed.short_code) in text
    png = clerk.get(f"/visitors/{made.pk}/qr.png")
    assert png.headers["Content-Type"] == "image/png"
    assert "attachment" in png.headers["Content-Disposition"]
    assert _read_qr(png.content) == made.code  # a phone's scanner reads the pass itself
    printed = clerk.get(f"/visitors/{made.pk}/print/").content.decode()
    assert "@media print" in printed and "李四" in printed and "3-2-501" in printed
    (entry,) = AuditEntry.objects.filter(target=f"visitor_pass:{vp.id}")
    assert (entry.actor, entry.reason) == ("clerk", "issued") and chain.verify().intact


def test_a_pass_for_every_gate_of_the_site_may_name_any_of_their_doors(
    db: None, store: OfficeDb, office_key: Ed25519PrivateKey
) -> None:
    from agent.office.web.visitors.models import VisitorPass

    manager = signed_in("manager")
    form = _form(_unit(), gate="test-site/*", doors=["side", "garage"])
    assert manager.post("/visitors/new/", form).status_code == 302
    vp = decode(VisitorPass.objects.get().code).visitor_pass
    assert vp.gate is None and vp.doors == ["side", "garage"]


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"doors": ["garage"]}, "doors", "No door garage at test-site/g1; it has main, side."),
        ({"doors": ["attic"]}, "doors", "Select a valid choice"),
        ({"gate": "test-site/g3"}, "gate", "does not know this gate's doors yet"),
        ({"gate": "other/g1"}, "gate", "Select a valid choice"),
        ({"valid_until": "2020-01-01T10:00"}, "valid_until", "must end after it starts"),
        ({"uses": 0}, "uses", "greater than or equal to 1"),
        ({"unit": "9-9-999"}, "unit", "No unit 9-9-999 in the register"),
    ],
)
def test_bad_passes_are_refused_beside_the_field_and_nothing_is_issued(
    db: None, store: OfficeDb, changes: dict[str, Any], field: str, says: str
) -> None:
    from agent.office.web.audit.models import AuditEntry
    from agent.office.web.visitors.models import VisitorPass

    store.update_gate("test-site", "g3", online=True)  # known, but no status with doors yet
    clerk = signed_in("clerk")
    answer = clerk.post("/visitors/new/", _form(_unit(), **changes))
    assert answer.status_code == 400
    errors = answer.context["form"].errors
    assert list(errors) == [field] and says in " ".join(errors[field]), errors
    assert not VisitorPass.objects.exists() and not AuditEntry.objects.exists()


def test_without_a_signing_key_the_page_says_so_in_one_line(db: None, store: OfficeDb) -> None:
    from django.test import override_settings

    from agent.office.web.visitors.models import VisitorPass

    clerk = signed_in("clerk")
    with override_settings(GATE_OFFICE_PASS_KEY=""):
        answer = clerk.post("/visitors/new/", _form(_unit()))
    text = answer.content.decode()
    assert answer.status_code == 200 and "start the workplace with --key" in text
    assert "Traceback" not in text and not VisitorPass.objects.exists()


# -- delivered and revoked at a real gate over mosquitto -----------------------------------
@pytest.fixture
def gate(make_app, make_config, broker, office_key):  # type: ignore[no-untyped-def]
    config = pass_config(office_key, **mqtt_table(broker, office_key))
    app: App = make_app(make_config(**config), clock=SystemClock())
    link = attach(app)
    app.start(threaded=True)
    assert link.conn.wait_connected(10)
    wait_for(lambda: app.events.depth() == 0, "start-up event sent")
    return app


def test_delivered_then_revoked_from_the_page_at_a_running_gate(  # type: ignore[no-untyped-def]
    db: None, store: OfficeDb, gate, broker, tmp_path: Path
) -> None:
    from django.test import override_settings

    from agent.office.web.audit.models import AuditEntry
    from agent.office.web.visitors.models import VisitorPass

    toml = office_toml(tmp_path, broker)
    clerk = signed_in("clerk")
    with override_settings(GATE_OFFICE_PASS_KEY="", GATE_OFFICE_CONFIG=str(toml)):
        issued = clerk.post("/visitors/new/", _form(_unit(), deliver="on"), follow=True)
        said = [str(m) for m in issued.context["messages"]]
        assert said == ["Visitor pass issued.", "test-site/g1: pass delivered"], said
        made = VisitorPass.objects.get()
        short = display_short(decode(made.code).short_code)
        assert gate.admit_pass("main", short, "guard:g-9").granted
        revoked = clerk.post(f"/visitors/{made.pk}/revoke/", follow=True)
    said = [str(m) for m in revoked.context["messages"]]
    assert said == ["Visitor pass revoked at the office.", "test-site/g1: pass revoked"], said
    assert gate.admit_pass("main", made.code, "guard:g-9").reason == "revoked"
    assert gate.admit_pass("main", short, "guard:g-9").reason == "revoked"
    made.refresh_from_db()
    assert made.revoked_at is not None and made.revoked_by is not None
    reasons = list(AuditEntry.objects.order_by("position").values_list("reason", flat=True))
    assert reasons == ["issued", "revoked"]
    page = clerk.get(f"/visitors/{made.pk}/").content.decode()
    assert "Send the revocation to the gates again" in page


def test_a_gate_that_cannot_be_reached_is_named_and_the_revocation_can_be_sent_again(
    db: None, store: OfficeDb, tmp_path: Path, office_key: Ed25519PrivateKey
) -> None:
    from django.test import override_settings

    from agent.office.web.visitors.models import VisitorPass

    toml = tmp_path / "office.toml"
    toml.write_text('signing_key_file = "office.key"\n[broker]\nhost = "127.0.0.1"\nport = 9\n')
    clerk = signed_in("manager")
    assert clerk.post("/visitors/new/", _form(_unit())).status_code == 302
    made = VisitorPass.objects.get()
    with override_settings(GATE_OFFICE_CONFIG=str(toml)):
        answer = clerk.post(f"/visitors/{made.pk}/revoke/", follow=True)
    said = [str(m) for m in answer.context["messages"]][1:]  # after "issued"
    assert said[0] == "Visitor pass revoked at the office."
    assert len(said) == 2 and said[1].startswith("test-site/g1: not reached (")
    assert "send it again" in said[1]
    made.refresh_from_db()
    assert made.revoked_at is not None


def test_the_pages_and_the_door_message_in_chinese(db: None, store: OfficeDb) -> None:
    clerk = signed_in("clerk", language="zh-hans")
    form = clerk.get("/visitors/new/").content.decode()
    assert "访客登记" in form and "被访住户房屋" in form and "发放访客通行证" in form
    unit = _unit()
    refused = clerk.post("/visitors/new/", _form(unit, doors=["garage"])).content.decode()
    assert "test-site/g1 没有门 garage" in refused and "main, side" in refused
    issued = clerk.post("/visitors/new/", _form(unit), follow=True).content.decode()
    assert "访客通行证已发放" in issued and "发送到访客手机" in issued
    assert "短码" in issued and "注销访客通行证" in issued


def test_a_pass_not_delivered_at_issue_is_sent_again_from_its_page(  # type: ignore[no-untyped-def]
    db: None, store: OfficeDb, gate, broker, tmp_path: Path
) -> None:
    """The gate was out of reach when the pass was issued; from the page, once it is back,
    the pass's short code works there. Each sending is audited."""
    from django.test import override_settings

    from agent.office.web.audit.models import AuditEntry
    from agent.office.web.visitors.models import VisitorPass

    away, there = tmp_path / "away.toml", office_toml(tmp_path, broker)
    away.write_text('signing_key_file = "office.key"\n[broker]\nhost = "127.0.0.1"\nport = 9\n')
    clerk = signed_in("clerk")
    with override_settings(GATE_OFFICE_PASS_KEY="", GATE_OFFICE_CONFIG=str(away)):
        issued = clerk.post("/visitors/new/", _form(_unit(), deliver="on"), follow=True)
    said = [str(m) for m in issued.context["messages"]]
    assert said[1].startswith("test-site/g1: not reached ("), said
    made = VisitorPass.objects.get()
    short = display_short(decode(made.code).short_code)
    assert gate.admit_pass("main", short, "guard:g-9").reason == "unknown"  # never delivered
    page = issued.content.decode()
    assert f'action="/visitors/{made.pk}/send/"' in page
    assert "Send the pass to its gates again" in page
    with override_settings(GATE_OFFICE_PASS_KEY="", GATE_OFFICE_CONFIG=str(there)):
        sent = clerk.post(f"/visitors/{made.pk}/send/", follow=True)
    assert [str(m) for m in sent.context["messages"]] == ["test-site/g1: pass delivered"]
    assert gate.admit_pass("main", short, "guard:g-9").granted
    reasons = list(AuditEntry.objects.order_by("position").values_list("reason", flat=True))
    assert reasons == ["issued", "sent again"]


def test_only_a_valid_pass_is_sent_again(db: None, store: OfficeDb) -> None:
    from django.utils import timezone

    from agent.office.web.audit.models import AuditEntry
    from agent.office.web.visitors.models import VisitorPass

    clerk = signed_in("manager")
    assert clerk.post("/visitors/new/", _form(_unit())).status_code == 302
    made = VisitorPass.objects.get()
    guard = signed_in("auditor")  # may look, may not send
    assert guard.post(f"/visitors/{made.pk}/send/").status_code == 403
    assert clerk.get(f"/visitors/{made.pk}/send/").status_code == 405
    ended = timezone.now() - timedelta(minutes=1)
    for change in ({"valid_until": ended}, {"revoked_at": timezone.now()}):
        VisitorPass.objects.filter(pk=made.pk).update(**change)
        answer = clerk.post(f"/visitors/{made.pk}/send/", follow=True)
        said = [str(m) for m in answer.context["messages"]][-1]
        assert said == "Only a pass that is still valid is sent to the gates."
        assert "Send the pass to its gates again" not in answer.content.decode()
    assert not AuditEntry.objects.filter(reason="sent again").exists()
    VisitorPass.objects.filter(pk=made.pk).update(purged_at=timezone.now(), code="")
    assert clerk.post(f"/visitors/{made.pk}/send/").status_code == 404
