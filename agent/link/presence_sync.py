"""Presence across gates, the gate's end: relayed moves merged, catch-up, partitions.

The office relays every stored move of the site, signed, and answers a gate's ask with
what it lacks. The gate merges whatever arrives (last-writer-wins, so order and repeats
do not matter) and keeps the relay revision it holds without a gap; it asks for the rest
when it connects, when the office says it is online, and when a relay or heartbeat shows
a gap. The decision never waits for any of it.

The office sends a heartbeat per site when it has nothing to relay, so silence means
something: with the link down or the office silent for ``partitioned_after_s``, the
gate counts as cut off (``presence_partitioned``; areas with ``while_partitioned =
"soft"`` report instead of refusing) until it has heard the office again and caught up
(``presence_rejoined``, with the moves it caught up on).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from pydantic import ValidationError

from agent.core.kinds import EventType
from agent.core.runner import Threads
from agent.gate.ports import GatePort
from agent.gate.presence_merge import PresenceMerge
from agent.link.topics import Topics
from agent.models.presence_sync import PresenceAsk, PresenceBatch

log = logging.getLogger(__name__)

ASK_AGAIN_S = 5.0  # an ask with no answer by then is sent again
TICK_S = 0.25


class PresenceSync:
    """A runner part: merges the office's batches (inbox thread), watches for partitions."""

    name = "presence"

    def __init__(
        self,
        gate: GatePort,
        merger: PresenceMerge,
        topics: Topics,
        send: Callable[[str, bytes], object],
        partitioned_after_s: float,
    ) -> None:
        self.gate = gate
        self.merger = merger
        self.topics = topics
        self._send = send
        self.after_s = partitioned_after_s
        self._lock = threading.Lock()
        self.epoch: str | None = None
        self.rev = 0
        self._loaded = False
        self._asked_at: float | None = None  # monotonic time of the ask in flight
        self._heard_at = gate.clock.monotonic()  # the office's last presence message
        self._cut_since: float | None = None  # cut off since (monotonic), or None
        self._caught_up = 0  # moves merged from catch-up answers since the cut
        self.asks = 0
        self.merged = 0  # records that won, from every batch
        self.invalid = 0  # signed messages that were no batch

    # -- lifecycle ------------------------------------------------------------------
    def start(self, threads: Threads) -> None:
        self._load()
        threads.spawn("gate-presence", lambda: self._run(threads.stopping))

    def stop(self) -> None:
        """Nothing to flush: what was merged is durable, the rest is asked for again."""

    def _load(self) -> None:
        with self._lock:
            if not self._loaded:
                self.epoch, self.rev = self.merger.revision()
                self._loaded = True

    def _run(self, stopping: threading.Event) -> None:
        while not stopping.wait(TICK_S):
            try:
                self.tick()
            except Exception:  # a busy or stopping gate: the next tick tries again
                log.exception("presence: the partition check failed")

    # -- from the link ----------------------------------------------------------------
    def subscribed(self) -> None:
        """Every topic granted (paho's thread): ask for what the office relayed meanwhile."""
        self.ask(force=True)

    def office_online(self) -> None:
        self.ask(force=True)

    def ask(self, force: bool = False) -> None:
        """Ask for everything after our revision, unless an ask is already on its way."""
        now = self.gate.clock.monotonic()
        with self._lock:
            if not force and self._asked_at is not None and now - self._asked_at < ASK_AGAIN_S:
                return
            self._asked_at = now
            ask = PresenceAsk(after=self.rev, epoch=self.epoch)
            self.asks += 1
        self._send(self.topics.presence_request, ask.model_dump_json().encode())

    def relay(self, body: object) -> None:
        """A batch on the site's topic (inbox thread, signature and freshness checked)."""
        self._apply(self._batch(body), answer=False)

    def answer(self, body: object) -> None:
        """The office's answer to our ask, on our own ``presence/sync``."""
        self._apply(self._batch(body), answer=True)

    def _batch(self, body: object) -> PresenceBatch:
        try:
            return PresenceBatch.model_validate(body)
        except ValidationError:
            with self._lock:
                self.invalid += 1  # signed but not a batch: the inbox refuses it (logged)
            raise

    def _apply(self, batch: PresenceBatch, answer: bool) -> None:
        self._load()
        if batch.site != self.topics.site:
            return  # signed for this topic, so never expected: nothing to merge
        with self._lock:
            self._heard_at = self.gate.clock.monotonic()
            epoch, rev = self.epoch, self.rev
            if batch.epoch != epoch:
                rev = 0  # another office database: its revisions are not ours
            if answer and batch.reset:
                new = batch.to_rev  # the office restarted its count (restored database)
            elif batch.from_rev <= rev:
                new = max(rev, batch.to_rev)  # contiguous; an old batch never goes back
            else:
                new = rev  # a gap: merge what came, ask for the rest
            changed = (batch.epoch, new) != (epoch, self.rev)
            if answer:
                self._asked_at = None
        records = batch.records()
        won = 0
        if records or batch.forget or changed:
            won = self.merger.merge(records, batch.forget, (batch.epoch, new) if changed else None)
        with self._lock:
            self.epoch, self.rev = batch.epoch, new
            self.merged += won
            if answer and self._cut_since is not None:
                self._caught_up += won
            # the office ahead of us, or behind (its database restored from a backup)
            behind = new < batch.head or (batch.head < new and not answer)
            cut = self._cut_since is not None
        if answer and batch.more:
            self.ask(force=True)
        elif behind or (cut and not answer):
            self.ask()  # cut off and heard again: catch up before rejoining
        elif answer:
            self._rejoin_if_cut()

    # -- partitions -------------------------------------------------------------------
    def tick(self) -> None:
        """Cut off when the office has been silent for ``partitioned_after_s``."""
        now = self.gate.clock.monotonic()
        if not self.merger.keeper.passages:  # no presence kept here: nothing to be cut off from
            with self._lock:
                self._heard_at = now
            return
        with self._lock:
            silent = now - self._heard_at
            newly = self._cut_since is None and silent >= self.after_s
            if newly:
                self._cut_since, self._caught_up = now, 0
            waiting = self._asked_at is not None and now - self._asked_at >= ASK_AGAIN_S
        if newly:
            self.merger.set_partitioned(True)
            log.warning("presence: no word from the office for %.0f s: cut off", silent)
            self.gate.record(
                EventType.PRESENCE_PARTITIONED, None, silent_s=round(silent, 1),
                revision=self.rev,
            )  # fmt: skip
        if waiting:
            self.ask()

    def _rejoin_if_cut(self) -> None:
        with self._lock:
            since = self._cut_since
            if since is None:
                return
            self._cut_since = None
            caught_up, self._caught_up = self._caught_up, 0
            cut_s = self.gate.clock.monotonic() - since + self.after_s
        self.merger.set_partitioned(False)
        log.info("presence: rejoined after about %.0f s; %d move(s) caught up", cut_s, caught_up)
        self.gate.record(
            EventType.PRESENCE_REJOINED, None, caught_up=caught_up,
            partitioned_s=round(cut_s, 1), revision=self.rev,
        )  # fmt: skip

    @property
    def partitioned(self) -> bool:
        return self.merger.partitioned

    def state(self) -> dict[str, object]:
        """For status and tests: the revision held and whether the gate is cut off."""
        with self._lock:
            return {"epoch": self.epoch, "revision": self.rev, "partitioned": self.partitioned}
