"""Errors of the audit log."""

from __future__ import annotations


class AuditError(Exception):
    """Base of the audit package's errors."""


class AuditUnavailable(AuditError):
    """The entry could not be written (database unreachable, log closed); the action must not proceed."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"audit log unavailable: {reason}")
        self.reason = reason


class InvalidAuditEvent(AuditError, ValueError):
    """The event cannot be recorded as given (details not JSON, too large)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid audit event: {reason}")
        self.reason = reason
