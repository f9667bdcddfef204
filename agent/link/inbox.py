"""Office messages: verified, validated, applied, acknowledged. One at a time, off paho's thread.

Whatever is wrong with a message (size, signature, freshness, shape, content), the
answer is an error ack that says why, and nothing changes. A message that fails
authentication also raises a ``security_alert`` event.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from pydantic import BaseModel, ValidationError

from agent.core.kinds import EventType
from agent.core.runner import Threads
from agent.errors import Rejected
from agent.gate.ports import GatePort
from agent.link.allowlist_sync import AllowListSync
from agent.link.commands import Commands, claimed_request_id, short_request_id
from agent.link.entry_slices import validation_errors
from agent.link.guards_sync import GuardSync
from agent.link.presence_sync import PresenceSync
from agent.link.receipts import Deliveries
from agent.link.refusals import RefusalCounter
from agent.link.remote_config import ConfigPush
from agent.link.signing import AuthError, Checked, Verifier
from agent.link.topics import Topics

log = logging.getLogger(__name__)

INBOX_LIMIT = 1000
# Payload bytes waiting at most. An office snapshot's chunks arrive faster than they
# apply; past this the network thread waits for room (the broker keeps the rest), so
# the gate's memory stays bounded whatever the office sends.
INBOX_BYTES = 2 << 20
ROOM_WAIT_S = 30.0
FLUSH_S = 1.0
# refusals that say someone may be attacking the gate: they raise security_alert
SECURITY_REASONS = frozenset(
    {"unsigned", "bad_signature", "stale", "replayed", "malformed", "no_key", "too_big"}
)


class Inbox:
    """A queue and a worker thread between the MQTT connection and the gate."""

    name = "inbox"

    def __init__(
        self,
        gate: GatePort,
        topics: Topics,
        verifier: Verifier,
        send: Callable[[str, bytes], object],
        *,
        allowlist: AllowListSync,
        config: ConfigPush,
        commands: Commands,
        max_payload_bytes: int,
        deliveries: Deliveries | None = None,
        guards: GuardSync | None = None,
        presence: PresenceSync | None = None,
    ) -> None:
        self.gate = gate
        self.topics = topics
        self.verifier = verifier
        self._send = send
        self.allowlist = allowlist
        self.config = config
        self.commands = commands
        self.deliveries = deliveries
        self.guards = guards
        self.presence = presence
        self.max_payload_bytes = max_payload_bytes
        self._queue: queue.Queue[tuple[str, Checked, int] | None] = queue.Queue(INBOX_LIMIT)
        self._room = threading.Condition()
        self._queued_bytes = 0
        self.dropped = 0
        self.refusals = RefusalCounter(gate.clock.monotonic, self._report_refusals)

    def put(self, topic: str, payload: bytes) -> None:
        """Called on paho's thread. Size, topic, shape, signature and time are checked
        here, so only genuine messages wait in the queue: garbage, however much of it,
        cannot crowd out the office. It waits only while the queue's bytes are over the
        limit (never for the core loop: the loop may be waiting on paho's lock)."""
        kind, name = self.topics.classify(topic)
        if kind == "unknown":
            if topic != self.topics.cmd_ack:  # cmd/+ also matches our own acks
                self._refuse(kind, name, None, Rejected("not a topic of this gate"), "topic")
            return
        limit = self.max_payload_bytes
        if len(payload) > limit:
            too_big = Rejected(f"payload of {len(payload)} bytes is over the {limit}-byte limit")
            self._refuse(kind, name, None, too_big, "too_big")
            return
        clock = self.gate.clock
        try:
            checked = self.verifier.check(topic, payload, clock.now(), clock.is_trusted())
        except AuthError as exc:
            refused = Rejected(f"authentication failed: {exc}")
            self._refuse(kind, name, None, refused, exc.reason, unverified=payload)
            return
        size = self._take_room(len(payload))
        try:
            self._queue.put_nowait((topic, checked, size))
        except queue.Full:
            self._give_room(size)
            self.dropped += 1  # genuine, but more than the gate can take: the office retries
            log.warning("inbox full: dropped a message on %s (%d so far)", topic, self.dropped)

    def _take_room(self, size: int) -> int:
        with self._room:
            self._room.wait_for(lambda: self._queued_bytes < INBOX_BYTES, timeout=ROOM_WAIT_S)
            self._queued_bytes += size
        return size

    def _give_room(self, size: int) -> None:
        with self._room:
            self._queued_bytes -= size
            self._room.notify_all()

    def start(self, threads: Threads) -> None:
        threads.spawn("gate-inbox", self._run)

    def stop(self) -> None:
        """Handle what is queued, then end the worker (the runner joins it)."""
        try:
            self._queue.put(None, timeout=5)
        except queue.Full:
            log.warning("inbox: %d message(s) left unhandled at stop", self._queue.qsize())

    def _run(self) -> None:
        try:
            self._serve()
        finally:
            self.allowlist.give_up()  # no list worker, nor a file it half wrote, outlives it

    def _serve(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=FLUSH_S)
            except queue.Empty:
                self.refusals.flush()
                continue
            if item is None:
                self.refusals.flush(force=True)
                return
            try:
                self.handle(item[0], item[1])
            except Exception as exc:
                log.exception("inbox: message on %s failed", item[0])
                kind, name = self.topics.classify(item[0])
                body = item[1].body  # the id it claims, echoed so the office can match
                rid = short_request_id(body.get("request_id")) if isinstance(body, dict) else None
                raw = body if isinstance(body, str) else None
                failed = Rejected(f"internal error: {exc!r}")
                self._refuse(kind, name, rid, failed, "internal", unverified=raw)
            self._give_room(item[2])
            self.refusals.flush()

    # -- dispatch ---------------------------------------------------------------
    def handle(self, topic: str, checked: Checked) -> None:
        kind, name = self.topics.classify(topic)
        try:
            # a snapshot's chunk is parsed by the list worker, not on this process's GIL
            body = self.verifier.accept(checked, parse=kind != "snapshot")
        except AuthError as exc:
            self._refuse_unauthentic(kind, name, checked, exc)
            return
        request_id = short_request_id(body.get("request_id")) if isinstance(body, dict) else None
        try:
            reply: BaseModel | None
            if kind == "snapshot":
                reply = self.allowlist.snapshot(body)
            elif kind == "patch":
                reply = self.allowlist.patch(body)
            elif kind == "config":
                reply = self.config.apply(body)
            elif kind == "receipt" and self.deliveries is not None:
                self.deliveries.receipt(body)
                reply = None
            elif kind == "replay" and self.deliveries is not None:
                reply = self.deliveries.replay(body)
            elif kind == "office_online" and self.deliveries is not None:
                self.deliveries.office_online(body)
                if self.presence is not None:
                    self.presence.office_online()
                reply = None
            elif kind in ("presence", "presence_sync"):
                if self.presence is not None:
                    (self.presence.relay if kind == "presence" else self.presence.answer)(body)
                reply = None
            elif kind == "guards" and self.guards is not None:
                reply = self.guards.apply(body)
            else:
                reply = self.commands.run(name or "", body)
        except AuthError as exc:  # signed, but its body is not JSON
            self._refuse_unauthentic(kind, name, checked, exc)
        except ValidationError as exc:
            invalid = Rejected("invalid message", validation_errors(exc))
            self._answer_refusal(kind, name, request_id, invalid)
        except Rejected as exc:
            self._answer_refusal(kind, name, request_id, exc)
        else:
            if reply is not None:
                self._ack(kind, reply)

    def _refuse_unauthentic(
        self, kind: str, name: str | None, checked: Checked, exc: AuthError
    ) -> None:
        refused = Rejected(f"authentication failed: {exc}")
        signed = checked.body if isinstance(checked.body, str) else None
        self._refuse(kind, name, None, refused, exc.reason, unverified=signed)

    def _ack(self, kind: str, message: BaseModel) -> None:
        topic = self.topics.ack_topic(kind)
        if topic is not None:
            self._send(topic, message.model_dump_json(exclude_none=True).encode())

    def _refuse(
        self,
        kind: str,
        name: str | None,
        request_id: object,
        exc: Rejected,
        reason: str,
        unverified: bytes | str | None = None,
    ) -> None:
        """A message that fails before it is handled: counted; acked only a few times.
        A command's ack echoes the request id the ``unverified`` message claims."""
        if self.refusals.refused(kind, reason, exc.error) and kind != "unknown":
            if kind == "cmd" and request_id is None and unverified is not None:
                request_id = claimed_request_id(unverified)
            self._answer_refusal(kind, name, request_id, exc, quiet=True)

    def _report_refusals(self, kind: str, reason: str, count: int, over_s: float) -> None:
        if reason not in SECURITY_REASONS:
            return
        try:
            self.gate.record(
                EventType.SECURITY_ALERT, None, topic=kind, reason=reason, count=count,
                over_s=round(over_s, 1),
            )  # fmt: skip
        except Exception as exc:  # a gate too busy to record it must not lose the inbox
            log.error("inbox: %d refused %s message(s) (%s) not recorded: %r", count, kind,
                      reason, exc)  # fmt: skip

    def _answer_refusal(
        self,
        kind: str,
        name: str | None,
        request_id: object,
        exc: Rejected,
        quiet: bool = False,
    ) -> None:
        if not quiet:
            log.warning("inbox: %s refused: %s %s", kind, exc.error, exc.errors[:5])
        reply: BaseModel
        if kind in ("snapshot", "patch"):
            reply = self.allowlist.refusal(kind, exc)
        elif kind == "config":
            reply = self.config.refusal(exc)
        elif kind in ("receipt", "office_online", "presence", "presence_sync"):
            return  # never answered
        elif kind == "guards" and self.guards is not None:
            reply = self.guards.refusal(exc)
        elif kind == "replay":
            rid = str(request_id)[:64] if isinstance(request_id, str) else None
            reply = Deliveries.refusal(rid, exc)
        else:
            rid = str(request_id) if request_id is not None else None
            reply = self.commands.refusal(name, rid, exc)
        self._ack(kind, reply)
