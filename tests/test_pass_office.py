"""``gate-office pass``: issuing with QR codes (read back with a barcode decoder), delivering
ahead and revoking over a real mosquitto to a running gate, and the refusals on the way."""

from __future__ import annotations

import json
import struct
import xml.etree.ElementTree as ET
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.core.clock import SystemClock
from agent.gate.app import App
from agent.link.wiring import attach
from agent.models.pass_codec import decode, display_short
from tests.conftest import mqtt_table
from tests.pass_rig import issue, pass_config
from tests.reader_rig import wait_for
from tests.test_office_cli import flags, run


# -- a PNG read back as pixels (1- and 8-bit grey, every filter type) -------------------------
def png_pixels(data: bytes) -> tuple[int, int, bytes]:
    """(width, height, one grey byte a pixel) of a PNG, checking every chunk's CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    at, chunks = 8, {}
    idat = b""
    while at < len(data):
        (size,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + size]
        (crc,) = struct.unpack(">I", data[at + 8 + size : at + 12 + size])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r}"
        chunks[kind] = body
        idat += body if kind == b"IDAT" else b""
        at += 12 + size
    assert b"IEND" in chunks
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert colour == 0 and depth in (1, 8), (colour, depth)  # grey, as segno writes it
    stride = (width * depth + 7) // 8
    raw, rows, previous = zlib.decompress(idat), [], bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for x in range(stride):
            left, up = line[x - 1] if x else 0, previous[x]
            corner = previous[x - 1] if x else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner  # Paeth: the neighbour nearest the estimate
                near = min((abs(p - v), i, v) for i, v in enumerate((left, up, corner)))
                line[x] = (line[x] + near[2]) & 0xFF
        previous = bytes(line)
        if depth == 1:
            rows.append(bytes(255 if line[x // 8] >> (7 - x % 8) & 1 else 0 for x in range(width)))
        else:
            rows.append(bytes(line))
    return width, height, b"".join(rows)


def qr_text(png: Path) -> str:
    width, height, pixels = png_pixels(png.read_bytes())
    image = memoryview(pixels).cast("B", (height, width))
    (found,) = zxingcpp.read_barcodes(image)
    assert found.format == zxingcpp.BarcodeFormat.QRCode
    return str(found.text)


# -- issuing ----------------------------------------------------------------------------
def test_issue_writes_a_png_and_an_svg_that_read_back_as_the_code(  # type: ignore[no-untyped-def]
    tmp_path, office_key, capsys
) -> None:
    png, svg = tmp_path / "pass.png", tmp_path / "pass.svg"
    office_knows(tmp_path, g1=["main", "side"])
    argv = [*flags("localhost", 1, tmp_path), "pass", "issue", "--unit", "A-12", "--until", "+4h",
            "--doors", "main", "--uses", "2", "--png", str(png), "--svg", str(svg)]  # fmt: skip
    code, out, err, _ = run(capsys, *argv, "--json")
    assert code == 0, err
    issued = json.loads(out)
    signed = decode(issued["code"])
    assert signed.verify(office_key.public_key())
    vp = signed.visitor_pass
    facts = (vp.site, vp.gate, vp.unit, vp.doors, vp.uses)
    assert facts == ("test-site", "g1", "A-12", ["main"], 2)
    assert issued["short_code"] == display_short(signed.short_code)
    assert issued["files"] == {"png": str(png), "svg": str(svg)}
    assert qr_text(png) == issued["code"]
    root = ET.fromstring(svg.read_text())
    assert root.tag.endswith("svg") and f"visitor pass {vp.id}" in svg.read_text()
    day = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    window = ["--from", f"{day}T08:00:00+02:00", "--until", f"{day}T20:00+02:00"]
    code, out, err, _ = run(capsys, *argv[:-4], "--any-gate", *window)
    assert code == 0, err
    assert "at every gate of test-site" in out and "code: GP1." in out and "--push" in out


def office_knows(tmp_path: Path, **gates: list[str]) -> None:
    """The office's store holds a status of each gate of test-site, listing its doors."""
    from agent.office.db import open_store

    store = open_store(tmp_path / "office.db")
    try:
        for gate, doors in gates.items():
            store.update_gate("test-site", gate, last_status={"doors": {d: {} for d in doors}})
    finally:
        store.close()


def test_issue_refuses_doors_the_gates_do_not_have(  # type: ignore[no-untyped-def]
    tmp_path, office_key, capsys
) -> None:
    issue_it = [*flags("localhost", 1, tmp_path), "pass", "issue", "--unit", "A-1",
                "--until", "+2h"]  # fmt: skip
    code, _, err, _ = run(capsys, *issue_it, "--doors", "garage")
    assert code == 1 and "does not know the doors of test-site/g1" in err, err
    assert "--allow-unknown-doors" in err and "Traceback" not in err
    code, _, err, _ = run(capsys, *issue_it, "--doors", "garage", "--allow-unknown-doors")
    assert code == 0, err
    office_knows(tmp_path, g1=["main", "side"], g2=["main", "garage"])
    code, _, err, _ = run(capsys, *issue_it, "--doors", "main,garage")
    assert code == 1 and "no door garage at test-site/g1: it has main, side" in err, err
    code, _, err, _ = run(capsys, *issue_it, "--doors", "side,main")
    assert code == 0, err
    code, _, err, _ = run(capsys, *issue_it, "--doors", "garage", "--any-gate")
    assert code == 0, err  # g2 has one
    code, _, err, _ = run(capsys, *issue_it, "--doors", "attic", "--any-gate")
    assert code == 1 and "no door attic at every gate of test-site" in err, err


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--until", "tomorrow"], "--until 'tomorrow': an ISO 8601 time or +N[m|h|d]"),
        (["--until", "+1h", "--from", "+2h"], "valid_until must be after valid_from"),
        (["--until", "+400d"], "at most 366 days"),
        (["--until", "+999999d"], "valid_until: must be between 1970 and 2105"),
        (["--until", "+1h", "--uses", "0"], "uses"),
        (["--until", "+1h", "--doors", "Main Gate"], "doors.0"),
    ],
)
def test_issue_refuses_a_bad_pass_saying_why(  # type: ignore[no-untyped-def]
    tmp_path, office_key, capsys, extra, says
) -> None:
    code, _, err, _ = run(capsys, *flags("localhost", 1, tmp_path), "pass", "issue",
                            "--unit", "A-1", *extra)  # fmt: skip
    assert code == 2 and says in err and "Traceback" not in err, err


# -- delivering and revoking over mosquitto ------------------------------------------------
@pytest.fixture
def gate(make_app, make_config, broker, office_key):  # type: ignore[no-untyped-def]
    config = pass_config(office_key, **mqtt_table(broker, office_key))
    app: App = make_app(make_config(**config), clock=SystemClock())
    link = attach(app)
    app.start(threaded=True)
    assert link.conn.wait_connected(10)
    wait_for(lambda: app.events.depth() == 0, "start-up event sent")
    return app


def office(broker: Any, tmp_path: Path) -> list[str]:
    return flags(broker.host, broker.port, tmp_path)


def test_a_pass_pushed_then_revoked_by_office_command(  # type: ignore[no-untyped-def]
    gate, broker, tmp_path, capsys
) -> None:
    issue_it = ["pass", "issue", "--unit", "A-12", "--until", "+2h", "--uses", "3", "--push"]
    code, out, err, _ = run(capsys, *office(broker, tmp_path), "--json", *issue_it)
    assert code == 0, err
    issued = json.loads(out)
    assert issued["delivered"] == [
        {"site": "test-site", "gate": "g1", "ok": True, "revoked": 0, "delivered": 1}
    ]
    typed = gate.admit_pass("main", issued["short_code"], "guard:g-9")
    assert typed.granted and typed.uses_left == 2 and typed.via == "short_code"
    pass_id = issued["pass"]["id"]
    code, out, err, _ = run(capsys, *office(broker, tmp_path), "pass", "revoke", pass_id)
    assert code == 0, err
    assert out.strip() == f"pass {pass_id} revoked at 1 gate(s):\n  test-site/g1: ok"
    assert gate.admit_pass("main", issued["code"], "guard:g-9").reason == "revoked"
    assert gate.admit_pass("main", issued["short_code"], "guard:g-9").reason == "revoked"
    updates = [e.details for e in gate.events.recent(50) if e.type.value == "passes_updated"]
    assert [(u["delivered"], u["revoked"]) for u in updates] == [(1, 0), (0, 1)]
    assert updates[1]["revoked_ids"] == [pass_id]


def test_refusals_on_the_way_to_the_gate(  # type: ignore[no-untyped-def]
    gate, broker, tmp_path, capsys, office_key
) -> None:
    stranger = issue(Ed25519PrivateKey.generate(), SystemClock().now().replace(microsecond=0))
    code, _, err, _ = run(capsys, *office(broker, tmp_path), "pass", "push", stranger.text)
    assert code == 1 and "not signed with this office's key" in err
    code, _, err, _ = run(capsys, *office(broker, tmp_path), "pass", "revoke", "not-a-pass")
    assert code == 2 and "neither a pass id" in err
    elsewhere = issue(office_key, SystemClock().now().replace(microsecond=0), site="other-site")
    argv = [*office(broker, tmp_path), "pass", "push", elsewhere.text, "--to", "test-site/g1"]
    code, out, err, _ = run(capsys, *argv)
    assert code == 1 and "refused by the gate: deliver.0: pass" in out and "other-site" in out
    nope = "0123456789abcdef", "--to", "test-site/nope"
    code, out, _, _ = run(capsys, *office(broker, tmp_path), "pass", "revoke", *nope)
    assert code == 3 and "test-site/nope: FAILED" in out
