"""The plain shape of a CSV import row (agent/models/import_plain.py) accepts only rows
``ImportRow`` accepts, and makes each the same stored row; an import through it gives
the list, and the errors, that the model alone gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from agent.gate.app import App
from agent.models.import_plain import COLUMN_TYPES, PlainShape, plain_card
from agent.models.wire import ImportRow
from agent.store.import_read import BLANK_IS_DEFAULT
from agent.store.importer import RowErrors, import_file, load_file
from agent.store.list_rows import fields_row, plain_fields_row
from agent.store.listread import CsvHeader
from drivers.cards import canonical_text

ZONE = ZoneInfo("Asia/Shanghai")
PIN = "scrypt$14$8$1$" + "A" * 22 + "$" + "B" * 43
# per column: the plain forms, the forms only ImportRow reads, and faults
CELLS: dict[str, list[str]] = {
    "holder_id": ["R-1", " R-2 ", "", "  ", "a\x1bb", "x" * 64, "x" * 65, "业主", "\x85n", "\tR\t"],
    "kind": ["resident", "staff", "visitor", "", "Resident", "alien", " resident"],
    "unit": ["", "U-1", " ", "a\x07", "x" * 128, "x" * 129, "\u2028", "3-201"],
    "doors": [
        *["", "main", "main;side", "main, side", "*", "Main", "main;", ";main", "a;;b"],
        *["m" * 63, "m" * 64, " main", "main,side"],
    ],
    "valid_from": [
        *["", "2030-01-01", "2030-12-31T10:00:00+08:00", "2030-12-31T10:00:00", "2030-13-01"],
        *["1700000000", "0", "20301231", " 2030-12-31", "2030-06-01T00:00:00Z"],
    ],
    "valid_until": ["", "2030-12-31", "2029-12-31", "2030-01-01T09:00:00+08:00", "x"],
    "schedule": ["", "weekday", "Week", "a b", "-x"],
    "suspended": ["", "0", "1", "yes", "no", "true", "False", " 1", "on", "off", "t", "2", "Y"],
    "lockdown_override": ["", "0", "1", "n", "TRUE"],
    "credential_policy": ["", "plain", "secure", "secure_preferred", "Secure", "x"],
    "pin_hash": ["", PIN, "x", PIN + " "],
    "card": [
        *["", "uid:04A224B2", "uid:04a224b2", "04:A2:24:B2", "em:0A00123456", "uid:zz"],
        *[" uid:04A224B2", "w26:1:2", "a\x00b", "UID:04a224b2", "nfc:04a224b2", "uid:04A2 "],
        *["uid:" + "0a" * 10, "uid:" + "0a" * 11, "uid:04A224B", "uid:04-A2-24-B2"],
    ],
    "credential": ["", "ab" * 32, "AB" * 32, "a" * 63],
    "plate": ["", "京A12345", "xx", " 粤B D12345"],
}


def test_every_column_of_the_model_has_a_plain_form() -> None:
    assert set(COLUMN_TYPES) == set(ImportRow.model_fields) == set(CELLS)


@st.composite
def files(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    columns = draw(st.lists(st.sampled_from(sorted(CELLS)), min_size=1, max_size=9, unique=True))
    if draw(st.booleans()):
        columns = ["holder_id", *[c for c in columns if c != "holder_id"]]
    rows = []
    for _ in range(draw(st.integers(1, 6))):
        row = [draw(st.sampled_from(CELLS[c])) for c in columns]
        rows.append(row[: draw(st.integers(0, len(row)))] if draw(st.integers(0, 9)) == 0 else row)
    return columns, rows


def _model_row(header: CsvHeader, row: list[str], line: int) -> tuple[Any, ...] | None:
    try:
        model = ImportRow.model_validate(header.as_dict(row))
    except ValidationError:
        return None
    ids = (model.card, model.plate, model.credential)
    return ids, (*fields_row(model, "cred", "mask", ZONE), line)


@settings(max_examples=600, deadline=None)
@given(file=files(), blank_is_default=st.sampled_from([BLANK_IS_DEFAULT, frozenset()]))
def test_a_plain_row_is_one_the_model_accepts_with_the_same_values(
    file: tuple[list[str], list[list[str]]], blank_is_default: frozenset[str]
) -> None:
    columns, rows = file
    header = CsvHeader(columns, set(CELLS), blank_is_default)
    shape = PlainShape.of(header.keys)
    if shape is None:
        assert "holder_id" not in columns
        return
    for line, (row, plain) in enumerate(zip(rows, shape.check(rows), strict=True), 2):
        if plain is None:
            continue  # ImportRow decides; nothing to compare
        modelled = _model_row(header, row, line)
        assert modelled is not None, f"plain but refused by the model: {row} under {columns}"
        at = {name: i for i, name in enumerate(COLUMN_TYPES)}
        ids = (plain[at["card"]] or None, plain[at["plate"]] or None, plain[at["credential"]])
        assert (ids[0], ids[1], ids[2] or None) == modelled[0]
        if ids[0]:
            assert plain_card(ids[0]) == canonical_text(ids[0]), ids[0]
        assert plain_fields_row(plain, "cred", "mask", ZONE, line) == modelled[1]


def test_the_common_rows_are_plain() -> None:
    columns = ["card", "holder_id", "kind", "unit", "doors", "valid_until", "suspended"]
    rows = [
        ["uid:04a224b2", "R-1", "resident", "3-201", "main;side", "2030-12-31", "0"],
        ["uid:04A224B3", "S-1", "staff", "", "", "", "1"],
        ["", "V-1", "visitor", "", "", "", ""],  # no identifier: the model words it
        ["uid:04A224B4", "R-2", "resident", "", "main, side", "", "yes"],  # ImportRow's forms
    ]
    checked = PlainShape(columns).check(rows)
    assert [c is not None for c in checked] == [True, True, False, False]


@pytest.mark.parametrize("header", ["card,holder_id,card", "card,kind"])
def test_a_header_no_row_of_can_be_plain(header: str) -> None:
    assert PlainShape.of(header.split(",")) is None


def test_a_mixed_file_imports_as_the_model_reads_it_and_errors_as_before(
    app: App, tmp_path: Path
) -> None:
    src = tmp_path / "list.csv"
    src.write_text(
        "card,holder_id,kind,unit,doors,valid_from,valid_until,suspended,credential\n"
        "uid:04a1b2c3,R-1,resident,3-201,main,,2030-12-31,0,\n"
        "04:A1:B2:C4,R-2,staff,,main; ,2030-01-01,,yes,\n"  # ImportRow's forms
        ",V-1,visitor,12B,*,2026-01-01T08:00:00+02:00,,," + "ab" * 32 + "\n"
        "w26:12:3456,S-1,staff,,,,,TRUE,\n"
    )
    assert import_file(src, app.config, app.hasher, app.allowlist, 3) == 4
    streamed = app.allowlist.rows()
    app.allowlist.replace(load_file(src, app.config, app.hasher), 4)
    assert app.allowlist.rows() == streamed
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "card,holder_id,doors,valid_from,valid_until\n"
        "uid:04a1b2c3,R-1,nowhere,,\n"  # a plain row naming a door the gate lacks
        "uid:04a1b2c4,R-2,,2030-01-02,2030-01-01\n"  # plain cells, dates out of order
        "uid:zz,R-3,,,\n"  # a plain cell that is no card
        "uid:04a1b2c3,R-4,,,\n"  # line 2's card again
    )
    with pytest.raises(RowErrors) as err:
        import_file(bad, app.config, app.hasher, app.allowlist, 5)
    assert err.value.errors == [
        (2, "doors: unknown door(s) nowhere"),
        (3, "Value error, valid_until must be after valid_from"),
        (4, "card: a UID is an even number of hex digits"),
        (5, "same card as line 2"),
    ]
    assert app.allowlist.version() == 4
