"""A console under test: a real App with the console part, and a cookie-keeping client."""

from __future__ import annotations

import functools
import http.client
import re
import ssl
from typing import Any
from urllib.parse import urlencode

from agent.console.server import ConsolePart
from agent.gate.app import App
from agent.models.guards import GuardEntry, GuardList
from agent.store.guards import GuardStore
from agent.store.passwords import hash_password

PASSWORD = "correct horse battery"


@functools.cache
def password_digest() -> str:
    """``PASSWORD`` hashed once for the whole run: scrypt takes about 0.1 s a time."""
    return hash_password(PASSWORD)


def add_guards(app: App, *ids: str, version: int = 1, disabled: tuple[str, ...] = ()) -> None:
    """Office accounts, as a push would leave them (all with ``PASSWORD``)."""
    digest = password_digest()
    entries = [GuardEntry(guard_id=g, password_hash=digest, disabled=g in disabled) for g in ids]
    GuardStore(app.paths).replace(GuardList(version=version, guards=entries))


class Client:
    """One browser: keeps the cookies the console sets, reads the CSRF token of each page."""

    def __init__(self, part: ConsolePart, tls: ssl.SSLContext | None = None) -> None:
        assert part.port is not None
        self.port = part.port
        self.tls = tls
        self.cookies: dict[str, str] = {}
        self.csrf = ""
        self.last_headers: list[tuple[str, str]] = []

    def _conn(self) -> http.client.HTTPConnection:
        if self.tls is not None:
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=10, context=self.tls)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, str]:  # fmt: skip
        conn = self._conn()
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        text = response.read().decode()
        conn.close()
        self.last_headers = response.getheaders()
        for name, value in self.last_headers:
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                val = rest.split(";", 1)[0]
                if "Max-Age=0" in value:
                    self.cookies.pop(key, None)
                else:
                    self.cookies[key] = val
        if match := re.search(r'name="csrf" (?:content|value)="([^"]*)"', text):
            self.csrf = match.group(1)
        return response.status, text

    def get(self, path: str) -> tuple[int, str]:
        return self.request("GET", path)

    def post(self, path: str, csrf: str | None = None, **fields: Any) -> tuple[int, str]:
        data = {"csrf": self.csrf if csrf is None else csrf, **fields}
        return self.request("POST", path, urlencode(data).encode())

    def header(self, name: str) -> list[str]:
        return [v for k, v in self.last_headers if k.lower() == name.lower()]

    def sign_in(self, guard_id: str, password: str = PASSWORD) -> int:
        self.get("/login")
        return self.post("/login", guard_id=guard_id, password=password)[0]
