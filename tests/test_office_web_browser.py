"""The office workplace in headless Chromium (Debian's, through Playwright), in both languages.

A clerk signs in, registers a household with two residents and their document checks (a bad
ID number first, told beside the field), reveals one resident's numbers with a reason, and is
refused the audit log; an auditor then finds that reveal in the audit log and is refused the
register; an edited entry is then named by ``gate-office audit verify`` and on the audit
page. The server is ``gate-office web serve``
itself (uvicorn) on a SQLite demo database. Screenshots go to ``$OFFICE_SHOTS``, else the
test's temporary folder; docs/office/ comes from
``OFFICE_SHOTS=docs/office .venv/bin/pytest tests/test_office_web_browser.py``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.office_browser_rig import browser, page, served, shots_folder, sign_in, workplace
from tests.office_web_rig import GOOD_ID, gate_office

__all__ = ["browser", "page"]
expect.set_options(timeout=15_000)

WORDS = {
    "zh-hans": {
        "sign_in": "登录",
        "reveal": "查看完整证件号和电话",
        "bad_id": "身份证号码无效",
        "refused": "无权访问",
    },
    "en": {
        "sign_in": "Sign in",
        "reveal": "revealed ID and phone numbers",
        "bad_id": "check digit",
        "refused": "Not allowed",
    },
}


@pytest.fixture
def office(tmp_path: Path) -> Iterator[str]:
    """A served workplace with a clerk and an auditor; its base URL."""
    with served(workplace(tmp_path, ("clerk", "clerk"), ("auditor", "auditor"))) as base:
        yield base


def _add_resident(page: Page, name: str, id_number: str, documents: list[str]) -> None:
    page.click("a[href$='/residents/new/']")
    page.fill("#id_name", name)
    page.select_option("#id_id_type", "mainland_id")
    page.fill("#id_id_number", id_number)
    page.fill("#id_phone", "13800138000")
    page.fill("#id_move_in", "2026-03-01")
    page.select_option("#id_tenure", "owner")
    page.select_option("#id_proof_seen", "ownership")
    page.click("main button[type=submit]")
    expect(page.locator("h1")).to_have_text(name)
    for document in documents:
        page.check(f"input[name=documents][value={document}]")
    page.click("form[action$='/checks/'] button")
    expect(page.locator("main table").nth(1)).to_contain_text("clerk")


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_register_a_household_and_an_audited_reveal(
    office: str, page: Page, language: str, tmp_path: Path
) -> None:
    shots = shots_folder(tmp_path)
    sign_in(page, office, "clerk", language)
    if language == "zh-hans":
        page.screenshot(path=str(shots / "home.png"))
    page.goto(office + "/units/")
    page.fill("#id_building", "3")
    page.fill("#id_entrance", "2")
    page.fill("#id_room", "501")
    page.click("main button[type=submit]")
    page.goto(office + "/households/new/")
    page.select_option("#id_unit", label="3-2-501")
    page.click("main button[type=submit]")
    # the first resident: a mistyped ID number is refused beside its field, nothing saved
    page.click("a[href$='/residents/new/']")
    page.fill("#id_name", "张三")
    page.select_option("#id_id_type", "mainland_id")
    page.fill("#id_id_number", GOOD_ID[:-1] + "1")
    page.fill("#id_move_in", "2026-03-01")
    page.select_option("#id_tenure", "owner")
    page.select_option("#id_proof_seen", "ownership")
    page.click("main button[type=submit]")
    expect(page.locator(".errorlist")).to_contain_text(WORDS[language]["bad_id"])
    page.go_back()
    page.go_back()
    _add_resident(page, "张三", GOOD_ID, ["id_card", "ownership"])
    page.click("main table a[href^='/households/']")
    _add_resident(page, "李四", "440524188001010014", ["id_card"])
    page.click("main table a[href^='/households/']")
    expect(page.locator("main table").first).to_contain_text("张三")
    expect(page.locator("main table").first).to_contain_text("李四")
    page.click("text=张三")
    expect(page.locator("#id-number")).to_have_text("110***********002X")
    page.fill("#id_reason", "card re-issue at the desk")
    page.click("form[action$='/reveal/'] button")
    expect(page.locator("#id-number")).to_have_text(GOOD_ID)
    if language == "zh-hans":
        page.screenshot(path=str(shots / "resident.png"), full_page=True)
    page.goto(office + "/audit/")  # a clerk is refused the auditor's page
    expect(page.locator("main h1")).to_have_text(WORDS[language]["refused"])
    page.click("form[action='/signout/'] button")

    sign_in(page, office, "auditor", language)
    page.goto(office + "/audit/")
    newest = page.locator("main table tr").nth(1)
    expect(newest).to_contain_text("card re-issue at the desk")
    expect(newest).to_contain_text(WORDS[language]["reveal"])
    expect(newest).to_contain_text("clerk")
    position = int(newest.locator("td").first.inner_text())
    if language == "zh-hans":
        page.screenshot(path=str(shots / "audit.png"), full_page=True)
    page.goto(office + "/units/")
    expect(page.locator("h1")).not_to_have_text(WORDS[language]["sign_in"])
    expect(page.locator("main h1")).to_have_text(WORDS[language]["refused"])
    # someone edits the reveal's reason in the database: `audit verify` names the entry
    state = tmp_path / "web"
    with sqlite3.connect(state / "office-web.sqlite3") as tamper:
        tamper.execute(
            "UPDATE audit_auditentry SET reason = 'routine' WHERE position = ?", (position,)
        )
    tamper.close()
    verdict = gate_office("audit", "verify", "--state", str(state))
    assert verdict.returncode == 1
    assert verdict.stderr.startswith(f"audit entry {position}: its content was altered")
    page.goto(office + "/audit/")  # and the auditor's page says so too
    expect(page.locator("#verdict")).to_contain_text(str(position))
