"""Home Assistant on the office link's connection: discovery, entity states, tag events.

The gate's retained status is refreshed only on mode, allow-list and config changes
(and every ``status_interval_s``), not when a door opens or an alarm trips, and a
relock after a pulse records no event at all. So entity states get their own
retained topic (``<root>/ha/state``), published whenever what Home Assistant shows
changes: on every event, and twice a second while a door is unlocked by a pulse so
the relock shows promptly. Availability follows the gate's retained status and last
will. Discovery configs are announced on every connect and again when Home
Assistant's birth message says ``online``.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from typing import Any

from agent import __version__
from agent.core.kinds import EventType
from agent.core.runner import Threads
from agent.errors import MqttError
from agent.gate.ports import DecisionRecord, GatePort
from agent.link.ha_discovery import entities, entity_states, tag_event
from agent.link.mqtt import MqttConnection
from agent.link.topics import Topics
from agent.models.homeassistant import HomeAssistantConfig
from agent.models.wire import Event

log = logging.getLogger(__name__)

PULSE_POLL_S = 0.5  # while a door is unlocked by a pulse: how soon its relock shows
MIN_ANNOUNCE_S = 1.0  # birth messages are unsigned: a flood of them costs one announce a second
TAG_QUEUE = 100  # tag events waiting for the publisher; older ones are dropped
TAMPER = {EventType.READER_TAMPER: True, EventType.READER_TAMPER_CLEARED: False}


class HomeAssistant:
    """Publishes discovery configs, entity states and tag events; a part of the runner."""

    name = "homeassistant"

    def __init__(
        self,
        gate: GatePort,
        conn: MqttConnection,
        topics: Topics,
        config: HomeAssistantConfig,
        refresh_s: float,
    ) -> None:
        self.gate = gate
        self.conn = conn
        self.topics = topics
        self.config = config
        self.refresh_s = refresh_s
        self._wake = threading.Event()
        self._announce = threading.Event()
        self._lock = threading.Lock()
        # the gate keeps no tamper state of its own: it is known from the events
        self._tamper: dict[str, bool] = {}
        self._tags: deque[dict[str, str]] = deque(maxlen=TAG_QUEUE)
        self._threads: Threads | None = None
        self.announcements = 0
        gate.add_event_listener(self._on_event)
        gate.add_decision_listener(self._on_decision)

    @property
    def subscriptions(self) -> list[tuple[str, int]]:
        return [(self.config.birth_topic, 1)]

    # -- lifecycle -----------------------------------------------------------------
    def start(self, threads: Threads) -> None:
        self._threads = threads
        threads.spawn("gate-homeassistant", self._run)

    def stop(self) -> None:
        if self._threads is not None:
            self._threads.stopping.set()
        self._wake.set()

    # -- callbacks (paho and core threads): never block ---------------------------------
    def connected(self) -> None:
        self._announce.set()
        self._wake.set()

    def message(self, topic: str, payload: bytes) -> bool:
        """Take Home Assistant's birth message; False for any other topic."""
        if topic != self.config.birth_topic:
            return False
        if payload.strip() == b"online":
            self._announce.set()
            self._wake.set()
        return True

    def _on_event(self, event: Event) -> None:
        if event.type in TAMPER and isinstance(reader := event.details.get("reader"), str):
            with self._lock:
                self._tamper[reader] = TAMPER[event.type]
        if event.type is EventType.CONFIG_CHANGED:
            self._announce.set()  # door names may have changed
        self._wake.set()

    def _on_decision(self, record: DecisionRecord) -> None:
        with self._lock:
            self._tags.append(tag_event(record))
        self._wake.set()

    # -- the publisher thread ------------------------------------------------------------
    def _run(self) -> None:
        assert self._threads is not None
        stopping = self._threads.stopping
        clock = self.gate.clock
        published: dict[str, str] | None = None  # what Home Assistant was last told
        last_announce = float("-inf")
        wait = 0.0
        while not stopping.is_set():
            self._wake.wait(wait)
            self._wake.clear()
            wait = self.refresh_s
            if stopping.is_set():
                return
            if not self.conn.connected:
                published = None  # said again in full once connected
                with self._lock:
                    self._tags.clear()  # a live feed: stale taps are not news
                continue
            try:
                if self._announce.is_set():
                    since = clock.monotonic() - last_announce
                    if since >= MIN_ANNOUNCE_S:
                        self._announce.clear()
                        self._announce_all()
                        last_announce = clock.monotonic()
                        published = None
                    else:
                        wait = MIN_ANNOUNCE_S - since
                self._send_tags()
                published, pulsing = self._send_states(published)
                if pulsing:
                    wait = min(wait, PULSE_POLL_S)
            except MqttError as exc:
                log.debug("home assistant: %s; said again when connected", exc)
                published = None
            except Exception:
                log.exception("home assistant: publishing failed; will retry")
                published = None
                stopping.wait(1.0)

    def _announce_all(self) -> None:
        config = self.gate.config_state().config
        found = entities(config, self.topics, self.config.discovery_prefix, __version__)
        for topic, entity in found.items():
            self._publish(topic, entity.config, retain=True)
        self.announcements += 1
        log.info("home assistant: announced %d entities", len(found))

    def _send_tags(self) -> None:
        while True:
            with self._lock:
                if not self._tags:
                    return
                tag = self._tags.popleft()
            self._publish(self.topics.ha_tag, tag, retain=False)

    def _send_states(self, published: dict[str, str] | None) -> tuple[dict[str, str], bool]:
        """Publish the states if they changed; also whether a door is in a pulse now."""
        status = self.gate.status(0)
        with self._lock:
            tamper = dict(self._tamper)
        states = entity_states(status, tamper)
        if states != published:
            self._publish(self.topics.ha_state, states, retain=True)
        pulsing = any(not d.locked and not d.released for d in status.doors.values())
        return states, pulsing

    def _publish(self, topic: str, payload: dict[str, Any], retain: bool) -> None:
        self.conn.publish(topic, json.dumps(payload, sort_keys=True).encode(), retain=retain)
