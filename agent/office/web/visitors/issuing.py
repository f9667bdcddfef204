"""The workplace's way into ``gate-office pass``: the office key, QR codes, and the gates.

Signing, the QR code and the messages to gates are the ones ``gate-office pass issue |
push | revoke`` uses (agent.office.passes); their settings (the signing key, the
broker) come from agent.office.web.gate_link, as the plans' and the cases' messages do.
"""

from __future__ import annotations

import io
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings

from agent.link.signing import load_private_key
from agent.models.pass_codec import SignedPass, sign
from agent.models.passes import PassPlate, RevokedPass
from agent.models.passes import VisitorPass as SignedFields
from agent.office.passes import QR_BORDER, QR_SCALE, send_to_gates
from agent.office.web.events import event_store
from agent.office.web.gate_link import gate_args, key_path


def office_key() -> Ed25519PrivateKey:
    """The office's Ed25519 key, which gates trust for passes."""
    return load_private_key(key_path())


def sign_pass(fields: SignedFields) -> SignedPass:
    """The pass signed as ``gate-office pass issue`` signs it."""
    return sign(fields, office_key())


def known_doors() -> dict[tuple[str, str], set[str]]:
    """Each gate's doors, from the last status the office stored of it (empty: none yet)."""
    store = event_store()
    try:  # row by row: gates() would count every gate's alarms through the events too
        rows = [store.db.gate(site, gate) for site, gate in store.db.gate_names()]
    finally:
        store.close()
    return {(g.site, g.gate): set((g.last_status or {}).get("doors") or {}) for g in rows if g}


def _qr(code: str) -> Any:
    import segno

    # the same symbol as `pass issue --png`: medium error correction, never a micro QR
    return segno.make(code, error="m", micro=False)


def qr_png(code: str) -> bytes:
    """The pass's QR code as a PNG, for a phone or a printer."""
    out = io.BytesIO()
    _qr(code).save(out, kind="png", scale=QR_SCALE, border=QR_BORDER)
    return out.getvalue()


def qr_data_uri(code: str) -> str:
    """The same PNG as a ``data:`` URI, to show inline."""
    uri: str = _qr(code).png_data_uri(scale=QR_SCALE, border=QR_BORDER)
    return uri


def broker_configured() -> bool:
    return bool(settings.GATE_OFFICE_CONFIG)


def deliver(signed: SignedPass, plate: tuple[str, str] | None = None) -> list[dict[str, Any]]:
    """Deliver the pass to its gate (every gate of its site): its short code works there,
    and with ``plate`` (its HMAC and mask) the cameras let that car in with the pass."""
    vp = signed.visitor_pass
    cars = [PassPlate(pass_id=vp.id, plate=plate[0], masked=plate[1])] if plate else []
    return send_to_gates(gate_args(vp.site, vp.gate or ""), vp, deliver=[signed.text],
                         plates=cars)  # fmt: skip


def revoke(site: str, gate: str, pass_id: str, until: Any) -> list[dict[str, Any]]:
    """Refuse the pass from now on at its gate (every gate of its site); a row per gate."""
    revoked = RevokedPass(id=pass_id, until=until)
    return send_to_gates(gate_args(site, gate), None, revoke=[revoked])
