"""``gate-agent guard set-breakglass``: the console account that works with no office."""

from __future__ import annotations

import argparse

from agent.faces.configs import config_of
from agent.store.guards import set_breakglass
from agent.store.passwords import read_password
from agent.store.paths import StatePaths


def cmd_set_breakglass(args: argparse.Namespace) -> int:
    """Password from a hidden prompt (twice) or one line of standard input."""
    config = config_of(args)
    password = read_password("break-glass password: ")
    path = set_breakglass(StatePaths(config.storage.dir), password, args.id)
    print(f"break-glass console account {args.id!r} written to {path} (mode 0600)")
    return 0
