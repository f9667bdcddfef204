"""An office's allow-list file read a batch of rows at a time, each batch with what
checks it fastest: the plain shape of a CSV header (agent/models/import_plain.py),
and how a row becomes the dict ``ImportRow`` reads when it is not plain."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, cast

from agent.errors import ImportRejected
from agent.models.import_plain import PlainShape
from agent.models.wire import ImportRow
from agent.store.listread import BLOCK, RowErrors, csv_records, json_rows, precheck

BATCH = 2000
# columns where an empty cell means the same as no cell: dropping them while reading
# spares pydantic a validator call each (``kind`` and ``holder_id`` keep theirs: ""
# is an error); the model reads "" there as the default all the same
BLANK_IS_DEFAULT = frozenset(
    {"card", "credential", "plate", "unit", "doors", "valid_from", "valid_until", "schedule"}
    | {"suspended", "lockdown_override"}
)


def _same(raw: Any) -> dict[str, Any]:
    return cast(dict[str, Any], raw)  # a JSON row is read as a dict already


def _given(raw: dict[str, Any], blank_is_default: frozenset[str]) -> dict[str, Any]:
    return {k: v for k, v in raw.items() if v != "" or k not in blank_is_default}


@dataclass(frozen=True, slots=True)
class RowBatch:
    """Up to ``BATCH`` rows as read, each with its line; ``shape`` checks them all at
    once where it is not None, and ``as_dict`` makes a row what ``ImportRow`` reads."""

    rows: list[tuple[int, Any]]
    shape: PlainShape | None
    as_dict: Callable[[Any], dict[str, Any]]


def read_batches(
    path: Path,
    block: int = BLOCK,
    blank_is_default: frozenset[str] = frozenset(),
    size: int = BATCH,
) -> Iterator[RowBatch]:
    """The rows of a .csv or .json file, ``size`` at a time, read ``block`` characters
    at a time; "" in a ``blank_is_default`` column is left out of the dict a row becomes."""
    try:
        precheck(path, block)
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".json"):
            raise ImportRejected(f"{path}: expected a .csv or .json file")
        with path.open(encoding="utf-8-sig") as text:
            if suffix == ".json":
                objects = json_rows(text, block)
                while json_batch := list(islice(objects, size)):
                    if blank_is_default:
                        json_batch = [(n, _given(raw, blank_is_default)) for n, raw in json_batch]
                    yield RowBatch(json_batch, None, _same)
                return
            header, records = csv_records(text, set(ImportRow.model_fields), blank_is_default)
            shape = PlainShape.of(header.keys)
            while csv_batch := list(islice(records, size)):
                yield RowBatch(csv_batch, shape, header.as_dict)
    except RowErrors as exc:  # the file's name, not "csv" or "json", in the message
        raise exc.named(str(path)) from None
    except UnicodeDecodeError:  # changed on disk since the check
        raise ImportRejected(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise ImportRejected(f"{path}: cannot read: {exc.strerror or exc}") from None


def read_rows(
    path: Path, block: int = BLOCK, blank_is_default: frozenset[str] = frozenset()
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, raw row) pairs from a .csv or .json file (see ``read_batches``),
    one row at a time: what is read and not yet taken stays under a window's size."""
    for batch in read_batches(path, block, blank_is_default, size=1):
        for line, raw in batch.rows:
            yield line, batch.as_dict(raw)
