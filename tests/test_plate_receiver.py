"""The plate receiver on a real uvicorn server (issue 22): cameras push over HTTP with a
token or HTTP digest from their pinned address; everything else is refused and counted,
and no camera's push raises or holds up a card at another door."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.console.anpr import PlateReceiverPart, attach_plates
from agent.core.clock import SystemClock
from agent.gate.app import App
from agent.models.config import GateConfig
from agent.models.wire import AllowListEntry
from agent.store.plates import plate_credential
from tests.conftest import BASE, enroll, tap
from tests.test_plates import BOMB, dahua, hik_alert, multipart

TOKEN = "camera-token-0123456789"
PASSWORD = "digest-pass-0123456789"


@pytest.fixture
def gate(
    tmp_path: Path, make_config: Callable[..., GateConfig], make_app: Callable[..., App]
) -> Iterator[tuple[App, PlateReceiverPart]]:
    (tmp_path / "hik.secret").write_text(TOKEN + "\n")
    (tmp_path / "dahua.secret").write_text(PASSWORD + "\n")
    first, second = (dict(d) for d in BASE["doors"])
    cameras = [
        {"id": "hik", "driver": "anpr-hikvision", "address": "127.0.0.1",
         "secret_file": "hik.secret", "repeat_s": 0, "rate": 50},
        {"id": "dahua", "driver": "anpr-dahua", "address": "127.0.0.1", "auth": "digest",
         "user": "gate", "secret_file": "dahua.secret", "repeat_s": 0},
        {"id": "far", "driver": "anpr-webhook", "address": "10.9.9.9",
         "secret_file": "hik.secret"},
    ]  # fmt: skip
    config = make_config(
        doors=[first, {**second, "id": "vehicle", "readers": cameras}],
        plates={"enabled": True, "port": 0},
    )
    app = make_app(config, clock=SystemClock())
    part = attach_plates(app)
    assert part is not None
    app.start()
    credential, masked = plate_credential("京A12345", app.hasher)  # type: ignore[misc]
    app.allowlist.replace(
        [AllowListEntry(credential=credential, masked=masked, holder_id="R-1")], 1
    )
    yield app, part


def post(
    part: PlateReceiverPart,
    path: str,
    body: bytes,
    content_type: str = "application/xml",
    headers: dict[str, str] | None = None,
) -> tuple[int, str]:
    assert part.port is not None
    conn = http.client.HTTPConnection("127.0.0.1", part.port, timeout=10)
    try:
        conn.request("POST", path, body, {"Content-Type": content_type, **(headers or {})})
        answer = conn.getresponse()
        return answer.status, answer.read().decode()
    finally:
        conn.close()


def announce(part: PlateReceiverPart, path: str, length: int) -> int:
    """A head announcing ``length`` bytes of body, none sent: the answer to the head."""
    assert part.port is not None
    conn = http.client.HTTPConnection("127.0.0.1", part.port, timeout=10)
    try:
        conn.putrequest("POST", path)
        conn.putheader("Content-Type", "application/xml")
        conn.putheader("Content-Length", str(length))
        conn.endheaders()
        return conn.getresponse().status
    finally:
        conn.close()


def events(app: App, type_: str) -> list[dict[str, Any]]:
    app.settle()
    return [e.details for e in app.events.recent(1000) if e.type.value == type_]


def test_a_hikvision_push_with_its_token_raises_the_barrier(
    gate: tuple[App, PlateReceiverPart],
) -> None:
    app, part = gate
    content_type, body = multipart(hik_alert())
    assert post(part, f"/anpr/hik?token={TOKEN}", body, content_type) == (200, "OK\n")
    (granted,) = events(app, "access_granted")
    assert granted["card"] == "京A****45" and granted["picture"] and granted["reader"] == "hik"
    # the token may come as a header too
    status, _ = post(part, "/anpr/hik", hik_alert(plate="粤BD12345"),
                     headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
    assert status == 200 and events(app, "access_denied")[-1]["card"] == "粤B****45"


def test_a_dahua_camera_proves_itself_by_http_digest(gate: tuple[App, PlateReceiverPart]) -> None:
    app, part = gate
    passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    passwords.add_password(None, f"http://127.0.0.1:{part.port}/", "gate", PASSWORD)
    opener = urllib.request.build_opener(urllib.request.HTTPDigestAuthHandler(passwords))
    request = urllib.request.Request(
        f"http://127.0.0.1:{part.port}/anpr/dahua", dahua(), {"Content-Type": "application/json"}
    )
    with opener.open(request, timeout=10) as answer:
        assert answer.status == 200
    assert events(app, "access_granted")[-1]["reader"] == "dahua"
    bad = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    bad.add_password(None, f"http://127.0.0.1:{part.port}/", "gate", "wrong-password-123")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.build_opener(urllib.request.HTTPDigestAuthHandler(bad)).open(request)
    assert refused.value.code == 401


def test_everything_else_is_refused_counted_and_never_a_traceback(
    gate: tuple[App, PlateReceiverPart],
) -> None:
    app, part = gate
    hik = app.devices.readers["hik"]
    ok = f"/anpr/hik?token={TOKEN}"
    assert post(part, "/anpr/hik?token=wrong", hik_alert())[0] == 401
    assert post(part, "/anpr/hik", hik_alert())[0] == 401
    assert post(part, f"/anpr/nobody?token={TOKEN}", hik_alert())[0] == 404
    assert post(part, f"/anpr/far?token={TOKEN}", b"{}", "application/json")[0] == 403
    assert post(part, ok, BOMB) == (400, "refused: xml_refused\n")
    assert post(part, ok, b"<not xml")[0] == 400
    assert post(part, ok, hik_alert(plate="京A12345'--"))[0] == 400
    assert announce(part, ok, 3 * 1024 * 1024) == 413  # refused before the body is sent
    counts = part.receiver.counts()
    assert counts["receiver"] == {"unknown_camera": 1}
    assert counts["far"] == {"wrong_address": 1}
    assert counts["hik"] == {"wrong_credentials": 2, "xml_refused": 1, "malformed": 1,
                             "bad_plate": 1, "too_large": 1}  # fmt: skip
    assert events(app, "access_granted") == [] and events(app, "agent_fault") == []
    assert hik.last_error == ""  # refusals are counted, not faults of the camera


def test_a_flooding_camera_is_cut_to_its_rate_and_a_card_at_another_door_still_opens(
    gate: tuple[App, PlateReceiverPart],
) -> None:
    app, part = gate
    enroll(app, "uid:04A224B2")
    statuses = [
        post(part, f"/anpr/hik?token={TOKEN}", json.dumps({}).encode() if i % 2 else hik_alert())[0]
        for i in range(160)
    ]
    assert 429 in statuses  # 50 a second with a burst of 100: some were dropped, counted
    assert part.receiver.counts()["hik"]["flood"] == statuses.count(429)
    assert tap(app, "uid:04A224B2")["granted"]


def test_the_receivers_refusals_are_in_the_gates_status(
    gate: tuple[App, PlateReceiverPart],
) -> None:
    app, part = gate
    assert post(part, "/anpr/hik?token=wrong", hik_alert())[0] == 401
    assert post(part, f"/anpr/nobody?token={TOKEN}", hik_alert())[0] == 404
    counts = app.status().plate_receiver
    assert counts is not None
    assert counts["hik"] == {"wrong_credentials": 1} and counts["receiver"] == {"unknown_camera": 1}
