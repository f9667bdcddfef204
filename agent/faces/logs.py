"""Where ``gate-agent`` logs go, and how each line looks.

Under systemd, stderr is a stream into journald: journald stamps each entry itself
and reads an ``<N>`` prefix (sd-daemon(3)) as the entry's syslog priority, and every
newline starts a new entry. So there a record is one line, ``<N>logger: message``,
with newlines (tracebacks) escaped as ``\\n``. Anywhere else a record is a
timestamped line, continuation lines indented.

Levels come from ``--log-level`` or ``$GATE_AGENT_LOG``: ``LEVEL`` for everything,
plus ``logger=LEVEL`` pairs, comma-separated (``info,agent.link=debug``).
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import datetime
from typing import TextIO

from agent.errors import ConfigError

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}
DEFAULT_SPEC = "info"
PLAIN_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# nfcpy's debug lines carry raw card UIDs: they never reach the agent's log
QUIET_LOGGERS = {"nfc": logging.INFO}


def syslog_priority(levelno: int) -> int:
    """sd-daemon priorities: 2 critical, 3 error, 4 warning, 6 info, 7 debug."""
    if levelno >= logging.CRITICAL:
        return 2
    if levelno >= logging.ERROR:
        return 3
    if levelno >= logging.WARNING:
        return 4
    return 6 if levelno >= logging.INFO else 7


def parse_levels(spec: str) -> tuple[int, dict[str, int]]:
    """``"info,agent.link=debug"`` -> (root level, {logger: level}); ConfigError if bad."""
    root = LEVELS[DEFAULT_SPEC]
    per_logger: dict[str, int] = {}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        name, _, level = part.rpartition("=")
        number = LEVELS.get(level.strip().lower())
        if number is None:
            raise ConfigError(
                f"log level {level.strip()!r} is not one of {', '.join(LEVELS)} "
                f"(--log-level / $GATE_AGENT_LOG: LEVEL,logger=LEVEL,...)"
            )
        if "=" not in part:
            root = number
        elif not name.strip():
            raise ConfigError(f"log level {part!r} names no logger (logger=LEVEL)")
        else:
            per_logger[name.strip()] = number
    return root, per_logger


class JournalFormatter(logging.Formatter):
    """``<N>logger: message``, one line per record: journald stamps and splits itself."""

    def format(self, record: logging.LogRecord) -> str:
        text = f"{record.name}: {super().format(record)}"
        text = text.replace("\r", "\\r").replace("\n", "\\n")
        return f"<{syslog_priority(record.levelno)}>{text}"


class PlainFormatter(logging.Formatter):
    """Timestamped lines; a record's further lines are indented so they read as one."""

    def __init__(self) -> None:
        super().__init__(PLAIN_FORMAT)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        # ISO 8601 with the machine's offset: unambiguous whatever the reader's zone
        return datetime.fromtimestamp(record.created).astimezone().isoformat("T", "milliseconds")

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\n", "\n    ")


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (a test may have swapped it)."""

    def __init__(self, level: int = logging.NOTSET) -> None:
        logging.Handler.__init__(self, level)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        """``StreamHandler.setStream`` has nothing to replace: stderr is looked up."""


def under_journald(stream: TextIO) -> bool:
    """systemd's documented test: $JOURNAL_STREAM names this very stream's device:inode."""
    expected = os.environ.get("JOURNAL_STREAM", "")
    try:
        device, inode = (int(x) for x in expected.split(":"))
        st = os.fstat(stream.fileno())
    except (ValueError, OSError, AttributeError):
        return False
    return (st.st_dev, st.st_ino) == (device, inode)


def setup_logging(spec: str | None) -> None:
    """Root handler to stderr (journald-native or plain) and the levels ``spec`` asks for.

    A host process that set logging up itself (a test runner calling ``main``) keeps
    its handlers and levels; ``spec`` is still checked.
    """
    root_level, per_logger = parse_levels(spec or os.environ.get("GATE_AGENT_LOG") or DEFAULT_SPEC)
    root = logging.getLogger()
    ours = [h for h in root.handlers if isinstance(h, StderrHandler)]
    if len(ours) == len(root.handlers):  # unconfigured, or configured by an earlier main()
        for handler in ours:
            root.removeHandler(handler)
        handler = StderrHandler()
        journal = under_journald(sys.stderr)
        handler.setFormatter(JournalFormatter() if journal else PlainFormatter())
        root.addHandler(handler)
        root.setLevel(root_level)
        for name, level in per_logger.items():
            logging.getLogger(name).setLevel(level)
    for name, floor in QUIET_LOGGERS.items():
        logger = logging.getLogger(name)
        logger.setLevel(max(floor, per_logger.get(name, root.level)))
