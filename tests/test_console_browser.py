"""The guard console in a real browser: headless Chromium (Debian's package, installed by
./dev) driven by Playwright, against a gate on sim drivers linked to a real mosquitto.

One walk through a guard's shift: sign in, watch an entry arrive live, register a visitor
and open the door, acknowledge an alarm with a note, open an incident, admit a visitor by
the code of their pass (then see it refused, used up); the office receives those events.
A screenshot of every page goes to ``$CONSOLE_SHOTS``, else to the test's temporary folder;
the README's pictures come from
``CONSOLE_SHOTS=docs/console .venv/bin/pytest tests/test_console_browser.py``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from agent.console.wiring import attach_console
from agent.core.clock import SystemClock
from agent.link.wiring import attach
from tests.conftest import enroll, mqtt_table
from tests.console_helpers import PASSWORD, add_guards
from tests.mqtt_helpers import collect_events, office
from tests.pass_rig import issue

CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 412, "height": 880}
expect.set_options(timeout=15_000)  # a loaded CI machine; each wait ends as soon as it is met


@pytest.fixture
def page() -> Iterator[Page]:
    with sync_playwright() as play:
        browser = play.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser.new_page(viewport=PHONE, device_scale_factor=1)  # type: ignore[arg-type]
        finally:
            browser.close()


def test_a_guards_shift_in_the_browser(make_app, make_config, broker, office_key, page: Page,  # type: ignore[no-untyped-def]
                                       tmp_path: Path) -> None:  # fmt: skip
    shots = Path(os.environ.get("CONSOLE_SHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    config = make_config(
        mqtt=mqtt_table(broker, office_key),
        console={"enabled": True, "port": 0},
        # with a console the button only logs: the guard checks ID, then opens from the page
        inputs={"visitor_button": {"driver": "sim", "action": "log", "door": "main"}},
    )
    app = make_app(config, clock=SystemClock())
    enroll(app, "uid:04A224B2", holder_id="R-104", unit="B-12")
    add_guards(app, "alice")
    link = attach(app)
    part = attach_console(app)
    with office(broker, client_id="office-console-test") as desk:
        app.start()
        assert link.conn.wait_connected(10)
        base = f"http://127.0.0.1:{part.port}"

        page.goto(base + "/")  # signed out: the sign-in page
        page.fill("input[name=guard_id]", "alice")
        page.fill("input[name=password]", PASSWORD)
        page.screenshot(path=str(shots / "sign-in.png"))
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("#live-state")).to_have_text("live")

        reader: Any = app.devices.readers["side-in"]
        reader.present("uid:04A224B2")
        reader.present("uid:0BADCAFE")
        feed = page.locator("#feed")
        expect(feed).to_contain_text("Entry at side (in): resident R-104, unit B-12")
        expect(feed).to_contain_text("Denied at side: card not on the list")

        app.devices.inputs["visitor"].press()  # type: ignore[attr-defined]
        page.locator("#pending a", has_text="Register").click()
        page.fill("input[name=host_unit]", "C-7")
        page.fill("input[name=purpose]", "plumber")
        page.fill("input[name=party_size]", "2")
        page.fill("input[name=plate]", "ABC 123")
        page.select_option("select[name=open_door]", "main")
        page.screenshot(path=str(shots / "visitor.png"), full_page=True)
        relay: Any = app.hardware.relays["main"]
        moves = len(relay.history)
        page.get_by_role("button", name="Register").click()
        expect(page.locator(".ok")).to_have_text("Visitor registered and the door opened.")
        assert relay.history[moves:][:1] == [(relay.history[moves][0], True)]  # pulsed open

        app.devices.readers["side-in"].tamper(True)  # type: ignore[attr-defined]
        alarm = page.locator("#alarms li.alarm.tamper")
        expect(alarm).to_contain_text("TAMPER")
        expect(feed).to_contain_text("Visitor for unit C-7")
        page.screenshot(path=str(shots / "live.png"), full_page=True)
        page.locator("#alarms input[name=note]").fill("cover knocked by a van; refitted")
        page.get_by_role("button", name="Acknowledge the newest").click()
        expect(page.locator(".ok")).to_have_text("Alarm acknowledged.")
        expect(page.locator("#alarms")).to_contain_text("No open alarms.")

        page.get_by_role("link", name="Incidents").click()
        page.select_option("select[name=kind]", "damage")
        page.select_option("select[name=police_called]", "yes")
        page.fill("input[name=police_called_at]", "14:05")
        page.fill("textarea[name=notes]", "van hit the barrier arm")
        page.screenshot(path=str(shots / "incidents.png"), full_page=True)
        page.get_by_role("button", name="Open incident").click()
        expect(page.locator(".ok")).to_have_text("Incident opened.")
        expect(page.locator(".story")).to_contain_text("van hit the barrier arm")
        page.screenshot(path=str(shots / "incident.png"), full_page=True)

        visitor_pass = issue(office_key, datetime.now(UTC).replace(microsecond=0), uses=1)
        page.get_by_role("link", name="Pass").click()
        page.select_option("select[name=door]", "main")
        page.fill("input[name=code]", visitor_pass.text)
        page.screenshot(path=str(shots / "pass.png"), full_page=True)
        page.get_by_role("button", name="Check and admit").click()
        expect(page.locator(".ok")).to_have_text("Pass accepted: the door opened.")
        page.fill("input[name=code]", visitor_pass.text)  # its only use is gone
        page.get_by_role("button", name="Check and admit").click()
        expect(page.locator(".error")).to_contain_text("Refused: used up")

        wanted = {"visitor_registered", "alarm_acknowledged", "incident_opened", "pass_used"}
        seen = collect_events(desk, want=len(app.events.recent(1000)))
        by_type = {e["type"]: e for e in seen.values() if e["type"] in wanted}
        assert set(by_type) == wanted
        assert by_type["incident_opened"]["details"]["guard"] == "alice"
        note = by_type["alarm_acknowledged"]["details"]["note"]
        assert note == "cover knocked by a van; refitted"
