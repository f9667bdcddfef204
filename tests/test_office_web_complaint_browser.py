"""A complaint in headless Chromium, in both languages: entered from the paper form by a
clerk, accepted, investigated, measures recorded, answered (what was done, when and how the
resident was told) and closed, then read on its timeline; an older complaint past its due
time is flagged on the home page's dashboard. The server is ``gate-office web serve`` on the
demo register."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from agent.office.web.demo import DEMO_PASSWORD
from tests.office_browser_rig import browser, page, served, shots_folder, sign_in, workplace

__all__ = ["browser", "page"]

expect.set_options(timeout=15_000)

WORDS = {
    "zh-hans": {"closed": "已反馈处理结果 → 已结案", "answer": "反馈处理结果", "overdue": "已超期"},
    "en": {"closed": "answered → closed", "answer": "Record the answer", "overdue": "overdue"},
}


@pytest.fixture
def office(tmp_path: Path) -> Iterator[str]:
    """The demo register served; its base URL."""
    with served(workplace(tmp_path, demo=True)) as base:
        yield base


def _enter(page: Page, base: str, title: str, received: str) -> None:
    page.goto(base + "/cases/complaints/new/")
    page.fill("#id_title", title)
    page.fill("#id_resident_name", "王伟")
    page.select_option("#id_unit", index=1)
    page.fill("#id_description", "Drilling after 22:00, three nights running.")
    page.fill("#id_received_at", received)
    page.select_option("#id_owner", label="clerk")
    page.click("#complaint-new button")
    expect(page.locator("#case-step")).to_be_visible()


def _step(page: Page, action: str, **fields: str) -> None:
    page.select_option("#case-step #id_action", action)
    for name, value in fields.items():
        page.fill(f"#case-step #id_{name}", value)
    page.click("#case-step button")
    expect(page.locator("#case-step .errorlist")).to_have_count(0)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_complaint_from_the_form_to_answered_and_closed(
    office: str, page: Page, language: str, tmp_path: Path
) -> None:
    shots = shots_folder(tmp_path)
    sign_in(page, office, "clerk", language, DEMO_PASSWORD)
    now = datetime.now()
    _enter(page, office, "Noise at night", (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    _step(page, "accept")
    _step(page, "investigate", note="Spoke to the neighbours in 502.")
    _step(page, "measures", note="Unit 502 warned in writing.")
    page.select_option("#case-step #id_action", "answer")
    page.click("#case-step button")  # the answer's fields are needed: told beside them
    expect(page.locator("#case-step .errorlist").first).to_be_visible()
    _step(page, "answer", answer="The neighbour was warned; no noise since.",
          told_at=now.strftime("%Y-%m-%dT%H:%M"), told_how="phone")  # fmt: skip
    _step(page, "close")
    expect(page.locator("#case")).to_contain_text("The neighbour was warned; no noise since.")
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text(WORDS[language]["answer"])
    expect(timeline).to_contain_text(WORDS[language]["closed"])
    expect(timeline).to_contain_text("Spoke to the neighbours in 502.")
    expect(timeline.locator("tbody tr")).to_have_count(6)

    _enter(page, office, "Water leak", (now - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M"))
    page.goto(office + "/")
    overdue = page.locator("#dashboard-overdue")
    expect(overdue).to_contain_text("Water leak")
    expect(overdue).to_contain_text(WORDS[language]["overdue"])
    expect(overdue).not_to_contain_text("Noise at night")
    if language == "zh-hans":
        page.screenshot(path=str(shots / "dashboard.png"), full_page=True)
