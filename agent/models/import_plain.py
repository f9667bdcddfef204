"""A CSV import row in the plain shape nearly every office file writes, checked by
pydantic-core alone, a batch at a time (issue 23).

``ImportRow`` reads everything an office may write: "yes" for a flag, ``main, side``
or ``*`` for doors, a card as ``04:A2:24:B2``. Its Python validators, a dict and a
model built per row were most of a million-row import's checking time. A row in the
plain shape (flags ``0``/``1`` or ``true``/``false``, doors as ``a;b``, every other
cell in its one plain form or blank, one identifier) is checked here instead: the
row as ``csv`` reads it, a list of cells, against a tuple of the header's column
types, with native constraints only. Every other row, and every row in error, goes
through ``ImportRow``, which decides and words the error as before. So the plain
shape accepts only rows ``ImportRow`` accepts, with the same values: a blank cell
where ``ImportRow`` reads one as "not given". tests/test_import_plain.py checks that
with hypothesis.
"""

from __future__ import annotations

import operator
import types
from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, StringConstraints, TypeAdapter, ValidationError

from agent.core.kinds import HolderKind
from agent.core.secure import CredentialPolicy
from agent.models.base import Slug
from agent.models.pin import PIN_HASH_PATTERN
from agent.models.wire import Credential, dates_in_order

# wire._printable's rule as a pattern: no control characters
_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
_SLUG = r"[a-z0-9][a-z0-9_-]{0,62}"
_IDENTIFIERS = ("card", "credential", "plate")
# ``uid:`` and 4 to 10 bytes of hex: canonical once upper-cased (drivers.cards.canonical_text)
PLAIN_CARD = r"^uid:(?:[0-9A-Fa-f]{2}){4,10}$"

Blank = Literal[""]
_Text = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=_PRINTABLE)]
_When = AwareDatetime | date

# each column's plain form; ``Blank |`` where ImportRow reads "" as not given (its
# default), never for holder_id or kind, where "" is an error
COLUMN_TYPES: dict[str, Any] = {
    "holder_id": Annotated[
        str,
        StringConstraints(min_length=1, max_length=64, strip_whitespace=True, pattern=_PRINTABLE),
    ],
    "kind": HolderKind,
    "unit": Blank | _Text,
    "doors": Blank | Annotated[str, StringConstraints(pattern=rf"^{_SLUG}(;{_SLUG})*$")],
    "valid_from": Blank | _When,
    "valid_until": Blank | _When,
    "schedule": Blank | Slug,
    "suspended": Blank | bool,
    "lockdown_override": Blank | bool,
    "credential_policy": Blank | CredentialPolicy,
    "pin_hash": Blank | Annotated[str, StringConstraints(pattern=PIN_HASH_PATTERN)],
    # a card in the notation nearly every file uses; any other goes through ImportRow
    "card": Blank | Annotated[str, StringConstraints(pattern=PLAIN_CARD)],
    "credential": Blank | Credential,
    "plate": Blank | _Text,
}


# a plain row's checked values come out in this order, whatever the file's columns
# ("" for a column the file lacks), so that one function makes any of them a stored row
FIELDS = tuple(COLUMN_TYPES)
_ABSENT = ("",)
_IDENTIFIER_AT = tuple(FIELDS.index(name) for name in _IDENTIFIERS)
_FROM, _UNTIL = FIELDS.index("valid_from"), FIELDS.index("valid_until")


def plain_card(card: str) -> str:
    """The canonical text of a card in the plain notation (``PLAIN_CARD``): what
    drivers.cards.canonical_text gives for it, without its regex."""
    return "uid:" + card[4:].upper()


class PlainShape:
    """The plain shape of rows with these columns in this order (a CSV file's header)."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = tuple(columns)
        row = types.GenericAlias(tuple, tuple(COLUMN_TYPES[c] for c in self.columns))
        self._batch: TypeAdapter[list[tuple[Any, ...]]] = TypeAdapter(list[row])  # type: ignore[valid-type]
        where = {c: i for i, c in enumerate(self.columns)}
        # the values in FIELDS order from a row's values with "" appended
        self._in_order = operator.itemgetter(*(where.get(f, len(self.columns)) for f in FIELDS))

    @classmethod
    def of(cls, columns: Sequence[str]) -> PlainShape | None:
        """The shape of a header, or None when no row of it can be plain (a column
        named twice or not at all among ImportRow's, no holder_id)."""
        if len(set(columns)) != len(columns) or "holder_id" not in columns:
            return None
        if any(c not in COLUMN_TYPES for c in columns):
            return None
        return cls(columns)

    def check(self, rows: list[list[str]]) -> list[tuple[Any, ...] | None]:
        """Each row's checked values in ``FIELDS`` order ("" where blank or absent), or
        None where the row is not in the plain shape (a short row, a cell in another
        form, an error)."""
        try:
            checked = self._batch.validate_python(rows)
        except ValidationError as exc:
            # rows are checked one by one: the others pass alone as they would together
            off = {err["loc"][0] for err in exc.errors(include_url=False, include_context=False)}
            keep = [i for i in range(len(rows)) if i not in off]
            found: list[tuple[Any, ...] | None] = [None] * len(rows)
            try:
                passed = self._batch.validate_python([rows[i] for i in keep])
            except ValidationError:
                return found  # not expected; each row's own check says why
            for i, values in zip(keep, passed, strict=True):
                found[i] = self._whole(values)
            return found
        return [self._whole(values) for values in checked]

    def _whole(self, values: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """The values in FIELDS order, if the row also passes ImportRow's row-wide checks
        (one identifier, dates in order); None leaves those and their wording to it."""
        fields: tuple[Any, ...] = self._in_order(values + _ABSENT)
        card, credential, plate = _IDENTIFIER_AT
        if bool(fields[card]) + bool(fields[credential]) + bool(fields[plate]) != 1:
            return None
        start, stop = fields[_FROM], fields[_UNTIL]
        if start and stop and not dates_in_order(start, stop):
            return None
        return fields
