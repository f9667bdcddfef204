import json
import threading
from pathlib import Path

import pytest

from agent.errors import ImportRejected
from agent.faces.cli import main
from agent.gate.app import App
from agent.models.wire import AllowListEntry
from agent.store.allowlist import AllowListStore, PatchBaseMismatch
from agent.store.importer import RowErrors, load_file
from tests.conftest import enroll, tap

HEADER = "card,holder_id,kind,unit,doors,valid_from,valid_until,schedule,suspended\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_csv_import_hashes_cards_and_reads_dates_in_local_time(app: App, tmp_path: Path) -> None:
    src = write(
        tmp_path / "list.csv",
        HEADER
        + "uid:04A1B2C3,R-1,resident,A-1,main,,2026-06-10,,0\n"
        + "w26:12:3456,S-1,staff,,,,,day,false\n",
    )
    entries = load_file(src, app.config, app.hasher)
    app.allowlist.replace(entries, 7)
    assert app.allowlist.version() == 7 and app.allowlist.count() == 2
    raw = (tmp_path / "state" / "allowlist.db").read_bytes()
    assert b"04A1B2C3" not in raw.upper() and b"3456" not in raw
    row = next(r for r in app.allowlist.rows() if r["holder_id"] == "R-1")
    assert row["masked"] == "uid:****B2C3"
    # valid through the end of 10 June in Cairo (UTC+3): 21:00 UTC
    assert row["valid_until"] == "2026-06-10T21:00:00+00:00"
    assert tap(app, "uid:04A1B2C3")["granted"]


def test_json_import(app: App, tmp_path: Path) -> None:
    src = write(
        tmp_path / "list.json",
        json.dumps(
            [
                {"card": "uid:04A1B2C3", "holder_id": "R-1", "doors": ["main"]},
                {"credential": "ab" * 32, "holder_id": "R-2", "kind": "visitor"},
            ],
            indent=2,
        ),
    )
    entries = load_file(src, app.config, app.hasher)
    assert [e.holder_id for e in entries] == ["R-1", "R-2"]


def test_one_bad_row_rejects_the_file_and_names_lines(app: App, tmp_path: Path) -> None:
    enroll(app, "uid:0000AAAA", version=3)
    src = write(
        tmp_path / "bad.csv",
        HEADER
        + "uid:04A1B2C3,R-1,resident,,,,,,0\n"
        + "uid:ZZ,R-2,resident,,,,,,0\n"
        + "uid:04A1B2C4,R-3,alien,,,,,,0\n"
        + "uid:04A1B2C5,R-4,resident,,moon,,,,0\n"
        + "uid:04-A1-B2-C3,R-5,resident,,,,,,0\n"
        + "uid:04A1B2C6,R-6,resident,,,2026-02-01,2026-01-01,,0\n"
        + "uid:04A1B2C7,R-7,resident,,,,,weekends,0\n",
    )
    with pytest.raises(RowErrors) as err:
        load_file(src, app.config, app.hasher)
    lines = dict(err.value.errors)
    assert set(lines) == {3, 4, 5, 6, 7, 8}
    assert "card" in lines[3] and "kind" in lines[4] and "moon" in lines[5]
    assert "same card as line 2" in lines[6] and "valid_until" in lines[7]
    assert "weekends" in lines[8]
    assert app.allowlist.version() == 3 and app.allowlist.count() == 1


def test_json_errors_name_lines(app: App, tmp_path: Path) -> None:
    src = write(
        tmp_path / "bad.json",
        '[\n  {"card": "uid:04A1B2C3", "holder_id": "R-1"},\n  {"card": "uid:04A1B2C4"}\n]\n',
    )
    with pytest.raises(RowErrors) as err:
        load_file(src, app.config, app.hasher)
    assert err.value.errors[0][0] == 3 and "holder_id" in err.value.errors[0][1]
    broken = write(tmp_path / "broken.json", '[\n {"card": "uid:04A1B2C3",\n')
    with pytest.raises(RowErrors, match="line 3"):
        load_file(broken, app.config, app.hasher)


def test_unknown_csv_column_refused(app: App, tmp_path: Path) -> None:
    src = write(tmp_path / "x.csv", "card,holder_id,name\nuid:04A1B2C3,R-1,Alice\n")
    with pytest.raises(RowErrors, match="unknown column"):
        load_file(src, app.config, app.hasher)


def test_wrong_file_type_refused(app: App, tmp_path: Path) -> None:
    with pytest.raises(ImportRejected, match=r"csv or \.json"):
        load_file(write(tmp_path / "x.txt", "hi"), app.config, app.hasher)


def test_swap_is_atomic_for_a_concurrent_reader(tmp_path: Path) -> None:
    from zoneinfo import ZoneInfo

    store = AllowListStore(tmp_path / "a.db", ZoneInfo("UTC"))

    def make(holder: str) -> list[AllowListEntry]:
        return [
            AllowListEntry(credential=f"{i:064x}", holder_id=f"{holder}{i}") for i in range(5000)
        ]

    store.replace(make("old"), 1)
    counts: set[int] = set()
    holders: set[str | None] = set()
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            counts.add(store.count())
            entry = store.lookup(f"{4999:064x}")
            holders.add(entry.holder_id if entry else None)

    thread = threading.Thread(target=reader)
    thread.start()
    for _ in range(3):
        store.replace(make("new"), 2)
        store.replace(make("old"), 3)
    done.set()
    thread.join()
    assert counts == {5000}, "a reader saw an empty or partial list"
    assert None not in holders and holders <= {"old4999", "new4999"}
    assert store.version() == 3


def test_patch_checks_its_base(tmp_path: Path) -> None:
    from zoneinfo import ZoneInfo

    store = AllowListStore(tmp_path / "a.db", ZoneInfo("UTC"))
    one = AllowListEntry(credential="a" * 64, holder_id="H1")
    two = AllowListEntry(credential="b" * 64, holder_id="H2")
    store.replace([one], 1)
    store.patch(1, 2, upserts=[two], removals=["a" * 64])
    assert store.version() == 2 and store.lookup("a" * 64) is None and store.lookup("b" * 64)
    with pytest.raises(PatchBaseMismatch) as err:
        store.patch(1, 3, upserts=[one], removals=[])
    assert err.value.have == 2
    assert store.version() == 2 and store.lookup("a" * 64) is None


def test_cli_import_and_list(tmp_path: Path, make_config, capsys) -> None:  # type: ignore[no-untyped-def]
    config = make_config()
    toml = tmp_path / "gate.toml"
    toml.write_text(
        '[gate]\nsite = "s"\ngate_id = "g"\nsimulated = true\n'
        f'[storage]\ndir = "{tmp_path / "cli-state"}"\n'
        f'[security]\ncredential_key_file = "{config.security.credential_key_file}"\n'
        '[[doors]]\nid = "main"\nreaders = [{ id = "r1" }]\n'
    )
    good = write(tmp_path / "ok.csv", "card,holder_id\nuid:04A1B2C3,R-1\nem:0A000C0D80,R-2\n")
    assert main(["allowlist", "import", str(good), "-c", str(toml)]) == 0
    assert "version 1: 2 entries" in capsys.readouterr().out
    bad = write(tmp_path / "bad.csv", "card,holder_id\nuid:04A1B2C3,R-1\nnot-a-card,R-2\n")
    assert main(["allowlist", "import", str(bad), "-c", str(toml)]) == 1
    err = capsys.readouterr().err
    assert "line 3" in err and "nothing was changed" in err
    assert main(["allowlist", "list", "-c", str(toml), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["version"] == 1 and listed["size"] == 2
    assert {e["masked"] for e in listed["entries"]} == {"uid:****B2C3", "prox:****80"}
    assert main(["events", "-c", str(toml), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[-1]["type"] == "allowlist_updated"
