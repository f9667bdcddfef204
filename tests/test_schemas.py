"""The checked-in JSON Schemas are exactly what the models generate."""

import json

from agent.models.schemas import all_schemas, render
from tests.conftest import ROOT

FOLDER = ROOT / "config" / "schemas"


def test_checked_in_schemas_match_the_models() -> None:
    generated = all_schemas()
    on_disk = {p.name.removesuffix(".schema.json") for p in FOLDER.glob("*.schema.json")}
    assert on_disk == set(generated), "run: .venv/bin/gate-agent schema"
    for name, schema in generated.items():
        assert (FOLDER / f"{name}.schema.json").read_text() == render(schema), (
            f"{name} schema is stale; run: .venv/bin/gate-agent schema"
        )


def test_schemas_forbid_unknown_keys() -> None:
    for name in ("command", "allowlist-patch", "config-set"):
        schema = json.loads((FOLDER / f"{name}.schema.json").read_text())
        assert schema["additionalProperties"] is False


def test_docs_acl_is_what_the_code_generates() -> None:
    from agent.link.topics import Topics

    block = Topics("gate", "palm-grove", "main-gate").acl("gate-palm-grove-main-gate")
    assert block in (ROOT / "docs" / "mqtt.md").read_text()
