"""A resident's PIN for card plus PIN doors, set and removed at the card desk in headless
Chromium against ``gate-office web serve`` (uvicorn), in both languages: an easy PIN is
refused beside its field, a good one is confirmed and never shown again."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.office_browser_rig import browser, page, served, sign_in, workplace
from tests.office_web_rig import ROOT, own_environment
from tests.test_office_cards_browser import SEED

__all__ = ["browser", "page"]

WORDS = {
    "zh-hans": {"none": "未设置门禁密码", "easy": "太容易被猜中", "set": "门禁密码已设置",
                "is_set": "已设置门禁密码", "removed": "门禁密码已清除", "remove": "清除门禁密码"},
    "en": {"none": "No PIN", "easy": "too easy to guess", "set": "PIN set",
           "is_set": "A PIN is set", "removed": "PIN removed.", "remove": "Remove PIN"},
}  # fmt: skip


@pytest.fixture
def office(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A served workplace with a clerk and one resident."""
    state = workplace(tmp_path, ("clerk", "clerk"))
    seeded = subprocess.run(
        [sys.executable, "-c", SEED.format(state=state)],
        cwd=ROOT, env=own_environment(), capture_output=True, text=True, check=True,
    )  # fmt: skip
    with served(state) as base:
        yield {"base": base, "resident": int(seeded.stdout.split()[-1])}


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_clerk_sets_and_removes_a_residents_pin(
    office: dict[str, Any], page: Page, language: str
) -> None:
    words = WORDS[language]
    sign_in(page, office["base"], "clerk", language)
    cards = f"{office['base']}/cards/residents/{office['resident']}/"
    page.goto(cards)
    expect(page.locator("#pin-state")).to_contain_text(words["none"])
    page.fill("#set-pin #id_pin", "1234")
    page.fill("#set-pin #id_again", "1234")
    page.click("#set-pin button[type=submit]")
    expect(page.locator("#set-pin")).to_contain_text(words["easy"])
    expect(page.locator("#id_pin")).to_have_value("")  # never typed back into the page
    page.fill("#set-pin #id_pin", "20481")
    page.fill("#set-pin #id_again", "20481")
    page.click("#set-pin button[type=submit]")
    expect(page.locator("main")).to_contain_text(words["set"])
    page.goto(cards)
    expect(page.locator("#pin-state")).to_contain_text(words["is_set"])
    assert "20481" not in page.content()
    page.click(f"#set-pin button[name=remove]:has-text('{words['remove']}')")
    expect(page.locator("main")).to_contain_text(words["removed"])
    page.goto(cards)
    expect(page.locator("#pin-state")).to_contain_text(words["none"])
