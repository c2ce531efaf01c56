"""What every verb shares: the transaction, the audit log, the version check, the
clock, and the checks on free text. Public names only: the domain modules import these."""

from __future__ import annotations

import enum
from collections.abc import Callable
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from .. import notifications as notify
from .. import pipeline, validation
from ..extensions import db
from ..models import (
    Application,
    AuditEvent,
    User,
    utcnow,
)
from ..pipeline import (
    Action,
    DomainError,
    Event,
    InvalidInput,
    Stage,
    StaleVersion,
)


class Conflict(DomainError):
    """The request clashes with existing data (a duplicate, for instance)."""

    code = "conflict"


class NotFound(DomainError):
    code = "not_found"
    http_status = 404



def resolve_now(now: datetime | None) -> datetime:
    if now is None:
        return utcnow()
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now


@contextmanager
def transaction(duplicate: Callable[[], DomainError | None] | None = None):
    """Commit on success; roll back and translate concurrency errors on failure.

    A service checks for duplicates before writing, but two requests can pass that check
    at the same time; the database's unique constraint then refuses the second. After
    the rollback ``duplicate()`` looks again and returns the domain error to raise
    instead (None: not a duplicate after all, so the IntegrityError is a bug and stays).
    """
    try:
        yield
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise StaleVersion() from None
    except IntegrityError:
        db.session.rollback()
        error = duplicate() if duplicate is not None else None
        if error is None:
            raise
        raise error from None
    except BaseException:
        db.session.rollback()
        raise
    finally:
        db.session.info.pop("hiring_version_bumped", None)


def audit(kind: str, now: datetime, actor: User | None, application: Application | None = None,
          **data: Any) -> AuditEvent:
    event = AuditEvent(**audit_row(kind, now, actor, application, **data))
    db.session.add(event)
    db.session.flush()  # the id keys the emails this event causes
    return event


def audit_row(kind: str, now: datetime, actor: User | None, application: Application | None = None,
              **data: Any) -> dict[str, Any]:
    """An audit event's column values, for jobs that insert many in one statement."""
    return {
        "application_id": application.id if application is not None else None,
        "actor_id": actor.id if actor is not None else None,
        "kind": kind,
        "data": _jsonable(data),
        "occurred_at": now,
    }


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, datetime | date):
            out[key] = value.isoformat()
        elif isinstance(value, enum.Enum):
            out[key] = value.value
        else:
            out[key] = value
    return out


def check_version(application: Application, expected_version: int | str | None) -> None:
    if expected_version is None:
        return
    try:
        expected = int(expected_version)
    except (TypeError, ValueError):
        raise InvalidInput("The form is damaged; reload the page.",
                           {"expected_version": "Not a version number."}) from None
    if expected != application.version:
        raise StaleVersion()


def touch(application: Application, now: datetime) -> None:
    """Every change to an application bumps its version (optimistic locking), by one."""
    application.updated_at = now
    flag_modified(application, "updated_at")  # an UPDATE even when `now` did not change
    bumped = db.session.info.setdefault("hiring_version_bumped", set())
    if id(application) not in bumped:
        bumped.add(id(application))
        application.version = (application.version or 0) + 1
    db.session.add(application)


def require(actor: User | None, action: Action) -> None:
    if actor is None:
        return  # the system itself (scheduled jobs, CLI demo) acts without a role check
    pipeline.require(actor.role, action)


def enter_stage(application: Application, stage: Stage, entered_at: datetime, now: datetime) -> None:
    application.stage = stage.value
    application.stage_entered_at = entered_at
    application.extended_until = None
    application.extension_reason = None
    if not stage.is_open:
        application.closed_at = now
        application.awaiting_feedback = False


def transition(application: Application, event: Event) -> Stage:
    return pipeline.next_stage(application.stage, event)


def clean(value: str | None) -> str:
    return (value or "").strip()


def normalise_email(value: str | None, field: str = "email") -> str:
    """An address as stored, refused (InvalidInput) when the relay could not send to it."""
    try:
        return validation.normalise_email(value)
    except validation.BadAddress as exc:
        raise InvalidInput("That email address is not valid.", {field: str(exc)}) from None


def check_text(errors: dict[str, str], *, lines: dict[str, str | None] | None = None,
               texts: dict[str, str | None] | None = None) -> dict[str, str]:
    """Control characters (hiring.validation): none in the single-line ``lines`` (names,
    titles: they reach email headers), only line breaks and tabs in the multi-line ``texts``.
    The forms and the API's schemas check the same; the CLI and jobs reach here directly."""
    for field, value in (lines or {}).items():
        if field not in errors and (message := validation.single_line_error(value)):
            errors[field] = message
    for field, value in (texts or {}).items():
        if field not in errors and (message := validation.multi_line_error(value)):
            errors[field] = message
    return errors


def refuse_control_characters(what: str, **kwargs) -> None:
    if errors := check_text({}, **kwargs):
        raise InvalidInput(what, errors)


def check_lengths(errors: dict[str, str], **fields: tuple[str | None, int]) -> dict[str, str]:
    """Each ``field=(value, limit)`` longer than its column is an error next to the field
    (PostgreSQL would refuse the row, a 500; SQLite would keep it, unlike PostgreSQL).
    The forms and the API's schemas bound them too; the CLI and jobs reach here directly."""
    for field, (value, limit) in fields.items():
        if value is not None and len(clean(value)) > limit and field not in errors:
            errors[field] = f"At most {limit:,} characters."
    return errors


def require_aware(value: datetime | None, field: str) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise InvalidInput("Give the time with its time zone.", {field: "Include a time zone offset."})


def email_candidate(application: Application, template: str, event_id: int, now: datetime, **kwargs: Any) -> None:
    """Queue a candidate email (hiring.notifications renders it) for the audit event
    ``event_id`` and record that the candidate heard from us; an email queued before for the
    same event sends nothing and records nothing (its key: ``notifications.event_key``)."""
    if notify.to_candidate(application, template, notify.event_key(template, event_id), now, **kwargs) is not None:
        application.last_candidate_email_at = now
