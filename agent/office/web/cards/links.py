"""The delivery worker's MQTT connections: one per gate, kept from pass to pass.

A fresh ``OfficeLink`` per delivery costs a connect and the 0.2 s it waits for its SUBACKs;
the worker keeps one per gate instead and follows the gate's retained status on it. A link
that failed is dropped and made again on the next pass.
"""

from __future__ import annotations

import argparse
import copy
from typing import Any

from agent.link.topics import Topics
from agent.models.messages import SNAPSHOT_CHUNK
from agent.office import options
from agent.office.client import OfficeLink
from agent.office.presence import STATUS_WAIT_S


class GateLinks:
    """Connections to the gates the worker delivers to, and each gate's latest status."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self._links: dict[tuple[str, str], tuple[OfficeLink, Topics]] = {}
        self._status: dict[tuple[str, str], dict[str, Any]] = {}

    def gate_args(self, site: str, gate: str) -> argparse.Namespace:
        """The command's flags aimed at one gate, as ``push_over`` takes them."""
        one = copy.copy(self.args)
        one.site, one.gate, one.json, one.snapshot = site, gate, False, False
        one.chunk = getattr(self.args, "chunk", SNAPSHOT_CHUNK)
        return one

    def open(self, site: str, gate: str) -> tuple[OfficeLink, Topics, dict[str, Any] | None]:
        """The gate's link (connected now if need be, ``GateError`` if it cannot be), its
        topics and its latest status (None: the broker holds none); stale acks dropped."""
        key = (site, gate)
        if key not in self._links:
            topics = Topics(self.args.prefix, site, gate)
            link = options.link(self.gate_args(site, gate), [topics.status, topics.allowlist_ack])
            link.__enter__()
            self._links[key] = (link, topics)
            first = link.expect(topics.status, timeout=STATUS_WAIT_S)  # the retained one
            if first is not None:
                self._status[key] = first
        link, topics = self._links[key]
        for _topic, status in link.drain(topics.status, idle=0):
            self._status[key] = status
        link.drain(topics.allowlist_ack, idle=0)  # answers to a push that timed out
        return link, topics, self._status.get(key)

    def drop(self, site: str, gate: str) -> None:
        """Forget a gate's link (after a failure): the next pass connects anew."""
        found = self._links.pop((site, gate), None)
        self._status.pop((site, gate), None)
        if found is not None:
            found[0].__exit__(None, None, None)

    def close(self) -> None:
        for site, gate in list(self._links):
            self.drop(site, gate)
