"""A resident purged on time is forgotten by the office's presence too (issue 21): the
purge deletes their records in the event store, and the relay tells the gates."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from agent.office.db import open_store
from agent.office.db.base import EventRow
from agent.office.db.presence import presence_of
from tests.office_web_rig import a_resident, db, office_web

__all__ = ["db", "office_web"]

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


def test_a_purged_resident_is_forgotten_in_the_event_store(db: None, tmp_path: Path) -> None:
    from django.test import override_settings

    from agent.office.web.register import retention

    gone, staying = a_resident(), "h-still-living-here"
    gone.move_out = date(2025, 11, 1)
    gone.save()
    where = tmp_path / "events.sqlite3"
    store = open_store(where)
    rows = [
        EventRow(
            id=f"e{seq}",
            site="s1",
            gate="east",
            seq=seq,
            time=NOW - timedelta(days=400 - seq),
            type="access_granted",
            severity="info",
            door="main",
            details_json=json.dumps({"holder_id": holder, "passage": ["outside", "compound"]}),
        )
        for seq, holder in ((1, gone.holder_id), (2, staying))
    ]
    store.add_rows(rows)
    store.close()
    with override_settings(GATE_OFFICE_EVENTS_DB=str(where)):
        assert retention.purge(NOW, 12, dry_run=True).forgotten == 0
        result = retention.purge(NOW, 12)
    assert result.purged == [gone.pk] and result.forgotten == 1
    store = open_store(where)
    presence = presence_of(store)
    assert presence is not None
    assert [r.holder_id for r in presence.all("s1")] == [staying]
    assert presence.changes("s1", 2).forget == [gone.holder_id]  # what the gates are told
    store.close()
