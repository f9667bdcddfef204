"""JSON Schemas generated from the pydantic models: the contract with office software."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent.models.base import Strict
from agent.models.complaints import ComplaintTaken
from agent.models.config import GateConfig
from agent.models.delivery import EventBatch, OfficeOnline, Receipt, ReplayAck, ReplayRequest
from agent.models.drills import DrillCommand
from agent.models.messages import SCHEMAS
from agent.models.occupancy import ForgiveCommand
from agent.models.passes import PassUpdate
from agent.models.presence_sync import PresenceAsk, PresenceBatch

DELIVERY: dict[str, type[Strict]] = {
    "event-batch": EventBatch,
    "receipt": Receipt,
    "replay-request": ReplayRequest,
    "replay-ack": ReplayAck,
    "office-online": OfficeOnline,
    "pass-update": PassUpdate,  # cmd/pass: visitor passes revoked or delivered ahead
    "drill-command": DrillCommand,  # cmd/drill: a fire or evacuation drill started or stopped
    "complaint-taken": ComplaintTaken,  # the details of a complaint_taken event
    "forgive-command": ForgiveCommand,  # cmd/forgive: a holder's anti-passback forgiven
    "presence-batch": PresenceBatch,  # <site>/presence and presence/sync: relayed moves
    "presence-ask": PresenceAsk,  # presence/request: a gate's catch-up ask
}


def all_schemas() -> dict[str, dict[str, Any]]:
    schemas = {"gate-config": GateConfig.model_json_schema()}
    for name, model in {**SCHEMAS, **DELIVERY}.items():
        schemas[name] = model.model_json_schema()
    return schemas


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in all_schemas().items():
        path = folder / f"{name}.schema.json"
        path.write_text(render(schema))
        written.append(path)
    return written
