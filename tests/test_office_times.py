"""Times a person reads at the office are the site's (``--timezone``), with the offset: an
incident line read ``opened 22:27+00:00 ... police called 00:31`` for a night at +02:00."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.office.cli import main as office_main
from agent.office.db import open_store

ZONE = "Africa/Johannesburg"  # +02:00 all year


def _event(seq: int, time: str, type_: str = "access_granted", **details: Any) -> dict[str, Any]:
    return {"id": f"e{seq}", "seq": seq, "time": time, "site": "s1", "gate": "g1",
            "type": type_, "severity": "info", "door": "main", "details": details}  # fmt: skip


@pytest.fixture
def db(tmp_path: Path) -> str:
    where = str(tmp_path / "office.db")
    store = open_store(where)
    store.add_events([
        _event(1, "2026-06-10T22:27:00+00:00", "incident_opened", incident="i1",
               kind="intruder", guard="ali", police_called=True, police_called_at="00:31"),
        _event(2, "2026-06-10T22:40:00+00:00", "incident_updated", incident="i1",
               guard="ali", status="acknowledged", notes="seen"),
    ])  # fmt: skip
    store.update_gate("s1", "g1", online=True, online_since="2026-06-10T07:00:00+00:00")
    store.close()
    return where


def _run(capsys: pytest.CaptureFixture[str], db: str, *argv: str) -> tuple[int, str, str]:
    code = office_main(["--db", db, "--timezone", ZONE, *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_incident_lines_are_in_the_sites_zone(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, db, "incidents")
    first, note_open, note_ack = out.splitlines()
    assert code == 0 and "opened 2026-06-11T00:27+02:00 by ali" in first
    assert first.endswith("police called 00:31+02:00")
    assert note_open.split()[0] == "2026-06-11T00:27+02:00"
    assert note_ack.split()[0] == "2026-06-11T00:40+02:00"


def test_fleet_and_event_lines_are_in_the_sites_zone(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, db, "fleet")
    row = out.splitlines()[1]
    assert code == 0 and "2026-06-10T09:00:00+02:00" in row and "2026-06-11T00:40:00+02:00" in row
    code, out, _ = _run(capsys, db, "events", "list")
    assert code == 0 and "s1/g1 #1 2026-06-11T00:27:00+02:00 incident_opened" in out


def test_an_unknown_zone_is_a_usage_error_in_one_line(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = office_main(["--db", db, "--timezone", "Mars/Olympus", "fleet"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Mars/Olympus" in err
