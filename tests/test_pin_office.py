"""The office sets a holder's PIN (issue 21): hashed at the office, only the hash in the
list file; the gate imports it and decides with it. The real CLIs in subprocesses."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from agent.gate.app import App
from agent.models.config import GateConfig
from agent.models.wire import ImportRow
from agent.office.pins import pin_problem
from agent.store.importer import import_file
from agent.store.pins import hash_pin, verify_pin
from tests.conftest import BASE, ROOT
from tests.test_pin import Decisions, present, typed

LIST = """card,holder_id,kind,unit
uid:04A1B2C3,R-1,resident,A-1
uid:04D5E6F7,R-2,resident,A-2
"""


def office(*argv: str, stdin: str) -> subprocess.CompletedProcess[str]:
    code = "import sys; from agent.office.cli import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, *argv], input=stdin, text=True,
                          capture_output=True, cwd=ROOT, timeout=60)  # fmt: skip


def test_pin_set_puts_only_a_hash_in_the_list_and_the_gate_uses_it(
    tmp_path: Path, make_app: Callable[..., App], make_config: Callable[..., GateConfig]
) -> None:
    listing = tmp_path / "residents.csv"
    listing.write_text(LIST)
    done = office("pin", "set", str(listing), "--holder", "R-1", stdin="583920\n")
    assert done.returncode == 0, done.stderr
    assert "583920" not in done.stdout + done.stderr + listing.read_text()
    row = next(line for line in listing.read_text().splitlines() if ",R-1," in line)
    stored = row.rsplit(",", 1)[1]
    assert stored.startswith("scrypt$13$8$1$") and verify_pin("583920", stored)
    assert listing.read_text().splitlines()[2].endswith(",")  # no PIN
    config = make_config(doors=[{**BASE["doors"][0], "pin": "always"}, BASE["doors"][1]])
    app = make_app(config)
    app.start(threaded=False)
    assert import_file(listing, config, app.hasher, app.allowlist, 2) == 2
    decisions = Decisions(app)
    present(app, "uid:04A1B2C3")
    typed(app, "583920#")
    present(app, "uid:04D5E6F7")
    assert [d["reason"] for d in decisions.seen] == ["granted", "pin_not_set"]


@pytest.mark.parametrize(
    ("pin", "why"),
    [("12a4", "digits only"), ("123", "4 to 12"), ("1111", "too easy"), ("9876", "too easy")],
)
def test_weak_or_malformed_pins_are_refused_without_repeating_them(pin: str, why: str) -> None:
    problem = pin_problem(pin)
    assert problem is not None and why in problem and pin not in problem
    done = office("pin", "hash", stdin=pin + "\n")
    assert done.returncode != 0 and pin not in done.stdout + done.stderr


def test_pin_hash_prints_a_hash_and_a_list_refuses_a_damaged_one() -> None:
    done = office("pin", "hash", stdin="480151\n")
    assert done.returncode == 0 and verify_pin("480151", done.stdout.strip())
    with pytest.raises(ValidationError) as caught:
        ImportRow.model_validate({"card": "uid:04A1B2C3", "holder_id": "R-1",
                                  "pin_hash": "scrypt$13$8$1$short$x"})  # fmt: skip
    assert "pin_hash" in str(caught.value)
    assert ImportRow.model_validate(
        {"card": "uid:04A1B2C3", "holder_id": "R-1", "pin_hash": hash_pin("480151", 12)}
    ).pin_hash
