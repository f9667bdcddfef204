"""Read an office's allow-list file (CSV or JSON), hash raw card numbers, check everything.

One bad row rejects the whole file: the error names its line, and nothing is changed.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agent.errors import CardFormatError, ImportRejected
from agent.models.config import GateConfig
from agent.models.jsonin import TOO_DEEP
from agent.models.wire import AllowListEntry, EntryFields, ImportRow
from agent.store.credentials import CredentialHasher
from drivers.cards import parse_card

MAX_LISTED_ERRORS = 20


class RowErrors(ImportRejected):
    """Every problem found, each with the line it is on."""

    def __init__(self, source: str, errors: list[tuple[int, str]]) -> None:
        self.errors = errors
        shown = [f"  line {line}: {msg}" for line, msg in errors[:MAX_LISTED_ERRORS]]
        if len(errors) > MAX_LISTED_ERRORS:
            shown.append(f"  ... and {len(errors) - MAX_LISTED_ERRORS} more")
        super().__init__(
            f"{source}: {len(errors)} bad row(s); nothing was changed\n" + "\n".join(shown)
        )


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, raw row) pairs from a .csv or .json file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportRejected(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ImportRejected(f"{path}: cannot read: {exc.strerror or exc}") from None
    if "\x00" in text:  # csv reads NUL as data since Python 3.11; no list has one
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise RowErrors(path.suffix.lower().lstrip(".") or "file", [(line, "a NUL byte")])
    if path.suffix.lower() == ".json":
        yield from _json_rows(text)
    elif path.suffix.lower() == ".csv":
        yield from _csv_rows(text)
    else:
        raise ImportRejected(f"{path}: expected a .csv or .json file")


def _csv_rows(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text))
    try:
        fieldnames = reader.fieldnames
    except csv.Error as exc:
        raise RowErrors("csv", [(1, f"not valid CSV: {exc}")]) from None
    if not fieldnames:
        raise RowErrors("csv", [(1, "no header row")])
    known = set(ImportRow.model_fields)
    unknown = [f for f in fieldnames if f.strip() not in known]
    if unknown:
        raise RowErrors("csv", [(1, f"unknown column(s): {', '.join(unknown)}")])
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # a field over csv's size limit, a NUL byte, ...
            raise RowErrors("csv", [(reader.line_num, f"not valid CSV: {exc}")]) from None
        if None in row:
            raise RowErrors("csv", [(reader.line_num, "more fields than header columns")])
        yield reader.line_num, {k.strip(): v for k, v in row.items() if v is not None}


def _json_rows(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Walk a top-level JSON array element by element so errors can name lines."""
    decoder = json.JSONDecoder()
    pos = _skip_ws(text, 0)
    if pos >= len(text) or text[pos] != "[":
        raise RowErrors("json", [(1, "expected a JSON array of entries")])
    pos = _skip_ws(text, pos + 1)
    if pos < len(text) and text[pos] == "]":
        _end(text, pos)
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
        pos = _skip_ws(text, pos)
        if pos < len(text) and text[pos] == ",":
            pos = _skip_ws(text, pos + 1)
            continue
        if pos < len(text) and text[pos] == "]":
            _end(text, pos)
            return
        raise RowErrors("json", [(text.count("\n", 0, pos) + 1, "expected ',' or ']'")])


def _end(text: str, pos: int) -> None:
    """Nothing may follow the array's closing bracket (a second array would be lost)."""
    rest = _skip_ws(text, pos + 1)
    if rest < len(text):
        raise RowErrors("json", [(text.count("\n", 0, rest) + 1, "text after the closing ']'")])


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        parts.append(f"{where}: {err['msg']}" if where else err["msg"])
    return "; ".join(parts)


def reference_errors(entry: EntryFields, config: GateConfig) -> list[tuple[str, str]]:
    """(field, message) for each door or schedule an entry names that this gate lacks."""
    problems = []
    bad_doors = sorted(set(entry.doors or ()) - {d.id for d in config.doors})
    if bad_doors:
        problems.append(("doors", f"unknown door(s) {', '.join(bad_doors)}"))
    if entry.schedule and entry.schedule not in config.schedules:
        problems.append(("schedule", f"unknown schedule {entry.schedule!r}"))
    return problems


def build_entries(
    rows: Iterable[tuple[int, dict[str, Any]]],
    config: GateConfig | None,
    hasher: CredentialHasher | None,
    source: str = "file",
) -> list[AllowListEntry]:
    """Validate, hash and cross-check rows; RowErrors on any fault.

    Without ``config`` doors and schedules are not checked (the office does not know
    them); without ``hasher`` only already-hashed credentials are accepted.
    """
    errors: list[tuple[int, str]] = []
    entries: list[AllowListEntry] = []
    first_line: dict[str, int] = {}
    for line, raw in rows:
        try:
            row = ImportRow.model_validate(raw)
        except ValidationError as exc:
            errors.append((line, _describe(exc)))
            continue
        if row.card is not None:
            if hasher is None:
                errors.append((line, "card: a raw card number needs the site key to hash it"))
                continue
            try:
                card = parse_card(row.card)
            except CardFormatError as exc:
                errors.append((line, f"card: {exc}"))
                continue
            credential, masked = hasher.identify(card)
        else:
            credential, masked = row.credential or "", ""
        if config is not None:
            errors.extend((line, f"{name}: {m}") for name, m in reference_errors(row, config))
        if credential in first_line:
            errors.append((line, f"same card as line {first_line[credential]}"))
        first_line.setdefault(credential, line)
        fields = row.model_dump(exclude={"card", "credential"})
        entries.append(AllowListEntry(credential=credential, masked=masked, **fields))
    if errors:
        raise RowErrors(source, errors)
    return entries


def load_file(path: Path, config: GateConfig, hasher: CredentialHasher) -> list[AllowListEntry]:
    try:
        return build_entries(read_rows(path), config, hasher, str(path))
    except OSError as exc:
        raise ImportRejected(f"{path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ImportRejected(f"{path}: not UTF-8 text") from None
