"""Verbs on the outbox itself (the relay in hiring.mailer sends; these change rows people see)."""

from __future__ import annotations

from datetime import datetime

from .. import pipeline
from ..extensions import db
from ..models import REDACTED_SUBJECT, Application, OutboxEmail, User
from ..pipeline import Action
from .core import Conflict, audit, resolve_now, transaction

RETRYABLE_STATUSES = ("failed", "not_delivered")


def retry_email(email: OutboxEmail, *, actor: User | None, now: datetime | None = None) -> OutboxEmail:
    """Queue a failed or undelivered email again (the Emails page's retry button)."""
    if actor is not None:
        pipeline.require(actor.role, Action.VIEW_EMAILS)
    now = resolve_now(now)
    if email.status not in RETRYABLE_STATUSES:
        raise Conflict("Only a failed or undelivered email can be sent again.")
    if email.subject == REDACTED_SUBJECT:
        raise Conflict("This email's content was removed for data protection: it cannot be sent again.")
    with transaction():
        before = email.status
        email.status = "queued"
        email.attempts = 0
        email.next_attempt_at = now
        application = db.session.get(Application, email.application_id) if email.application_id else None
        audit("email_retried", now, actor, application, email_id=email.id, status_before=before,
              last_error=email.last_error)
        email.last_error = None
    return email
