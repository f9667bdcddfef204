"""A guard runs a fire drill in a real browser (headless Chromium, Debian's package,
driven by Playwright) against a gate on sim drivers: start it from the Drill page, see
the live view say it is a drill, stop it, read the report.

The README's picture of the drill page comes from
``CONSOLE_SHOTS=docs/console .venv/bin/pytest tests/test_drill_browser.py``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from agent.console.wiring import attach_console
from agent.core.clock import SystemClock
from tests.console_helpers import PASSWORD, add_guards
from tests.test_console_browser import page  # noqa: F401  (the browser fixture)


def test_a_guard_runs_a_fire_drill_in_the_browser(make_app, make_config, page: Page,  # noqa: F811  # type: ignore[no-untyped-def]
                                                  tmp_path: Path) -> None:  # fmt: skip
    shots = Path(os.environ.get("CONSOLE_SHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    app = make_app(make_config(console={"enabled": True, "port": 0}), clock=SystemClock())
    add_guards(app, "alice")
    part = attach_console(app)
    app.start()
    base = f"http://127.0.0.1:{part.port}"
    page.goto(base + "/login")
    page.fill("input[name=guard_id]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#live-state")).to_have_text("live")

    page.get_by_role("link", name="Drill", exact=True).click()
    page.select_option("select[name=kind]", "fire")
    page.fill("input[name=minutes]", "15")
    page.fill("input[name=note]", "quarterly drill with the fire warden")
    page.check("input[name=confirm]")
    page.once("dialog", lambda dialog: dialog.accept())  # "Start the drill? The doors ..."
    page.get_by_role("button", name="Start the drill").click()
    expect(page.locator(".ok")).to_have_text("Drill started: the doors it covers are released.")
    expect(page.locator(".drill")).to_contain_text("FIRE DRILL")
    assert not app.doors["main"].locked
    page.get_by_role("link", name="Live").click()
    expect(page.locator(".drill")).to_contain_text("FIRE DRILL running (by guard:alice)")

    contact: Any = app.devices.inputs["main.contact"]
    contact.set(True)
    app.settle()
    page.get_by_role("link", name="Drill", exact=True).click()
    page.get_by_role("button", name="Stop the drill now").click()
    expect(page.locator(".ok")).to_have_text("Drill stopped: its report is recorded.")
    expect(page.locator(".story")).to_contain_text("every door released")
    page.screenshot(path=str(shots / "drill.png"), full_page=True)  # the form and the report
    assert app.doors["main"].locked and app.mode.value == "normal"
    (ended,) = [e for e in app.events.recent(50) if e.type.value == "drill_ended"]
    assert ended.details["ended_by"] == "guard:alice" and ended.details["not_released"] == []
