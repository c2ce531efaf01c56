"""What the process rules refuse, and the one guard every rule with a clock shares."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime


class DomainError(Exception):
    """A request the process rules refuse; the message is shown to the user.

    ``http_status`` is its meaning over HTTP, read by the API, the pages and the global
    error handler alike (the default: the request clashes with the current state)."""

    code = "domain_error"
    http_status = 409


class IllegalTransition(DomainError):
    code = "illegal_transition"


class NotAllowed(DomainError):
    code = "forbidden"
    http_status = 403


class StaleVersion(DomainError):
    code = "stale_version"

    def __init__(self, message: str = "Someone else changed this application in the meantime. "
                 "Reload it to see their change, then try again."):
        super().__init__(message)


class InvalidInput(DomainError):
    """Bad input for one or more fields; ``fields`` maps field name to message."""

    code = "validation_error"
    http_status = 422

    def __init__(self, message: str, fields: Mapping[str, str] | None = None):
        super().__init__(message)
        self.fields = dict(fields or {})


def require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: pass an aware datetime (UTC) to the process rules")
