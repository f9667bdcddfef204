"""The App's two parts: the core (loop thread, housekeeping) and the devices."""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING

from agent import __version__
from agent.core.kinds import EventType
from agent.core.runner import Threads
from agent.gate.build import close_all

if TYPE_CHECKING:
    from agent.gate.app import App

log = logging.getLogger(__name__)

PRUNE_INTERVAL_S = 300.0
HOUSEKEEPING_S = 2.0


class CorePart:
    """The core loop's thread and database housekeeping."""

    name = "core"

    def __init__(self, app: App) -> None:
        self.app = app
        self._threads: Threads | None = None

    def start(self, threads: Threads) -> None:
        self._threads = threads
        self.app.loop.start(threads)
        self.app.events.when_due(threads.wake.set)
        threads.spawn("gate-housekeeping", self._housekeeping)
        if self.app.notifier.watchdog_interval:
            self.app.loop.post(self._watchdog)

    def stop(self) -> None:
        self.app.loop.stop()

    def _watchdog(self) -> None:
        notifier = self.app.notifier
        notifier.watchdog()
        assert notifier.watchdog_interval
        self.app.loop.call_later(notifier.watchdog_interval, self._watchdog)

    def _housekeeping(self) -> None:
        """Database upkeep that must stay out of the decision path."""
        assert self._threads is not None
        app, stopping, wake = self.app, self._threads.stopping, self._threads.wake
        next_retention = app.clock.monotonic() + PRUNE_INTERVAL_S
        # each round on the timer, or sooner when the event log's WAL is due a checkpoint
        while True:
            wake.wait(HOUSEKEEPING_S)
            wake.clear()
            if stopping.is_set():  # set before ``wake`` by ``Threads.stop``
                break
            try:
                app.events.checkpoint()
                app.allowlist.checkpoint()
                if app.clock.monotonic() >= next_retention:
                    next_retention = app.clock.monotonic() + PRUNE_INTERVAL_S
                    app.enforce_retention()
            except Exception:
                log.exception("housekeeping failed")


class DevicePart:
    """Doors locked, the start recorded, then inputs and readers; on stop the reverse."""

    name = "devices"

    def __init__(self, app: App) -> None:
        self.app = app

    def start(self, threads: Threads) -> None:
        app = self.app
        app.lock_all()
        app.loop.run_sync(self._started)
        for name, device in app.hardware.inputs.items():
            device.start(partial(app.loop.post, app.inputs.changed, name))
        app.loop.run_sync(self._sync_inputs)
        app.loop.run_sync(app.drills.resume)  # after the inputs: a fire at boot is real
        app.loop.run_sync(app.muster.resume)  # after both: a cause may still be there
        for name, reader in app.hardware.readers.items():
            reader.start(app.monitor.hooks(name, app.lanes), threads)
        app.devices_ready.set()  # simulated stimuli may come now (the control socket)

    def _started(self) -> None:
        app = self.app
        app.emit(EventType.AGENT_STARTED, version=__version__, mode=app.mode.value)
        for recovery in app.stores.recoveries:
            app.emit(EventType.DATABASE_RECOVERED, **recovery.details())
        if (mark := app.allowlist.restore_mark()) is not None:
            # raised at every start until the office's list replaces the restored one
            app.emit(
                EventType.ALLOWLIST_STALE,
                version=mark.get("version"),
                backup_created=mark.get("backup_created"),
                policy=app.config.storage.after_restore,
            )
        app.passes.recover(app.events.matching(types=["pass_used"], limit=200, newest=True))
        app.enforce_retention()
        self._forget_idle_windows()
        app.passes.upkeep()

    def _forget_idle_windows(self) -> None:
        self.app.reads.watch.prune(self.app.clock.monotonic())
        self.app.loop.call_later(PRUNE_INTERVAL_S, self._forget_idle_windows)

    def _sync_inputs(self) -> None:
        for name, device in self.app.hardware.inputs.items():
            self.app.inputs.at_boot(name, device.is_active)

    def stop(self) -> None:
        app = self.app
        app.devices_ready.clear()
        close_all(list(app.hardware.readers.values()), log_close_error)
        app.loop.run_sync(self._final_lock)

    def _final_lock(self) -> None:
        for door in self.app.doors.values():
            door.released = False
            door.lock()
        self.app.emit(EventType.AGENT_STOPPED)


def log_close_error(device: object, exc: Exception) -> None:
    log.error("while stopping: closing %s failed: %s", getattr(device, "name", device), exc)
