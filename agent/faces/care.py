"""``gate-agent backup DIR`` and ``restore DIR``: the gate's state and keys, kept and put back."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from agent.faces.configs import config_of
from agent.store.backup import SEQ_GAP, backup, restore


def cmd_backup(args: argparse.Namespace) -> int:
    config = config_of(args)
    folder = Path(args.dir)
    master_key = bool(getattr(args, "with_master_key", False))
    manifest = backup(config, Path(args.config), folder, datetime.now(UTC), master_key)
    print(f"backup of gate {manifest['site']}/{manifest['gate']} in {folder}:")
    for name in manifest["files"]:
        print(f"  {name}")
    print("it holds the site key: keep it as safe as the key itself")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    config = config_of(args)
    for line in restore(config, Path(args.dir), datetime.now(UTC)):
        print(line)
    print(
        f"done. Seqs jump by {SEQ_GAP:,} so none the old gate used after the backup "
        "repeats. Start the agent: systemctl start gate-agent"
    )
    return 0
