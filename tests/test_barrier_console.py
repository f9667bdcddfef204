"""The guard console's barrier page over real HTTP: the raise for a misread plate, with
the guard's session and CSRF token, recorded with the plate masked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from agent.console.server import ConsolePart
from agent.console.wiring import attach_console
from agent.gate.app import App
from agent.models.config import GateConfig
from tests.console_helpers import Client, add_guards

CAR = {"id": "car", "kind": "barrier", "readers": [{"id": "car-in"}],
       "barrier": {"presence_loop": {"driver": "sim"}, "sign": {"driver": "sim"}}}  # fmt: skip


@pytest.fixture
def console(make_app: Callable[..., App], make_config: Callable[..., GateConfig],
            ) -> tuple[App, ConsolePart]:  # fmt: skip
    config = make_config(doors=[CAR, {"id": "main", "readers": [{"id": "main-in"}]}],
                         inputs={"visitor_button": None},
                         console={"enabled": True, "port": 0})  # fmt: skip
    app = make_app(config)
    add_guards(app, "alice")
    part = attach_console(app)
    app.start()
    return app, part


def raised(app: App) -> list[dict[str, Any]]:
    return [e.details | {"door": e.door} for e in app.events.recent(200)
            if e.type.value == "barrier_raised_by_guard"]  # fmt: skip


def test_a_guard_raises_the_barrier_for_a_misread_plate(console) -> None:  # type: ignore[no-untyped-def]
    app, part = console
    guard = Client(part)
    guard.sign_in("alice")
    status, page = guard.get("/barrier")
    assert status == 200 and "Raise car" in page and "down" in page and 'href="/barrier"' in page
    assert "Raise main" not in page  # a plain door has no barrier
    status, _ = guard.post("/barrier/raise", door="car", plate="京A 12345")
    assert status == 303 and guard.header("Location") == ["/barrier?ok=barrier"]
    assert raised(app) == [{"guard": "alice", "by": "guard:alice", "plate": "京A****45",
                            "request_id": raised(app)[0]["request_id"], "door": "car"}]  # fmt: skip
    assert app.status().doors["car"].locked is False  # the arm is up
    page = guard.get("/barrier?ok=barrier")[1]
    assert "Barrier raised." in page and "up, waiting for the vehicle" in page
    assert "京A****45" in guard.get("/")[1]  # in the live feed, masked
    assert "12345" not in guard.get("/")[1]


def test_a_raise_needs_the_session_and_its_csrf_token(console) -> None:  # type: ignore[no-untyped-def]
    app, part = console
    stranger = Client(part)
    assert stranger.post("/barrier/raise", door="car", plate="京A12345")[0] == 403
    guard = Client(part)
    guard.sign_in("alice")
    guard.get("/barrier")
    assert guard.post("/barrier/raise", csrf="forged", door="car", plate="京A12345")[0] == 403
    assert raised(app) == [] and app.status().doors["car"].locked


@pytest.mark.parametrize(("fields", "problem"), [
    ({"door": "car", "plate": "hello!"}, "not a licence plate"),
    ({"door": "car", "plate": ""}, "plate"),
    ({"door": "main", "plate": "京A12345"}, "no barrier main"),
    ({"door": "car", "plate": "京A\x1b12345"}, "control characters"),
    ({"door": "car", "plate": "京A12345" * 5}, "plate"),
])  # fmt: skip
def test_bad_raises_are_refused_and_nothing_moves(console, fields: dict[str, str],  # type: ignore[no-untyped-def]
                                                  problem: str) -> None:  # fmt: skip
    app, part = console
    guard = Client(part)
    guard.sign_in("alice")
    guard.get("/barrier")
    status, page = guard.post("/barrier/raise", **fields)
    assert status == 400 and problem in page
    assert raised(app) == [] and app.status().doors["car"].locked


def test_the_barrier_page_in_chinese(console) -> None:  # type: ignore[no-untyped-def]
    _, part = console
    guard = Client(part)
    guard.sign_in("alice")
    page = guard.get("/barrier?lang=zh-Hans")[1]
    assert "道闸" in page and "抬起 car" in page and "已落杆" in page and "车牌" in page
    guard.post("/barrier/raise", door="car", plate="粤B D12345")
    assert "保安 alice 为车牌 粤B****45 抬起 car 道闸" in guard.get("/")[1]
