"""Backup of a running gate, and a replacement Pi taking over from it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.core.kinds import EventType
from agent.errors import FatalError
from agent.gate.app import App
from agent.models.config import GateConfig
from agent.store.backup import SEQ_GAP, BackupError, backup, restore
from agent.store.credentials import write_new_key
from tests.conftest import enroll, tap

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def _config_file(tmp_path: Path) -> Path:
    path = tmp_path / "gate.toml"
    path.write_text("# the installer's file\n")
    return path


def test_a_replacement_pi_takes_over_with_the_same_identity(
    tmp_path: Path,
    make_app: Callable[..., App],
    make_config: Callable[..., GateConfig],
) -> None:
    old = make_app()
    old.start(threaded=False)
    entry = enroll(old, "uid:04A224B2", version=12)
    for _ in range(5):
        old.emit(EventType.EXIT_REQUEST, "main")
    old_last = old.events.last_seq()
    manifest = backup(old.config, _config_file(tmp_path), tmp_path / "bk", NOW)  # while running
    assert manifest["site"] == "test-site" and "allowlist.db" in manifest["files"]
    assert (tmp_path / "bk" / "secrets" / "security.credential_key_file").exists()
    with pytest.raises(FatalError, match="already running"):
        restore(old.config, tmp_path / "bk", NOW)
    old.stop()

    # the replacement: a fresh install with its own new key and an empty state folder
    fresh = tmp_path / "pi2"
    fresh.mkdir()
    write_new_key(fresh / "site.key")
    config = make_config(
        storage={"dir": str(fresh / "state")},
        security={"credential_key_file": str(fresh / "site.key")},
    )
    done = restore(config, tmp_path / "bk", NOW)
    assert any("security.credential_key_file: restored" in line for line in done)
    assert list(fresh.glob("site.key.replaced-*"))
    new = make_app(config)
    new.start(threaded=False)
    assert new.allowlist.version() == 12
    # same key: the same credentials; refused only because the restored list is stale
    tapped = tap(new, "uid:04A224B2")
    verdict = (tapped["granted"], tapped["reason"], tapped["holder_id"])
    assert verdict == (False, "list_stale", "R-1")
    assert new.events.recent(2)[0].seq > old_last + SEQ_GAP
    assert EventType.ALLOWLIST_STALE in [e.type for e in new.events.recent(5)]
    # the office's list arrives (version 13): the card opens again
    new.allowlist.replace([entry], 13)
    assert tap(new, "uid:04A224B2")["granted"]


def test_a_damaged_or_foreign_backup_is_refused(
    tmp_path: Path, app: App, make_config: Callable[..., GateConfig]
) -> None:
    folder = tmp_path / "bk"
    backup(app.config, _config_file(tmp_path), folder, NOW)
    with pytest.raises(BackupError, match="not empty"):
        backup(app.config, _config_file(tmp_path), folder, NOW)
    app.stop()
    other = make_config(gate={"site": "other-site"})
    with pytest.raises(BackupError, match="backup is of gate test-site/g1"):
        restore(other, folder, NOW)
    db = folder / "events.db"
    db.write_bytes(db.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(BackupError, match=r"events\.db is missing or damaged"):
        restore(app.config, folder, NOW)
    (folder / "manifest.json").write_text(json.dumps({"format": 99}))
    with pytest.raises(BackupError, match="unknown backup format"):
        restore(app.config, folder, NOW)


def test_backup_and_restore_from_the_command_line(tmp_path: Path) -> None:
    import signal

    from tests.helpers import AgentProcess, cli, write_sim_config

    config = write_sim_config(tmp_path)
    agent = AgentProcess(config)
    try:
        made = cli(config, "backup", str(tmp_path / "bk"))
        assert "keep it as safe as the key itself" in made.stdout
        refused = cli(config, "restore", str(tmp_path / "bk"), check=False)
        assert refused.returncode == 1 and "Traceback" not in refused.stderr
        assert "another agent is already running" in refused.stderr
        assert agent.terminate() == 0
    finally:
        agent.terminate(signal.SIGKILL)
    restored = cli(config, "restore", str(tmp_path / "bk"))
    assert "event seq continues above" in restored.stdout
    again = cli(config, "backup", str(tmp_path / "bk"), check=False)
    assert again.returncode == 1 and "is not empty" in again.stderr
