"""Every event type gets one readable log line; alarms stand out, secrets stay out."""

from __future__ import annotations

import logging

import pytest

from agent.core.kinds import EventType
from agent.gate.app import App
from agent.gate.describe import TEMPLATES, describe
from tests.conftest import enroll, tap


def test_every_event_type_has_a_sentence() -> None:
    assert set(TEMPLATES) == set(EventType)


def test_one_line_per_event_without_the_credential(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    enroll(app, "uid:04A224B2", holder_id="R-7")
    with caplog.at_level(logging.INFO, logger="agent.events"):
        caplog.clear()
        tap(app, "uid:04A224B2")
        tap(app, "uid:0BADBAD1")
        app.inputs.changed("fire", True)
        app.loop.pump()
    lines = [r.getMessage() for r in caplog.records if r.name == "agent.events"]
    assert lines[0].startswith("granted: uid:****24B2 at main (main-in, in), holder R-7 [seq")
    assert lines[1].startswith("denied: uid:****BAD1 at main (main-in, in): unknown")
    assert any(line.startswith("ALARM FIRE input active") for line in lines)
    assert any(line.startswith("mode normal -> release (by fire_input)") for line in lines)
    credential = app.events.recent(50)[-4].details.get("credential")
    assert all(str(credential) not in line for line in lines)
    fire = [r for r in caplog.records if "FIRE" in r.getMessage()]
    assert fire[0].levelno == logging.WARNING


def test_odd_details_never_break_a_line() -> None:
    assert describe(EventType.MODE_CHANGED, None, {}) == "mode - -> - (by -)"
    text = describe(EventType.CONFIG_CHANGED, None, {"revision": 3, "sections": ["doors"]})
    assert text == "office config revision 3 accepted: doors; restart: -"
    assert describe(EventType.SECURITY_ALERT, None, {"count": "{0}"}).startswith("ALARM {0}")
