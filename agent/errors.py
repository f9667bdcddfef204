"""One exception hierarchy: everything the project raises on purpose is a ``GateError``."""

from __future__ import annotations


class GateError(Exception):
    """Base of every error the agent, its drivers and the office tools raise on purpose."""


class RetryableError(GateError):
    """A transient fault (broker away, device busy): try again later."""


class FatalError(GateError):
    """A fault that retrying will not fix (bad config, missing key file)."""


class ConfigError(FatalError):
    """The configuration is invalid; ``errors`` lists (key path, message) pairs."""

    def __init__(self, message: str, errors: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []

    def __str__(self) -> str:
        if not self.errors:
            return super().__str__()
        lines = [super().__str__()]
        lines += [f"  {path}: {msg}" for path, msg in self.errors]
        return "\n".join(lines)


class ImportRejected(GateError):
    """An allow-list file or message was refused; nothing was changed."""


class Rejected(GateError):
    """An office message refused with a reason and optional (path, message) field errors."""

    def __init__(self, error: str, errors: list[tuple[str, str]] | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.errors = errors or []


class StorageError(FatalError):
    """The state folder or a database in it cannot be used (read-only, full, not a folder)."""


class StorageFault(GateError):
    """A write to the event log failed at run time (disk full, I/O error); nothing was done."""


class DriverError(FatalError):
    """A device cannot be opened (no GPIO on this machine, a pin taken, a port missing)."""


class CardFormatError(GateError, ValueError):
    """A card number in a notation the agent does not understand."""


class MqttError(RetryableError):
    """The MQTT client refused an operation; ``rc`` is its error code (0 when unknown)."""

    def __init__(self, message: str, rc: int = 0) -> None:
        super().__init__(message)
        self.rc = rc


class MqttOffline(MqttError):
    """Nothing was sent: the connection to the broker is down."""
