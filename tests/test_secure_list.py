"""A holder's credential policy on the allow-list (issue 20): imported, stored with the
entry (still only the HMAC of the card), read by the decision; older list files get the
column on opening and read as plain."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from agent.core.secure import CredentialPolicy
from agent.gate.app import App
from agent.store.allowlist import AllowListStore
from agent.store.catalog import live_list
from agent.store.importer import import_file
from drivers.cards import GENUINE, SecureProof
from tests.conftest import enroll, tap
from tests.test_secure_reads import show

CARD = "uid:04A1B2C3D4E5F6"


def test_a_holder_who_must_show_a_secure_card(app: App) -> None:
    entry = enroll(app, CARD, credential_policy="secure")
    assert entry.credential_policy is CredentialPolicy.SECURE
    found = app.allowlist.lookup(entry.credential)
    assert found is not None and found.credential_policy == "secure"
    refused = tap(app, CARD)  # "main" is a plain door: the holder's policy is stricter
    assert (refused["granted"], refused["reason"]) == (False, "secure_card_required")
    assert show(app, CARD, SecureProof("desfire", GENUINE))["granted"]


def test_imported_lists_carry_the_policy(app: App, tmp_path: Path) -> None:
    csv = tmp_path / "list.csv"
    csv.write_text(
        f"card,holder_id,credential_policy\n{CARD},R-1,secure_preferred\nuid:04A1B2C3,R-2,\n"
    )
    assert import_file(csv, app.config, app.hasher, app.allowlist, 7) == 2
    rows = {r["holder_id"]: r["credential_policy"] for r in app.allowlist.rows()}
    assert rows == {"R-1": "secure_preferred", "R-2": "plain"}
    assert tap(app, CARD)["granted"]
    assert [e.type.value for e in app.events.recent(5)][-1] == "plain_card_used"


def test_a_list_file_from_before_reads_as_plain(app: App) -> None:
    entry = enroll(app, CARD)
    folder = app.allowlist.folder
    app.stop()
    live = live_list(folder / "allowlist.db")
    assert live is not None
    conn = sqlite3.connect(live)
    conn.execute("ALTER TABLE allowlist DROP COLUMN credential_policy")  # an older release's
    conn.commit()
    conn.close()
    store = AllowListStore(folder / "allowlist.db", app.config.zone())
    try:
        found = store.lookup(entry.credential)
        assert found is not None and found.credential_policy == "plain"
    finally:
        store.close()
