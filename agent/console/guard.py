"""uvicorn's h11 protocol with the limits a LAN-facing console needs and uvicorn lacks.

* a header deadline: the whole request head must arrive within ``HEAD_S`` of the
  connection (a slowloris sending a byte every few seconds is cut off);
* connections per peer address and in total are bounded (more are closed at once);
* a request head RFC 9112 wants refused gets a 400 before h11 sees it: a folded header
  line, or Content-Length together with Transfer-Encoding (h11 accepts both; it refuses
  conflicting Content-Lengths and a second Host itself);
* one request per connection (the console answers ``Connection: close``), so a second,
  pipelined request can never slip past these checks.

Everything here runs on the server's event loop: no locks needed.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

HEAD_S = 5.0
MAX_HEAD = 16 * 1024
PER_ADDRESS = 24
TOTAL = 512
_HEAD_END = re.compile(rb"\r?\n\r?\n")


class ConnectionLimits:
    """Open connections per peer address and in total, for one server."""

    def __init__(self, per_address: int = PER_ADDRESS, total: int = TOTAL) -> None:
        self.per_address = per_address
        self.total = total
        self.by_address: dict[str, int] = {}
        self.open = 0

    def admit(self, address: str) -> bool:
        if self.open >= self.total or self.by_address.get(address, 0) >= self.per_address:
            return False
        self.by_address[address] = self.by_address.get(address, 0) + 1
        self.open += 1
        return True

    def release(self, address: str) -> None:
        self.open -= 1
        left = self.by_address.get(address, 1) - 1
        if left:
            self.by_address[address] = left
        else:
            self.by_address.pop(address, None)


def head_problem(head: bytes) -> str | None:
    """Why a request head (request line and header lines) must be refused, or None."""
    lines = head.split(b"\n")[1:]
    if any(line[:1] in (b" ", b"\t") for line in lines):
        return "folded header lines are not allowed"
    names = {line.split(b":", 1)[0].strip().lower() for line in lines}
    if b"content-length" in names and b"transfer-encoding" in names:
        return "Content-Length together with Transfer-Encoding"
    return None


class GuardedH11(H11Protocol):
    """One console connection: admitted, timed and checked before h11 parses it."""

    def __init__(self, *args: Any, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits = limits
        self._address: str | None = None  # set once admitted
        self._head = bytearray()
        self._reading_head = True
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        address = self.client[0] if self.client else "?"
        if not self._limits.admit(address):
            transport.abort()  # over the limit: closed at once, nothing read
            return
        self._address = address
        self._deadline = self.loop.call_later(HEAD_S, self._too_slow)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        if self._address is not None:
            self._limits.release(self._address)
            self._address = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._reading_head:
            super().data_received(data)
            return
        if self._address is None:
            return  # refused at connect; the transport is closing
        self._head += data
        end = _HEAD_END.search(self._head)
        if end is None:
            if len(self._head) > MAX_HEAD:
                self._refuse("the request head is too large")
            return
        problem = head_problem(bytes(self._head[: end.start()]))
        if problem is not None:
            self._refuse(problem)
            return
        self._reading_head = False
        self._cancel_deadline()
        data, self._head = bytes(self._head), bytearray()
        super().data_received(data)

    def _refuse(self, why: str) -> None:
        self._cancel_deadline()
        self._reading_head = False
        body = f"bad request: {why}\n".encode()
        self.transport.write(
            b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\n"
            b"connection: close\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
        self.transport.close()

    def _too_slow(self) -> None:
        self._deadline = None
        if self._reading_head and not self.transport.is_closing():
            self.transport.abort()  # no answer: it would only help a slow client along

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
