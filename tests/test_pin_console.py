"""The guardhouse sees a duress PIN as an alarm (issue 21); the gate's reader shows a
normal entry. The real console (Starlette) over the real App with its threads."""

from __future__ import annotations

from collections.abc import Callable

from agent.console.wiring import attach_console
from agent.gate.app import App
from agent.models.config import GateConfig
from agent.store.pins import hash_pin
from drivers.base import Feedback
from drivers.sim import SimCardReader
from tests.conftest import BASE, enroll
from tests.console_helpers import Client, add_guards
from tests.reader_rig import wait_until

CARD = "uid:04A1B2C3"


def test_the_console_shows_a_duress_alarm_and_the_reader_a_normal_grant(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig]
) -> None:
    config = make_config(
        doors=[{**BASE["doors"][0], "pin": "always"}, BASE["doors"][1]],
        pin={"duress": "last_digit_plus_one"},
        console={"enabled": True, "port": 0},
    )
    app = make_app(config)
    add_guards(app, "alice")
    part = attach_console(app)
    enroll(app, CARD, pin_hash=hash_pin("1357", log2_n=12))
    app.start()
    reader = app.devices.readers["main-in"]
    assert isinstance(reader, SimCardReader)
    reader.present(CARD)
    app.settle()
    reader.keys("1358#")
    assert wait_until(lambda: any(e.type == "duress" for e in app.events.recent(5)), 10)
    assert wait_until(lambda: bool(reader.shown), 5)
    assert reader.shown[-1][1] is Feedback.GRANT
    duress = next(e for e in app.events.recent(5) if e.type == "duress")
    guard = Client(part)
    guard.sign_in("alice")
    page = guard.get("/")[1]
    assert f'data-seq="{duress.seq}"' in page and "DURESS" in page
    assert "under threat" in page
