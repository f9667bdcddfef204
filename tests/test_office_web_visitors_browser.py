"""A visitor pass issued in headless Chromium against ``gate-office web serve`` (uvicorn),
in both languages: the QR code on the page reads back as a pass the office key signed, and
its "send again" button answers in the clerk's language (a failure in red); then
the event page, open in the browser, shows an event the moment the store has it."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import zxingcpp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from playwright.sync_api import Page, expect

from agent.models.pass_codec import decode
from agent.office.db import open_store
from tests.office_browser_rig import browser, choose, page, served, sign_in, workplace
from tests.office_events_rig import event, gate_with_doors
from tests.test_pass_office import png_pixels

__all__ = ["browser", "page"]

WORDS = {
    "zh-hans": {
        "issue": "发放访客通行证",
        "issued": "访客通行证已发放",
        "live": "实时更新中",
        "again": "再次向门岗下发访客通行证",
        "not sent": "未发送到门岗\uff1ano broker",  # a full-width colon
    },
    "en": {
        "issue": "Issue visitor pass",
        "issued": "Visitor pass issued.",
        "live": "Updated live.",
        "again": "Send the pass to its gates again",
        "not sent": "Not sent to the gates: no broker",
    },
}


@pytest.fixture
def office(tmp_path: Path, office_key: Ed25519PrivateKey) -> Iterator[str]:
    """A served workplace with a clerk, the office key and an event store knowing g1."""
    state, events = workplace(tmp_path, ("clerk", "clerk")), tmp_path / "events.db"
    store = open_store(events)
    gate_with_doors(store, "test-site", "g1", "main", "side")
    store.close()
    with served(state, "--events-db", str(events), "--key", str(tmp_path / "office.key")) as base:
        yield base


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_issue_a_visitor_pass_and_see_its_qr_code_then_events_live(
    office: str, page: Page, language: str, tmp_path: Path, office_key: Ed25519PrivateKey
) -> None:
    sign_in(page, office, "clerk", language)
    page.goto(office + "/units/")
    page.fill("#id_building", "3")
    page.fill("#id_entrance", "2")
    page.fill("#id_room", "501")
    page.click("main button[type=submit]")
    page.goto(office + "/visitors/new/")
    choose(page, language)
    page.fill("#id_visitor_name", "王五")
    page.fill("#id_unit", "3-2-501")
    page.select_option("#id_gate", "test-site/g1")
    page.check("input[name=doors][value=main]")
    expect(page.locator("main button[type=submit]")).to_have_text(WORDS[language]["issue"])
    page.click("main button[type=submit]")
    expect(page.locator(".messages")).to_contain_text(WORDS[language]["issued"])
    qr = page.locator("img.qr")
    expect(qr).to_be_visible()
    png = base64.b64decode(str(qr.get_attribute("src")).split(",", 1)[1])
    width, height, pixels = png_pixels(png)
    (found,) = zxingcpp.read_barcodes(memoryview(pixels).cast("B", (height, width)))
    signed = decode(str(found.text))
    assert signed.verify(office_key.public_key())
    assert (signed.visitor_pass.unit, signed.visitor_pass.doors) == ("3-2-501", ["main"])
    page.screenshot(path=str(tmp_path / f"pass-{language}.png"), full_page=True)
    # sent again from its page: this workplace has no broker, and says so in one line
    expect(page.locator("#send-again")).to_have_text(WORDS[language]["again"])
    page.click("#send-again")
    failed = page.locator(".messages li.error")  # a failure in red, not in success's green
    expect(failed).to_contain_text(WORDS[language]["not sent"])
    expect(failed).to_have_css("color", "rgb(176, 0, 32)")
    expect(page.locator("img.qr")).to_be_visible()  # back on the pass's page

    page.goto(office + "/events/")
    expect(page.locator("#live")).to_contain_text(WORDS[language]["live"])
    store = open_store(tmp_path / "events.db")
    try:
        store.add_events([event("test-site", "g1", 1, datetime.now(UTC), "access_granted",
                                holder_id="h-live-1")])  # fmt: skip
    finally:
        store.close()
    expect(page.locator("#events tbody tr").first).to_contain_text("h-live-1")
