"""The guard at 2 a.m. (issue 17, item 23), in a real browser, in both languages: a new
alarm beeps (Web Audio, seen through an init script) and changes the title; a forced door
is red in the door table; old alarms share one note box; a drill asks before it releases
the doors; each door has its own open button; a dark theme; the heading names the site and
gate and the active tab is marked. Screenshots go to ``$CONSOLE_SHOTS`` (else a temporary
folder) as ``live-<lang>.png`` and ``drill-<lang>.png``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from agent.console.wiring import attach_console
from agent.core.clock import SystemClock
from tests.console_helpers import PASSWORD, add_guards
from tests.test_console_browser import page  # noqa: F401  (the browser fixture)

COUNT_BEEPS = """
window.__beeps = 0;
const Real = window.AudioContext;
window.AudioContext = class extends Real {
  createOscillator() { window.__beeps += 1; return super.createOscillator(); }
};
"""
WORDS = {
    "en": {"sign_in": "Sign in", "live": "live", "alarm": "ALARM", "forced": "DOOR FORCED",
           "open": "Open main", "opened": "Door opened.", "drill": "Drill",
           "start": "Start the drill", "ack_all": "Acknowledge all", "none": "No open alarms."},
    "zh-Hans": {"sign_in": "登录", "live": "实时", "alarm": "报警", "forced": "强行开门",
                "open": "打开 main", "opened": "门已打开。", "drill": "演练",
                "start": "开始演练", "ack_all": "全部确认", "none": "没有未处理的报警。"},
}  # fmt: skip
RED = "rgb(180, 35, 24)"


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_the_guard_at_2am(make_app, make_config, page: Page, tmp_path: Path,  # noqa: F811  # type: ignore[no-untyped-def]
                          lang: str) -> None:  # fmt: skip
    w = WORDS[lang]
    shots = Path(os.environ.get("CONSOLE_SHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    app = make_app(make_config(console={"enabled": True, "port": 0, "language": lang}),
                   clock=SystemClock())  # fmt: skip
    add_guards(app, "alice")
    part = attach_console(app)
    app.start()
    page.add_init_script(COUNT_BEEPS)
    base = f"http://127.0.0.1:{part.port}"
    page.goto(base + "/login")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    page.fill("input[name=guard_id]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name=w["sign_in"]).click()
    expect(page.locator("#live-state")).to_have_text(w["live"])
    expect(page.locator("header.top")).to_contain_text("test-site · g1")
    expect(page.locator('nav a[href="/"]')).to_have_attribute("aria-current", "page")
    title = page.title()
    assert w["alarm"] not in title

    contact: Any = app.devices.inputs["main.contact"]
    contact.set(True)  # the door opens while locked: forced
    expect(page.locator("#alarms li.alarm.forced")).to_contain_text(w["forced"])
    page.wait_for_function("window.__beeps > 0")  # the alarm sounded
    expect(page).to_have_title(f"(1) {w['alarm']} - {title}")
    door = page.locator('td[data-door="main"]')
    expect(door).to_have_class("door-alarm")
    assert door.evaluate("cell => getComputedStyle(cell).backgroundColor") == RED
    contact.set(False)
    contact.set(True)  # forced again: two alarms, one note box
    expect(page.locator("#alarms li.alarm")).to_have_count(2)
    expect(page.locator("#alarms input[name=note]")).to_have_count(1)
    page.screenshot(path=str(shots / f"live-{lang}.png"), full_page=True)
    page.locator("#alarms input[name=note]").fill("checked: a resident with a heavy box")
    page.get_by_role("button", name=w["ack_all"]).click()
    expect(page.locator("#alarms")).to_contain_text(w["none"])
    assert len([e for e in app.events.recent(100) if e.type.value == "alarm_acknowledged"]) == 2
    contact.set(False)

    page.get_by_role("button", name=w["open"]).click()  # the plain open button
    expect(page.locator(".ok")).to_have_text(w["opened"])
    (opened,) = [e for e in app.events.recent(100) if e.type.value == "remote_open"]
    assert opened.door == "main" and opened.details["by"] == "guard:alice"

    page.locator("#theme").click()  # dark, remembered for the next pages
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(15, 20, 25)"

    page.get_by_role("link", name=w["drill"], exact=True).click()
    expect(page.locator('nav a[href="/drill"]')).to_have_attribute("aria-current", "page")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == background
    page.check("input[name=confirm]")
    asked: list[str] = []

    def dismiss(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.get_by_role("button", name=w["start"]).click()
    page.wait_for_timeout(500)
    assert asked and app.mode.value == "normal"  # not started
    assert not [e for e in app.events.recent(100) if e.type.value == "drill_started"]
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=w["start"]).click()
    expect(page.locator(".drill")).to_be_visible()
    assert app.mode.value == "release"
    page.screenshot(path=str(shots / f"drill-{lang}.png"), full_page=True)
