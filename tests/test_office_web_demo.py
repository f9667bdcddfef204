"""The demo register and `./dev sim`'s office: what a newcomer sees beside the simulated gate."""

from __future__ import annotations

import csv
import http.cookiejar
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from agent.errors import ConfigError
from agent.office.web.demo import DEMO_PASSWORD, DEMO_RESIDENTS, DEMO_STAFF, load_demo
from agent.office.web.register.idnumber import is_valid_mainland_id
from tests.office_web_rig import ROOT, db, office_web

__all__ = ["db", "office_web"]


def test_the_demo_register_matches_the_simulated_gates_list(db: None) -> None:
    from django.test import Client

    from agent.office.web.register.models import DocumentCheck, Resident

    lines = load_demo()
    assert lines[0] == f"demo register: {len(DEMO_RESIDENTS)} residents in 4 households"
    residents = list(Resident.objects.all())
    assert len(residents) == len(DEMO_RESIDENTS)
    assert all(is_valid_mainland_id(r.id_number) for r in residents)
    assert all(DocumentCheck.objects.filter(resident=r).exists() for r in residents)
    with (ROOT / "config" / "sim-allowlist.csv").open() as f:
        on_gate = {row["holder_id"] for row in csv.DictReader(f) if row["kind"] == "resident"}
    assert on_gate <= {r.holder_id for r in residents}  # the gate's residents are registered
    for username, _role in DEMO_STAFF:
        assert Client().login(username=username, password=DEMO_PASSWORD), username


def test_the_demo_loads_only_into_an_empty_register(db: None) -> None:
    load_demo()
    with pytest.raises(ConfigError, match="empty one"):
        load_demo()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(url: str, shell: subprocess.Popen[str], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            assert shell.poll() is None, "the office did not start"
            assert time.monotonic() < deadline, f"{url} did not answer"
            time.sleep(0.2)


def _sign_in(base: str, username: str) -> urllib.request.OpenerDirector:
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = browser.open(base + "/signin/", timeout=10).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    assert token
    body = {"csrfmiddlewaretoken": token[1], "username": username, "password": DEMO_PASSWORD}
    browser.open(base + "/signin/", urllib.parse.urlencode(body).encode(), timeout=10).close()
    return browser


def test_dev_sim_brings_up_a_broker_the_office_service_and_the_workplace(tmp_path: Path) -> None:
    port, broker = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATE_OFFICE")}
    env |= {"SIM_VAR": str(tmp_path), "SIM_WEB_PORT": str(port), "SIM_BROKER_PORT": str(broker)}
    shell = subprocess.Popen(
        ["/bin/bash", "-c", "set -euo pipefail; source ./dev; start_sim_office; read -r _ || true"],
        cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(base + "/signin/", shell)
        clerk = _sign_in(base, "clerk")
        units = clerk.open(base + "/units/", timeout=10).read().decode()
        assert "A-12" in units and "B-1-301" in units
        cards = clerk.open(base + "/cards/residents/1/", timeout=10).read().decode()
        assert 'name="tap"' in cards  # the simulated desk reader, with the site key set
        log = tmp_path / "sim" / "office.log"
        deadline = time.monotonic() + 30
        while "subscribed" not in (log.read_text() if log.exists() else ""):
            assert time.monotonic() < deadline, "the office service never reached the broker"
            time.sleep(0.2)
    finally:
        # stdin closed: the shell ends, and its EXIT trap ends what it started
        out, _ = shell.communicate(input="", timeout=30)
    assert f"office workplace: {base}/" in out and "demo register: 5 residents" in out
    assert "error" not in (tmp_path / "sim" / "office-deliver.log").read_text().lower()
    assert "error" not in (tmp_path / "sim" / "office-watch.log").read_text().lower()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(base + "/signin/", timeout=2)
