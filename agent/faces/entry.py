"""One ``gate-agent`` invocation: parse, set up logging, find the config, run, exit.

Every outcome is an exit status and at most one ``error:`` line; no traceback reaches
the person at the terminal (``--log-level debug`` logs it for an unexpected fault).
"""

from __future__ import annotations

import argparse
import logging
import os
import sqlite3
import sys

from agent.errors import ConfigError, GateError
from agent.faces.configs import config_path
from agent.faces.logs import setup_logging
from agent.streams import ensure_standard_streams

log = logging.getLogger(__name__)

OK, RUNTIME_ERROR, USAGE_ERROR = 0, 1, 2
INTERRUPTED = 130  # 128 + SIGINT, as shells report it


def run_cli(parser: argparse.ArgumentParser, argv: list[str] | None) -> int:
    ensure_standard_streams()
    try:
        args = parser.parse_args(argv)
        setup_logging(args.log_level)
        _find_config(args)
        code = int(args.fn(args))
        sys.stdout.flush()  # a closed pipe shows here, not as noise at interpreter exit
        return code
    except ConfigError as exc:
        return _error(exc, USAGE_ERROR)
    except GateError as exc:
        return _error(exc, RUNTIME_ERROR)
    except BrokenPipeError:
        # the reader of our output went away (`| head`): nothing more to say to it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return OK
    except KeyboardInterrupt:
        return INTERRUPTED
    except sqlite3.Error as exc:
        # a damaged state database seen by a local command; `run` sets such files aside
        return _error(f"the state database cannot be used: {exc}", RUNTIME_ERROR)
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        return _error(f"{exc.strerror or exc}{where}", RUNTIME_ERROR)
    except Exception as exc:  # a bug: one line for the person, the traceback in the log
        log.debug("unexpected fault", exc_info=True)
        return _error(f"internal error: {type(exc).__name__}: {exc}", RUNTIME_ERROR)


def _find_config(args: argparse.Namespace) -> None:
    """Look the config file up once, so a missing one is one error before any work."""
    if args.cmd == "check-config":
        args.file = args.file or config_path(args.config)
    elif args.needs_config:
        args.config = config_path(args.config)


def _error(problem: object, code: int) -> int:
    print(f"error: {problem}", file=sys.stderr)
    return code
