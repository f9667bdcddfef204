"""Where a gate keeps its state: every file name in the state folder, spelled once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StatePaths:
    """The files of one gate's state folder (``storage.dir``)."""

    dir: Path

    @property
    def events_db(self) -> Path:
        """Event log and outbox, gate state (modes) and the replay guard's nonces."""
        return self.dir / "events.db"

    @property
    def events_seq(self) -> Path:
        """The highest seq the event log may have issued (survives a lost events.db)."""
        return self.events_db.with_suffix(".seq")

    @property
    def allowlist_db(self) -> Path:
        return self.dir / "allowlist.db"

    @property
    def passes_db(self) -> Path:
        """Visitor passes: uses counted, revocations, passes delivered ahead."""
        return self.dir / "passes.db"

    @property
    def control_socket(self) -> Path:
        return self.dir / "control.sock"

    @property
    def instance_lock(self) -> Path:
        return self.dir / "agent.lock"

    @property
    def guards(self) -> Path:
        """Guard accounts pushed by the office (scrypt hashes), for the console."""
        return self.dir / "guards.json"

    @property
    def guard_breakglass(self) -> Path:
        """The installer's local console account (mode 0600): works with no office."""
        return self.dir / "guard-breakglass.json"

    @property
    def remote_config(self) -> Path:
        """The office's configuration overlay."""
        return self.dir / "config.remote.json"

    @property
    def remote_config_good(self) -> Path:
        """The last office overlay a gate started on (what a failed one falls back to)."""
        return self.dir / "config.remote.good.json"
