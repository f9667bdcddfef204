"""One exception hierarchy for the agent: retryable faults versus fatal ones."""

from __future__ import annotations


class GateError(Exception):
    """Base of every error the agent raises on purpose."""

    retryable = False


class RetryableError(GateError):
    """A transient fault (broker away, device busy): try again later."""

    retryable = True


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


class DriverError(RetryableError):
    """A device driver failed; the device may come back."""
