"""Is the gate there? Its retained status answers at once, so nobody waits for silence.

Every gate that ever connected has a retained ``status`` (``online: false`` from its
last will or its clean stop). The broker hands it over right after the subscription:
nothing within ``STATUS_WAIT_S`` means the broker knows no such gate.
"""

from __future__ import annotations

from typing import Any

from agent.link.topics import Topics
from agent.office.answers import NoAnswer, offline_text
from agent.office.client import OfficeLink

CONNECT_WAIT_S = 1.5  # to reach the broker; a first failed attempt ends the wait sooner
STATUS_WAIT_S = 1.2  # for the retained status once subscribed
# together with SUBACK_WAIT_S at most 3 s: the bound a person is promised (tested)


def site_statuses(topics: Topics) -> str:
    """Every gate's status on the site: the one asked for, and the others to name them."""
    return Topics(topics.prefix, topics.site, "+").status


def gate_status(link: OfficeLink, topics: Topics) -> dict[str, Any]:
    """The gate's retained status; ``NoAnswer`` naming the site's gates when there is none."""
    seen = link.collect(site_statuses(topics), lambda t, _m: t == topics.status, STATUS_WAIT_S)
    for topic, message in seen:
        if topic == topics.status:
            return message
    known = sorted({topic.split("/")[-2] for topic, _ in seen})
    s = link.conn.settings
    raise NoAnswer(
        f"no gate {topics.site}/{topics.gate} known to the broker at {s.host}:{s.port}: "
        f"nothing retained on {topics.status} within {STATUS_WAIT_S:g} s; known gates of "
        f"{topics.site}: {', '.join(known[:20]) or 'none'} (check --site, --gate, --prefix)"
    )


def online_status(link: OfficeLink, topics: Topics, doing: str) -> dict[str, Any]:
    """The status of a gate that is online; ``NoAnswer`` (``doing`` not sent) otherwise."""
    status = gate_status(link, topics)
    if not status.get("online"):
        name = f"{topics.site}/{topics.gate}"
        raise NoAnswer(f"gate {name} is {offline_text(status)}; {doing} not sent")
    return status
