"""Office-to-gate authenticity: Ed25519 over topic, body, time and a nonce.

An envelope is JSON: ``{"ts", "nonce", "body", "sig"}``. ``body`` is the payload's
JSON text, carried as a string so the signed bytes are exactly the bytes verified.
The topic is part of what is signed, so a message for one gate (or one command)
cannot be replayed to another.
"""

from __future__ import annotations

import base64
import json
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import ValidationError

from agent.errors import FatalError, GateError
from agent.models.jsonin import loads_bounded
from agent.models.messages import SignedEnvelope
from agent.store.db import Turns

DOMAIN = b"gate-agent/1"


class AuthError(GateError):
    """A message that must not be obeyed; ``reason`` is a short code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def signed_bytes(topic: str, ts: str, nonce: str, body: str) -> bytes:
    return b"\n".join([DOMAIN, topic.encode(), ts.encode(), nonce.encode(), body.encode()])


def seal(key: Ed25519PrivateKey, topic: str, payload: Any, now: datetime) -> bytes:
    """Sign ``payload`` (anything JSON-serialisable) for ``topic``."""
    body = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    ts = now.astimezone(UTC).isoformat()
    nonce = secrets.token_hex(16)
    sig = key.sign(signed_bytes(topic, ts, nonce, body))
    envelope = {"ts": ts, "nonce": nonce, "body": body, "sig": base64.b64encode(sig).decode()}
    return json.dumps(envelope, separators=(",", ":")).encode()


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise FatalError(f"cannot load office private key {path}: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise FatalError(f"{path} is not an Ed25519 key")
    return key


def public_key_text(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


class ReplayGuard:
    """Nonces seen within the freshness window, and the newest accepted time, on disk.

    Both survive a restart, so a captured message cannot be replayed after one. They live
    in the event log's file, written in its ``turns`` (``EventLog.turns``): one
    transaction a message.
    """

    def __init__(self, path: Path, turns: Turns | None = None) -> None:
        self._turns = turns = turns or Turns()
        self._purged: datetime | None = None  # message time of the last pass over old nonces
        self._conn = turns.connect(path)
        self._conn.executescript(
            "CREATE TABLE IF NOT EXISTS nonces (nonce TEXT PRIMARY KEY, ts TEXT NOT NULL);"
            "CREATE TABLE IF NOT EXISTS replay_hwm (id INTEGER PRIMARY KEY CHECK (id = 1),"
            " ts TEXT NOT NULL);"
        )
        self._lock = threading.Lock()

    def newest(self) -> datetime | None:
        with self._lock:
            row = self._conn.execute("SELECT ts FROM replay_hwm").fetchone()
        return datetime.fromisoformat(row[0]) if row else None

    def remember(self, nonce: str, ts: datetime, window: timedelta) -> bool:
        """Record a nonce; False if it was seen before.

        Nonces older than two windows go in one pass once a window (a scan of the
        table): a snapshot's thousands of chunks each paid for one before.
        """
        purge = self._purged is None or abs(ts - self._purged) >= window
        with self._lock:
            try:
                with self._turns.transaction(self._conn) as conn:
                    conn.execute("INSERT INTO nonces VALUES (?, ?)", (nonce, ts.isoformat()))
                    conn.execute(
                        "INSERT INTO replay_hwm VALUES (1, ?) ON CONFLICT(id) DO UPDATE "
                        "SET ts = max(ts, excluded.ts)",
                        (ts.isoformat(),),
                    )
                    if purge:
                        old = (ts - 2 * window).isoformat()
                        conn.execute("DELETE FROM nonces WHERE ts < ?", (old,))
            except sqlite3.IntegrityError:
                return False
            if purge:
                self._purged = ts
            return True

    def held(self) -> int:
        """How many nonces are kept."""
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM nonces").fetchone()[0])

    def close(self) -> None:
        self._conn.close()


@dataclass(frozen=True)
class Checked:
    """A message whose signature and time are good; not yet recorded against replays."""

    nonce: str | None
    ts: datetime | None
    body: Any  # the signed body's JSON text, or the parsed payload when unsigned


class Verifier:
    """Checks envelopes against the office public key, the clock and the replay guard."""

    def __init__(
        self,
        public_key: Ed25519PublicKey | None,
        skew_s: float,
        guard: ReplayGuard,
        required: bool = True,
    ) -> None:
        self._key = public_key
        self._window = timedelta(seconds=skew_s)
        self._guard = guard
        self._required = required

    def open(self, topic: str, raw: bytes, now: datetime, clock_trusted: bool) -> Any:
        """The verified payload as parsed JSON; AuthError says why it is refused."""
        return self.accept(self.check(topic, raw, now, clock_trusted))

    def check(self, topic: str, raw: bytes, now: datetime, clock_trusted: bool) -> Checked:
        """Shape, signature and freshness: everything but the replay record. Cheap enough
        to run on the network thread, so garbage never takes a place in the inbox."""
        try:
            message = loads_bounded(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise AuthError("malformed", f"not JSON: {str(exc)[:80]}") from None
        is_envelope = isinstance(message, dict) and {"ts", "nonce", "body", "sig"} <= set(message)
        if not is_envelope:
            if self._required:
                raise AuthError("unsigned", "expected a signed envelope {ts, nonce, body, sig}")
            return Checked(None, None, message)
        if self._key is None:
            raise AuthError("no_key", "the gate has no office public key")
        try:
            envelope = SignedEnvelope.model_validate(message)
        except ValidationError as exc:
            raise AuthError("malformed", f"envelope: {exc.errors()[0]['msg']}") from None
        ts_text, nonce, body, sig = envelope.ts, envelope.nonce, envelope.body, envelope.sig
        try:
            self._key.verify(
                base64.b64decode(sig, validate=True), signed_bytes(topic, ts_text, nonce, body)
            )
        except (InvalidSignature, ValueError):
            raise AuthError("bad_signature", "signature does not verify for this topic") from None
        try:
            ts = datetime.fromisoformat(ts_text)
            if ts.tzinfo is None:
                raise ValueError("naive")
        except ValueError:
            raise AuthError("malformed", "ts is not an aware ISO time") from None
        self._check_fresh(ts, now, clock_trusted)
        return Checked(nonce, ts, body)

    def accept(self, checked: Checked, parse: bool = True) -> Any:
        """Record the nonce (refusing a replay) and parse the signed body (``parse``
        False: its JSON text, for whoever parses it elsewhere)."""
        if checked.nonce is None or checked.ts is None:
            # unsigned, and signatures are not required
            return checked.body if parse else json.dumps(checked.body)
        if not self._guard.remember(checked.nonce, checked.ts, self._window):
            raise AuthError("replayed", "this nonce was seen before")
        if not parse:
            return checked.body
        try:
            return loads_bounded(checked.body)
        except ValueError as exc:
            raise AuthError("malformed", f"body is not JSON: {str(exc)[:80]}") from None

    def _check_fresh(self, ts: datetime, now: datetime, clock_trusted: bool) -> None:
        if clock_trusted:
            if abs(ts - now) > self._window:
                raise AuthError("stale", f"sent {ts.isoformat()}, gate time {now.isoformat()}")
            return
        # Without a trusted clock, only refuse what is older than the newest accepted message.
        newest = self._guard.newest()
        if newest is not None and ts < newest - self._window:
            raise AuthError("stale", "older than messages already accepted")
