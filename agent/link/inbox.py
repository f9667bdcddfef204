"""Office messages: verified, validated, applied, acknowledged. One at a time, off paho's thread.

Whatever is wrong with a message (size, signature, freshness, shape, content), the
answer is an error ack that says why, and nothing changes. A message that fails
authentication also raises a ``security_alert`` event.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable

from pydantic import BaseModel, ValidationError

from agent.core.kinds import EventType
from agent.core.runner import Threads
from agent.errors import Rejected
from agent.gate.ports import GatePort
from agent.link.allowlist_sync import AllowListSync
from agent.link.commands import Commands
from agent.link.remote_config import ConfigPush
from agent.link.signing import AuthError, Verifier
from agent.link.topics import Topics

log = logging.getLogger(__name__)

INBOX_LIMIT = 1000


def _validation_errors(exc: ValidationError) -> list[tuple[str, str]]:
    return [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]


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
    ) -> None:
        self.gate = gate
        self.topics = topics
        self.verifier = verifier
        self._send = send
        self.allowlist = allowlist
        self.config = config
        self.commands = commands
        self.max_payload_bytes = max_payload_bytes
        self._queue: queue.Queue[tuple[str, bytes] | None] = queue.Queue(INBOX_LIMIT)
        self.dropped = 0

    def put(self, topic: str, payload: bytes) -> None:
        """Called on paho's thread: never blocks. A flood beyond the limit is dropped
        unanswered (the office retries when no ack comes)."""
        try:
            self._queue.put_nowait((topic, payload))
        except queue.Full:
            self.dropped += 1
            log.warning("inbox full: dropped a message on %s (%d so far)", topic, self.dropped)

    def start(self, threads: Threads) -> None:
        threads.spawn("gate-inbox", self._run)

    def stop(self) -> None:
        """Handle what is queued, then end the worker (the runner joins it)."""
        try:
            self._queue.put(None, timeout=5)
        except queue.Full:
            log.warning("inbox: %d message(s) left unhandled at stop", self._queue.qsize())

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                self.handle(*item)
            except Exception as exc:
                log.exception("inbox: message on %s failed", item[0])
                kind, name = self.topics.classify(item[0])
                if kind != "unknown":
                    self._refuse(kind, name, None, Rejected(f"internal error: {exc!r}"))

    # -- dispatch ---------------------------------------------------------------
    def handle(self, topic: str, payload: bytes) -> None:
        topics = self.topics
        kind, name = topics.classify(topic)
        if kind == "unknown":
            # cmd/+ also matches our own cmd/ack; anything else is worth a word
            if topic != topics.cmd_ack:
                log.warning("inbox: ignoring message on %s", topic)
            return
        limit = self.max_payload_bytes
        if len(payload) > limit:
            too_big = Rejected(f"payload of {len(payload)} bytes is over the {limit}-byte limit")
            self._refuse(kind, name, None, too_big)
            return
        clock = self.gate.clock
        try:
            body = self.verifier.open(topic, payload, clock.now(), clock.is_trusted())
        except AuthError as exc:
            log.warning("inbox: refused %s: %s", topic, exc)
            where = topic[len(topics.root) + 1 :]
            self.gate.record(EventType.SECURITY_ALERT, None, topic=where, reason=exc.reason)
            self._refuse(kind, name, None, Rejected(f"authentication failed: {exc}"))
            return
        request_id = body.get("request_id") if isinstance(body, dict) else None
        try:
            reply: BaseModel | None
            if kind == "snapshot":
                reply = self.allowlist.snapshot(body)
            elif kind == "patch":
                reply = self.allowlist.patch(body)
            elif kind == "config":
                reply = self.config.apply(body)
            else:
                reply = self.commands.run(name or "", body)
        except ValidationError as exc:
            invalid = Rejected("invalid message", _validation_errors(exc))
            self._refuse(kind, name, request_id, invalid)
        except Rejected as exc:
            self._refuse(kind, name, request_id, exc)
        else:
            if reply is not None:
                self._ack(kind, reply)

    def _ack(self, kind: str, message: BaseModel) -> None:
        topic = self.topics.ack_topic(kind)
        if topic is not None:
            self._send(topic, message.model_dump_json(exclude_none=True).encode())

    def _refuse(self, kind: str, name: str | None, request_id: object, exc: Rejected) -> None:
        log.warning("inbox: %s refused: %s %s", kind, exc.error, exc.errors[:5])
        reply: BaseModel
        if kind in ("snapshot", "patch"):
            reply = self.allowlist.refusal(kind, exc)
        elif kind == "config":
            reply = self.config.refusal(exc)
        else:
            rid = str(request_id) if request_id is not None else None
            reply = self.commands.refusal(name, rid, exc)
        self._ack(kind, reply)
