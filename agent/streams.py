"""The three standard streams, there even when whoever started the command closed one."""

from __future__ import annotations

import os
import sys

_STREAMS = (
    (0, "stdin", os.O_RDONLY, "r"),
    (1, "stdout", os.O_WRONLY, "w"),
    (2, "stderr", os.O_WRONLY, "w"),
)


def ensure_standard_streams() -> None:
    """Put /dev/null where stdin, stdout or stderr was closed (``gate-agent ... >&-``).

    Python leaves a closed stream's ``sys.stdout`` as None, so a command's own flush
    became an internal error after its work was done; and the next file the process
    opened would take the free descriptor, where a stray write would land. Output
    sent to a closed stream is dropped, as it would be with ``>/dev/null``.
    """
    for fd, name, flags, mode in _STREAMS:
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, flags)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
            setattr(sys, name, open(fd, mode, encoding="utf-8", closefd=False))  # noqa: SIM115
