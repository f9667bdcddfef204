"""A scripted walk through the simulated gate, for the README's first command."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from agent.core.runner import Threads
from agent.faces.simulate import SimControls

log = logging.getLogger(__name__)

SCENE: list[tuple[str, str, dict[str, Any]]] = [
    (
        "resident R-101 taps at the vehicle gate",
        "tap",
        {"card": "uid:04A224B2C15E80", "door": "vehicle"},
    ),
    (
        "the car drives under the barrier; the arm lowers behind it",
        "loop",
        {"on": True, "door": "vehicle"},
    ),
    ("", "loop", {"on": False, "door": "vehicle"}),
    (
        "an unknown card at the pedestrian gate",
        "tap",
        {"card": "uid:DEADBEEF", "door": "pedestrian"},
    ),
    ("a suspended resident's card", "tap", {"card": "uid:04DEAD00", "door": "pedestrian"}),
    (
        "R-102 (pedestrian only) tries the vehicle gate",
        "tap",
        {"card": "uid:04B7D91A", "door": "vehicle"},
    ),
    ("the guard registers a visitor", "press", {"button": "visitor"}),
    ("someone forces the vehicle gate", "door", {"state": "open", "door": "vehicle"}),
    ("", "door", {"state": "close", "door": "vehicle"}),
    (
        "the same unknown card, again and again",
        "tap",
        {"card": "uid:DEADBEEF", "door": "pedestrian"},
    ),
    ("", "tap", {"card": "uid:DEADBEEF", "door": "pedestrian"}),
    ("fire alarm: doors released", "fire", {"on": True}),
    ("fire alarm cleared: doors locked", "fire", {"on": False}),
]


def play(sim: SimControls, pause_s: float = 1.0, stop: threading.Event | None = None) -> None:
    for say, op, args in SCENE:
        if stop is not None and stop.is_set():
            return
        if say:
            log.info("demo: %s", say)
        try:
            getattr(sim, op)(**args)
        except Exception as exc:
            log.warning("demo step %s failed: %s", op, exc)
        if stop is not None:
            stop.wait(pause_s)
        else:
            time.sleep(pause_s)
    log.info(
        "demo done; the agent keeps running. With GATE_AGENT_CONFIG=config/sim.toml try: "
        "gate-agent sim tap uid:04B7D91A --door pedestrian | gate-agent status | "
        "gate-agent events --follow"
    )


class DemoPart:
    """Plays the scene once on a thread of the runner's, after the gate is up."""

    name = "demo"

    def __init__(self, sim: SimControls, pause_s: float = 1.0) -> None:
        self.sim = sim
        self.pause_s = pause_s

    def start(self, threads: Threads) -> None:
        threads.spawn("gate-demo", lambda: play(self.sim, self.pause_s, threads.stopping))

    def stop(self) -> None:
        """The runner's stop event ends the scene between steps."""
