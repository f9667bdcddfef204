"""paho-mqtt behind a small surface. The only module that imports paho.

Connects in the background and reconnects with capped backoff; callbacks arrive on
paho's network thread and must not block.
"""

from __future__ import annotations

import logging
import random
import ssl
import sys
import threading
from collections.abc import Callable
from datetime import datetime

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from agent.errors import MqttError, MqttOffline
from agent.link.health import LinkHealth, describe, disconnect_reason, sentence_case, utc_now
from agent.link.mqtt_settings import Handlers as Handlers
from agent.link.mqtt_settings import MqttSettings as MqttSettings
from agent.link.mqtt_settings import Will as Will
from agent.link.subscriptions import Subscriptions

log = logging.getLogger(__name__)


class MqttConnection:
    """One client connection; ``publish`` is safe from any thread.

    ``label`` names it in the log ("office link"); ``now`` stamps its status times.
    """

    def __init__(
        self,
        settings: MqttSettings,
        handlers: Handlers,
        *,
        label: str = "mqtt",
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self.settings = settings
        self._handlers = handlers
        self._connected = threading.Event()
        self._closing = False
        self._label = label
        self.health = LinkHealth(label, f"{settings.host}:{settings.port}", now)
        # a refused CONNACK is followed by a disconnect: one failed attempt, not two
        self._refused = False
        self.session_present = False  # the last CONNACK's: the broker kept our session
        # PUBACK bookkeeping by message id. paho may report a PUBACK before publish()
        # has returned its mid to us, so an early one is kept until its publish lands.
        self._ack_lock = threading.Lock()
        self._awaiting: dict[int, Callable[[], None] | None] = {}
        self._early: set[int] = set()
        v5 = settings.protocol == "5"
        self._v5 = v5
        self._client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=settings.client_id,
            protocol=paho.MQTTv5 if v5 else paho.MQTTv311,
            clean_session=None if v5 else settings.clean_session,
        )
        client = self._client
        if settings.username is not None:
            client.username_pw_set(settings.username, settings.password)
        if settings.tls or settings.ca_file or settings.cert_file:
            client.tls_set(
                ca_certs=str(settings.ca_file) if settings.ca_file else None,
                certfile=str(settings.cert_file) if settings.cert_file else None,
                keyfile=str(settings.key_file) if settings.key_file else None,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        if settings.will is not None:
            client.will_set(
                settings.will.topic, settings.will.payload, qos=1, retain=settings.will.retain
            )
        # Each connection backs off on its own slightly shorter schedule, so a fleet whose
        # broker restarts does not come back in lockstep (paho does the arithmetic in floats).
        spread = 1.0 - settings.reconnect_jitter * random.random()
        self.reconnect_delays = (
            settings.reconnect_min_s * spread,
            settings.reconnect_max_s * spread,
        )
        client.reconnect_delay_set(*self.reconnect_delays)  # type: ignore[arg-type]
        client.max_inflight_messages_set(settings.max_inflight)
        client.max_queued_messages_set(0)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        self.subscriptions = Subscriptions(
            lambda t, q: client.subscribe(t, q)[1], label, granted=lambda: handlers.subscribed()
        )
        client.on_subscribe = lambda _c, _u, mid, codes, _p: self.subscriptions.acked(
            mid, [not code.is_failure for code in codes]
        )

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def last_error(self) -> str | None:
        """Why the last attempt failed or the last session ended (kept after a reconnect)."""
        return self.health.last_error

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def start(self) -> None:
        """Connect in the background; paho retries until ``stop``."""
        host, port, keepalive = self.settings.host, self.settings.port, self.settings.keepalive_s
        if self._v5:
            self._client.connect_async(
                host, port, keepalive=keepalive, clean_start=self.settings.clean_session
            )
        else:
            self._client.connect_async(host, port, keepalive=keepalive)
        self._client.loop_start()

    def stop(self) -> None:
        self._closing = True
        self.subscriptions.close()
        self._client.disconnect()
        self._client.loop_stop()
        self._connected.clear()
        self.health.closed()

    def publish(
        self,
        topic: str,
        payload: bytes,
        qos: int = 1,
        retain: bool = False,
        on_ack: Callable[[], None] | None = None,
    ) -> int:
        """Send; ``on_ack`` runs (on paho's thread) when the broker acknowledges it.

        Raises ``MqttOffline`` when not connected (nothing was queued) and ``MqttError``
        with paho's code for any other refusal. Returns the message id.
        """
        if not self._connected.is_set():
            raise MqttOffline(f"not connected: {topic} not sent")
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN:
            # paho queued it anyway and will send it after reconnecting: take its ack
            # so the message id is not mistaken for a later message's
            with self._ack_lock:
                self._awaiting[info.mid] = None
            raise MqttOffline(f"not connected: {topic} not sent", int(info.rc))
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            why = paho.error_string(info.rc)
            raise MqttError(f"publish on {topic} failed: {why}", int(info.rc))
        with self._ack_lock:
            early = info.mid in self._early
            if early:
                self._early.discard(info.mid)
            else:
                self._awaiting[info.mid] = on_ack
        if early and on_ack is not None:
            on_ack()
        return info.mid

    def publish_quietly(self, topic: str, payload: bytes, retain: bool = False) -> bool:
        """Best effort (acks, requests, status): a warning instead of an error."""
        try:
            self.publish(topic, payload, retain=retain)
        except MqttError as exc:
            log.warning("%s", exc)
            return False
        return True

    def wait_published(self, topic: str, payload: bytes, timeout: float, retain: bool) -> bool:
        """Publish and block until the broker acknowledged it (used at shutdown)."""
        done = threading.Event()
        try:
            self.publish(topic, payload, retain=retain, on_ack=done.set)
        except MqttError:
            return False
        return done.wait(timeout)

    # -- paho callbacks ---------------------------------------------------
    def _on_connect(
        self, client: paho.Client, _userdata: object, flags: object, reason: object, _props: object
    ) -> None:
        if getattr(reason, "is_failure", False):
            self._refused = True
            self.health.failed(f"refused: {sentence_case(str(reason))}")
            return
        self.session_present = bool(getattr(flags, "session_present", False))
        # _awaiting is kept: paho sends unacknowledged messages again after a reconnect
        self.subscriptions.hold(self._handlers.subscriptions)  # a refused one is asked again
        self._connected.set()
        self.health.up()
        self._handlers.connected()

    def _on_connect_fail(self, _client: paho.Client, _userdata: object) -> None:
        # paho calls this inside its ``except OSError`` around the connect attempt and
        # passes no error: the one being handled is the reason (refused, timed out, TLS)
        exc = sys.exc_info()[1]
        self.health.failed(describe(exc) if exc is not None else "connection failed")

    def _on_disconnect(
        self,
        _client: paho.Client,
        _userdata: object,
        _flags: object,
        reason: object,
        _props: object,
    ) -> None:
        was = self._connected.is_set()
        self._connected.clear()
        why = disconnect_reason(reason)
        if was and not self._closing:  # a closing connection: stop() says so
            self.health.down(why)
        elif not was and not self._closing and not self._refused:
            self.health.failed(f"{why} before the session began")
        self._refused = False  # a refused CONNACK was counted when it came
        self._handlers.disconnected(str(reason))

    def _on_message(self, _client: paho.Client, _userdata: object, msg: paho.MQTTMessage) -> None:
        try:
            self._handlers.message(msg.topic, bytes(msg.payload))
        except Exception:  # raised into paho, it would end the network thread: the link
            log.exception("%s: a message on %s could not be handled", self._label, msg.topic)

    def _on_publish(
        self, _client: paho.Client, _userdata: object, mid: int, _reason: object, _props: object
    ) -> None:
        with self._ack_lock:
            if mid in self._awaiting:
                on_ack = self._awaiting.pop(mid)
            else:
                self._early.add(mid)
                return
        if on_ack is not None:
            on_ack()
