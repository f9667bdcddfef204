"""The office link of one gate, assembled: connection, uplink and inbox as runner parts.

Nothing here imports the App: the link gets the ``GatePort`` of a gate, its outbox
and its state paths, and the App (or a test) adds the parts to its runner.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

from agent.core.loop import CoreLoop
from agent.core.runner import Part, Threads
from agent.gate.ports import GatePort
from agent.gate.presence_merge import PresenceMerge
from agent.link.allowlist_sync import GIVE_WAY_S, AllowListSync
from agent.link.commands import Commands
from agent.link.guards_sync import GuardSync
from agent.link.homeassistant import HomeAssistant
from agent.link.inbox import Inbox
from agent.link.mqtt import Handlers, MqttConnection, MqttSettings, Will
from agent.link.presence_sync import PresenceSync
from agent.link.receipts import Deliveries
from agent.link.remote_config import ConfigPush, OverlayStore
from agent.link.signing import ReplayGuard, Verifier
from agent.link.topics import Topics
from agent.link.uplink import Uplink
from agent.models.config import GateConfig
from agent.models.keys import parse_public_key
from agent.models.messages import AckedEvent, ConfigAck, GateStatus, OfficeLinkStatus
from agent.store.eventlog import EventLog
from agent.store.guards import GuardStore
from agent.store.paths import StatePaths


class ConnectionPart:
    """The MQTT connection as a part: connects in the background, closes last."""

    name = "mqtt"

    def __init__(self, conn: MqttConnection, guard: ReplayGuard) -> None:
        self.conn = conn
        self._guard = guard

    def start(self, threads: Threads) -> None:
        self.conn.start()

    def stop(self) -> None:
        self.conn.stop()
        self._guard.close()


@dataclass
class GateLink:
    """The parts of one gate's office link, in start order."""

    conn: MqttConnection
    uplink: Uplink
    inbox: Inbox
    connection: ConnectionPart
    topics: Topics
    # said once the broker is reached (the gate may start offline), then forgotten
    on_connect: list[tuple[str, bytes]] = field(default_factory=list)
    homeassistant: HomeAssistant | None = None
    presence: PresenceSync | None = None

    def status(self) -> OfficeLinkStatus:
        """The connection and the upload as they are now (the backlog comes from the log)."""
        health = self.conn.health.snapshot()
        acked = self.uplink.last_acked
        return OfficeLinkStatus(
            enabled=True,
            broker=self.conn.health.where,
            connected=health.connected,
            connected_since=health.connected_since,
            disconnected_since=health.disconnected_since,
            last_error=health.last_error,
            last_error_at=health.last_error_at,
            failed_attempts=health.failed_attempts,
            last_event_acked=AckedEvent(seq=acked[0], time=acked[1]) if acked else None,
        )

    def report_rollback(self, revision: int, error: str) -> None:
        """Ack a config push that could not start as failed, once the office can hear it."""
        ack = ConfigAck(ok=False, revision=revision, error=error[:500])
        self.on_connect.append((self.topics.config_ack, ack.model_dump_json().encode()))

    @property
    def parts(self) -> list[Part]:
        # stopped in reverse: the inbox answers what it holds, the uplink flushes, then
        # the connection closes
        parts: list[Part] = [self.connection, self.uplink, self.inbox]
        parts += [self.presence] if self.presence else []
        return parts + ([self.homeassistant] if self.homeassistant else [])


def build_link(
    gate: GatePort,
    outbox: EventLog,
    paths: StatePaths,
    config: GateConfig,
    merger: PresenceMerge | None = None,
    give_way: Callable[[], object] = lambda: None,
) -> GateLink:
    """The office link's parts for ``gate``; ``give_way`` (the core loop's, waiting
    while it has work) runs between the pieces of bulk work: snapshot chunks."""
    ident, mqtt = config.gate, config.mqtt
    topics = Topics(mqtt.topic_prefix, ident.site, ident.gate_id)
    offline = GateStatus(online=False, site=ident.site, gate=ident.gate_id)
    settings = MqttSettings.from_config(
        mqtt,
        client_id=f"gate-{ident.site}-{ident.gate_id}",
        will=Will(topics.status, offline.model_dump_json().encode()),
    )
    guard = ReplayGuard(paths.events_db, outbox.turns)
    key = parse_public_key(mqtt.office_public_key) if mqtt.office_public_key else None
    verifier = Verifier(key, mqtt.max_clock_skew_s, guard, mqtt.require_signatures)
    handlers = Handlers(subscriptions=[(t, 1) for t in topics.inbound])
    conn = MqttConnection(settings, handlers, label="office link", now=gate.clock.now)
    uplink = Uplink(
        gate,
        outbox,
        conn,
        topics,
        mqtt.status_interval_s,
        delivery=mqtt.delivery,
        receipt_timeout_s=mqtt.receipt_timeout_s,
        per_message=mqtt.events_per_message,
    )
    ha = None
    if mqtt.homeassistant.enabled:
        ha = HomeAssistant(gate, conn, topics, mqtt.homeassistant, mqtt.status_interval_s)
        handlers.subscriptions += ha.subscriptions
    sync = AllowListSync(gate, topics.allowlist_request, conn.publish_quietly, give_way)
    presence = None
    if merger is not None:  # other gates' moves, relayed by the office (issue 21)
        after_s = config.presence.partitioned_after_s
        presence = PresenceSync(gate, merger, topics, conn.publish_quietly, after_s)
        handlers.subscribed = presence.subscribed
    inbox = Inbox(
        gate,
        topics,
        verifier,
        conn.publish_quietly,
        allowlist=sync,
        config=ConfigPush(gate, OverlayStore(paths.remote_config)),
        commands=Commands(gate, sync.request_snapshot, uplink.request_status),
        max_payload_bytes=mqtt.max_payload_bytes,
        deliveries=Deliveries(outbox, uplink.received, uplink.resend),
        guards=GuardSync(gate, GuardStore(paths)),
        presence=presence,
    )
    # the connection exists before its listeners, so they are filled in now
    pending: list[tuple[str, bytes]] = []

    def connected() -> None:
        uplink.session_changed()
        if ha is not None:
            ha.connected()
        while pending:
            conn.publish_quietly(*pending.pop(0))
        if gate.allowlist.version() is None:
            # a new gate, or one whose list was set aside as damaged: it denies every
            # card until the office sends the list
            sync.request_snapshot("the gate holds no allow-list")
        elif gate.allowlist.restore_mark() is not None:
            # restored from a backup: the office may have revoked cards since
            sync.request_snapshot("the gate was restored from a backup")

    handlers.connected = connected
    handlers.disconnected = lambda _reason: uplink.session_changed()

    def message(topic: str, payload: bytes) -> None:
        # Home Assistant's birth message is not the office's: never a refusal or an alarm
        if ha is None or not ha.message(topic, payload):
            inbox.put(topic, payload)

    handlers.message = message
    return GateLink(conn, uplink, inbox, ConnectionPart(conn, guard), topics, pending, ha, presence)


class LinkHost(GatePort, Protocol):
    """A gate that can carry an office link: its port, outbox, state paths and runner,
    and a slot for the link's status (its ``status`` shows it)."""

    link_status: Callable[[], OfficeLinkStatus] | None
    presence_merge: PresenceMerge

    @property
    def events(self) -> EventLog: ...

    @property
    def paths(self) -> StatePaths: ...

    def add_part(self, part: Part) -> None: ...

    @property
    def loop(self) -> CoreLoop: ...


def attach(host: LinkHost) -> GateLink:
    """Build the office link for ``host`` and register its parts to run with it."""
    config = host.config_state().config
    give_way = partial(host.loop.wait_idle, GIVE_WAY_S)
    link = build_link(host, host.events, host.paths, config, host.presence_merge, give_way)
    for part in link.parts:
        host.add_part(part)
    host.link_status = link.status
    return link
