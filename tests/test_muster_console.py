"""The guard's muster page: real HTTP to a real console over a real App (threaded), the
fire input a sim input, taps on sim readers."""

from __future__ import annotations

from collections.abc import Callable

from agent.console.wiring import attach_console
from agent.gate.app import App
from agent.models.config import GateConfig
from drivers.sim import SimCardReader
from tests.console_helpers import Client, add_guards
from tests.muster_helpers import CARD, details_of, enrol_holders, muster_config, set_fire


def present(app: App, card: str, reader: str) -> None:
    device = app.devices.readers[reader]
    assert isinstance(device, SimCardReader)
    device.present(card)
    app.settle()
    app.settle()  # the tick is posted after the read's commit


def test_the_muster_page_lists_ticks_and_prints(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig]
) -> None:
    app = make_app(muster_config(make_config, console={"enabled": True, "port": 0,
                                                       "language": "en"}))  # fmt: skip
    add_guards(app, "alice")
    part = attach_console(app)
    app.start()
    enrol_holders(app)
    for holder in ("R-1", "R-2", "R-3"):
        present(app, CARD[holder], "main-in")
    guard = Client(part)
    assert guard.sign_in("alice") == 303
    status, page = guard.get("/muster")  # no fire: said plainly
    assert status == 200 and "No muster is open" in page and "Traceback" not in page
    assert "MUSTER open" not in guard.get("/")[1]
    guard.get("/muster")
    status, page = guard.post("/muster/tick", holder_id="R-1")
    assert status == 400 and "Refused: no muster is open" in page
    set_fire(app, True)
    app.settle()
    live = guard.get("/")[1]
    assert "MUSTER open: 3 of 3 not yet accounted for" in live and 'href="/muster"' in live
    assert "MUSTER: 3 holder(s) last seen inside" in live  # the feed says it too
    present(app, CARD["R-2"], "assembly")
    status, page = guard.get("/muster")
    assert status == 200 and "3 on the list, 1 accounted for, 2 not yet" in page
    assert "yes, reader:assembly at" in page and "A-101" in page and "Tick off" in page
    assert guard.post("/muster/tick", holder_id="R-1")[0] == 303
    assert guard.header("Location") == ["/muster?ok=muster-tick"]
    page = guard.get("/muster?ok=muster-tick")[1]
    assert "Ticked off" in page and "yes, guard:alice at" in page
    status, page = guard.post("/muster/tick", holder_id="R-1")
    assert status == 400 and "accounted for already" in page
    status, page = guard.post("/muster/tick", holder_id="")
    assert status == 400 and "please check the form" in page
    status, printed = guard.get("/muster/print")
    assert status == 200 and "Muster list: test-site / g1" in printed and "Printed" in printed
    assert "<nav>" not in printed and "<form" not in printed
    feed = guard.get("/")[1]
    assert "Muster: resident R-1, unit A-101 accounted for (guard alice); 1 left" in feed
    zh = guard.get("/muster?lang=zh-Hans")[1]
    assert "人员清点" in zh and "已确认 2 人" in zh
    set_fire(app, False)
    app.settle()
    assert details_of(app, "muster_ended")[-1]["unaccounted_ids"] == ["R-3"]
    assert "No muster is open" in guard.get("/muster?lang=en")[1]
