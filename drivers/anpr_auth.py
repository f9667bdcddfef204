"""How a camera proves it is the camera: a shared token, or HTTP digest (RFC 7616).

Cameras' alarm-server settings can set a URL and, on newer firmware, digest credentials;
a token goes in the URL (``?token=``), an ``Authorization: Bearer`` header or
``X-Gate-Token``. Every comparison is ``hmac.compare_digest``. A digest nonce is
stateless (time and an HMAC of it under a per-process key), lives ``NONCE_S`` seconds,
and its nonce count must grow, so a captured request cannot be replayed.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
from collections import OrderedDict
from urllib.parse import parse_qs
from urllib.request import parse_http_list, parse_keqv_list

NONCE_S = 300.0
REALM = "gate-agent"
_KEEP_NONCES = 64  # nonce counts remembered per camera
_ALGORITHMS = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


def token_ok(secret: str, authorization: str, x_token: str, query: str) -> bool:
    """Whether one of the places a token can be carries ``secret``."""
    want = secret.encode()
    offered = []
    if authorization[:7].lower() == "bearer ":
        offered.append(authorization[7:].strip())
    if x_token:
        offered.append(x_token)
    # more fields than a camera's URL has (parse_qs raises): no token from there
    with contextlib.suppress(ValueError):
        offered += parse_qs(query, max_num_fields=8).get("token", [])[:1] if query else []
    # every offer compared, so the time taken does not say which place was tried
    return any([hmac.compare_digest(o.encode(), want) for o in offered])


class DigestGuard:
    """HTTP digest for one camera: challenges, and checks answers (MD5 or SHA-256)."""

    def __init__(self, user: str, password: str) -> None:
        self._user = user
        self._password = password
        self._key = secrets.token_bytes(32)
        self._counts: OrderedDict[str, int] = OrderedDict()

    def challenge(self, now: float, stale: bool = False) -> str:
        """The ``WWW-Authenticate`` value of a 401."""
        stamp = f"{now:.0f}"
        nonce = f"{stamp}.{self._sign(stamp)}"
        extra = ", stale=true" if stale else ""
        return f'Digest realm="{REALM}", qop="auth", nonce="{nonce}", algorithm=MD5{extra}'

    def check(self, authorization: str, method: str, uri: str, now: float) -> str:
        """ "ok", "stale" (a good answer to an old nonce: challenge again) or "bad"."""
        if authorization[:7].lower() != "digest ":
            return "bad"
        try:
            fields = parse_keqv_list(parse_http_list(authorization[7:]))
        except (ValueError, IndexError):  # "k=" with no value: urllib indexes an empty one
            return "bad"
        nonce, response = fields.get("nonce", ""), fields.get("response", "")
        algorithm = fields.get("algorithm", "MD5").upper()
        hasher = _ALGORITHMS.get(algorithm)
        if hasher is None or fields.get("qop") != "auth" or fields.get("uri") != uri:
            return "bad"
        if fields.get("realm") != REALM or not self._same(fields.get("username", ""), self._user):
            return "bad"
        stamp, _, mac = nonce.partition(".")
        if not self._same(mac, self._sign(stamp)):
            return "bad"
        try:
            count = int(fields.get("nc", ""), 16)
        except ValueError:
            return "bad"

        def h(text: str) -> str:
            return hasher(text.encode()).hexdigest()

        ha1 = h(f"{self._user}:{REALM}:{self._password}")
        ha2 = h(f"{method}:{uri}")
        cnonce, nc = fields.get("cnonce", ""), fields.get("nc", "")
        expected = h(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
        if not self._same(response, expected):
            return "bad"
        if now - float(stamp) > NONCE_S:
            return "stale"
        if count <= self._counts.get(nonce, 0):
            return "bad"  # a replay: the count must grow
        self._counts[nonce] = count
        self._counts.move_to_end(nonce)
        while len(self._counts) > _KEEP_NONCES:
            self._counts.popitem(last=False)
        return "ok"

    def _sign(self, stamp: str) -> str:
        return hmac.new(self._key, stamp.encode(), "sha256").hexdigest()[:32]

    @staticmethod
    def _same(a: str, b: str) -> bool:
        return hmac.compare_digest(a.encode(), b.encode())
