"""The store's listing queries the event page uses, on SQLite and PostgreSQL: keyset pages
that cover every event once even at one instant, several holders at once, and gate names."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from agent.office.db import open_store
from tests.test_office_store import T0, ev, new_target, pg_database

__all__ = ["pg_database"]


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_keyset_pages_several_holders_and_gate_names(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    db = open_store(new_target(request, tmp_path, kind))
    try:
        # four events at each instant, two gates: pages of 7 split instants
        db.add_events([ev(n, gate=f"g{n % 2}", time=(T0 + timedelta(seconds=n // 4)).isoformat())
                       for n in range(1, 61)])  # fmt: skip
        every = [e["serial"] for e in db.query_events(limit=None)][::-1]
        seen: list[int] = []
        before = None
        while True:
            page = db.query_events(limit=7, before=before)[::-1]
            seen += [e["serial"] for e in page]
            if len(page) < 7:
                break
            before = (page[-1]["time"], page[-1]["serial"])
        assert seen == every and len(seen) == 60
        both = db.query_events(holder=["R-1", "R-2"], limit=None)
        assert {e["details"]["holder_id"] for e in both} == {"R-1", "R-2"} and len(both) == 40
        assert db.query_events(holder=[], limit=None) == []
        assert len(db.query_events(holder="R-0", gate="g1", limit=None)) == 10
        db.update_gate("s1", "g1", online=True)
        assert db.gate_names() == [("s1", "g0"), ("s1", "g1")]
    finally:
        db.close()
