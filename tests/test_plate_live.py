"""The live view's vehicles (issue 22 item 6) on a real console server: the latest camera
reads with their picture (served to signed-in guards only) and outcome, in the guard's
language, links to the vehicle and barrier pages, and a new read pushed by the live
stream with its picture id."""

from __future__ import annotations

import json
import socket

from agent.console.server import ConsolePart
from agent.gate.app import App
from tests.console_helpers import Client
from tests.test_console_parts import read_until
from tests.test_plate_console import JPEG, console, events, picture, show

__all__ = ["console"]


def test_the_live_view_shows_the_latest_vehicle_with_its_picture(
    console: tuple[App, ConsolePart],
) -> None:
    app, part = console
    guard = Client(part)
    guard.sign_in("alice")
    page = guard.get("/?lang=en")[1]
    assert "No vehicle read yet." in page and 'href="/plates"' in page
    show(app, "京A12345", 0.95)
    show(app, "粤B99999", 0.95)  # not on the list: refused
    (granted,) = events(app, "access_granted")
    (denied,) = events(app, "access_denied")
    page = guard.get("/")[1]
    section = page.split('id="vehicles"')[1].split("</ul>")[0]
    assert section.index(denied.details["picture"]) < section.index(granted.details["picture"])
    assert "Entry at vehicle" in section and "Denied at vehicle" in section
    assert "京A12345" not in page  # the plate only masked
    assert picture(guard, granted.details["picture"]) == (200, JPEG)
    assert picture(Client(part), granted.details["picture"])[0] != 200  # not signed in
    zh = guard.get("/?lang=zh-Hans")[1]
    assert "车辆" in zh and "全部车辆" in zh and "暂无车辆识别记录" not in zh


def test_a_new_read_is_pushed_to_the_live_view(console: tuple[App, ConsolePart]) -> None:
    app, part = console
    guard = Client(part)
    guard.sign_in("alice")
    with socket.create_connection(("127.0.0.1", part.port or 0)) as sock:
        sock.sendall(b"GET /live HTTP/1.1\r\nHost: x\r\nCookie: gate_console="
                     + guard.cookies["gate_console"].encode() + b"\r\n\r\n")  # fmt: skip
        seen = bytearray()
        read_until(sock, b"event: state", seen)
        show(app, "京A12345", 0.95)
        text = read_until(sock, b'"vehicle":true', seen).decode()
    (granted,) = events(app, "access_granted")
    line = next(ln for ln in text.splitlines() if '"vehicle":true' in ln)
    item = json.loads(line.removeprefix("data: "))
    assert item["picture"] == granted.details["picture"] and item["kind"] == "entry"
    assert item["text"].startswith("Entry at vehicle")
