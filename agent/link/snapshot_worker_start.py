"""Starts the list worker (``snapshot_worker.py``) already at a low CPU priority.

Its imports (pydantic, the models) take about 300 ms of CPU; the gate is receiving the
snapshot's chunks meanwhile, and on two cores a worker at the gate's own priority took
the CPU from the decision path for tens of milliseconds. So the priority is lowered
before anything heavy is imported: a nice value below the gate's, and ``SCHED_BATCH``
(it never preempts a thread that wakes up, a card read's, say).
"""

from __future__ import annotations

import contextlib
import os
import sys

NICE = 10


def lower_priority() -> None:
    """As low as the system lets it (a unit's system call filter may refuse); the
    gate starts it through ``nice`` where there is one."""
    with contextlib.suppress(OSError):
        if os.getpriority(os.PRIO_PROCESS, 0) < NICE:
            os.nice(NICE)
    with contextlib.suppress(AttributeError, OSError):  # not Linux: the nice value alone
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))


def run(argv: list[str]) -> int:
    lower_priority()
    try:
        from agent.link.snapshot_worker import main

        return main(argv)
    except Exception as exc:  # one line in the gate's log; the gate refuses the chunk
        print(f"gate-agent list worker: {exc!r}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(run(sys.argv))
