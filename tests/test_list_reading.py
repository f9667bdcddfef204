"""The streaming allow-list file reader gives exactly what reading the whole text gave:
the same rows with the same line numbers, or the same first error, whatever the
window size; and it never holds the file."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.errors import GateError, ImportRejected
from agent.models.jsonin import TOO_DEEP
from agent.models.wire import ImportRow
from agent.store.importer import RowErrors, read_rows

SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


# -- the reader as it was before streaming: the whole text at once (the oracle) ----------
def whole_text_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportRejected(f"{path}: not UTF-8 text (byte {exc.start})") from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise RowErrors(str(path), [(line, "a NUL byte")])
    try:
        if path.suffix.lower() == ".json":
            yield from _json(text)
        elif path.suffix.lower() == ".csv":
            yield from _csv(text)
        else:
            raise ImportRejected(f"{path}: expected a .csv or .json file")
    except RowErrors as exc:  # the message names the file, not its format
        raise RowErrors(str(path), exc.errors, exc.total) from None


def _csv(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text))
    try:
        fieldnames = reader.fieldnames
    except csv.Error as exc:
        raise RowErrors("csv", [(1, f"not valid CSV: {exc}")]) from None
    if not fieldnames:
        raise RowErrors("csv", [(1, "no header row")])
    unknown = [f for f in fieldnames if f.strip() not in set(ImportRow.model_fields)]
    if unknown:
        raise RowErrors("csv", [(1, f"unknown column(s): {', '.join(unknown)}")])
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise RowErrors("csv", [(reader.line_num, f"not valid CSV: {exc}")]) from None
        if None in row:
            raise RowErrors("csv", [(reader.line_num, "more fields than header columns")])
        yield reader.line_num, {k.strip(): v for k, v in row.items() if v is not None}


def _json(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    decoder = json.JSONDecoder()
    pos = _ws(text, 0)
    if pos >= len(text) or text[pos] != "[":
        raise RowErrors("json", [(1, "expected a JSON array of entries")])
    pos = _ws(text, pos + 1)
    if pos < len(text) and text[pos] == "]":
        _after(text, pos)
        return
    while True:
        line = text.count("\n", 0, pos) + 1
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise RowErrors("json", [(exc.lineno, f"not valid JSON: {exc.msg}")]) from None
        except RecursionError:
            raise RowErrors("json", [(line, f"not valid JSON: {TOO_DEEP}")]) from None
        if not isinstance(value, dict):
            raise RowErrors("json", [(line, "each entry must be an object")])
        yield line, value
        pos = _ws(text, pos)
        if pos < len(text) and text[pos] == ",":
            pos = _ws(text, pos + 1)
            continue
        if pos < len(text) and text[pos] == "]":
            _after(text, pos)
            return
        raise RowErrors("json", [(text.count("\n", 0, pos) + 1, "expected ',' or ']'")])


def _after(text: str, pos: int) -> None:
    rest = _ws(text, pos + 1)
    if rest < len(text):
        raise RowErrors("json", [(text.count("\n", 0, rest) + 1, "text after the closing ']'")])


def _ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def outcome(rows: Iterator[tuple[int, dict[str, Any]]]) -> Any:
    try:
        return ("rows", list(rows))
    except GateError as exc:
        return ("error", str(exc))


# -- inputs: list-like text, with every kind of damage ----------------------------------
WS = st.sampled_from(["", " ", "\n", "\r\n", "\r", "\t", "  \n  "])
VALUE = st.one_of(
    st.text(max_size=12),
    st.integers(),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=3),
)
ENTRY = st.dictionaries(st.sampled_from(["card", "holder_id", "kind", 'x"y', "é"]), VALUE)


@st.composite
def json_texts(draw: st.DrawFn) -> str:
    items = draw(st.lists(ENTRY | VALUE, max_size=6))
    parts = [draw(WS) + json.dumps(item, indent=draw(st.sampled_from([None, 1]))) for item in items]
    text = draw(WS) + "[" + ("," + draw(WS)).join(parts) + draw(WS) + "]" + draw(WS)
    return _damage(draw, text)


@st.composite
def csv_texts(draw: st.DrawFn) -> str:
    names = draw(st.lists(st.sampled_from(["card", " holder_id", "kind", "unit", "bogus"]),
                          min_size=0, max_size=4))  # fmt: skip
    cell = st.text(alphabet=st.sampled_from('ab,"\n\r x\u00e9'), max_size=6)
    rows = draw(st.lists(st.lists(cell, max_size=5), max_size=5))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n", "\r"])))
    writer.writerow(names)
    for row in rows:
        writer.writerow(row)
    return _damage(draw, out.getvalue())


def _damage(draw: st.DrawFn, text: str) -> str:
    """Leave it, cut it short, or drop a character, a quote, a NUL or stray text in."""
    how = draw(st.sampled_from(["none", "none", "cut", "insert"]))
    if how == "none" or not text:
        return text
    at = draw(st.integers(0, len(text)))
    if how == "cut":
        return text[:at]
    extra = draw(st.sampled_from(['"', "\x00", "]", ",", "{", "\n", "\\", "[[[", "x"]))
    return text[:at] + extra + text[at:]


def _compare(text: str | bytes, suffix: str, block: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"list{suffix}"
        if isinstance(text, str):
            text = text.encode("utf-8", errors="surrogateescape")
        path.write_bytes(text)
        assert outcome(read_rows(path, block)) == outcome(whole_text_rows(path))


@SETTINGS
@given(text=json_texts(), block=st.integers(1, 40))
def test_json_streams_as_the_whole_text_reads(text: str, block: int) -> None:
    _compare(text, ".json", block)


@SETTINGS
@given(text=csv_texts(), block=st.integers(1, 40))
def test_csv_streams_as_the_whole_text_reads(text: str, block: int) -> None:
    _compare(text, ".csv", block)


@SETTINGS
@given(
    data=st.binary(max_size=60).map(lambda b: b"\xef\xbb\xbf" + b if b[:1] == b"+" else b),
    suffix=st.sampled_from([".csv", ".json", ".txt"]),
    block=st.integers(1, 9),
)
def test_bytes_and_encodings_fail_as_the_whole_text_did(
    data: bytes, suffix: str, block: int
) -> None:
    _compare(data, suffix, block)


def test_a_long_entry_and_deep_nesting(tmp_path: Path) -> None:
    long_entry = json.dumps([{"card": "uid:04A1B2C3", "holder_id": "R" + " " * 300}, {"a": 1}])
    for text in (long_entry, "[" * 5000, "[\n" + '{"a": [' * 3000 + "1" + "]}" * 3000 + "]"):
        for block in (3, 64, 1 << 16):
            _compare(text, ".json", block)


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_reading_a_large_file_holds_a_window_not_the_text(tmp_path: Path, suffix: str) -> None:
    """200,000 entries (4 to 10 MB) read with a peak of Python memory under 1 MB."""
    import tracemalloc

    path = tmp_path / f"big{suffix}"
    rows = ({"card": f"uid:{i:08X}", "holder_id": f"R-{i}"} for i in range(200_000))
    with path.open("w") as f:
        if suffix == ".json":
            f.write("[\n" + ",\n".join(json.dumps(r, indent=1) for r in rows) + "\n]\n")
        else:
            f.write("card,holder_id\n" + "".join(f"{r['card']},{r['holder_id']}\n" for r in rows))
    assert path.stat().st_size > 4_000_000
    tracemalloc.start()
    try:
        count = sum(1 for _ in read_rows(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 200_000
    assert peak < 1_000_000, f"{peak} bytes held while reading"


def test_a_field_over_the_csv_limit_is_reported_with_the_files_name(tmp_path: Path) -> None:
    path = tmp_path / "residents.csv"
    path.write_text('card,holder_id\n"' + "a" * 200_000 + '",R-1\n')
    with pytest.raises(RowErrors) as caught:
        list(read_rows(path))
    assert str(caught.value).startswith(f"{path}: 1 bad row(s); nothing was changed")
    assert caught.value.errors == [(2, "not valid CSV: field larger than field limit (131072)")]


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_a_folder_or_a_missing_file_is_one_line(tmp_path: Path, suffix: str) -> None:
    with pytest.raises(ImportRejected, match="cannot read"):
        list(read_rows(tmp_path / f"absent{suffix}"))
    with pytest.raises(ImportRejected, match="cannot read"):
        list(read_rows(tmp_path))
