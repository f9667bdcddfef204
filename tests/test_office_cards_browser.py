"""A card issued in the browser is granted at the gate, in zh-Hans and in English.

One walk on real parts: `gate-office web serve --desk-reader sim` (uvicorn) and `gate-office
web deliver` as processes, mosquitto, `gate-agent run` on the simulator's config, Debian's
Chromium through Playwright. In Chinese the clerk taps a card on the simulated desk reader;
in English a keyboard-wedge reader types the number into the focused field and presses
Enter. Each time the change page goes from pending to applied and the gate grants the card;
the card is then reported lost and re-issued on the desk reader: the gate denies the old
card and grants the new one.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from agent.office.store import OfficeStore
from tests.helpers import AgentProcess, cli, write_sim_config
from tests.office_browser_rig import (
    browser,
    choose,
    gate_mqtt,
    office_cli,
    page,
    send_sign_in,
    served,
    shots_folder,
    workplace,
)
from tests.office_web_rig import ROOT, own_environment

__all__ = ["browser", "page"]
WORDS = {"zh-hans": {"applied": "已生效", "issue": "发放门禁卡"},
         "en": {"applied": "applied", "issue": "Issue card"}}  # fmt: skip
SEED = """
from datetime import date
from pathlib import Path
from agent.office.web import boot
state = Path({state!r})
boot.configure(str(state / "office-web.sqlite3"), state)
from agent.office.web.register.models import Household, Resident, Unit
unit = Unit.objects.create(building="3", entrance="2", room="501")
resident = Resident(household=Household.objects.create(unit=unit), name="王五",
    id_type="passport", move_in=date(2026, 3, 1), tenure="owner", proof_seen="ownership")
resident.id_number = "E12345678"
resident.save()
print(resident.pk)
"""


@pytest.fixture
def site(tmp_path: Path, broker: Any, office_key: Any) -> Iterator[dict[str, Any]]:
    """The gate, the served workplace with a clerk and a resident, the delivery worker."""
    config = write_sim_config(tmp_path, mqtt=gate_mqtt(broker, office_key))
    store = OfficeStore(tmp_path / "office.db")
    store.db.update_gate("palm-grove", "main-gate", online=True)  # as `gate-office serve` does
    store.close()
    state = workplace(tmp_path, ("clerk", "clerk"))
    seeded = subprocess.run(
        [sys.executable, "-c", SEED.format(state=state)],
        cwd=ROOT, env=own_environment(), capture_output=True, text=True, check=True,
    )  # fmt: skip
    env = {**own_environment(), "GATE_OFFICE_SITE": "palm-grove"}
    deliver = office_cli(
        "web", "deliver", "--state", state, "--host", broker.host, "--port", str(broker.port),
        "--key", str(tmp_path / "office.key"), "--db", str(tmp_path / "office.db"),
        "--poll", "0.2", "--retry", "1", env=env, log=tmp_path / "deliver.log",
    )  # fmt: skip
    agent = AgentProcess(config)
    flags = ("--desk-reader", "sim", "--events-db", str(tmp_path / "office.db"),
             "--site-key", str(ROOT / "config" / "sim-site.key"))  # fmt: skip
    try:
        with served(state, *flags, env=env) as base:
            yield {"base": base, "config": config, "resident": int(seeded.stdout.strip())}
    finally:
        agent.terminate(9)
        deliver.terminate()
        deliver.wait(timeout=10)


def _sign_in(page: Page, base: str, language: str) -> None:
    page.goto(base + "/signin/")
    send_sign_in(page, "clerk")
    choose(page, language)


def _applied(page: Page, language: str) -> None:
    """Reload the change page until the gate's row says applied (the worker polls)."""
    row = page.locator("#deliveries tr[data-gate='palm-grove/main-gate']")
    deadline = time.monotonic() + 20
    while row.get_attribute("data-state") != "applied":
        assert time.monotonic() < deadline, "the change was not applied at the gate"
        time.sleep(0.2)
        page.reload()
    expect(row).to_contain_text(WORDS[language]["applied"])


def test_a_card_issued_in_the_browser_is_granted_at_the_gate(
    site: dict[str, Any], page: Page, tmp_path: Path
) -> None:
    expect.set_options(timeout=15_000)
    shots = shots_folder(tmp_path)
    rounds = (("zh-hans", "04A224B2C15E80", "04AB0001"), ("en", "04C0FFEE01", "04AB0002"))
    for language, card, new_card in rounds:
        _sign_in(page, site["base"], language)
        page.goto(f"{site['base']}/residents/{site['resident']}/")
        page.click("#resident-cards-link")
        expect(page.locator("main h2").last).to_have_text(WORDS[language]["issue"])
        if language == "zh-hans":  # the simulated desk reader
            page.fill("#sim-tap", card)
            page.click("#sim-tap-button")
        else:  # a keyboard-wedge reader types into the focused field and sends Enter
            expect(page.locator("#id_card_number")).to_be_focused()
            page.keyboard.type(card)
            page.keyboard.press("Enter")
        expect(page.locator("#deliveries")).to_contain_text("palm-grove/main-gate")
        _applied(page, language)
        tapped = cli(site["config"], "sim", "tap", "uid:" + card, "--door", "pedestrian").stdout
        assert "GRANTED" in tapped
        if language == "zh-hans":
            page.screenshot(path=str(shots / "card-change.png"), full_page=True)
            page.goto(site["base"] + "/cards/")
            expect(page.locator("#card-counts td[data-status=issued]")).to_have_text("1")
            page.screenshot(path=str(shots / "cards.png"), full_page=True)
        # the card is lost: re-issued on the desk reader, off the gate in the same change
        page.goto(f"{site['base']}/cards/residents/{site['resident']}/")
        page.locator("#resident-cards tr", has_text=card[-4:]).locator("a").click()
        page.select_option("#id_reason", "lost")
        page.fill("#sim-tap", new_card)
        page.click("#sim-tap-button")
        _applied(page, language)
        old = cli(site["config"], "sim", "tap", "uid:" + card, "--door", "pedestrian").stdout
        assert "DENIED (unknown)" in old
        tapped = cli(site["config"], "sim", "tap", "uid:" + new_card, "--door", "pedestrian")
        assert "GRANTED" in tapped.stdout
        page.click("form[action='/signout/'] button")
