"""An emergency plan written, approved and drilled in headless Chromium, in both languages:
a manager writes the plan (a bad door first, told beside the field), approves it, schedules
a drill, starts it at the simulated gate, ticks a step off and stops it; the drill's page
then compares the gate's report with the plan. Real parts: ``gate-office web serve``
(uvicorn), ``gate-office serve``, mosquitto, ``gate-agent run`` on the simulator's config.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from tests.helpers import AgentProcess, write_sim_config
from tests.office_browser_rig import browser, gate_mqtt, page, served, sign_in, workplace
from tests.office_proc import OfficeProcess
from tests.test_office_web_plans_gate import GATE, _doors_known, _until

__all__ = ["browser", "page"]

WORDS = {
    "zh-hans": {"bad_door": "物业中心不知道门", "approved": "版本已批准",
                "started": "已在预案涉及的出入口开始演练", "stopped": "演练已停止",
                "in_time": "按时开启"},
    "en": {"bad_door": "the office knows no door", "approved": "Version approved",
           "started": "Drill started at the plan", "stopped": "Drill stopped",
           "in_time": "released in time"},
}  # fmt: skip


@pytest.fixture
def office(tmp_path: Path, broker: Any, office_key: Any) -> Iterator[str]:
    """The gate, the office service and the served workplace with a manager."""
    service = OfficeProcess(tmp_path / "office", broker, office_key)
    service.start()
    service.wait_subscribed()
    agent = AgentProcess(write_sim_config(tmp_path, mqtt=gate_mqtt(broker, office_key)))
    state = workplace(tmp_path, ("manager", "manager"))
    flags = ("--events-db", str(service.db), "--office-config", str(service.config))
    try:
        with served(state, *flags) as base:
            _until(lambda: _doors_known(service.db), "the office never heard the gate's doors")
            yield base
    finally:
        agent.terminate(9)
        service.kill()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_plan_written_approved_and_drilled_at_the_gate(
    office: str, page: Page, language: str, tmp_path: Path
) -> None:
    words = WORDS[language]
    sign_in(page, office, "manager", language)
    page.goto(office + "/plans/fire/draft/")
    page.fill("#id_title", "疏散 / Evacuation")
    page.select_option("#id_drill_kind", "evacuation")
    page.fill("#id_roles", "warden: manager")
    page.fill("#id_steps", "1 | warden | Sound the alarm\n2 | warden | Open the gates")
    page.fill("#id_doors", f"release {GATE}/vehicle\nrelease {GATE}/roof")
    page.fill("#id_contacts", "Fire brigade | emergency | 119")
    page.click("main button[type=submit]")
    expect(page.locator("#id_doors_error")).to_contain_text(words["bad_door"])
    page.fill("#id_doors", f"release {GATE}/vehicle\nrelease {GATE}/pedestrian")
    page.click("main button[type=submit]")
    page.click("#approve")
    expect(page.locator(".messages")).to_contain_text(words["approved"])

    soon = datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(hours=1)
    page.fill("#id_scheduled_at", soon.strftime("%Y-%m-%dT%H:%M"))
    page.click("#schedule button[type=submit]")
    page.click("#start")
    expect(page.locator(".messages")).to_contain_text(words["started"])
    page.select_option("#id_step", "0")
    page.click("#tick button[type=submit]")
    expect(page.locator("#ticks")).to_contain_text("manager")
    page.click("#stop")
    expect(page.locator(".messages")).to_contain_text(words["stopped"])
    expect(page.locator("#drill-state")).to_have_attribute("data-state", "reported")
    for door in ("vehicle", "pedestrian"):
        row = page.locator(f"#door-report tr[data-door='{GATE}/{door}']")
        expect(row).to_have_attribute("data-state", "on_time")
        expect(row).to_contain_text(words["in_time"])
    expect(page.locator("#step-report tr[data-step='0']")).to_have_attribute("data-late", "0")
    page.screenshot(path=str(tmp_path / f"drill-{language}.png"), full_page=True)
