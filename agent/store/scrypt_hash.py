"""Salted scrypt hashes as ``scrypt$<log2 n>$<r>$<p>$<salt>$<key>`` (base64).

One format for guard passwords and holders' PINs, each at its own cost: the cost is in
the string, so it can rise later without breaking old hashes, and verification accepts
only costs within the caller's bounds, so a pushed hash cannot make the gate spend a
gigabyte on one check. CPython's ``hashlib.scrypt`` lets go of the GIL meanwhile.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

R = 8
P = 1
KEY_LEN = 32


@dataclass(frozen=True)
class ScryptCost:
    """The cost a hash is made at (``log2_n``) and the costs a verification accepts."""

    log2_n: int
    log2_n_range: range
    r_range: range = range(8, 17)
    p_range: range = range(1, 3)

    def hash(self, secret: str, log2_n: int | None = None) -> str:
        """A new salted hash of ``secret``."""
        cost = self.log2_n if log2_n is None else log2_n
        salt = secrets.token_bytes(16)
        key = _scrypt(secret, salt, cost, R, P)
        b64 = base64.b64encode
        return f"scrypt${cost}${R}${P}${b64(salt).decode()}${b64(key).decode()}"

    def verify(self, secret: str, encoded: str) -> bool:
        """True when ``secret`` matches; False for a wrong one, a damaged hash or one out
        of bounds. Never raises, and never puts the secret in a message."""
        try:
            scheme, log2_n, r, p, salt, key = encoded.split("$")
            cost = int(log2_n), int(r), int(p)
            salt_b = base64.b64decode(salt, validate=True)
            key_b = base64.b64decode(key, validate=True)
        except ValueError:
            return False
        if scheme != "scrypt" or not (
            cost[0] in self.log2_n_range and cost[1] in self.r_range and cost[2] in self.p_range
        ):
            return False
        return hmac.compare_digest(_scrypt(secret, salt_b, *cost), key_b)


def _scrypt(secret: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    n = 1 << log2_n
    return hashlib.scrypt(
        secret.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * r * n + (1 << 20), dklen=KEY_LEN
    )
