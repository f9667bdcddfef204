"""A visitor pass issued in headless Chromium against ``gate-office web serve`` (uvicorn),
in both languages: the QR code on the page reads back as a pass the office key signed; then
the event page, open in the browser, shows an event the moment the store has it."""

from __future__ import annotations

import base64
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import zxingcpp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from playwright.sync_api import Page, expect

from agent.models.pass_codec import decode
from agent.office.db import open_store
from tests.office_events_rig import event, gate_with_doors
from tests.office_web_rig import ROOT, gate_office, own_environment
from tests.test_office_web_browser import PASSWORD, _choose, _free_port, _sign_in, page
from tests.test_pass_office import png_pixels

__all__ = ["page"]

WORDS = {
    "zh-hans": {"issue": "发放访客通行证", "issued": "访客通行证已发放", "live": "实时更新中"},
    "en": {
        "issue": "Issue visitor pass",
        "issued": "Visitor pass issued.",
        "live": "Updated live.",
    },
}


@pytest.fixture
def office(tmp_path: Path, office_key: Ed25519PrivateKey) -> Iterator[str]:
    """A served workplace with a clerk, the office key and an event store knowing g1."""
    state, events = str(tmp_path / "web"), tmp_path / "events.db"
    assert gate_office("web", "init", "--state", state).returncode == 0
    (tmp_path / "pw").write_text(PASSWORD)
    made = gate_office("web", "createstaff", "clerk", "--role", "clerk",
                       "--password-file", str(tmp_path / "pw"), "--state", state)  # fmt: skip
    assert made.returncode == 0, made.stderr
    store = open_store(events)
    gate_with_doors(store, "test-site", "g1", "main", "side")
    store.close()
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "agent.office.cli", "web", "serve", "--state", state,
         "--port", str(port), "--events-db", str(events), "--key", str(tmp_path / "office.key")],
        cwd=ROOT, env=own_environment(),
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(base + "/signin/", timeout=2).close()
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "server did not start"
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_issue_a_visitor_pass_and_see_its_qr_code_then_events_live(
    office: str, page: Page, language: str, tmp_path: Path, office_key: Ed25519PrivateKey
) -> None:
    _sign_in(page, office, "clerk", language)
    page.goto(office + "/units/")
    page.fill("#id_building", "3")
    page.fill("#id_entrance", "2")
    page.fill("#id_room", "501")
    page.click("main button[type=submit]")
    page.goto(office + "/visitors/new/")
    _choose(page, language)
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

    page.goto(office + "/events/")
    expect(page.locator("#live")).to_contain_text(WORDS[language]["live"])
    store = open_store(tmp_path / "events.db")
    try:
        store.add_events([event("test-site", "g1", 1, datetime.now(UTC), "access_granted",
                                holder_id="h-live-1")])  # fmt: skip
    finally:
        store.close()
    expect(page.locator("#events tbody tr").first).to_contain_text("h-live-1")
