"""PIN hashes: salted scrypt, ``scrypt$<log2 n>$<r>$<p>$<salt>$<key>`` (base64), the
guard passwords' format (``agent.store.passwords``) at a cost fitted to a door.

The office hashes (``hash_pin``); the gate only verifies, on a thread of its own
(``agent.gate.pin_entry``): CPython's ``hashlib.scrypt`` lets go of the GIL, so other
doors' decisions go on meanwhile. Cost n = 2^13, r = 8, p = 1 (8 MiB): 15 ms here
(2-core EPYC VM), an estimated 45-60 ms on a Pi 4, paid once per PIN. A hash is slow so
that a copied list does not hand over every PIN at once; it cannot make a 4-digit PIN
strong (10^4 tries of 15 ms is minutes): the lockout after wrong PINs at the door and the
list's place on the gate's disk do that. A pushed hash outside the cost bounds is refused
as a wrong PIN, so a list cannot make the gate spend a gigabyte on one PIN.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

LOG2_N = 13
R = 8
P = 1
KEY_LEN = 32
LOG2_N_RANGE = range(12, 16)
R_RANGE = range(8, 17)
P_RANGE = range(1, 3)


def _scrypt(pin: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    n = 1 << log2_n
    return hashlib.scrypt(
        pin.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * r * n + (1 << 20), dklen=KEY_LEN
    )


def hash_pin(pin: str, log2_n: int = LOG2_N) -> str:
    """A new salted hash of ``pin`` (the office's side)."""
    salt = secrets.token_bytes(16)
    key = _scrypt(pin, salt, log2_n, R, P)
    b64 = base64.b64encode
    return f"scrypt${log2_n}${R}${P}${b64(salt).decode()}${b64(key).decode()}"


def verify_pin(pin: str, encoded: str) -> bool:
    """True when ``pin`` matches; False for a wrong one, a damaged hash or one out of
    bounds. Never raises, and never puts the PIN in a message."""
    try:
        scheme, log2_n, r, p, salt, key = encoded.split("$")
        cost = int(log2_n), int(r), int(p)
        salt_b, key_b = base64.b64decode(salt, validate=True), base64.b64decode(key, validate=True)
    except ValueError:
        return False
    if scheme != "scrypt" or not (
        cost[0] in LOG2_N_RANGE and cost[1] in R_RANGE and cost[2] in P_RANGE
    ):
        return False
    return hmac.compare_digest(_scrypt(pin, salt_b, *cost), key_b)
