"""Guard accounts on disk: the office's list (swapped whole, atomically) and the break-glass one.

Both are small JSON files in the state folder, written to a temporary file, fsynced and
renamed over the old one, so a reader sees the old list or the new one, never a mix,
even across a power cut. Readers re-read a file only when its modification changed.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from agent.errors import GateError, Rejected
from agent.models.guards import GuardEntry, GuardList
from agent.store.passwords import hash_password
from agent.store.paths import StatePaths

BREAKGLASS_ID = "breakglass"


@dataclass(frozen=True)
class Account:
    """An account a guard may sign in with."""

    guard_id: str
    password_hash: str
    disabled: bool = False
    breakglass: bool = False


def write_atomically(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data``: the old file or the new one survives a crash."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class GuardStore:
    """The office's guard list plus the local break-glass account; safe from any thread."""

    def __init__(self, paths: StatePaths) -> None:
        self._list_path = paths.guards
        self._breakglass_path = paths.guard_breakglass
        self._lock = threading.Lock()
        self._seen: tuple[object, object] | None = None
        self._list = GuardList(version=1, guards=[])
        self._version: int | None = None
        self._breakglass: Account | None = None

    def _refresh(self) -> None:
        stamp = (_stamp(self._list_path), _stamp(self._breakglass_path))
        if stamp == self._seen:
            return
        self._seen = stamp
        try:
            self._list = GuardList.model_validate_json(self._list_path.read_bytes())
            self._version = self._list.version
        except (OSError, ValidationError):
            self._list, self._version = GuardList(version=1, guards=[]), None
        self._breakglass = _read_breakglass(self._breakglass_path)

    def version(self) -> int | None:
        with self._lock:
            self._refresh()
            return self._version

    def count(self) -> int:
        with self._lock:
            self._refresh()
            return len(self._list.guards)

    def account(self, guard_id: str) -> Account | None:
        """The office's account of that id, else the break-glass one, else None."""
        with self._lock:
            self._refresh()
            for g in self._list.guards:
                if g.guard_id == guard_id:
                    return Account(g.guard_id, g.password_hash, g.disabled)
            glass = self._breakglass
            return glass if glass is not None and glass.guard_id == guard_id else None

    def replace(self, new: GuardList) -> int:
        """Swap in the office's list if it is newer than the one held; how many accounts."""
        with self._lock:
            self._refresh()
            if self._version is not None and new.version <= self._version:
                raise Rejected(f"version {new.version} is not newer than {self._version}")
            try:
                write_atomically(self._list_path, new.model_dump_json().encode())
            except OSError as exc:
                raise Rejected(f"cannot store the guard list: {exc.strerror or exc}") from None
            self._seen = None
            return len(new.guards)


def _stamp(path: Path) -> object:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _read_breakglass(path: Path) -> Account | None:
    try:
        data = json.loads(path.read_bytes())
        entry = GuardEntry.model_validate(data)
    except (OSError, ValueError):
        return None
    return Account(entry.guard_id, entry.password_hash, entry.disabled, breakglass=True)


def set_breakglass(paths: StatePaths, password: str, guard_id: str = BREAKGLASS_ID) -> Path:
    """Write the local account (mode 0600, owned like the state folder)."""
    if len(password) < 10:
        raise GateError("the break-glass password needs at least 10 characters")
    try:
        entry = GuardEntry(guard_id=guard_id, password_hash=hash_password(password))
    except ValidationError:
        raise GateError(f"{guard_id!r} is not a guard id (a-z, 0-9, . _ -; 32 at most)") from None
    paths.dir.mkdir(parents=True, exist_ok=True)
    path = paths.guard_breakglass
    write_atomically(path, entry.model_dump_json().encode())
    folder = paths.dir.stat()
    if os.geteuid() == 0 and (folder.st_uid, folder.st_gid) != (0, 0):
        os.chown(path, folder.st_uid, folder.st_gid)  # the agent's user must read it
    return path
