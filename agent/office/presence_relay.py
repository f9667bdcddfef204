"""The office relays each site's presence moves to every gate of the site, signed.

After each batch of events is committed (and on every tick, for what another process
wrote: a purge's forgetting), whatever a site's presence table gained since the last
relay goes out on ``<prefix>/<site>/presence``, in revision order, 2,000 rows a message.
A site with nothing new gets a heartbeat now and then (no rows, its head revision): a
gate that hears nothing for ``partitioned_after_s`` knows it is cut off, and one that
missed a relay sees the gap and asks. A gate's ask (``<root>/presence/request``) is
answered on its own ``presence/sync`` with what it lacks, a page at a time.

The gate that made a move gets it back on the site topic; it merges as a no-op (an
equal stamp never wins), which costs less than a topic per gate.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from agent.core.clock import Clock
from agent.link.mqtt import MqttConnection
from agent.link.signing import seal
from agent.link.topics import site_presence_topic
from agent.models.presence_sync import PresenceAsk, move_row
from agent.office.db.presence import Changes, OfficePresence, presence_of
from agent.office.serve_options import ServeOptions

log = logging.getLogger(__name__)

PAGE = 2000
HEARTBEAT_S = 10.0

Publish = Callable[[str, dict[str, Any]], bool]  # (topic, body) -> sent


def body_of(changes: Changes) -> dict[str, Any]:
    """A ``PresenceBatch`` as the office sends it."""
    return {
        "epoch": changes.epoch, "site": changes.site, "from_rev": changes.from_rev,
        "to_rev": changes.to_rev, "head": changes.head,
        "moves": [move_row(m) for m in changes.moves], "forget": changes.forget,
        "more": changes.more, "reset": changes.reset,
    }  # fmt: skip


def signed_publisher(
    conn: MqttConnection, key: Ed25519PrivateKey, now: Callable[[], datetime]
) -> Publish:
    """Sign and send to any topic; False when it could not go (offline)."""

    def publish(topic: str, body: dict[str, Any]) -> bool:
        try:
            conn.publish(topic, seal(key, topic, body, now()))
        except Exception as exc:  # offline: the gates ask when they are back
            log.debug("office: presence on %s not sent: %s", topic, exc)
            return False
        return True

    return publish


def relay_for(
    store: object,
    conn: MqttConnection,
    key: Ed25519PrivateKey,
    clock: Clock,
    options: ServeOptions,
) -> PresenceRelay | None:
    """The service's relay, when its store keeps presence (a test's store may not)."""
    presence = presence_of(store)
    if presence is None:
        return None
    publish = signed_publisher(conn, key, clock.now)
    return PresenceRelay(presence, publish, options.prefix, clock.monotonic,
                         options.presence_heartbeat_s)  # fmt: skip


class PresenceRelay:
    """Relays, heartbeats and answers; safe from the store, upkeep and intake threads."""

    def __init__(
        self,
        presence: OfficePresence,
        publish: Publish,
        prefix: str,
        monotonic: Callable[[], float],
        heartbeat_s: float = HEARTBEAT_S,
    ) -> None:
        self.presence = presence
        self._publish = publish
        self.prefix = prefix
        self._monotonic = monotonic
        self.heartbeat_s = heartbeat_s
        self._lock = threading.Lock()
        # what each site was relayed up to: from now on (gates ask for what came before)
        self._relayed = {site: rev for site, (_e, rev) in presence.heads().items()}
        self._last_sent: dict[str, float] = {}
        self.relayed_moves = 0
        self.answered = 0

    def relay_new(self) -> int:
        """Send every site's rows newer than its last relay; how many rows went. Never
        raises: a relay that fails now goes with the next batch or tick (the rows stay),
        and the receipts after it must not wait for it."""
        try:
            return self._relay_new()
        except Exception:
            log.exception("office: presence relay failed; trying again with the next batch")
            return 0

    def _relay_new(self) -> int:
        sent = 0
        with self._lock:  # one relayer at a time: revisions go out in order
            for site, (_epoch, head) in self.presence.heads().items():
                done = self._relayed.get(site, 0)
                if head < done:  # the database went back (restored): start from there
                    done = self._relayed[site] = head
                while done < head:
                    changes = self.presence.changes(site, done, PAGE)
                    if changes.reset or changes.to_rev <= done:
                        break
                    if not self._send(site, body_of(changes)):
                        break  # offline: the gates ask for it when they are back
                    sent += len(changes.moves) + len(changes.forget)
                    done = self._relayed[site] = changes.to_rev
        self.relayed_moves += sent
        return sent

    def tick(self, sites: list[str]) -> None:
        """New rows from elsewhere, then a heartbeat for each quiet site (``sites``: the
        gates' sites, so a site without any move yet hears the office too)."""
        self._relay_new()
        now = self._monotonic()
        heads = self.presence.heads()
        for site in sorted(set(sites) | set(heads)):
            if now - self._last_sent.get(site, -1e18) < self.heartbeat_s:
                continue
            if site not in heads:
                self.presence.changes(site, 0, 0)  # its epoch, made once
                heads = self.presence.heads()
            epoch, head = heads[site]
            with self._lock:
                if self._relayed.get(site, 0) < head:
                    continue  # not all relayed yet: the next relay says more than a heartbeat
            beat = {"epoch": epoch, "site": site, "from_rev": head, "to_rev": head, "head": head}
            self._send(site, beat)

    def answer(self, site: str, data: Any, send: Publish) -> None:
        """A gate asked for what it lacks: one page on its ``presence/sync``."""
        try:
            ask = PresenceAsk.model_validate(data)
        except ValidationError as exc:
            log.warning("office: a bad presence ask from %s: %s", site, exc.errors()[:1])
            return
        epoch = self.presence.heads().get(site, ("", 0))[0]
        after = ask.after if ask.epoch == epoch else 0  # another database's count: all
        changes = self.presence.changes(site, after, PAGE)
        if send("presence/sync", body_of(changes)):
            self.answered += 1

    def _send(self, site: str, body: dict[str, Any]) -> bool:
        sent = self._publish(site_presence_topic(self.prefix, site), body)
        if sent:
            self._last_sent[site] = self._monotonic()
        return sent
