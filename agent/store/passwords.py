"""Guard passwords hashed with scrypt (memory-hard, in the standard library).

A hash is ``scrypt$<log2 n>$<r>$<p>$<salt>$<key>`` (base64), so the cost can rise
later without breaking old hashes. Verification accepts only costs within bounds:
a pushed hash cannot make the gate spend a gigabyte on one sign-in.
"""

from __future__ import annotations

import getpass
import sys

from agent.errors import GateError
from agent.store.scrypt_hash import ScryptCost

LOG2_N = 15  # 32 MiB with r = 8: about 0.1 s on this VM, a few tenths on a Pi 4
PASSWORD_COST = ScryptCost(LOG2_N, range(14, 18))


def hash_password(password: str, log2_n: int = LOG2_N) -> str:
    """A new salted hash of ``password``."""
    return PASSWORD_COST.hash(password, log2_n)


def verify_password(password: str, encoded: str) -> bool:
    """True when ``password`` matches; False for a wrong one or a hash out of bounds."""
    return PASSWORD_COST.verify(password, encoded)


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
