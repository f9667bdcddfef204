"""Allow-list versions outside what the office's messages carry never enter the gate."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agent.errors import ImportRejected
from agent.models.messages import MAX_VERSION
from agent.models.wire import AllowListEntry
from agent.store.allowlist import AllowListStore
from tests.helpers import cli, write_sim_config


@pytest.mark.parametrize("version", ["1000000000000000000000000000000", "-1", "0"])
def test_an_import_with_a_version_the_wire_cannot_carry_is_refused(
    tmp_path: Path, version: str
) -> None:
    config = write_sim_config(tmp_path)
    listing = tmp_path / "list.csv"
    listing.write_text("card,holder_id\nuid:04A1B2C3,R-1\n")
    refused = cli(config, "allowlist", "import", str(listing), "--version", version, check=False)
    assert refused.returncode == 2, refused.stderr
    assert "Traceback" not in refused.stderr
    assert f"outside 1 to {MAX_VERSION}" in refused.stderr.strip().splitlines()[-1]
    shown = cli(config, "allowlist", "list", "--json")
    assert '"version": null' in shown.stdout  # nothing was imported
    # the highest version the wire carries is fine, and the next default is refused
    cli(config, "allowlist", "import", str(listing), "--version", str(MAX_VERSION))
    again = cli(config, "allowlist", "import", str(listing), check=False)
    assert again.returncode == 1 and "Traceback" not in again.stderr
    assert f"version {MAX_VERSION + 1} is outside" in again.stderr


def test_the_store_refuses_versions_out_of_range(tmp_path: Path) -> None:
    store = AllowListStore(tmp_path / "a.db", ZoneInfo("UTC"))
    entry = AllowListEntry(credential="a" * 64, holder_id="H1")
    for bad in (0, -1, MAX_VERSION + 1, 10**30):
        with pytest.raises(ImportRejected, match="outside 1 to"):
            store.replace([entry], bad)
    store.replace([entry], 5)
    with pytest.raises(ImportRejected, match="outside 1 to"):
        store.patch(5, 10**30, upserts=[], removals=[])
    assert store.version() == 5
    store.close()
