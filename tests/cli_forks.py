"""Many ``gate-agent`` runs from one Python start-up: a runner that forks one child each.

``python -m agent.faces.cli ARGS`` spends about a quarter of a second starting Python and
importing before it reads its arguments; a test that runs a hundred hostile command
lines pays that a hundred times. The runner imports the CLI once, then forks a child per
command line. Each child is a process of its own, with stdin on /dev/null and stdout and
stderr on files of its own, runs ``main(argv)`` as ``python -m agent.faces.cli`` does
(``sys.exit(main())``) and ends with the status the interpreter would have ended with.

Run as ``python -m tests.cli_forks``: a JSON request on stdin, ``{"runs": [argv, ...],
"folder": ..., "jobs": N}``; a JSON list of exit statuses on stdout. Run ``i`` writes
``folder/i.out`` and ``folder/i.err``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Finished:
    """One command line's outcome, as ``subprocess.run(..., text=True)`` would give it."""

    returncode: int
    stdout: str
    stderr: str


def run_many(runs: list[list[str]], folder: Path, jobs: int = 2) -> list[Finished]:
    """``gate-agent ARGV`` for each argv, ``jobs`` at a time, each in a process of its own."""
    folder.mkdir(parents=True, exist_ok=True)
    request = json.dumps({"runs": runs, "folder": str(folder), "jobs": jobs})
    done = subprocess.run(
        [sys.executable, "-m", "tests.cli_forks"],
        input=request,
        capture_output=True,
        text=True,
        timeout=60 + 10 * len(runs),
        check=False,
    )
    assert done.returncode == 0, f"the runner failed:\n{done.stderr[-6000:]}"
    codes: list[int] = json.loads(done.stdout)
    assert len(codes) == len(runs), (len(codes), len(runs))
    return [
        Finished(
            code,
            (folder / f"{i}.out").read_text(errors="replace"),
            (folder / f"{i}.err").read_text(errors="replace"),
        )
        for i, code in enumerate(codes)
    ]


def _exit_status(code: Any) -> int:
    """What the interpreter exits with for ``SystemExit(code)``."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _child(argv: list[str], out: Path, err: Path) -> int:
    """In the forked child: the command line's exit status."""
    from agent.faces.cli import main

    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 1)
    os.dup2(os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 2)
    try:
        try:
            status = _exit_status(main(argv))
        except SystemExit as exc:
            status = _exit_status(exc.code)
        except BaseException:  # as the interpreter would: the traceback, status 1
            traceback.print_exc()
            status = 1
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # a flush that fails at exit: the interpreter's status 120
        status = 120
    return status


def serve(request: dict[str, Any]) -> list[int]:
    """Fork a child per argv (at most ``jobs`` at once); their exit statuses in order."""
    import agent.faces.cli  # noqa: F401  (imported once, before the forks)

    runs: list[list[str]] = request["runs"]
    folder = Path(request["folder"])
    jobs = max(1, int(request["jobs"]))
    codes: list[int | None] = [None] * len(runs)
    running: dict[int, int] = {}  # pid -> run index

    def reap() -> None:
        pid, wait_status = os.wait()
        codes[running.pop(pid)] = os.waitstatus_to_exitcode(wait_status)

    for i, argv in enumerate(runs):
        while len(running) >= jobs:
            reap()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                status = _child(argv, folder / f"{i}.out", folder / f"{i}.err")
            finally:
                os._exit(status)
        running[pid] = i
    while running:
        reap()
    return [code if code is not None else -1 for code in codes]


if __name__ == "__main__":
    print(json.dumps(serve(json.loads(sys.stdin.read()))))
