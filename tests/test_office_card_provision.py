"""``gate-office card keygen | provision | read`` in child processes, with the sim desk reader."""

from __future__ import annotations

import json
import secrets
import stat
import subprocess
from pathlib import Path

import pytest

from agent.store.credentials import CredentialHasher, read_key_file
from drivers.cards import CardNumber
from tests.office_web_rig import gate_office


@pytest.fixture()
def keys(tmp_path: Path) -> Path:
    """A folder with the site master key (made by ``card keygen``) and the site key."""
    done = gate_office("card", "keygen", "--out", str(tmp_path / "master.key"))
    assert done.returncode == 0 and done.stderr == "", done.stderr
    (tmp_path / "site.key").write_text(secrets.token_hex(32) + "\n")
    return tmp_path


def one_line_error(done: subprocess.CompletedProcess[str], code: int, words: str) -> None:
    assert (done.returncode, done.stdout) == (code, ""), done
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: "), done.stderr
    assert words in done.stderr and "Traceback" not in done.stderr


def provision(
    keys: Path, kind: str, card: str, *more: str, master: str = "master.key"
) -> subprocess.CompletedProcess[str]:
    return gate_office(
        "--json", "card", "provision", "--kind", kind, "--reader", "sim",
        "--sim-card", str(keys / card), "--site-master-key", str(keys / master),
        "--site-key", str(keys / "site.key"), *more,
    )  # fmt: skip


def read(keys: Path, card: str, master: str = "master.key") -> subprocess.CompletedProcess[str]:
    return gate_office(
        "card", "read", "--reader", "sim", "--sim-card", str(keys / card),
        "--site-master-key", str(keys / master),
    )  # fmt: skip


def test_keygen_writes_16_bytes_hex_for_the_owner_only_and_never_overwrites(keys: Path) -> None:
    key_file = keys / "master.key"
    assert len(read_key_file(key_file)) == 16
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    before = key_file.read_bytes()
    again = gate_office("card", "keygen", "--out", str(key_file))
    one_line_error(again, 1, "refusing to overwrite")
    assert key_file.read_bytes() == before


@pytest.mark.parametrize("kind", ["desfire", "ntag424"])
def test_provisioned_sim_cards_read_back_genuine_and_refuse_a_second_provisioning(
    keys: Path, kind: str
) -> None:
    extra = ("--credential-id", "R-0042") if kind == "desfire" else ()
    done = provision(keys, kind, "card.json", *extra)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    answer = json.loads(done.stdout)
    state = json.loads((keys / "card.json").read_text())
    uid = CardNumber.from_uid(bytes.fromhex(state["uid"]))
    hasher = CredentialHasher(read_key_file(keys / "site.key"))
    assert (answer["credential"], answer["masked"]) == hasher.identify(uid)  # as the register
    assert answer["kind"] == kind and answer["masked"].startswith("uid:****")
    assert answer["credential_id"] == ("R-0042" if kind == "desfire" else None)
    assert state["uid"].upper() not in done.stdout.upper()  # never the full UID, never a key
    master = (keys / "master.key").read_text().strip()
    assert master not in done.stdout

    back = read(keys, "card.json")
    assert back.returncode == 0 and back.stderr == "", back.stderr
    assert back.stdout.startswith(f"genuine {kind} card {answer['masked']}")
    assert ("credential id R-0042" in back.stdout) == (kind == "desfire")
    assert back.stdout.count("\n") == 1 and state["uid"].upper() not in back.stdout.upper()

    one_line_error(provision(keys, kind, "card.json", *extra), 1, f"not a blank {kind}")
    assert read(keys, "card.json").stdout.startswith(f"genuine {kind} card")


def test_a_desfire_id_is_made_when_none_is_given(keys: Path) -> None:
    done = provision(keys, "desfire", "card.json")
    made = json.loads(done.stdout)["credential_id"]
    assert len(made) == 16 and f"credential id {made}" in read(keys, "card.json").stdout


@pytest.mark.parametrize("kind", ["desfire", "ntag424"])
def test_another_master_key_reads_the_card_as_not_genuine(keys: Path, kind: str) -> None:
    assert provision(keys, kind, "card.json").returncode == 0
    assert gate_office("card", "keygen", "--out", str(keys / "other.key")).returncode == 0
    one_line_error(read(keys, "card.json", master="other.key"), 1, "card_not_genuine")


@pytest.mark.parametrize(("kind", "tear"), [("desfire", 4), ("desfire", 12), ("ntag424", 6)])
def test_a_torn_provisioning_says_so_and_leaves_no_genuine_card(
    keys: Path, kind: str, tear: int
) -> None:
    torn = provision(keys, kind, "card.json", "--sim-tear-after", str(tear))
    one_line_error(torn, 1, "card torn")
    one_line_error(read(keys, "card.json"), 1, "card_not_genuine")


def test_errors_are_one_line(keys: Path) -> None:
    one_line_error(provision(keys, "desfire", "card.json", master="site.key"), 2, "32 hex digits")
    one_line_error(provision(keys, "desfire", "card.json", master="none.key"), 2, "cannot read")
    with_id = provision(keys, "ntag424", "c.json", "--credential-id", "R-1")
    one_line_error(with_id, 2, "no credential id")
    assert not (keys / "c.json").exists()  # refused before any card was touched
    one_line_error(read(keys, "absent.json"), 2, "no sim card")
    (keys / "junk.json").write_text("{}")
    one_line_error(read(keys, "junk.json"), 2, "not a sim card's state")
    cases = (("bogus", "unknown reader", "desfire"), ("nfc:usb:0000:0000", "no reader found",
             "desfire"), ("nfc:usb:0000:0000", "no reader found", "ntag424"))  # fmt: skip
    for reader, words, kind in cases:
        done = gate_office(
            "card", "provision", "--kind", kind, "--reader", reader,
            "--site-master-key", str(keys / "master.key"), "--site-key", str(keys / "site.key"),
        )  # fmt: skip
        one_line_error(done, 1 if words == "no reader found" else 2, words)


def test_an_acr122u_at_the_desk_is_refused_before_the_card_is_touched() -> None:
    """nfcpy's own device classes: an ACR122U senses cards but cannot carry the session's
    APDUs, so provisioning on one would leave a half-written card; a PN532 or PN533 can."""
    import nfc.clf.acr122
    import nfc.clf.pn532
    import nfc.clf.pn533

    from agent.office.card_desk import senses_only

    assert senses_only(object.__new__(nfc.clf.acr122.Device))
    assert not senses_only(object.__new__(nfc.clf.pn532.Device))
    assert not senses_only(object.__new__(nfc.clf.pn533.Device))
