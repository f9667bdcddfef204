"""Guard passwords hashed with scrypt (memory-hard, in the standard library).

A hash is ``scrypt$<log2 n>$<r>$<p>$<salt>$<key>`` (base64), so the cost can rise
later without breaking old hashes. Verification accepts only costs within bounds:
a pushed hash cannot make the gate spend a gigabyte on one sign-in.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import hmac
import secrets
import sys

from agent.errors import GateError

LOG2_N = 15  # 32 MiB with r = 8: about 0.1 s on this VM, a few tenths on a Pi 4
R = 8
P = 1
KEY_LEN = 32
LOG2_N_RANGE = range(14, 18)
R_RANGE = range(8, 17)
P_RANGE = range(1, 3)


def _scrypt(password: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    n = 1 << log2_n
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * r * n + (1 << 20), dklen=KEY_LEN
    )


def hash_password(password: str, log2_n: int = LOG2_N) -> str:
    """A new salted hash of ``password``."""
    salt = secrets.token_bytes(16)
    key = _scrypt(password, salt, log2_n, R, P)
    b64 = base64.b64encode
    return f"scrypt${log2_n}${R}${P}${b64(salt).decode()}${b64(key).decode()}"


def verify_password(password: str, encoded: str) -> bool:
    """True when ``password`` matches; False for a wrong one or a hash out of bounds."""
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
    return hmac.compare_digest(_scrypt(password, salt_b, *cost), key_b)


# Checked when an account does not exist, so a wrong name takes as long as a wrong password.
DUMMY_HASH = "scrypt$15$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


def read_password(prompt: str, confirm: bool = True) -> str:
    """From the terminal (hidden; asked twice when ``confirm``), else one line of stdin."""
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if confirm and getpass.getpass("again: ") != first:
            raise GateError("the two passwords differ; nothing was changed")
        return first
    line = sys.stdin.readline()
    if not line:
        raise GateError("no password on standard input; nothing was changed")
    return line.rstrip("\r\n")
