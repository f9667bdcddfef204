"""What the visitor-pass tests share: a gate with scanners, passes signed by a test office."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.gate.app import App
from agent.gate.ports import PassOutcome
from agent.link.signing import public_key_text
from agent.models.pass_codec import SignedPass, new_pass_id, sign
from agent.models.passes import VisitorPass
from drivers.base import Feedback
from tests.conftest import BASE


def scanner_doors() -> list[dict[str, Any]]:
    """The test gate's doors, each with a simulated scanner beside its card reader."""
    doors = copy.deepcopy(BASE["doors"])
    doors[0]["readers"].append({"id": "main-qr", "driver": "scanner-sim"})
    doors[1]["readers"].append({"id": "side-qr", "driver": "scanner-sim"})
    return doors


def pass_config(office_key: Ed25519PrivateKey, **mqtt: Any) -> dict[str, Any]:
    """Config overrides: scanners, and the office's public key (the link may stay off)."""
    table = {"enabled": False, "office_public_key": public_key_text(office_key), **mqtt}
    return {"doors": scanner_doors(), "mqtt": table}


def issue(key: Ed25519PrivateKey, now: datetime, **fields: Any) -> SignedPass:
    """A pass for unit A-12 at the test site, valid from an hour ago for four hours."""
    values: dict[str, Any] = {
        "id": new_pass_id(),
        "site": "test-site",
        "unit": "A-12",
        "valid_from": now - timedelta(hours=1),
        "valid_until": now + timedelta(hours=4),
        "issued_at": now - timedelta(hours=1),
        "issued_by": "office",
        **fields,
    }
    return sign(VisitorPass(**values), key)


def scan(app: App, text: str, reader: str = "main-qr") -> PassOutcome:
    """Show ``text`` to a simulated scanner of a pumped (unthreaded) App."""
    from drivers.sim import SimScanner

    device = app.devices.readers[reader]
    assert isinstance(device, SimScanner)
    seen: list[PassOutcome] = []
    app.passes.listeners.append(seen.append)
    try:
        shown = device.scan(text)
        app.loop.pump()
    finally:
        app.passes.listeners.remove(seen.append)
    (outcome,) = [o for o in seen if o.scan_id == shown.scan_id]
    return outcome


def last_light(app: App, reader: str = "main-qr") -> Feedback:
    from drivers.sim import SimScanner

    device = app.devices.readers[reader]
    assert isinstance(device, SimScanner)
    return device.shown[-1][1]
