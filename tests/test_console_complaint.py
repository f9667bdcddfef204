"""A complaint taken by a guard at the console: one ``complaint_taken`` event with the unit
and what happened, never a name or a phone number; the page says so, in both languages."""

from __future__ import annotations

from typing import Any

import pytest

from agent.console.wiring import attach_console
from agent.models.complaints import ComplaintTaken
from tests.console_helpers import Client, add_guards


@pytest.mark.parametrize(
    ("lang", "words"),
    [("zh-Hans", ["受理投诉", "不保存住户姓名和电话号码"]),
     ("en", ["Take a complaint", "No resident names or phone numbers are kept"])],
)  # fmt: skip
def test_a_guard_takes_a_complaint_at_the_gate(make_app, make_config, lang: str,  # type: ignore[no-untyped-def]
                                               words: list[str]) -> None:  # fmt: skip
    app = make_app(make_config(console={"enabled": True, "port": 0, "language": lang}))
    add_guards(app, "alice")
    part = attach_console(app)
    app.start()
    guard = Client(part)
    guard.sign_in("alice")
    status, page = guard.get("/complaint")
    assert status == 200 and all(w in page for w in words)
    assert 'href="/complaint"' in guard.get("/")[1]  # in the menu

    status, page = guard.post("/complaint", unit="3-2-501", what="call me on 138 0013 8000")
    assert status == 400 and "no phone numbers" in page
    assert guard.post("/complaint", unit="", what="noise")[0] == 400
    assert guard.post("/complaint", unit="3-2-501", what="  ")[0] == 400
    what = "loud music from 3-2-601 after 23:00\nthird night"
    assert guard.post("/complaint", unit="3-2-501", what=what)[0] == 303
    taken: list[Any] = [e for e in app.events.recent(50) if e.type.value == "complaint_taken"]
    assert len(taken) == 1 and taken[0].door is None and taken[0].severity == "info"
    details = ComplaintTaken.model_validate(taken[0].details)
    assert (details.guard, details.unit) == ("alice", "3-2-501")
    assert details.what == what
    assert set(taken[0].details) == {"complaint", "guard", "unit", "what"}
