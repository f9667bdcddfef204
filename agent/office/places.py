"""Where ``gate-office`` keeps things: the office database, and ``events tail``'s session.

The database: ``--db`` or ``$GATE_OFFICE_DB``; else, for the service, its state folder
(``$STATE_DIRECTORY`` from systemd's ``StateDirectory=``, or ``/var/lib/gate-office``
when run as the ``gate-office`` user); else the person's data folder
(``$XDG_DATA_HOME/gate-office``, else ``~/.local/share/gate-office``), never the folder
the command happens to be run from.

``events tail`` keeps one persistent session per computer, user, database and topic
filter: run it again and the broker hands over what it kept meanwhile. A second tail
on the same database at the same time gets a live-only session of its own instead of
knocking the first off the broker (the broker allows one connection per client id).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import pwd
import re
import socket
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

SERVICE_USER = "gate-office"
SERVICE_DB = Path("/var/lib/gate-office/office.db")
DB_NAME = "office.db"


def current_user() -> str:
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:  # a uid without a passwd entry (some containers)
        return str(os.geteuid())


def default_db(env: Mapping[str, str], user: str) -> Path:
    """The office database when neither ``--db`` nor ``$GATE_OFFICE_DB`` names one."""
    if env.get("STATE_DIRECTORY"):  # systemd: StateDirectory=gate-office
        return Path(env["STATE_DIRECTORY"].split(":")[0]) / DB_NAME
    if user == SERVICE_USER:
        return SERVICE_DB
    data = env.get("XDG_DATA_HOME", "")
    if not os.path.isabs(data):  # the XDG spec: a relative value is ignored
        data = str(Path(env.get("HOME") or Path.home()) / ".local" / "share")
    return Path(data) / "gate-office" / DB_NAME


def tail_client_id(pattern: str, database: str) -> str:
    """Stable for one computer, user, database and filter; distinct between them.
    23 characters: what every MQTT 3.1.1 broker must accept."""
    seed = "\n".join([socket.gethostname(), current_user(), database, pattern])
    return "gate-office-" + hashlib.sha256(seed.encode()).hexdigest()[:11]


@contextmanager
def session_lock(client_id: str) -> Iterator[bool]:
    """True while no other process on this computer holds ``client_id``'s session."""
    folder = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir())
    path = folder / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', client_id)}.lock"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:  # no place for a lock: go on as before, one session per client id
        yield True
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
        else:
            yield True
    finally:
        os.close(fd)
