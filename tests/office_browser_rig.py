"""The office workplace served for a browser: ``gate-office web serve`` (uvicorn) on a state
folder of its own, with the accounts a test signs in with, and Debian's Chromium through
Playwright; the sign-in and the language switch as a member of staff uses them.

A test module takes the fixtures by importing them (``from tests.office_browser_rig import
page`` with ``__all__ = ["page"]``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright

from agent.link.signing import public_key_text
from tests.office_web_rig import ROOT, gate_office, own_environment

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "a long enough pass 42"
SIGN_IN = {"zh-hans": "登录", "en": "Sign in"}  # the sign-in page's heading
VIEWPORT: ViewportSize = {"width": 1100, "height": 900}


def shots_folder(tmp_path: Path) -> Path:
    """Where screenshots go: ``$OFFICE_SHOTS`` (docs/office/ for the docs), else ``tmp_path``."""
    shots = Path(os.environ.get("OFFICE_SHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    return shots


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def answers(base: str) -> bool:
    """Whether the workplace at ``base`` answers its sign-in page."""
    try:
        urllib.request.urlopen(base + "/signin/", timeout=2).close()
        return True
    except OSError:
        return False


def wait_started(base: str, server: subprocess.Popen[bytes]) -> None:
    """Until the workplace at ``base`` answers; fails if ``server`` ends first."""
    deadline = time.monotonic() + 30
    while not answers(base):
        assert time.monotonic() < deadline and server.poll() is None, "server did not start"
        time.sleep(0.2)


def workplace(tmp_path: Path, *accounts: tuple[str, str], demo: bool = False) -> str:
    """``gate-office web init`` in ``tmp_path/web`` (then ``web demo`` if asked) and one
    account per (username, role) with ``PASSWORD``; the state folder."""
    state = str(tmp_path / "web")
    for command in ("init", "demo") if demo else ("init",):
        made = gate_office("web", command, "--state", state)
        assert made.returncode == 0, made.stderr
    if accounts:
        (tmp_path / "pw").write_text(PASSWORD)
    for username, role in accounts:
        made = gate_office("web", "createstaff", username, "--role", role,
                           "--password-file", str(tmp_path / "pw"), "--state", state)  # fmt: skip
        assert made.returncode == 0, made.stderr
    return state


def office_cli(
    *argv: str, env: dict[str, str] | None = None, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """``gate-office ARGV`` started in a process of its own (stderr to ``log`` if given)."""
    return subprocess.Popen(
        [sys.executable, "-m", "agent.office.cli", *argv], cwd=ROOT,
        env=env or own_environment(), stderr=log.open("w") if log else None,
    )  # fmt: skip


@contextmanager
def served(
    state: str, *flags: str, env: dict[str, str] | None = None, log: Path | None = None
) -> Iterator[str]:
    """``gate-office web serve`` on ``state`` (with ``flags``) on a free port, once it
    answers; its base URL. Stopped on leaving."""
    port = free_port()
    server = office_cli("web", "serve", "--state", state, "--port", str(port), *flags,
                        env=env, log=log)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_started(base, server)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


def gate_mqtt(broker: Any, office_key: Any) -> str:
    """The ``[mqtt]`` section of a simulated gate on ``broker`` that trusts ``office_key``."""
    return (
        f'[mqtt]\nenabled = true\nhost = "{broker.host}"\nport = {broker.port}\n'
        f'office_public_key = "{public_key_text(office_key)}"\nreconnect_max_s = 1\n'
    )


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless."""
    with sync_playwright() as play:
        chromium = play.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser) -> Page:
    """A page in that Chromium."""
    return browser.new_page(viewport=VIEWPORT)


def choose(page: Page, language: str) -> None:
    """Switch the page to ``language`` (if it is not already in it)."""
    switch = page.locator(f"header button[value={language}]")
    if switch.count():
        switch.click()
    expect(page.locator("html")).to_have_attribute("lang", language)


def send_sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    """Fill the open sign-in form and send it; the header then names the account."""
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("main button[type=submit]")
    expect(page.locator("header")).to_contain_text(username)


def sign_in(page: Page, base: str, username: str, language: str, password: str = PASSWORD) -> None:
    """Sign in as ``username`` on the sign-in page in ``language`` and stay in it."""
    page.goto(base + "/signin/")
    choose(page, language)
    expect(page.locator("h1")).to_have_text(SIGN_IN[language])
    send_sign_in(page, username, password)
    choose(page, language)  # the account's own language wins over the sign-in page's cookie
