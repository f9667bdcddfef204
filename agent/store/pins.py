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

from agent.store.scrypt_hash import ScryptCost

LOG2_N = 13
PIN_COST = ScryptCost(LOG2_N, range(12, 16))


def hash_pin(pin: str, log2_n: int = LOG2_N) -> str:
    """A new salted hash of ``pin`` (the office's side)."""
    return PIN_COST.hash(pin, log2_n)


def verify_pin(pin: str, encoded: str) -> bool:
    """True when ``pin`` matches; False for a wrong one, a damaged hash or one out of
    bounds. Never raises, and never puts the PIN in a message."""
    return PIN_COST.verify(pin, encoded)
