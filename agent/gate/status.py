"""The gate's status as one ``GateStatus``: live state from the core loop, stores beside it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent import __version__
from agent.models.messages import DoorStatus, GateStatus, OfficeLinkStatus, ReaderStatus

if TYPE_CHECKING:
    from agent.gate.app import App


def live_status(app: App) -> GateStatus:
    """Modes, doors and readers. Runs on the core loop, which owns them."""
    modes = app.inputs.modes
    places = app.reads.places
    health = app.monitor.health
    return GateStatus(
        online=True,
        site=app.config.gate.site,
        gate=app.config.gate.gate_id,
        time=app.clock.now(),
        version=__version__,
        mode=modes.mode.value,
        lockdown=modes.lockdown,
        fire_alarm=modes.fire,
        drill=app.drills.summary(),
        occupancy=app.occupancy.summary(),
        clock_trusted=app.clock.is_trusted(),
        config_revision=app.config_revision,
        uptime_s=round(app.clock.monotonic() - app.started_at, 1),
        doors={
            d.id: DoorStatus(
                **d.state().as_dict(), relay_energised=app.hardware.relays[d.id].is_energised
            )
            for d in app.doors.values()
        },
        readers={
            r.name: ReaderStatus(
                door=places[r.name].door,
                direction=places[r.name].direction,
                driver=r.driver_name,
                state=health[r.name].state,
                since=health[r.name].since,
                last_error=health[r.name].last_error or None,
                last_read=app.reads.last_read.get(r.name),
                frame_errors=r.frame_errors,
            )
            for r in app.hardware.readers.values()
        },
        exits_without_entry=app.tailgating.exits_without_entry
        if app.tailgating.directional
        else None,
        barriers=app.barriers.status(),
        plate_receiver=app.plate_counts() if app.plate_counts is not None else None,
    )


def with_stores(live: GateStatus, app: App, recent: int) -> GateStatus:
    """Add what the databases say, read on the caller's thread so no card waits for it."""
    depth = app.events.depth()
    return live.model_copy(
        update={
            "allowlist_version": app.allowlist.version(),
            "allowlist_size": app.allowlist.count(),
            "allowlist_stale": app.allowlist.restore_mark() is not None,
            "outbox_depth": depth,
            "last_seq": app.events.last_seq(),
            "unreceived": app.events.unreceived(),
            "recent_events": app.events.recent(recent) if recent else [],
            "office_link": office_link(app, depth),
        }
    )


def office_link(app: App, backlog: int) -> OfficeLinkStatus:
    """The link's own view (none without a link) plus its backlog from the outbox."""
    link = app.link_status() if app.link_status else OfficeLinkStatus(enabled=False)
    oldest = app.events.unsent(limit=1) if backlog else []
    age = (app.clock.now() - oldest[0].time).total_seconds() if oldest else None
    return link.model_copy(
        update={
            "backlog": backlog,
            "oldest_waiting_age_s": None if age is None else round(max(age, 0.0), 1),
        }
    )
