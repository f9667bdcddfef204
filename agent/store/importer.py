"""Read an office's allow-list file (CSV or JSON), hash raw card numbers, check everything.

One bad row rejects the whole file: the error names its line, and nothing is changed.
``import_file`` streams the file into a new list file (constant memory whatever its
size); SQLite, not a Python set, finds a card listed twice, and the error names both
lines. ``build_entries`` gives the entries as a list (the office, which sends them on).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from agent.errors import CardFormatError, ImportRejected
from agent.models.config import GateConfig
from agent.models.wire import AllowListEntry, EntryFields, ImportRow
from agent.store.allowlist import AllowListStore, fields_row
from agent.store.credentials import CredentialHasher
from agent.store.listfile import DuplicateRows
from agent.store.listread import (
    BLOCK,
    MAX_LISTED_ERRORS,
    RowErrors,
    csv_rows,
    json_rows,
    precheck,
)
from agent.store.plates import plate_credential
from drivers.cards import canonical_text

__all__ = [
    "BLANK_IS_DEFAULT",
    "MAX_LISTED_ERRORS",
    "RowErrors",
    "build_entries",
    "import_file",
    "load_file",
    "read_rows",
    "reference_errors",
]

_BATCH = 2000
_VALIDATE = ImportRow.model_validate
# columns where an empty cell means the same as no cell: dropping them while reading
# spares pydantic a validator call each (``kind`` and ``holder_id`` keep theirs: ""
# is an error); the model reads "" there as the default all the same
BLANK_IS_DEFAULT = frozenset(
    {"card", "credential", "plate", "unit", "doors", "valid_from", "valid_until", "schedule"}
    | {"suspended", "lockdown_override"}
)


def read_rows(
    path: Path, block: int = BLOCK, blank_is_default: frozenset[str] = frozenset()
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, raw row) pairs from a .csv or .json file, read ``block`` characters
    at a time; "" in a ``blank_is_default`` column is left out of the row."""
    try:
        precheck(path, block)
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".json"):
            raise ImportRejected(f"{path}: expected a .csv or .json file")
        with path.open(encoding="utf-8-sig") as text:
            if suffix == ".json":
                for line, raw in json_rows(text, block):
                    if blank_is_default:
                        raw = {k: v for k, v in raw.items() if v != "" or k not in blank_is_default}
                    yield line, raw
            else:
                yield from csv_rows(text, set(ImportRow.model_fields), blank_is_default)
    except UnicodeDecodeError:  # changed on disk since the check
        raise ImportRejected(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise ImportRejected(f"{path}: cannot read: {exc.strerror or exc}") from None


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        parts.append(f"{where}: {err['msg']}" if where else err["msg"])
    return "; ".join(parts)


def reference_errors(entry: EntryFields, config: GateConfig) -> list[tuple[str, str]]:
    """(field, message) for each door or schedule an entry names that this gate lacks."""
    problems = []
    if entry.doors:
        bad_doors = sorted(set(entry.doors) - {d.id for d in config.doors})
        if bad_doors:
            problems.append(("doors", f"unknown door(s) {', '.join(bad_doors)}"))
    if entry.schedule and entry.schedule not in config.schedules:
        problems.append(("schedule", f"unknown schedule {entry.schedule!r}"))
    return problems


class RowChecker:
    """Validates, hashes and cross-checks rows one by one, keeping the first errors.

    Without ``config`` doors and schedules are not checked (the office does not know
    them); without ``hasher`` only already-hashed credentials are accepted.
    """

    def __init__(self, config: GateConfig | None, hasher: CredentialHasher | None) -> None:
        self.config = config
        self.hasher = hasher
        self.errors: list[tuple[int, str]] = []  # the first MAX_LISTED_ERRORS
        self.count = 0

    def error(self, line: int, message: str) -> None:
        self.count += 1
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append((line, message))

    def check(self, line: int, raw: dict[str, Any]) -> tuple[ImportRow, str, str] | None:
        """(row, credential, masked), or None after recording why the row is bad."""
        try:
            row = _VALIDATE(raw)
        except ValidationError as exc:
            self.error(line, _describe(exc))
            return None
        if row.card is not None:
            if self.hasher is None:
                self.error(line, "card: a raw card number needs the site key to hash it")
                return None
            try:
                canonical = canonical_text(row.card, self.hasher.prox_bits)
            except CardFormatError as exc:
                self.error(line, f"card: {exc}")
                return None
            credential, masked = self.hasher.identify_text(canonical)
        elif row.plate is not None:
            checked = plate_credential(row.plate, self.hasher)
            if isinstance(checked, str):
                self.error(line, checked)
                return None
            credential, masked = checked
        else:
            credential, masked = row.credential or "", ""
        if self.config is not None and (row.doors or row.schedule):
            for name, message in reference_errors(row, self.config):
                self.error(line, f"{name}: {message}")
        return row, credential, masked


def build_entries(
    rows: Iterable[tuple[int, dict[str, Any]]],
    config: GateConfig | None,
    hasher: CredentialHasher | None,
    source: str = "file",
) -> list[AllowListEntry]:
    """Validate, hash and cross-check rows into a list; RowErrors on any fault."""
    checker = RowChecker(config, hasher)
    entries: list[AllowListEntry] = []
    first_line: dict[str, int] = {}
    for line, raw in rows:
        checked = checker.check(line, raw)
        if checked is None:
            continue
        row, credential, masked = checked
        if credential in first_line:
            checker.error(line, f"same card as line {first_line[credential]}")
        first_line.setdefault(credential, line)
        fields = row.model_dump(exclude={"card", "credential", "plate"})
        entries.append(AllowListEntry(credential=credential, masked=masked, **fields))
    if checker.count:
        raise RowErrors(source, checker.errors, checker.count)
    return entries


def load_file(path: Path, config: GateConfig, hasher: CredentialHasher) -> list[AllowListEntry]:
    """A (small) file's entries as a list: the demo list, tests."""
    return build_entries(
        read_rows(path, blank_is_default=BLANK_IS_DEFAULT), config, hasher, str(path)
    )


def _store_rows(
    rows: Iterable[tuple[int, dict[str, Any]]], checker: RowChecker, zone: ZoneInfo
) -> Iterator[tuple[Any, ...]]:
    for line, raw in rows:
        checked = checker.check(line, raw)
        if checked is not None:
            row, credential, masked = checked
            yield (*fields_row(row, credential, masked, zone), line)


def import_file(
    path: Path,
    config: GateConfig,
    hasher: CredentialHasher,
    store: AllowListStore,
    version: int,
) -> int:
    """Stream a file into a new list and switch to it; returns its size.

    RowErrors (the first errors in line order, and how many) leaves the list as it was.
    """
    checker = RowChecker(config, hasher)
    build = store.new_list()
    try:
        rows = _store_rows(read_rows(path, blank_is_default=BLANK_IS_DEFAULT), checker, store.zone)
        while batch := list(islice(rows, _BATCH)):
            build.add(batch)
        if not checker.count:
            try:
                return store.install(build, version)
            except DuplicateRows:
                pass
        repeats, repeated = build.duplicates(MAX_LISTED_ERRORS)
        same = [(line, f"same card as line {first}") for line, first in repeats]
        errors = list(heapq.merge(checker.errors, same, key=lambda e: e[0]))
        raise RowErrors(str(path), errors[:MAX_LISTED_ERRORS], checker.count + repeated)
    finally:
        build.discard()
