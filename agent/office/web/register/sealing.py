"""ID and phone numbers sealed at rest (Fernet) with a key kept outside the database.

Pages show them masked (``110***********1234``); the whole number is opened only by the
reveal action, which asks for a reason and writes an audit entry.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

from agent.errors import ConfigError


def _fernet() -> Fernet:
    path = Path(settings.GATE_OFFICE_FIELD_KEY_FILE)
    try:
        return Fernet(path.read_bytes().strip())
    except OSError as exc:
        raise ConfigError(f"field key {path}: {exc.strerror or exc}") from None
    except ValueError:
        raise ConfigError(f"field key {path} is not a Fernet key") from None


def _key_bytes() -> bytes:
    path = Path(settings.GATE_OFFICE_FIELD_KEY_FILE)
    try:
        return path.read_bytes().strip()
    except OSError as exc:
        raise ConfigError(f"field key {path}: {exc.strerror or exc}") from None


def blind_index(purpose: str, value: str) -> str:
    """A keyed HMAC-SHA256 of ``value`` for exact search of a sealed field.

    The key is derived from the field key (HMAC of the purpose under it), never stored in
    the database: a copy of the database alone cannot test guesses against the index.
    """
    derived = hmac.new(_key_bytes(), f"gate-office index {purpose}".encode(), hashlib.sha256)
    return hmac.new(derived.digest(), value.encode(), hashlib.sha256).hexdigest()


def seal(plain: str) -> str:
    """The sealed text stored in the database ("" stays "")."""
    return _fernet().encrypt(plain.encode()).decode() if plain else ""


def unseal(sealed: str) -> str:
    """The plain number; a token from another key is a configuration fault, told in one line."""
    if not sealed:
        return ""
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken:
        raise ConfigError("a sealed number does not open with this field key") from None


def mask(plain: str) -> str:
    """The first three and last four characters; the rest starred (short ones all starred)."""
    if len(plain) <= 7:
        return "*" * len(plain)
    return plain[:3] + "*" * (len(plain) - 7) + plain[-4:]
