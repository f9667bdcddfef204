"""An abnormal behaviour case in headless Chromium against ``gate-office web serve``, in both
languages: a case officer records the case, a dissuasion, then the verbal warning the ladder
suggests, reports it to the police and downloads the police report (read back with pypdf:
the gate events of the window and the guard named in them, no ID or phone number); a clerk
is then refused the case and does not see it listed."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from pypdf import PdfReader

from agent.office.db import open_store
from agent.office.web.demo import DEMO_PASSWORD
from tests.office_browser_rig import PASSWORD, VIEWPORT, browser, served, sign_in, workplace
from tests.office_events_rig import event
from tests.test_office_web_behaviour import INCIDENT, MEASURED, OCCURRED, REPORTED

__all__ = ["browser"]
expect.set_options(timeout=15_000)

WORDS = {
    "zh-hans": {
        "section": "住户异常行为",
        "dissuasion": "劝阻",
        "verbal": "口头批评教育",
        "future": "时间不能晚于现在",
        "police": "报警记录",
        "refused": "无权访问",
    },
    "en": {
        "section": "Abnormal behaviour",
        "dissuasion": "dissuasion",
        "verbal": "verbal warning",
        "future": "This time is in the future.",
        "police": "Policereport:case",
        "refused": "Not allowed",
    },
}


@pytest.fixture
def office(tmp_path: Path) -> Iterator[str]:
    """The demo register served, a case officer, and an event store with the incident's
    window: a guard opening the lobby remotely."""
    state = workplace(tmp_path, ("officer", "case officer"), demo=True)
    events = tmp_path / "events.sqlite3"
    store = open_store(events)
    store.add_events([
        event("s1", "north", 1, INCIDENT - timedelta(minutes=3), "access_granted",
              door="lobby", holder_id="R-101"),
        event("s1", "north", 2, INCIDENT + timedelta(minutes=4), "remote_open",
              door="lobby", by="guard:wang", request_id="r1"),
    ])  # fmt: skip
    store.close()
    with served(state, "--events-db", str(events)) as base:
        yield base


def _sign_in(browser: Browser, base: str, username: str, password: str, language: str) -> Page:
    page = browser.new_context(viewport=VIEWPORT).new_page()
    sign_in(page, base, username, language, password)
    return page


def _measure(page: Page, rung: str, suggested: str) -> None:
    page.click("#measure-new")
    expect(page.locator("#standing .suggested")).to_have_text(suggested)
    page.select_option("#id_resident", label="王伟")
    page.select_option("#id_rung", rung)
    page.fill("#id_at", MEASURED)
    page.fill("#id_note", f"<b>{rung}</b>")
    page.click("#measure-form button[type=submit]")
    expect(page.locator("#measures")).to_contain_text(f"<b>{rung}</b>")


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_behaviour_case_warned_reported_and_refused_to_a_clerk(
    office: str, browser: Browser, language: str
) -> None:
    words = WORDS[language]
    page = _sign_in(browser, office, "officer", PASSWORD, language)
    page.goto(office + "/cases/")
    page.click("#behaviour-new")
    page.fill("#id_title", "<script>alert(1)</script> stairwell")
    page.select_option("#id_unit", label="A-12")
    page.select_option("#id_residents", label="王伟 (A-12)")
    page.select_option("#id_behaviour", "harassment")
    page.fill("#id_occurred_at", "2099-12-04T21:30")  # in the future: refused beside the field
    page.fill("#id_description", "Shouted at the neighbours.")
    page.select_option("#id_owner", label="officer")
    page.click("#behaviour-form button[type=submit]")
    expect(page.locator("#behaviour-form")).to_contain_text(words["future"])
    page.fill("#id_occurred_at", OCCURRED)
    page.click("#behaviour-form button[type=submit]")
    expect(page.locator("main h1")).to_contain_text("<script>alert(1)</script> stairwell")
    expect(page.locator("#behaviour h2")).to_have_text(words["section"])
    case_url = page.url
    _measure(page, "dissuasion", words["dissuasion"])
    _measure(page, "verbal_warning", words["verbal"])  # the ladder's next rung
    page.click("#police-new")
    page.fill("#id_reported_at", REPORTED)
    page.fill("#id_station", "新街口派出所")
    page.fill("#id_officer", "李警官")
    page.fill("#id_number", "JX-2026-0042")
    page.click("#police-form button[type=submit]")
    expect(page.locator("#police-reports")).to_contain_text("JX-2026-0042")
    with page.expect_download() as download:
        page.click("#police-pdf")
    pdf = Path(download.value.path()).read_bytes()
    pages = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    text = "".join(pages.replace("\x00", "").split())  # see test_office_web_behaviour._text
    for expected in (words["police"], "<script>alert(1)</script>stairwell", "王伟", "A-12",
                     "新街口派出所", "JX-2026-0042", "s1/northlobbyremote_open",
                     "wang"):  # fmt: skip
        assert expected in text, expected
    assert "110105" not in text and "13800138001" not in text and "R-101" not in text

    clerk = _sign_in(browser, office, "clerk", DEMO_PASSWORD, language)
    clerk.goto(office + "/cases/")
    expect(clerk.locator("#cases")).not_to_contain_text("stairwell")
    clerk.goto(case_url)
    expect(clerk.locator("main h1")).to_have_text(words["refused"])
