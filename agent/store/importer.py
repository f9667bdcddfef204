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

from agent.errors import CardFormatError, Rejected
from agent.models.config import GateConfig
from agent.models.import_plain import FIELDS as PLAIN_FIELDS
from agent.models.import_plain import plain_card
from agent.models.wire import AllowListEntry, EntryFields, ImportRow
from agent.store.allowlist import AllowListStore, fields_row
from agent.store.credentials import CredentialHasher
from agent.store.import_read import BATCH, BLANK_IS_DEFAULT, RowBatch, read_batches, read_rows
from agent.store.list_rows import plain_fields_row
from agent.store.list_writer import DuplicateRows
from agent.store.listread import MAX_LISTED_ERRORS, RowErrors
from agent.store.plates import plate_credential
from drivers.cards import canonical_text

__all__ = [
    "BLANK_IS_DEFAULT",
    "MAX_LISTED_ERRORS",
    "References",
    "RowErrors",
    "build_entries",
    "import_file",
    "load_file",
    "read_rows",
]

_VALIDATE = ImportRow.model_validate
_CARD, _CREDENTIAL, _PLATE, _DOORS, _SCHEDULE = (
    PLAIN_FIELDS.index(name) for name in ("card", "credential", "plate", "doors", "schedule")
)


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        parts.append(f"{where}: {err['msg']}" if where else err["msg"])
    return "; ".join(parts)


class References:
    """The doors and schedules a gate has: what an entry may name. Built once for a
    file or a snapshot's chunk; an entry naming only known ones costs two set checks."""

    def __init__(self, doors: Iterable[str], schedules: Iterable[str]) -> None:
        self._doors = frozenset(doors)
        self._schedules = frozenset(schedules)

    @classmethod
    def of(cls, config: GateConfig) -> References:
        return cls((d.id for d in config.doors), config.schedules)

    def check_entries(self, entries: Iterable[EntryFields], field: str) -> None:
        """``Rejected`` naming each entry (``field.i.doors``) that names a door or
        schedule this gate lacks."""
        problems = [
            (f"{field}.{i}.{name}", message)
            for i, e in enumerate(entries)
            if e.doors or e.schedule
            for name, message in self.errors(e.doors, e.schedule)
        ]
        if problems:
            raise Rejected("entries refer to doors or schedules this gate lacks", problems)

    def errors(self, doors: Iterable[str] | None, schedule: str | None) -> list[tuple[str, str]]:
        """(field, message) for each door or schedule named that this gate lacks."""
        problems = []
        if doors and not self._doors.issuperset(doors):
            bad_doors = sorted(set(doors) - self._doors)
            problems.append(("doors", f"unknown door(s) {', '.join(bad_doors)}"))
        if schedule and schedule not in self._schedules:
            problems.append(("schedule", f"unknown schedule {schedule!r}"))
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
        self._known = References.of(config) if config else None
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
        identity = self.identify(line, row.card, row.plate, row.credential)
        if identity is None:
            return None
        self.references(line, row.doors, row.schedule)
        return row, *identity

    def identify(
        self, line: int, card: str | None, plate: str | None, credential: str | None
    ) -> tuple[str, str] | None:
        """(credential, masked) of a checked row's one identifier, or None (recorded)."""
        if card is not None:
            if self.hasher is None:
                self.error(line, "card: a raw card number needs the site key to hash it")
                return None
            try:
                canonical = canonical_text(card, self.hasher.prox_bits)
            except CardFormatError as exc:
                self.error(line, f"card: {exc}")
                return None
            return self.hasher.identify_text(canonical)
        if plate is not None:
            checked = plate_credential(plate, self.hasher)
            if isinstance(checked, str):
                self.error(line, checked)
                return None
            return checked
        return credential or "", ""

    def references(self, line: int, doors: Iterable[str] | None, schedule: str | None) -> None:
        """Record each door or schedule a row names that this gate lacks."""
        if self._known is not None and (doors or schedule):
            for name, message in self._known.errors(doors, schedule):
                self.error(line, f"{name}: {message}")


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
    batches: Iterable[RowBatch], checker: RowChecker, zone: ZoneInfo
) -> Iterator[tuple[Any, ...]]:
    """Stored rows, each with its line: a row in the plain shape (agent/models/
    import_plain.py) without a model, any other through ``check``."""
    hasher = checker.hasher
    for batch in batches:
        rows = batch.rows
        plain = batch.shape.check([r for _, r in rows]) if batch.shape else [None] * len(rows)
        for (line, raw), fields in zip(rows, plain, strict=True):
            if fields is None:
                checked = checker.check(line, batch.as_dict(raw))
                if checked is not None:
                    row, credential, masked = checked
                    yield (*fields_row(row, credential, masked, zone), line)
                continue
            card, credential, plate = fields[_CARD], fields[_CREDENTIAL], fields[_PLATE]
            if card and hasher is not None:
                identity: tuple[str, str] | None = hasher.identify_text(plain_card(card))
            else:
                identity = checker.identify(line, card or None, plate or None, credential)
            if identity is not None:
                doors = fields[_DOORS]
                checker.references(line, doors.split(";") if doors else None, fields[_SCHEDULE])
                yield plain_fields_row(fields, *identity, zone, line)


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
        batches = read_batches(path, blank_is_default=BLANK_IS_DEFAULT)
        rows = _store_rows(batches, checker, store.zone)
        while batch := list(islice(rows, BATCH)):
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
