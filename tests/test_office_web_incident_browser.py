"""An incident from the simulated gate to a closed case, in headless Chromium, in both
languages: a door forced at ``gate-agent run`` (simulated devices, real mosquitto) is stored
by ``gate-office serve``, made a case by ``gate-office web watch``, and acknowledged and
closed by a manager in ``gate-office web serve``. Every part is the real command."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.helpers import AgentProcess, cli, write_sim_config
from tests.mqtt_helpers import wait_for
from tests.office_browser_rig import (
    browser,
    gate_mqtt,
    office_cli,
    page,
    served,
    sign_in,
    workplace,
)
from tests.office_proc import OfficeProcess

__all__ = ["browser", "page"]

WORDS = {
    "zh-hans": {"seen": "物业管理处已确认收到", "acknowledge": "确认收到", "accepted": "已受理",
                "closed": "已结案", "step": "记录此步骤"},
    "en": {"seen": "Acknowledged by the office", "acknowledge": "Acknowledge",
           "accepted": "accepted", "closed": "closed", "step": "Record the step"},
}  # fmt: skip


@pytest.fixture
def site(tmp_path: Path, broker: Any, office_key: Any) -> Iterator[tuple[str, Path]]:
    """The simulated gate, the office service, the workplace and its watch worker; the
    workplace's address and the gate's config."""
    office = OfficeProcess(tmp_path / "office", broker, office_key)
    office.start()
    office.wait_subscribed()
    agent = AgentProcess(write_sim_config(tmp_path, mqtt=gate_mqtt(broker, office_key)))
    state = workplace(tmp_path, ("boss", "manager"))
    where = ["--office-config", str(office.config), "--events-db", str(office.db)]
    watch = office_cli("web", "watch", "--state", state, *where, "--poll", "0.2",
                       log=tmp_path / "watch.log")  # fmt: skip
    try:
        with served(state, *where, log=tmp_path / "web.log") as base:
            yield base, agent.config
    finally:
        watch.terminate()
        code = watch.wait(timeout=10)  # the watch worker stops cleanly on SIGTERM
        assert code == 0, (tmp_path / "watch.log").read_text(errors="replace")[-3000:]
        agent.terminate()
        office.stop()
    assert "Traceback" not in (tmp_path / "watch.log").read_text()


def _case_listed(page: Page, base: str) -> bool:
    page.goto(base + "/cases/")
    return page.locator("#cases a").count() > 0


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_forced_door_arrives_as_a_case_acknowledged_and_closed(
    site: tuple[str, Path], page: Page, language: str
) -> None:
    base, gate = site
    w = WORDS[language]
    sign_in(page, base, "boss", language)

    cli(gate, "sim", "door", "open", "--door", "pedestrian")  # locked: forced open
    cli(gate, "sim", "door", "close", "--door", "pedestrian")
    wait_for(lambda: _case_listed(page, base), 30, "the case from the gate")
    page.locator("#cases a").first.click()
    # the case is written in the site's language (zh-hans), whoever reads it
    expect(page.locator("h1")).to_contain_text("强行开门 · palm-grove/main-gate pedestrian")
    expect(page.locator("#case-sources")).to_contain_text("door_forced_open")
    expect(page.locator("#case-around")).to_contain_text("door_forced_cleared")
    page.get_by_role("button", name=w["acknowledge"]).click()
    expect(page.locator("#case-state")).to_have_text(w["accepted"])
    expect(page.locator("#case-acknowledge")).to_have_count(0)
    expect(page.locator("#timeline")).to_contain_text(w["seen"])
    for action in ("investigate", "measures", "answer", "close"):
        page.select_option("#id_action", action)
        page.fill("#id_note", f"{action}: door checked, latch repaired")
        if action == "answer":
            page.fill("#id_answer", "latch repaired")
            page.fill("#id_told_at", "2026-01-05T10:00")
            page.fill("#id_told_how", "notice board")
        page.get_by_role("button", name=w["step"]).click()
    expect(page.locator("#case-state")).to_have_text(w["closed"])
    expect(page.locator("#timeline")).to_contain_text("boss")
