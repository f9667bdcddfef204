"""Startup integrity and storage faults: damaged databases are set aside, never a crash loop;
a read-only or full state folder is one line at start; a full disk at run time is one log
line and one alarm once space is back."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from agent.core.clock import ManualClock
from agent.core.kinds import EventType
from agent.errors import StorageError
from agent.gate.app import App
from agent.models.config import GateConfig
from agent.store.paths import StatePaths
from drivers.sim import SimCardReader
from tests.conftest import enroll, tap, types
from tests.helpers import cli, write_sim_config

PAGE = 4096


def _damage_page(path: Path, page: int) -> None:
    """Overwrite one page of a database file with garbage, as a failing card might."""
    with path.open("r+b") as f:
        f.seek(page * PAGE)
        f.write(bytes(range(256)) * (PAGE // 256))


def _checkpointed(app: App) -> StatePaths:
    """Stop the app and leave its databases fully checkpointed (no WAL) for surgery."""
    paths = app.paths
    app.stop()
    for db in (paths.events_db, paths.allowlist_db):
        conn = sqlite3.connect(db)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.close()
    return paths


def _started(make_app: Callable[..., App], config: GateConfig) -> App:
    gate = make_app(config)
    gate.start(threaded=False)
    gate.loop.pump()
    return gate


def _recoveries(app: App) -> list[dict[str, object]]:
    return [e.details for e in app.events.recent(1000) if e.type is EventType.DATABASE_RECOVERED]


def test_a_corrupt_allowlist_is_set_aside_and_every_card_denied(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig]
) -> None:
    config = make_config()
    gate = _started(make_app, config)
    enroll(gate, "uid:04A224B2", version=7)
    assert tap(gate, "uid:04A224B2")["granted"]
    paths = _checkpointed(gate)
    size = paths.allowlist_db.stat().st_size
    for page in range(1, size // PAGE):
        _damage_page(paths.allowlist_db, page)

    again = _started(make_app, config)
    (recovery,) = _recoveries(again)
    assert recovery["database"] == "allowlist"
    moved = Path(str(recovery["moved_to"]))
    assert moved.exists() and moved.name.startswith("allowlist.db.corrupt-")
    assert again.allowlist.version() is None and again.allowlist.count() == 0
    decision = tap(again, "uid:04A224B2")
    assert not decision["granted"] and decision["reason"] == "unknown"


def test_a_truncated_allowlist_is_set_aside(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig]
) -> None:
    config = make_config()
    gate = _started(make_app, config)
    enroll(gate, "uid:04A224B2")
    paths = _checkpointed(gate)
    with paths.allowlist_db.open("r+b") as f:
        f.truncate(PAGE + 100)

    again = _started(make_app, config)
    assert [r["database"] for r in _recoveries(again)] == ["allowlist"]
    assert not tap(again, "uid:04A224B2")["granted"]


def test_a_damaged_event_log_is_salvaged_and_seq_continues_above_the_old(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig]
) -> None:
    config = make_config()
    gate = _started(make_app, config)
    for n in range(400):
        gate.emit(EventType.EXIT_REQUEST, "main", n=n, pad="x" * 200)
    paths = _checkpointed(gate)
    highest = 402  # agent_started, 400 exit requests, agent_stopped
    pages = paths.events_db.stat().st_size // PAGE
    _damage_page(paths.events_db, pages // 2)

    again = _started(make_app, config)
    (recovery,) = _recoveries(again)
    assert recovery["database"] == "events"
    salvaged = int(str(recovery["salvaged_rows"]))
    kept = {e.seq for e in again.events.recent(2000) if e.seq <= highest}
    assert salvaged == len(kept)
    # rows on both sides of the damaged page were saved
    assert 1 in kept and highest in kept and 300 < len(kept) < highest
    newest = again.events.recent(1)[0]
    assert newest.seq > highest
    # the damaged original is kept for the record
    assert Path(str(recovery["moved_to"])).exists()


def test_an_empty_or_missing_event_log_never_reuses_a_seq(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig]
) -> None:
    config = make_config()
    gate = _started(make_app, config)
    highest = gate.emit(EventType.EXIT_REQUEST, "main").seq
    paths = _checkpointed(gate)
    paths.events_db.write_bytes(b"")

    again = _started(make_app, config)
    assert [r["problem"] for r in _recoveries(again)] == ["empty file (truncated)"]
    assert min(e.seq for e in again.events.recent(100)) > highest
    highest = again.events.last_seq()
    paths = _checkpointed(again)
    paths.events_db.unlink()

    third = _started(make_app, config)
    assert [r["problem"] for r in _recoveries(third)] == ["missing"]
    assert min(e.seq for e in third.events.recent(100)) > highest


def test_a_file_that_is_not_a_database_is_set_aside(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig]
) -> None:
    config = make_config()
    paths = StatePaths(config.storage.dir)
    paths.dir.mkdir(parents=True)
    paths.events_db.write_bytes(b"this is not an SQLite file\n" * 500)
    gate = _started(make_app, config)
    (recovery,) = _recoveries(gate)
    assert "not a database" in str(recovery["problem"])
    assert gate.emit(EventType.EXIT_REQUEST, "main").seq > 0


# -- state folders that cannot be written ------------------------------------------------
@contextmanager
def _tmpfs(path: Path, size_kb: int) -> Iterator[Path]:
    """A small real filesystem: a full disk or a read-only folder, as the kernel makes them."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(path)], check=True
    )
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def _fill(folder: Path) -> Path:
    filler = folder / "filler"
    with filler.open("wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    return filler


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[int], Path]]:
    if os.geteuid() != 0:
        pytest.fail("these tests mount a small tmpfs: run them as root (CI does)")
    mounts: list[Iterator[Path]] = []

    def make(size_kb: int) -> Path:
        cm = _tmpfs(tmp_path / f"fs{len(mounts)}", size_kb)
        mounts.append(cm)  # type: ignore[arg-type]
        return cm.__enter__()

    yield make
    for cm in reversed(mounts):
        cm.__exit__(None, None, None)  # type: ignore[attr-defined]


@pytest.mark.parametrize("fault", ["read-only", "full"])
def test_an_unwritable_state_folder_is_one_line_at_start(
    tmp_path: Path, tmpfs: Callable[[int], Path], fault: str
) -> None:
    state = tmpfs(2048)
    if fault == "read-only":
        subprocess.run(["mount", "-o", "remount,ro", str(state)], check=True)
    else:
        _fill(state)
    config = write_sim_config(tmp_path, extra="", mqtt=None)
    text = config.read_text().replace(f'dir = "{tmp_path / "state"}"', f'dir = "{state}"')
    assert text != config.read_text()
    config.write_text(text)
    result = cli(config, "run", check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    expected = "Read-only file system" if fault == "read-only" else "No space left on device"
    assert f"state folder {state} cannot be written: {expected}" in line


def _full_disk(
    make_app: Callable[..., App],
    make_config: Callable[..., GateConfig],
    tmpfs: Callable[[int], Path],
) -> tuple[App, SimCardReader, Path]:
    """A gate with one resident enrolled whose state disk is then filled to the brim."""
    state = tmpfs(4096)
    gate = _started(make_app, make_config(storage={"dir": str(state)}))
    enroll(gate, "uid:04A224B2")
    filler = _fill(state)
    reader = gate.devices.readers["main-in"]
    assert isinstance(reader, SimCardReader)
    return gate, reader, filler


def test_a_full_disk_refuses_cards_quietly_and_raises_one_alarm_when_space_is_back(
    make_app: Callable[..., App],
    make_config: Callable[..., GateConfig],
    clock: ManualClock,
    tmpfs: Callable[[int], Path],
    caplog: pytest.LogCaptureFixture,
) -> None:
    gate, reader, filler = _full_disk(make_app, make_config, tmpfs)
    before = gate.events.last_seq()
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        for _ in range(50):
            reader.present("uid:04A224B2")
            gate.loop.pump()
    assert gate.devices.readers  # still up
    assert not any(r.exc_info for r in caplog.records), "a traceback reached the log"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "cards are refused" in errors[0].getMessage()
    assert gate.doors["main"].locked
    assert gate.events.last_seq() == before  # nothing recorded, nothing opened

    filler.unlink()
    clock.advance(6)
    gate.loop.pump()
    fault = gate.events.recent(1)[0]
    assert fault.type is EventType.AGENT_FAULT
    assert fault.details["error"] == "StorageFault"
    assert fault.details["failed_writes"] == 50
    assert tap(gate, "uid:04A224B2")["granted"]
    assert types(gate, before).count("agent_fault") == 1


def test_storage_dir_naming_a_file_is_one_line(tmp_path: Path) -> None:
    config = write_sim_config(tmp_path)
    (tmp_path / "afile").write_text("x")
    text = config.read_text().replace(f'dir = "{tmp_path / "state"}"', 'dir = "afile"')
    config.write_text(text)
    check = [sys.executable, "-m", "agent.faces.cli", "check-config", str(config)]
    for result in (
        cli(config, "run", check=False),
        subprocess.run(check, capture_output=True, text=True),
    ):
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert "storage.dir: " in result.stderr and "afile is not a folder" in result.stderr


def test_open_stores_error_is_a_storage_error(
    make_config: Callable[..., GateConfig], tmp_path: Path
) -> None:
    from agent.core.clock import SystemClock
    from agent.gate.build import open_stores

    config = make_config(storage={"dir": str(tmp_path / "afile")})
    (tmp_path / "afile").write_text("x")  # appeared after the config was checked
    with pytest.raises(StorageError, match="is a file"):
        open_stores(config, SystemClock())


def test_refusals_a_full_disk_kept_from_the_log_do_not_lock_a_reader_out(
    make_app: Callable[..., App],
    make_config: Callable[..., GateConfig],
    clock: ManualClock,
    tmpfs: Callable[[int], Path],
) -> None:
    gate, reader, filler = _full_disk(make_app, make_config, tmpfs)
    before = gate.events.last_seq()
    for n in range(6):  # unknown cards, each refused and not recorded
        reader.present(f"uid:0BAD00{n:02X}")
        gate.loop.pump()
    assert gate.events.last_seq() == before

    filler.unlink()
    clock.advance(1)
    resident = tap(gate, "uid:04A224B2")
    assert (resident["granted"], resident["reason"]) == (True, "granted")
    assert "repeated_denials" not in types(gate, before)
    # counting still works once denials are recorded again
    for n in range(5):
        reader.present(f"uid:0BAD01{n:02X}")
        gate.loop.pump()
    assert types(gate, before).count("repeated_denials") == 1
    assert tap(gate, "uid:04A224B2")["reason"] == "reader_locked_out"
    clock.advance(31)
    gate.loop.pump()
    assert "lockout_ended" in types(gate, before)
