"""``gate-office pin hash`` and ``pin set``: a holder's PIN for card plus PIN (issue 21).

The PIN is read at the office (hidden prompt, asked twice, or one line of standard
input), hashed here (``agent.store.pins``: salted scrypt), and only the hash goes on: to
standard output, or into the ``pin_hash`` column of a list file that ``allowlist push``
then sends. The PIN itself is never written, logged, or put in an error message.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
from itertools import pairwise
from pathlib import Path

from agent.errors import ConfigError
from agent.store.passwords import read_password
from agent.store.pins import hash_pin

MIN_DIGITS, MAX_DIGITS = 4, 12  # the widest a gate's [pin] allows
# why a PIN is refused, in words that never repeat it (the workplace words them per language)
NOT_DIGITS = "a PIN is digits only"
WRONG_LENGTH = f"a PIN has {MIN_DIGITS} to {MAX_DIGITS} digits"
TOO_EASY = "a PIN of one digit repeated or a straight run is too easy to guess"


def pin_problem(pin: str) -> str | None:
    """Why ``pin`` cannot be a PIN (one of the reasons above); None if it can."""
    if not pin.isascii() or not pin.isdigit():
        return NOT_DIGITS
    if not MIN_DIGITS <= len(pin) <= MAX_DIGITS:
        return WRONG_LENGTH
    steps = {(int(b) - int(a)) % 10 for a, b in pairwise(pin)}
    if steps in ({0}, {1}, {9}):  # 1111, 1234, 9876: the first ones anyone tries
        return TOO_EASY
    return None


def read_pin() -> str:
    pin = read_password("PIN: ")
    if (problem := pin_problem(pin)) is not None:
        raise ConfigError(f"{problem}; nothing was changed")
    return pin


def cmd_pin_hash(args: argparse.Namespace) -> int:
    """A PIN hash for a list file's ``pin_hash`` column (PIN: prompt or stdin)."""
    del args
    print(hash_pin(read_pin()))
    return 0


def set_pin_in_file(path: Path, holder: str, pin_hash: str) -> int:
    """Put ``pin_hash`` on every row of ``holder`` in a CSV list file (replaced in one
    step); returns how many rows. A JSON list or an unknown holder is refused."""
    if path.suffix.lower() != ".csv":
        raise ConfigError(f"{path}: pin set edits CSV list files; put pin_hash in JSON yourself")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    reader = csv.DictReader(io.StringIO(text))
    fields = list(reader.fieldnames or [])
    if "holder_id" not in fields:
        raise ConfigError(f"{path}: no holder_id column")
    rows = list(reader)
    changed = 0
    for row in rows:
        if row.get("holder_id") == holder:
            row["pin_hash"], changed = pin_hash, changed + 1
    if not changed:
        raise ConfigError(f"{path}: no row for holder {holder!r}; nothing was changed")
    out = io.StringIO()
    writer = csv.DictWriter(out, [*fields, *(["pin_hash"] if "pin_hash" not in fields else [])])
    writer.writeheader()
    writer.writerows(rows)
    temp = path.with_name(path.name + ".new")
    temp.write_text(out.getvalue(), encoding="utf-8")
    os.replace(temp, path)
    return changed


def cmd_pin_set(args: argparse.Namespace) -> int:
    """Set a holder's PIN in a CSV list file; ``allowlist push`` sends it."""
    path = Path(args.file)
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    count = set_pin_in_file(path, args.holder, hash_pin(read_pin()))
    print(f"PIN set for {args.holder} on {count} card(s) in {path}; send it with allowlist push")
    return 0
