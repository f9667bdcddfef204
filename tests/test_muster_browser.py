"""A guard works a muster in a real browser (headless Chromium, Debian's package, driven
by Playwright): the fire input goes active while the live view is open, its banner
appears without a reload, the list is ticked off, and the page reads in both languages."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Page, expect

from agent.console.wiring import attach_console
from agent.core.clock import SystemClock
from tests.console_helpers import PASSWORD, add_guards
from tests.muster_helpers import CARD, enrol_holders, muster_config, set_fire
from tests.test_console_browser import page  # noqa: F401  (the browser fixture)
from tests.test_muster_console import present


def test_a_guard_works_the_muster_in_the_browser(make_app, make_config, page: Page,  # noqa: F811  # type: ignore[no-untyped-def]
                                                 tmp_path: Path) -> None:  # fmt: skip
    config = muster_config(make_config, console={"enabled": True, "port": 0, "language": "en"})
    app = make_app(config, clock=SystemClock())
    add_guards(app, "alice")
    part = attach_console(app)
    app.start()
    enrol_holders(app)
    for holder in ("R-1", "R-2"):
        present(app, CARD[holder], "main-in")
    base = f"http://127.0.0.1:{part.port}"
    page.goto(base + "/login")
    page.fill("input[name=guard_id]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#live-state")).to_have_text("live")
    set_fire(app, True)
    app.settle()
    banner = page.locator("#banners .banner")  # pushed by the live stream: no reload
    expect(banner).to_contain_text("MUSTER open: 2 of 2 not yet accounted for")
    banner.get_by_role("link", name="Open the muster list").click()
    page.locator("tr", has_text="R-1").get_by_role("button", name="Tick off").click()
    expect(page.locator(".ok")).to_have_text("Ticked off: accounted for.")
    expect(page.locator(".counts")).to_have_text("2 on the list, 1 accounted for, 1 not yet")
    page.goto(base + "/muster?lang=zh-Hans")
    expect(page.locator("h1")).to_have_text("人员清点")
    expect(page.locator(".counts")).to_contain_text("已确认 1 人")
    shots = Path(os.environ.get("CONSOLE_SHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "muster-zh-Hans.png"), full_page=True)
    set_fire(app, False)
    app.settle()
    page.reload()
    expect(page.locator("#no-muster")).to_be_visible()
