"""``gate-office plain-cards``: the migration report, from events a real gate recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.gate.app import App
from agent.office.cli import main as office_main
from agent.office.db import open_store
from tests.conftest import enroll, tap


def test_the_report_counts_plain_card_uses_per_holder(
    app: App, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    enroll(app, "uid:04A1B2C3", credential_policy="secure_preferred", unit="B-12")
    for _ in range(3):
        assert tap(app, "uid:04A1B2C3")["granted"]
    assert tap(app, "uid:04A1B2C3", reader="side-in")["granted"]
    store = open_store(tmp_path / "office.db")
    try:
        store.add_events([e.model_dump(mode="json") for e in app.events.recent(100)])
    finally:
        store.close()
    args = ["--db", str(tmp_path / "office.db"), "--site", "test-site", "--timezone", "UTC"]
    assert office_main([*args, "plain-cards"]) == 0
    out = capsys.readouterr().out
    (line,) = [row for row in out.splitlines() if row.startswith("R-1")]
    assert line.split()[:3] == ["R-1", "B-12", "4"]
    assert "test-site/g1/main, test-site/g1/side" in line
    assert "04A1B2C3" not in out and "****" not in out  # holders, never numbers
    assert office_main([*args, "--json", "plain-cards"]) == 0
    (holder,) = json.loads(capsys.readouterr().out)
    assert (holder["holder_id"], holder["uses"]) == ("R-1", 4)


def test_no_plain_cards(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert office_main(["--db", str(tmp_path / "office.db"), "plain-cards"]) == 0
    assert "no plain cards used" in capsys.readouterr().out
