"""``gate-agent backup DIR`` and ``restore DIR``: a gate's state and keys, and taking over a
gate on a replacement Pi.

A backup is a folder: consistent copies of both databases (SQLite's online backup, so
the agent may keep running), the seq reservation, the office's config overlay, the
config file and the secret files, and ``manifest.json`` with a SHA-256 per file,
written last (a folder without it is not a backup). Restore needs the agent stopped,
checks every digest and the gate's identity, sets the current files aside, and moves
the seq reservation well past the backup's, because the old gate may have recorded
events after the backup was taken and the office must never see a seq twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from agent import __version__
from agent.errors import GateError
from agent.models.config import GateConfig
from agent.store.catalog import RESTORED, live_list
from agent.store.eventlog import STEPS as EVENTS_STEPS
from agent.store.instance import InstanceLock
from agent.store.integrity import move_aside
from agent.store.keyfiles import MASTER_KEY, secret_files
from agent.store.listfile import generations, list_path
from agent.store.paths import StatePaths
from agent.store.schema import upgrade
from agent.store.seq_reserve import SeqReserve

MANIFEST = "manifest.json"
FORMAT = 1
SEQ_GAP = 1_000_000  # seqs the old gate may have used after the backup, and then some


class BackupError(GateError):
    """A backup cannot be made, or a folder cannot be restored (one line says why)."""


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _copy_private(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    shutil.copyfile(source, target)
    os.chmod(target, 0o600)


def backup(
    config: GateConfig, config_file: Path, folder: Path, now: datetime, master_key: bool = False
) -> dict[str, Any]:
    """Write a backup of the gate of ``config`` into ``folder`` (new or empty). The site
    master key of secure cards goes in only when ``master_key`` asks for it."""
    if folder.exists() and any(folder.iterdir()):
        raise BackupError(f"{folder} is not empty; give a new folder")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    paths = StatePaths(config.storage.dir)
    files: dict[str, str] = {}
    # the allow-list as one file of the live list: restored, it opens like a file of
    # the older one-file layout and becomes the first list of a new catalog
    live = live_list(paths.allowlist_db) if paths.allowlist_db.exists() else None
    databases = ((paths.events_db, paths.events_db), (paths.allowlist_db, live),
                 (paths.passes_db, paths.passes_db))  # fmt: skip
    for db, source in databases:
        source = source or db
        if source.exists():
            _backup_db(source, folder / db.name)
            files[db.name] = _digest(folder / db.name)
    for extra in (paths.events_seq, *(paths.remote_config, paths.remote_config_good)):
        if extra.exists():
            _copy_private(extra, folder / extra.name)
            files[extra.name] = _digest(folder / extra.name)
    _copy_private(config_file, folder / "gate.toml")
    files["gate.toml"] = _digest(folder / "gate.toml")
    secrets: dict[str, str] = {}
    for key, path in secret_files(config):
        if key == MASTER_KEY and not master_key:
            continue
        name = f"secrets/{key}"
        _copy_private(path, folder / name)
        files[name] = _digest(folder / name)
        secrets[key] = str(path)
    manifest = {
        "format": FORMAT,
        "site": config.gate.site,
        "gate": config.gate.gate_id,
        "created": now.isoformat(),
        "program": __version__,
        "files": files,
        "secrets": secrets,
    }
    tmp = folder / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1) + "\n")
    os.replace(tmp, folder / MANIFEST)
    return manifest


def _backup_db(source: Path, target: Path) -> None:
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
    except sqlite3.Error as exc:
        raise BackupError(f"cannot copy {source}: {exc}") from None
    os.chmod(target, 0o600)


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of a complete backup whose files all match their digests."""
    try:
        manifest: dict[str, Any] = json.loads((folder / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupError(f"{folder} holds no {MANIFEST}: not a (complete) backup") from None
    except (OSError, ValueError) as exc:
        raise BackupError(f"{folder / MANIFEST} is unreadable: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{folder / MANIFEST}: unknown backup format")
    for name, digest in dict(manifest.get("files") or {}).items():
        path = folder / name
        if ".." in Path(name).parts or not path.is_file() or _digest(path) != digest:
            raise BackupError(f"{path} is missing or damaged (its digest does not match)")
    return manifest


def restore(config: GateConfig, folder: Path, now: datetime) -> list[str]:
    """Put a backup in place for the gate of ``config``; returns what was done, in words."""
    manifest = read_manifest(folder)
    ident = (manifest.get("site"), manifest.get("gate"))
    if ident != (config.gate.site, config.gate.gate_id):
        raise BackupError(
            f"the backup is of gate {ident[0]}/{ident[1]}; this config is for "
            f"{config.gate.site}/{config.gate.gate_id}"
        )
    paths = StatePaths(config.storage.dir)
    paths.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock = InstanceLock(paths.instance_lock)  # refuses while the agent runs
    done: list[str] = []
    try:
        files = dict(manifest["files"])
        lists = [list_path(paths.dir, gen) for gen in sorted(generations(paths.dir))]
        for target in (paths.events_db, paths.allowlist_db, paths.passes_db, paths.events_seq,
                       *lists):  # fmt: skip
            if target.exists():
                done.append(f"set aside {target.name} as {move_aside(target, now).name}")
        for extra in (paths.remote_config, paths.remote_config_good):
            extra.unlink(missing_ok=True)
        for name in files:
            if "/" not in name and name != "gate.toml":
                _copy_private(folder / name, paths.dir / name)
                done.append(f"restored {paths.dir / name}")
        if "allowlist.db" in files:
            version = _mark_restored(paths.allowlist_db, str(manifest.get("created")), now)
            done.append(
                f"allow-list v{version} marked stale: the office resends its current list "
                'when the gate connects (docs/install.md, "Recovery")'
            )
        reserve = SeqReserve(paths.events_seq)
        above = max(reserve.value, _last_seq(paths.events_db)) + SEQ_GAP
        _continue_above(paths.events_db, above)
        reserve.cover(above)
        done.append(f"event seq continues above {above}")
        for key, original in dict(manifest.get("secrets") or {}).items():
            done.append(_restore_secret(folder / f"secrets/{key}", key, config, original, now))
    finally:
        lock.release()
    return done


def _restore_secret(
    source: Path, key: str, config: GateConfig, original: str, now: datetime
) -> str:
    target = dict(secret_files(config)).get(key, Path(original))
    if target.exists() and _digest(target) == _digest(source):
        return f"{key}: {target} already holds the backup's key"
    if target.exists():
        aside = target.with_name(f"{target.name}.replaced-{now.strftime('%Y%m%dT%H%M%SZ')}")
        os.replace(target, aside)
    mode = 0o640 if not config.gate.simulated else 0o600
    _copy_private(source, target)
    os.chmod(target, mode)
    return f"{key}: restored {target} (mode {mode:04o}; check its owner)"


def _mark_restored(allowlist_db: Path, created: str, now: datetime) -> int | None:
    """Record in the restored list that it is a backup's: the office may have revoked
    cards since, so the gate treats it as stale until the office's list replaces it."""
    conn = sqlite3.connect(allowlist_db, isolation_level=None)
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        version = int(row[0]) if row else None
        mark = {"backup_created": created, "restored_at": now.isoformat(), "version": version}
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (RESTORED, json.dumps(mark))
        )
    except (sqlite3.Error, ValueError) as exc:
        raise BackupError(f"cannot mark the restored allow-list stale: {exc}") from None
    finally:
        conn.close()
    return version


def _continue_above(events_db: Path, seq: int) -> None:
    """The restored log's next event gets a seq above ``seq`` (none is ever reused)."""
    conn = sqlite3.connect(events_db, isolation_level=None)
    try:
        upgrade(conn, "events", EVENTS_STEPS)  # a backup without events.db gets a new one
        conn.execute("DELETE FROM sqlite_sequence WHERE name = 'events'")
        conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('events', ?)", (seq,))
        conn.execute("UPDATE card_counters SET restored = 1")  # taken anew, and said so
    except sqlite3.Error as exc:
        raise BackupError(f"cannot set the event seq in {events_db}: {exc}") from None
    finally:
        conn.close()


def _last_seq(events_db: Path) -> int:
    if not events_db.exists():
        return 0
    conn = sqlite3.connect(f"file:{events_db}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name='events'").fetchone()
    except sqlite3.Error:
        row = None
    finally:
        conn.close()
    return int(row[0]) if row else 0
