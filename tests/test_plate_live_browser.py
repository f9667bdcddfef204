"""The live view's vehicles in a real browser, in both languages (issue 22 item 6): a
camera read appears through the live stream with its picture (fetched with the guard's
session) and its outcome, and the vehicle page is one click away."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from agent.console.server import ConsolePart
from agent.gate.app import App
from tests.console_helpers import PASSWORD
from tests.test_console_browser import page  # noqa: F401  (the browser fixture)
from tests.test_plate_console import JPEG, console, events, show

__all__ = ["console"]

WORDS = {
    "en": {"sign_in": "Sign in", "live": "live", "entry": "Entry at vehicle",
           "none": "No vehicle read yet.", "vehicles": "Vehicles"},
    "zh-Hans": {"sign_in": "登录", "live": "实时", "entry": "vehicle",
                "none": "暂无车辆识别记录。", "vehicles": "车辆"},
}  # fmt: skip


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_a_read_appears_live_with_its_picture(
    console: tuple[App, ConsolePart],
    page: Page,  # noqa: F811
    lang: str,
) -> None:
    app, part = console
    w = WORDS[lang]
    base = f"http://127.0.0.1:{part.port}"
    page.goto(f"{base}/login?lang={lang}")
    page.fill("input[name=guard_id]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name=w["sign_in"]).click()
    expect(page.locator("#live-state")).to_have_text(w["live"])
    expect(page.locator("#vehicles")).to_contain_text(w["none"])
    show(app, "京A12345", 0.95)
    (granted,) = events(app, "access_granted")
    item = page.locator("#vehicles li").first
    expect(item).to_contain_text(w["entry"])
    expect(page.locator("#vehicles li.none")).to_have_count(0)
    src = item.locator("img").get_attribute("src")
    assert src == f"/plates/picture?id={granted.details['picture']}"
    answer = page.request.get(base + src)  # with the guard's session cookie
    assert answer.status == 200 and answer.body() == JPEG
    page.get_by_role("link", name=w["vehicles"]).first.click()
    expect(page).to_have_url(f"{base}/plates")
