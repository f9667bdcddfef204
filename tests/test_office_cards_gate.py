"""Cards from the desk to a real gate: the workplace (in process, its own views), the
delivery worker's pass, real mosquitto and ``gate-agent run`` with the simulated readers.

A card issued at the desk is granted; reported lost and re-issued, the old card is denied
and the new one granted; a gate stopped during a change is shown "offline since" and gets
the change when it is back (pending → applied), over the worker's kept connection.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.link.signing import public_key_text
from agent.office.parser import _connection as connection_flags
from agent.office.store import OfficeStore
from tests.helpers import AgentProcess, cli, write_sim_config
from tests.office_web_rig import ROOT, a_resident, db, office_web, signed_in

__all__ = ["db", "office_web"]

FIRST, SECOND, THIRD = "04A224B2C15E80", "04C0FFEE01", "04AB0001"


def _tap(config: Path, card: str) -> str:
    return cli(config, "sim", "tap", "uid:" + card, "--door", "pedestrian").stdout


@pytest.fixture
def office(db: None, tmp_path: Path, broker: Any) -> Iterator[argparse.Namespace]:
    """The office's MQTT flags and store (knowing the gate, as `gate-office serve` makes
    it), with the workplace set to the simulator's site key."""
    from django.test import override_settings

    store = OfficeStore(tmp_path / "office.db")
    store.db.update_gate("palm-grove", "main-gate", online=True)
    store.close()
    parser = argparse.ArgumentParser()
    connection_flags(parser)
    args = parser.parse_args(
        ["--host", broker.host, "--port", str(broker.port), "--key", str(tmp_path / "office.key"),
         "--db", str(tmp_path / "office.db"), "--timeout", "15"]
    )  # fmt: skip
    overrides = {
        "GATE_OFFICE_SITE_KEY_FILE": str(ROOT / "config" / "sim-site.key"),
        "GATE_OFFICE_EVENTS_DB": str(tmp_path / "office.db"),
        "GATE_OFFICE_CARDS_SITE": "palm-grove",
    }
    with override_settings(**overrides):
        yield args


def office_version(args: argparse.Namespace) -> int | None:
    """The version the office store recorded as pushed to the gate."""
    store = OfficeStore(args.db)
    try:
        return store.pushed("palm-grove", "main-gate")[0]
    finally:
        store.close()


def _state(change_url: str, client: Any) -> str:
    from agent.office.web.cards.models import CardChange

    change = CardChange.objects.get(pk=int(change_url.rstrip("/").split("/")[-1]))
    (delivery,) = change.deliveries.all()
    page = client.get(change_url).content.decode()
    assert f'data-state="{delivery.state}"' in page
    return str(delivery.state)


def test_issue_lose_reissue_and_a_gate_offline(
    tmp_path: Path, broker: Any, office_key: Any, office: argparse.Namespace
) -> None:
    from agent.office.web.cards import lifecycle
    from agent.office.web.cards.delivery import deliver_pending
    from agent.office.web.cards.links import GateLinks
    from agent.office.web.cards.models import Card

    mqtt = (
        f'[mqtt]\nenabled = true\nhost = "{broker.host}"\nport = {broker.port}\n'
        f'office_public_key = "{public_key_text(office_key)}"\nreconnect_max_s = 1\n'
    )
    config = write_sim_config(tmp_path, mqtt=mqtt)
    clerk, resident = signed_in("clerk"), a_resident()
    agent = AgentProcess(config)
    links = GateLinks(office)  # the worker's connection to the gate, kept between passes
    try:
        issued = clerk.post(f"/cards/residents/{resident.pk}/", {"card_number": FIRST}).url
        assert _state(issued, clerk) == "pending"
        assert deliver_pending(office, links=links) == 1
        assert _state(issued, clerk) == "applied"
        assert "GRANTED" in _tap(config, FIRST)

        old = Card.objects.get()
        reissued = clerk.post(
            f"/cards/{old.pk}/reissue/", {"card_number": SECOND, "reason": "lost"}
        ).url
        assert deliver_pending(office, links=links) == 1 and _state(reissued, clerk) == "applied"
        assert "DENIED (unknown)" in _tap(config, FIRST)
        assert "GRANTED" in _tap(config, SECOND)

        assert agent.terminate() == 0  # the gate goes away: its retained status says so
        later = clerk.post(f"/cards/residents/{resident.pk}/", {"card_number": THIRD}).url
        assert deliver_pending(office, links=links) == 0
        assert _state(later, clerk) == "offline"
        assert "gate offline since" in clerk.get(later).content.decode()

        agent = AgentProcess(config)  # back: the next pass brings it to the register's list
        assert "DENIED (unknown)" in _tap(config, THIRD)
        assert deliver_pending(office, links=links) == 1 and _state(later, clerk) == "applied"
        assert "GRANTED" in _tap(config, THIRD)
        assert "GRANTED" in _tap(config, SECOND)
        assert "DENIED (unknown)" in _tap(config, FIRST)

        # the office database restored: a resync sends the register's list again, one up
        version = office_version(office)
        assert version is not None
        resync = lifecycle.resync("clerk")
        assert deliver_pending(office, links=links) == 1
        assert resync.deliveries.get().version == office_version(office) == version + 1
        assert "GRANTED" in _tap(config, THIRD)
    finally:
        links.close()
        agent.terminate(9)


def test_cards_pushed_from_a_list_stay_beside_the_registers(
    tmp_path: Path, broker: Any, office_key: Any, office: argparse.Namespace
) -> None:
    """The register owns its residents' cards only: a staff card that `gate-office
    allowlist push` put on the gate stays there when the desk issues a resident's card."""
    from agent.office.allowlist_push import push_list
    from agent.office.lists import _read_entries
    from agent.office.web.cards.delivery import deliver_pending
    from agent.office.web.cards.links import GateLinks

    mqtt = (
        f'[mqtt]\nenabled = true\nhost = "{broker.host}"\nport = {broker.port}\n'
        f'office_public_key = "{public_key_text(office_key)}"\nreconnect_max_s = 1\n'
    )
    config = write_sim_config(tmp_path, mqtt=mqtt)
    staff_list = tmp_path / "staff.csv"
    staff_list.write_text(f"card,holder_id,kind\nuid:{THIRD},S-7,staff\n")
    clerk, resident = signed_in("clerk"), a_resident()
    agent = AgentProcess(config)
    links = GateLinks(office)
    try:
        site_key = str(ROOT / "config" / "sim-site.key")
        push_list(links.gate_args("palm-grove", "main-gate"), _read_entries(staff_list, site_key))
        assert "GRANTED" in _tap(config, THIRD)
        clerk.post(f"/cards/residents/{resident.pk}/", {"card_number": FIRST})
        assert deliver_pending(office, links=links) == 1
        assert "GRANTED" in _tap(config, FIRST)
        assert "GRANTED" in _tap(config, THIRD)  # still there
    finally:
        links.close()
        agent.terminate(9)
