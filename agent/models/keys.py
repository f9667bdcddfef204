"""Office public keys as the config file and the link read them."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def parse_public_key(text: str) -> Ed25519PublicKey:
    """Base64 of the raw 32 bytes (fits on one TOML line), or a PEM block."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
            if not isinstance(key, Ed25519PublicKey):
                raise ValueError("not an Ed25519 key")
            return key
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))
    except ValueError as exc:
        raise ValueError(f"not an Ed25519 public key: {exc}") from None
