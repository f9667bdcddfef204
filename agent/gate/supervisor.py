"""Keeps a gate running: builds it, runs it, rebuilds it when a config push needs new devices.

Also the last lines of defence for the door: a thread that dies locks every relay
(``threading.excepthook``), and so does the interpreter's exit (``atexit``).
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable

from agent.gate.app import App

log = logging.getLogger(__name__)

ExceptHook = Callable[[threading.ExceptHookArgs], object]


def lock_on_thread_crash(app: App, previous: ExceptHook) -> ExceptHook:
    """An excepthook that locks every door of ``app`` before the usual report."""

    def hook(hook_args: threading.ExceptHookArgs) -> None:
        app.lock_all()
        previous(hook_args)

    return hook


def supervise(build: Callable[[bool], App], stop: threading.Event, poll_s: float = 0.2) -> None:
    """Run the gate ``build(first)`` makes until ``stop`` is set or it ends for good.

    A gate that asks for a restart (new devices from the office) is stopped, and a
    fresh one is built from the configuration now in force.
    """
    current: list[App] = []

    def lock_current() -> None:
        for app in current:
            app.lock_all()

    atexit.register(lock_current)
    previous = threading.excepthook
    first = True
    try:
        while True:
            app = build(first)
            current[:] = [app]
            threading.excepthook = lock_on_thread_crash(app, previous)
            try:
                app.start()
                while not stop.wait(poll_s) and not app.wait(0):
                    pass
            finally:
                app.stop()
            first = False
            if not app.restart_requested or stop.is_set():
                return
            log.info("restarting with the new configuration")
    finally:
        threading.excepthook = previous
