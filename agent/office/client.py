"""An office connection to the broker: signs what it sends, collects what gates answer."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.errors import ConfigError, GateError, MqttOffline, RetryableError
from agent.link.mqtt import Handlers, MqttConnection, MqttSettings
from agent.link.signing import seal
from agent.link.subscriptions import topic_matches

SUBACK_WAIT_S = 0.2  # the connection reports no SUBACK: give it this long before sending


class OfficeLink:
    """Connected on ``__enter__``; each subscribed topic's messages land in a queue.

    ``__enter__`` gives up after ``connect_wait_s``, or at the first failed attempt
    (refused, unreachable, login refused), saying what was tried.
    """

    def __init__(
        self,
        settings: MqttSettings,
        subscriptions: list[str],
        key: Ed25519PrivateKey | None = None,
        connect_wait_s: float = 10.0,
    ) -> None:
        self.key = key
        self.connect_wait_s = connect_wait_s
        self._queues: dict[str, queue.Queue[tuple[str, bytes]]] = {
            t: queue.Queue() for t in subscriptions
        }
        self.conn = MqttConnection(
            settings,
            Handlers(
                message=self._on_message,
                subscriptions=[(t, 1) for t in subscriptions],
            ),
        )

    def __enter__(self) -> OfficeLink:
        conn = self.conn
        conn.start()
        deadline = time.monotonic() + self.connect_wait_s
        while not conn.wait_connected(0.02):
            if conn.last_error is not None or time.monotonic() > deadline:
                raise self._unreachable()
        time.sleep(SUBACK_WAIT_S)  # let the SUBACKs land before anything is sent
        return self

    def _unreachable(self) -> GateError:
        # paho may sit in a connect() of its own for seconds: stop it without waiting
        threading.Thread(target=self.conn.stop, name="office-link-stop", daemon=True).start()
        s = self.conn.settings
        tried = (
            f"tried MQTT {s.protocol}, {'TLS' if s.tls else 'no TLS'}, "
            f"{f'user {s.username}' if s.username else 'anonymous'}"
        )
        why = self.conn.last_error
        where = f"{s.host}:{s.port}"
        if why is None:
            return RetryableError(
                f"no answer from the broker at {where} within {self.connect_wait_s:g} s ({tried})"
            )
        if why.startswith("refused"):  # a CONNACK that says no: the account, not the network
            return ConfigError(f"the broker at {where} refused the office's login ({why}; {tried})")
        return RetryableError(f"cannot reach the broker at {where} ({why}; {tried})")

    def __exit__(self, *_exc: object) -> None:
        self.conn.stop()

    def _on_message(self, topic: str, payload: bytes) -> None:
        for pattern, q in self._queues.items():
            if topic_matches(pattern, topic):
                q.put((topic, payload))

    def send(self, topic: str, payload: Any, signed: bool = True, timeout: float = 10) -> None:
        """Publish at QoS 1 (signed with the office key) and wait for the broker's PUBACK."""
        if signed:
            if self.key is None:
                raise GateError("an office private key is needed (--key)")
            data = seal(self.key, topic, payload, datetime.now(UTC))
        else:
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_raw(topic, data, timeout)

    def send_raw(self, topic: str, data: bytes, timeout: float = 10) -> None:
        acked = threading.Event()
        try:
            self.conn.publish(topic, data, on_ack=acked.set)
        except MqttOffline:
            raise RetryableError("not connected to the broker") from None
        if not acked.wait(timeout):
            raise RetryableError(f"the broker did not acknowledge {topic}")

    def expect(
        self,
        pattern: str,
        match: Callable[[dict[str, Any]], bool] = lambda _m: True,
        timeout: float = 10,
    ) -> dict[str, Any] | None:
        """The next message on ``pattern`` that ``match`` accepts, or None after ``timeout``."""
        deadline = time.monotonic() + timeout
        q = self._queues[pattern]
        while (left := deadline - time.monotonic()) > 0:
            try:
                _topic, payload = q.get(timeout=left)
            except queue.Empty:
                return None
            try:
                message = json.loads(payload)
            except ValueError:
                continue
            if isinstance(message, dict) and match(message):
                return message
        return None

    def collect(
        self, pattern: str, until: Callable[[str, dict[str, Any]], bool], timeout: float
    ) -> list[tuple[str, dict[str, Any]]]:
        """(topic, message) on ``pattern`` until one that ``until`` accepts (the last one
        returned) or ``timeout``: what a wildcard brought along the way comes too."""
        out: list[tuple[str, dict[str, Any]]] = []
        deadline = time.monotonic() + timeout
        q = self._queues[pattern]
        while (left := deadline - time.monotonic()) > 0:
            try:
                topic, payload = q.get(timeout=left)
                message = json.loads(payload)
            except queue.Empty:
                break
            except ValueError:
                continue
            if isinstance(message, dict):
                out.append((topic, message))
                if until(topic, message):
                    break
        return out

    def drain(self, pattern: str, idle: float) -> list[tuple[str, dict[str, Any]]]:
        """Everything on ``pattern`` until nothing came for ``idle`` seconds."""
        out: list[tuple[str, dict[str, Any]]] = []
        q = self._queues[pattern]
        while True:
            try:
                topic, payload = q.get(timeout=idle)
            except queue.Empty:
                return out
            try:
                out.append((topic, json.loads(payload)))
            except ValueError:
                continue
