"""``gate-office allowlist push`` and ``revoke``: a whole list to a gate, or one holder
off every gate named, each gate answering for itself."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from agent.models.wire import AllowListEntry
from agent.office import group, options
from agent.office.allowlist_push import push_list
from agent.office.answers import OK, Refused, show


def _read_entries(path: Path, site_key: str | None) -> list[AllowListEntry]:
    from agent.store.credentials import CredentialHasher, read_key_file
    from agent.store.importer import BLANK_IS_DEFAULT, build_entries, read_rows

    hasher = CredentialHasher(read_key_file(Path(site_key))) if site_key else None
    return build_entries(
        read_rows(path, blank_is_default=BLANK_IS_DEFAULT), None, hasher, str(path)
    )


def cmd_allowlist_push(args: argparse.Namespace) -> int:
    entries = _read_entries(Path(args.file), args.site_key)
    if args.to:
        return group.each_gate(args, lambda one: push_list(one, entries), "allow-list")
    held = push_list(args, entries)
    text = (
        f"gate {args.site}/{args.gate} holds allow-list version {held['version']} "
        f"({held['kind']}, {len(entries)} entries)"
    )
    show({**held, "site": args.site, "gate": args.gate}, args.json, text)
    return OK


def cmd_revoke(args: argparse.Namespace) -> int:
    """Every card of one holder off every gate named, each by one patch."""

    def one(gate_args: argparse.Namespace) -> dict[str, Any]:
        store = options.store(gate_args)
        try:
            version, sent = store.pushed(gate_args.site, gate_args.gate)
        finally:
            store.close()
        if version is None:
            raise Refused("the office has no record of this gate's list: push it first")
        kept, removed = group.without_holder(sent, args.holder)
        if not removed:
            return {"ok": True, "version": version, "removed": 0}
        return {**push_list(gate_args, kept), "removed": removed}

    if not args.to:
        args.to = f"{options.topics(args).site}/{args.gate}"
    if not args.allow_missing:
        _holder_known(args)
    return group.each_gate(args, one, f"revoke holder {args.holder}")


def _holder_known(args: argparse.Namespace) -> None:
    """Refuse (before anything is sent) a holder on none of the lists pushed to the gates
    named: a typo must not read as a revocation done."""
    gates = group.targets(args)
    store = options.store(args)
    try:
        lists = [store.pushed(site, gate) for site, gate in gates]
    finally:
        store.close()
    recorded = [sent for version, sent in lists if version is not None]
    if recorded and not any(group.without_holder(sent, args.holder)[1] for sent in recorded):
        where = ", ".join(f"{site}/{gate}" for site, gate in gates)
        raise Refused(
            f"holder {args.holder!r} has no card on the list the office pushed to {where}: "
            "nothing revoked (check the id; --allow-missing accepts it)"
        )
