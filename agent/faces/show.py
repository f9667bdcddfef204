"""``gate-agent config show``: the configuration in force and where each value came from.

In force is the installer's file with the office's overlay (``config.remote.json`` in
the state folder) over it, merged as ``run`` merges them. Each value's source is
``file``, ``office revision N`` or ``default``. Nothing here writes: an overlay that
``run`` would set aside is reported, not moved. Secrets are files named by path and
are never opened; a value whose name says it is a secret is shown as ``<redacted>``.
"""

from __future__ import annotations

import argparse
import json
import re
import tomllib
from typing import Any

from agent.errors import ConfigError
from agent.faces.configs import config_path
from agent.link.remote_config import OverlayCorrupt, OverlayStore, merge
from agent.models.config import load_config

Key = tuple[str | int, ...]
REDACTED = "<redacted>"
SECRET_NAME = re.compile(r"password|secret|token|private|scbk|passphrase", re.IGNORECASE)
BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
COMMENT_COLUMN = 44


def is_secret(name: str) -> bool:
    """A value named like a secret, unless it is the path of a file holding one."""
    return bool(SECRET_NAME.search(name)) and not name.endswith(("_file", "_path", "_dir"))


def redacted(doc: Any, name: str = "") -> Any:
    if isinstance(doc, dict):
        return {k: redacted(v, str(k)) for k, v in doc.items()}
    if isinstance(doc, list):
        return [redacted(v, name) for v in doc]
    return REDACTED if doc is not None and is_secret(name) else doc


def _present(doc: Any, key: Key) -> bool:
    for part in key:
        in_list = isinstance(part, int) and isinstance(doc, list) and part < len(doc)
        if not (in_list or (isinstance(part, str) and isinstance(doc, dict) and part in doc)):
            return False
        doc = doc[part]
    return True


class Sources:
    """Where a value of the effective config came from."""

    def __init__(self, file: dict[str, Any], overlay: dict[str, Any], revision: int) -> None:
        self.file = file
        self.overlay = overlay
        self.office = f"office revision {revision}"

    def of(self, key: Key) -> str:
        # an office section replaces the file's whole section (storage.dir excepted):
        # what it leaves out is the model's default, not the file's value
        if key[0] in self.overlay and key[:2] != ("storage", "dir"):
            return self.office if _present(self.overlay, key) else "default"
        return "file" if _present(self.file, key) else "default"


def _leaves(doc: Any, key: Key = ()) -> list[tuple[Key, Any]]:
    if isinstance(doc, dict) and doc:
        return [leaf for k, v in doc.items() for leaf in _leaves(v, (*key, k))]
    if isinstance(doc, list) and doc and all(isinstance(v, dict) for v in doc):
        return [leaf for i, v in enumerate(doc) for leaf in _leaves(v, (*key, i))]
    return [(key, doc)]


def _dotted(key: Key) -> str:
    return ".".join(str(k) for k in key)


def _toml_key(name: str | int) -> str:
    text = str(name)
    return text if BARE_KEY.match(text) else json.dumps(text)


def _is_table(value: Any) -> bool:
    return isinstance(value, dict) and bool(value)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _render(doc: dict[str, Any], key: Key, header: str, sources: Sources, out: list[str]) -> None:
    """TOML-like text: a table's plain values (source as a comment), then its tables."""
    for name, value in doc.items():
        if value is None or _is_table(value) or _is_table_array(value) or value == {}:
            continue  # TOML has no null; tables follow below
        line = f"{_toml_key(name)} = {json.dumps(value)}"
        out.append(f"{line:<{COMMENT_COLUMN}} # {sources.of((*key, name))}")
    for name, value in doc.items():
        path = f"{header}.{_toml_key(name)}" if header else _toml_key(name)
        if _is_table(value):
            if any(not (_is_table(v) or _is_table_array(v)) for v in value.values()):
                out += ["", f"[{path}]"]  # a table of tables only needs no header of its own
            _render(value, (*key, name), path, sources, out)
        elif _is_table_array(value):
            for i, item in enumerate(value):
                out += ["", f"[[{path}]]"]
                _render(item, (*key, name, i), path, sources, out)


def cmd_config_show(args: argparse.Namespace) -> int:
    path = config_path(args.config).resolve()
    base = load_config(path)
    file_doc = tomllib.loads(path.read_text(encoding="utf-8"))  # load_config just parsed it
    store = OverlayStore.of(base)
    notes: list[str] = []
    try:
        revision, sections = store.load()
    except OverlayCorrupt as exc:
        revision, sections = 0, {}
        notes.append(f"{exc}; `run` sets it aside and runs on the file")
    config = base
    if sections:
        try:
            config = merge(base, sections)
        except ConfigError as exc:
            notes.append(
                f"office config revision {revision} does not fit ({str(exc).splitlines()[0]}); "
                "`run` sets it aside and runs on the file"
            )
            sections = {}
    sources = Sources(file_doc, sections, revision)
    doc = redacted(config.model_dump(mode="json"))
    in_force = f"office revision {revision}" if sections else "no office overlay"
    if args.json:
        values = {_dotted(k): {"value": v, "source": sources.of(k)} for k, v in _leaves(doc) if k}
        print(json.dumps({"file": str(path), "office_revision": revision if sections else None,
                          "notes": notes, "config": doc, "values": values}, indent=2))  # fmt: skip
        return 0
    out = [f"# {path} ({in_force}); each value's source after #", *(f"# {n}" for n in notes)]
    _render(doc, (), "", sources, out)
    print("\n".join(out))
    return 0
