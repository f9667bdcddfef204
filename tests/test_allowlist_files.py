"""The allow-list in files of its own: streamed imports with their errors, a switch that
readers never see half-done (in this process or another), builds killed mid-way,
snapshots staged into a new file, patches in place, bounded memory."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.errors import ImportRejected
from agent.gate.app import App
from agent.models.config import GateConfig
from agent.models.wire import AllowListEntry
from agent.store.allowlist import AllowListStore, live_list
from agent.store.importer import RowErrors, import_file, load_file
from agent.store.listfile import generations
from tests.conftest import enroll, tap

UTC = ZoneInfo("UTC")
ROOT = Path(__file__).resolve().parent.parent


def entries(holder: str, count: int, start: int = 0) -> list[AllowListEntry]:
    return [
        AllowListEntry(credential=f"{i:064x}", holder_id=f"{holder}-{i}")
        for i in range(start, start + count)
    ]


def list_files(folder: Path) -> list[str]:
    return sorted(p.name for paths in generations(folder).values() for p in paths)


def test_import_lists_errors_in_line_order_and_names_both_lines_of_a_repeat(
    app: App, tmp_path: Path
) -> None:
    app.allowlist.replace(entries("old", 3), 4)
    lines = ["card,holder_id,kind"]
    for i in range(40):
        lines.append(f"uid:04A1{i:04X},R-{i},resident")
    lines[5] = "uid:04A10000,R-dup,resident"  # line 6 repeats line 2
    lines[12] = "uid:04A1000A,R-x,alien"  # line 13: a bad kind
    lines[30] = "uid:04-A1-00-0A,R-dup2,staff"  # line 31: line 12's card, spelled otherwise
    lines += [f"not-a-card-{i},R,resident" for i in range(25)]  # lines 42..66
    src = tmp_path / "list.csv"
    src.write_text("\n".join(lines) + "\n")
    with pytest.raises(RowErrors) as err:
        import_file(src, app.config, app.hasher, app.allowlist, 5)
    listed = err.value.errors
    assert [line for line, _ in listed] == sorted(line for line, _ in listed)
    assert listed[0] == (6, "same card as line 2")
    assert listed[1][0] == 13 and "kind" in listed[1][1]
    assert listed[2] == (31, "same card as line 12")
    assert len(listed) == 20 and err.value.total == 28
    assert "28 bad row(s)" in str(err.value) and "... and 8 more" in str(err.value)
    # nothing changed, and the half-built list is gone
    assert app.allowlist.version() == 4 and app.allowlist.count() == 3
    assert len(generations(app.allowlist.folder)) == 1


def test_an_import_gives_the_same_list_as_the_entries_it_holds(app: App, tmp_path: Path) -> None:
    src = tmp_path / "list.json"
    src.write_text(
        '[{"card": "uid:04A1B2C3", "holder_id": "R-1", "doors": ["main"],'
        ' "valid_until": "2026-06-10"},\n'
        ' {"card": "w26:12:3456", "holder_id": "S-1", "kind": "staff", "schedule": "day",'
        ' "suspended": "yes"},\n'
        ' {"credential": "' + "ab" * 32 + '", "holder_id": "V-1", "kind": "visitor",'
        ' "valid_from": "2026-01-01T08:00:00+02:00", "unit": "12B"}]\n'
    )
    assert import_file(src, app.config, app.hasher, app.allowlist, 3) == 3
    streamed = app.allowlist.rows()
    app.allowlist.replace(load_file(src, app.config, app.hasher), 4)
    assert app.allowlist.rows() == streamed and app.allowlist.version() == 4
    assert tap(app, "uid:04A1B2C3")["granted"]


def test_readers_see_the_old_list_or_the_new_one_across_processes(tmp_path: Path) -> None:
    store = AllowListStore(tmp_path / "allowlist.db", UTC)
    store.replace(entries("A", 2000), 1)
    seen: set[str] = set()
    problems: list[str] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            version, count = store.version(), store.count()
            entry = store.lookup(f"{1999:064x}")
            first = store.lookup(f"{0:064x}")
            if entry is None or first is None or count != 2000 or version is None:
                problems.append(f"{version} {count} {entry} {first}")
                continue
            seen.add(entry.holder_id.split("-")[0])

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for version in range(2, 8):
            store.replace(entries("AB"[version % 2], 2000), version)
        # another process switches the list: this one's readers follow at once
        script = (
            "import sys; from pathlib import Path; from zoneinfo import ZoneInfo\n"
            "from agent.models.wire import AllowListEntry\n"
            "from agent.store.allowlist import AllowListStore\n"
            "s = AllowListStore(Path(sys.argv[1]), ZoneInfo('UTC'))\n"
            "s.replace([AllowListEntry(credential=f'{i:064x}', holder_id=f'C-{i}')"
            " for i in range(2000)], 9)\n"
        )
        subprocess.run([sys.executable, "-c", script, str(store.path)], check=True, cwd=ROOT)
        entry = store.lookup(f"{5:064x}")
        assert entry is not None and entry.holder_id == "C-5" and store.version() == 9
    finally:
        done.set()
        for t in threads:
            t.join()
    assert not problems, problems[:3]
    assert "A" in seen and seen <= {"A", "B", "C"}
    store.checkpoint()  # housekeeping lets go of the lists the readers moved away from
    assert len(generations(store.folder)) == 1, "old lists were left behind"
    store.close()


CHILD_BUILD = """
import sys, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo
from agent.store.allowlist import AllowListStore, to_row
from agent.models.wire import AllowListEntry
store = AllowListStore(Path(sys.argv[1]), ZoneInfo("UTC"))
build = store.new_list()
for n in range(20):
    build.add([(*to_row(AllowListEntry(credential=f"{n * 1000 + i:064x}", holder_id="new"),
                       ZoneInfo("UTC")), i) for i in range(1000)])
print(build.path, flush=True)
time.sleep(60)
"""


def test_a_build_killed_mid_way_leaves_the_old_list_and_is_cleared_later(tmp_path: Path) -> None:
    path = tmp_path / "allowlist.db"
    store = AllowListStore(path, UTC)
    store.replace(entries("old", 10), 7)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD_BUILD, str(path)], stdout=subprocess.PIPE, cwd=ROOT
    )
    assert child.stdout is not None
    building = Path(child.stdout.readline().decode().strip())
    try:
        assert building.exists()
        # a store opened meanwhile leaves a file that is still being built alone
        AllowListStore(path, UTC).close()
        assert building.exists()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    assert store.version() == 7 and store.count() == 10
    assert store.lookup(f"{3:064x}") is not None and store.lookup(f"{15000:064x}") is None
    store.close()
    again = AllowListStore(path, UTC)  # the next start clears the dead build away
    assert not building.exists() and len(generations(tmp_path)) == 1
    assert again.version() == 7
    again.close()


def test_a_snapshot_is_staged_in_a_file_of_its_own(tmp_path: Path) -> None:
    store = AllowListStore(tmp_path / "allowlist.db", UTC)
    store.replace(entries("old", 5), 3)
    assert not store.stage("snap-1", 4, 0, 3, entries("new", 10))
    assert not store.stage("snap-1", 4, 0, 3, entries("new", 10))  # a repeat: ignored
    # a newer snapshot replaces the half-staged one, and its file
    assert not store.stage("snap-2", 5, 0, 2, entries("two", 10))
    assert len(generations(tmp_path)) == 2
    with pytest.raises(ImportRejected, match="chunks or version differ"):
        store.stage("snap-2", 5, 1, 3, entries("two", 10, 10))
    store.discard_staged()
    assert len(generations(tmp_path)) == 1
    with pytest.raises(ImportRejected, match="not newer than 3"):
        store.stage("snap-3", 3, 0, 1, [])
    # a card in two chunks: refused at the end, naming both places
    assert not store.stage("snap-4", 6, 0, 2, entries("x", 10))
    assert store.stage("snap-4", 6, 1, 2, entries("x", 10, 9))
    with pytest.raises(ImportRejected, match=r"chunk 0 entry 9 and chunk 1 entry 0"):
        store.commit_staged("snap-4", 6)
    assert store.version() == 3 and store.count() == 5
    assert not store.stage("snap-5", 6, 1, 2, entries("y", 10, 10))
    assert store.stage("snap-5", 6, 0, 2, entries("y", 10))
    assert store.commit_staged("snap-5", 6) == 20
    assert store.version() == 6 and store.count() == 20
    assert len(generations(tmp_path)) == 1
    store.close()


def test_patches_apply_in_place_and_keep_the_size(tmp_path: Path) -> None:
    store = AllowListStore(tmp_path / "allowlist.db", UTC)
    store.replace(entries("a", 10), 1)
    live = list_files(tmp_path)
    store.patch(
        1,
        2,
        upserts=[*entries("b", 3, 8), AllowListEntry(credential=f"{9:064x}", holder_id="last")],
        removals=[f"{0:064x}", f"{1:064x}", f"{99:064x}"],
    )
    assert list_files(tmp_path)[0] == live[0], "a patch must not build a new file"
    assert store.version() == 2 and store.count() == 9 == len(store.rows())
    assert store.lookup(f"{9:064x}").holder_id == "last"  # type: ignore[union-attr]
    assert store.lookup(f"{10:064x}").holder_id == "b-10"  # type: ignore[union-attr]
    assert store.lookup(f"{0:064x}") is None
    store.close()


def test_a_damaged_list_file_is_set_aside_and_every_card_denied(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig]
) -> None:
    config = make_config()
    gate = make_app(config)
    gate.start(threaded=False)
    enroll(gate, "uid:04A224B2", version=7)
    paths = gate.paths
    gate.stop()
    live = live_list(paths.allowlist_db)
    assert live is not None
    with live.open("r+b") as f:
        f.seek(4096)
        f.write(b"\xff" * 4096 * 2)
    again = make_app(config)
    again.start(threaded=False)
    again.loop.pump()
    events = again.events.recent(100)
    (recovery,) = [e.details for e in events if e.type.value == "database_recovered"]
    assert str(recovery["problem"]).startswith(live.name)
    assert Path(str(recovery["moved_to"])).name.startswith(live.name + ".corrupt-")
    assert again.allowlist.version() is None and not tap(again, "uid:04A224B2")["granted"]


def test_an_import_of_200k_rows_holds_little_memory(tmp_path: Path) -> None:
    """Peak RSS of `gate-agent allowlist import` for 200,000 rows against one row."""
    from tests.helpers import write_sim_config

    config = write_sim_config(tmp_path)
    one, big = tmp_path / "one.csv", tmp_path / "big.csv"
    one.write_text("card,holder_id\nuid:04000001,R-1\n")
    with big.open("w") as f:
        f.write("card,holder_id,unit\n")
        f.writelines(f"uid:04{i:08X},R-{i},U-{i % 300}\n" for i in range(200_000))
    # the import reports its own high-water mark: a forked child's ru_maxrss would
    # start at this (large) test process's RSS
    script = (
        "import sys\nfrom agent.faces.cli import main\ncode = main(sys.argv[1:])\n"
        "print([l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0],"
        " file=sys.stderr)\nsys.exit(code)\n"
    )

    def peak_mb(source: Path) -> float:
        done = subprocess.run(
            [sys.executable, "-c", script, "allowlist", "import", str(source), "-c", str(config)],
            cwd=ROOT, capture_output=True, text=True, check=True,
        )  # fmt: skip
        return int(done.stderr.rsplit("VmHWM:", 1)[1].split()[0]) / 1024

    floor = peak_mb(one)
    assert peak_mb(big) - floor < 40


def test_the_inbox_holds_the_network_thread_while_its_bytes_are_full(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig], office_key: Any
) -> None:
    """A snapshot's chunks arriving faster than they apply wait at the broker, not in
    the gate's memory: past INBOX_BYTES queued, the network thread's put waits."""
    from datetime import UTC, datetime

    from agent.core.clock import SystemClock
    from agent.link.inbox import INBOX_BYTES
    from agent.link.signing import public_key_text, seal
    from agent.link.wiring import attach
    from tests.mqtt_helpers import TOPICS, wait_for

    mqtt = {"enabled": True, "port": 1, "office_public_key": public_key_text(office_key)}
    app = make_app(make_config(mqtt=mqtt), clock=SystemClock())
    inbox = attach(app).inbox  # never started: nothing takes messages off its queue
    topic = TOPICS.allowlist_snapshot
    payload = seal(office_key, topic, {"pad": "x" * (1 << 20)}, datetime.now(UTC))
    fits = -(-INBOX_BYTES // len(payload))  # puts that find room
    network = threading.Thread(target=lambda: [inbox.put(topic, payload) for _ in range(20)])
    network.start()
    wait_for(lambda: inbox._queue.qsize() == fits, what="the inbox to fill")
    network.join(0.5)
    assert network.is_alive() and inbox._queue.qsize() == fits  # waiting for room
    taken = 0
    while taken < 20:
        item = inbox._queue.get(timeout=10)
        assert item is not None
        inbox._give_room(item[2])
        taken += 1
    network.join(10)
    assert not network.is_alive() and inbox.dropped == 0


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.text(alphabet=st.sampled_from('uid:04AB,R-1\n"[]{}x '), max_size=200),
    suffix=st.sampled_from([".csv", ".json"]),
)
def test_any_file_imports_whole_or_changes_nothing(app: App, text: str, suffix: str) -> None:
    """Whatever the file holds: the project's own error and the list as it was, and no
    file left behind; or the whole file in."""
    import tempfile

    from agent.errors import GateError

    store = app.allowlist
    before = (store.version(), store.count())
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"list{suffix}"
        path.write_text("card,holder_id\n" + text if suffix == ".csv" else text)
        try:
            size = import_file(path, app.config, app.hasher, store, (before[0] or 0) + 1)
        except GateError:
            assert (store.version(), store.count()) == before
        else:
            assert (store.version(), store.count()) == ((before[0] or 0) + 1, size)
    assert len(generations(store.folder)) == 1


def test_a_backup_holds_the_live_list_and_a_restore_brings_it_back(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig], tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from agent.store.backup import backup, restore

    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    # the restored list decides by itself (the default admits only lockdown_override
    # holders until the office resends the list: tests/test_restore_resync.py)
    config = make_config(storage={"after_restore": "restored_list"})
    gate = make_app(config)
    gate.start(threaded=False)
    enroll(gate, "uid:04A224B2", version=5)
    (tmp_path / "gate.toml").write_text("# the installer's file\n")
    backup(config, tmp_path / "gate.toml", tmp_path / "bk", now)
    enroll(gate, "uid:0BADCAFE", version=6)  # the list moves on after the backup
    gate.stop()
    done = restore(config, tmp_path / "bk", now)
    assert any(line.startswith("set aside allowlist.0") for line in done), done
    again = make_app(config)
    again.start(threaded=False)
    assert again.allowlist.version() == 5 and again.allowlist.count() == 1
    assert tap(again, "uid:04A224B2")["granted"] and not tap(again, "uid:0BADCAFE")["granted"]
    assert len(generations(again.allowlist.folder)) == 1


def test_a_store_dropped_without_close_keeps_no_descriptor(tmp_path: Path) -> None:
    """Short CLI commands drop their store; in one process (tests, a soak) each used to
    keep the live list's descriptor, until paho's sockets were past select()'s 1023."""
    import gc
    import os

    AllowListStore(tmp_path / "allowlist.db", UTC).replace(entries("A", 10), 1)
    gc.collect()
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(50):
        AllowListStore(tmp_path / "allowlist.db", UTC).lookup(f"{1:064x}")
    gc.collect()
    assert len(os.listdir("/proc/self/fd")) <= before
