"""Anonymisation, the one routine behind retention and erasure on request, and the
retention job's steps."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import delete, false, or_, select, text, update

from .. import pipeline
from ..extensions import db
from ..models import (
    REDACTED_SUBJECT,
    Application,
    AuditEvent,
    AuditRedaction,
    Candidate,
    CandidateContact,
    Decision,
    Document,
    Feedback,
    Interview,
    OutboxEmail,
    Reference,
    User,
    utcnow,
)
from ..pipeline import InvalidInput, Role
from ..queries import like_pattern
from ..services import withdraw
from ..services.core import Conflict, audit, transaction
from ..services.core import resolve_now as clock
from ..settings import get_policy
from .common import (
    AUDIT_KEEP,
    ORPHAN_UPLOAD_AGE,
    add_months,
    anonymous_email,
    candidate_application_ids,
    require_role,
)
from .consent import expire_consents


@contextmanager
def _redaction(now: datetime) -> Iterator[None]:
    """Open the audit log's one permitted change for the rest of this transaction."""
    guard = AuditRedaction(started_at=now)
    db.session.add(guard)
    db.session.flush()
    yield
    db.session.execute(delete(AuditRedaction).where(AuditRedaction.id == guard.id))


def _redact_audit(application_ids: list[int], now: datetime) -> int:
    """Strip every key outside AUDIT_KEEP from these applications' audit events."""
    if not application_ids:
        return 0
    rows = db.session.execute(
        select(AuditEvent.id, AuditEvent.data)
        .where(AuditEvent.application_id.in_(application_ids), AuditEvent.redacted_at.is_(None))
    ).all()
    table = AuditEvent.__table__
    count = 0
    for event_id, data in rows:
        kept = {k: v for k, v in (data or {}).items() if k in AUDIT_KEEP}
        db.session.execute(update(table).where(table.c.id == event_id).values(data=kept, redacted_at=now))
        count += 1
    return count


def _blank_email(email: OutboxEmail, candidate: Candidate, now: datetime) -> None:
    if email.to_candidate or email.recipient == candidate.email:
        email.recipient = anonymous_email(candidate.id)
    email.subject = REDACTED_SUBJECT
    email.body_text = ""
    email.body_html = ""
    email.attachments = []
    email.last_error = None
    if email.status == "queued":  # nothing left to send
        email.status = "failed"
        email.next_attempt_at = None
        email.last_error = "not sent: the candidate's data was removed (data protection)"


def _scrub_email(email: OutboxEmail, candidate: Candidate) -> None:
    """An email about many (the weekly digest): replace their name and address with their
    number, and keep the rest."""
    if email.recipient == candidate.email:
        _blank_email(email, candidate, utcnow())
        return
    needles = [n for n in {candidate.name.strip(), candidate.email} if len(n) >= 3]
    if not needles:
        return
    pattern = re.compile("|".join(re.escape(n) for n in sorted(needles, key=len, reverse=True)), re.IGNORECASE)
    replacement = f"Candidate #{candidate.id}"
    email.subject = pattern.sub(replacement, email.subject)
    email.body_text = pattern.sub(replacement, email.body_text)
    email.body_html = pattern.sub(replacement, email.body_html or "")
    if email.last_error:
        email.last_error = pattern.sub(replacement, email.last_error)
    email.attachments = [] if any(pattern.search(json.dumps(a)) for a in email.attachments or []) \
        else email.attachments


def _emails_about(candidate: Candidate, application_ids: list[int]) -> list[OutboxEmail]:
    """Their emails, the team's emails about their applications, and any other email (a
    digest) whose text names them."""
    conditions = [OutboxEmail.recipient == candidate.email]
    if application_ids:
        conditions.append(OutboxEmail.application_id.in_(application_ids))
    for needle in {candidate.name.strip(), candidate.email}:
        if len(needle) >= 3:
            pattern = like_pattern(needle)
            conditions += [OutboxEmail.subject.ilike(pattern, escape="\\"),
                           OutboxEmail.body_text.ilike(pattern, escape="\\"),
                           OutboxEmail.body_html.ilike(pattern, escape="\\")]
    return list(db.session.scalars(select(OutboxEmail).where(or_(*conditions))))


# --- anonymisation: the one routine behind retention and erasure ------------------------------


def _anonymise(candidate: Candidate, now: datetime) -> dict[str, Any]:
    """Blank everything that identifies ``candidate``, inside the caller's transaction.
    Returns the counts for the audit event and the storage keys of the files to delete
    after the commit."""
    application_ids = candidate_application_ids(candidate)
    in_apps = (lambda column: column.in_(application_ids)) if application_ids else (lambda column: false())
    interview_ids = list(db.session.scalars(select(Interview.id).where(in_apps(Interview.application_id))))
    counts: dict[str, Any] = {"applications": len(application_ids)}
    with _redaction(now):
        # Emails first, while the name and address are still there to look for.
        emails = _emails_about(candidate, application_ids)
        pending = 0
        for email in emails:
            if email.application_id is None:
                _scrub_email(email, candidate)  # a digest: keep it, without their name
            elif email.status == "queued":
                # The withdrawal confirmation, the panel's cancellation: sent first, then
                # blanked by redact_sent_emails (after the relay's next run).
                pending += 1
            else:
                _blank_email(email, candidate, now)
        counts["emails"], counts["emails_pending"] = len(emails) - pending, pending
        counts["audit_events"] = _redact_audit(application_ids, now)
        documents = list(db.session.scalars(select(Document).where(in_apps(Document.application_id))))
        files = [document.storage_key for document in documents]
        for document in documents:
            extension = document.filename.rsplit(".", 1)[-1] if "." in document.filename else "bin"
            document.filename = f"document-{document.id}.{extension}"
            document.sha256 = ""
            document.storage_key = f"removed-{document.id}"
        counts["documents"] = len(documents)
        db.session.execute(update(Application).where(in_apps(Application.id), Application.extension_reason.is_not(None))
                           .values(extension_reason=""), execution_options={"synchronize_session": False})
        db.session.execute(update(Interview).where(in_apps(Interview.application_id))
                           .values(location="", video_link=""), execution_options={"synchronize_session": False})
        if interview_ids:
            db.session.execute(update(Feedback).where(Feedback.interview_id.in_(interview_ids)).values(notes=""),
                               execution_options={"synchronize_session": False})
        db.session.execute(update(Decision).where(in_apps(Decision.application_id)).values(rationale=""),
                           execution_options={"synchronize_session": False})
        db.session.execute(update(CandidateContact).where(in_apps(CandidateContact.application_id))
                           .values(summary=""), execution_options={"synchronize_session": False})
        db.session.execute(update(Reference).where(in_apps(Reference.application_id))
                           .values(name="", contact="", notes=""), execution_options={"synchronize_session": False})
        candidate.name = f"Anonymised candidate #{candidate.id}"
        candidate.email = anonymous_email(candidate.id)
        candidate.phone = ""
        candidate.tags = []
        candidate.talent_pool_consent = False
        candidate.talent_pool_consent_at = None
        candidate.talent_pool_consent_source = ""
        candidate.talent_pool_expires_at = None
        candidate.talent_pool_renewal_sent_at = None
        candidate.anonymised_at = now
        db.session.flush()
    counts["files"] = files
    return counts


def _after_commit(files: list[str]) -> None:
    """Delete the files (after the commit: a rollback must not lose them) and leave no old
    copy of the text in SQLite's free pages, full-text index or write-ahead log."""
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    for key in files:
        (folder / key).unlink(missing_ok=True)
    db.session.expire_all()
    if db.engine.dialect.name == "sqlite":
        with db.engine.begin() as connection:
            # Both trigram indexes (the second keeps name order, migration c8e4a6f2b1d9): a
            # deleted entry's trigrams stay in the index's older segments until merged.
            for index in ("candidate_search", "candidate_search_by_name"):
                connection.execute(text(f"INSERT INTO {index}({index}) VALUES ('optimize')"))
        with db.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def remove_orphan_uploads(now: datetime) -> int:
    """Files in the upload folder no document row names (a crash between the commit and
    the deletion above), older than an hour (an upload in flight writes its file first)."""
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    if not folder.is_dir():
        return 0
    known = set(db.session.scalars(select(Document.storage_key)))
    cutoff = time.time() - ORPHAN_UPLOAD_AGE.total_seconds()
    removed = 0
    for path in folder.iterdir():
        if path.is_file() and path.name not in known and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


# --- retention ---------------------------------------------------------------------------------


def due_for_retention(now: datetime) -> list[int]:
    """Candidates not yet anonymised, with no open application, whose last application
    closed more than ``retention_months`` ago, and with no valid talent-pool consent."""
    policy = get_policy()
    cutoff = add_months(now, -policy.retention_months)
    open_ = select(Application.id).where(Application.candidate_id == Candidate.id,
                                         Application.stage.in_([s.value for s in pipeline.OPEN_STAGES]))
    recent = select(Application.id).where(Application.candidate_id == Candidate.id,
                                          or_(Application.closed_at.is_(None), Application.closed_at > cutoff))
    consented = Candidate.talent_pool_consent.is_(True) & or_(Candidate.talent_pool_expires_at.is_(None),
                                                              Candidate.talent_pool_expires_at > now)
    return list(db.session.scalars(
        select(Candidate.id).where(Candidate.anonymised_at.is_(None), Candidate.created_at <= cutoff,
                                   ~open_.exists(), ~recent.exists(), ~consented)
        .order_by(Candidate.id)))


def run_retention(now: datetime) -> dict[str, int]:
    """The daily `retention` job. Idempotent: an anonymised candidate is never chosen again."""
    expired = expire_consents(now)
    anonymised = 0
    files: list[str] = []
    for candidate_id in due_for_retention(now):
        candidate = db.session.get(Candidate, candidate_id)
        with transaction():
            counts = _anonymise(candidate, now)
            files += counts.pop("files")
            audit("candidate_anonymised", now, None, candidate_id=candidate_id, reason="retention",
                  retention_months=get_policy().retention_months, **counts)
        anonymised += 1
    if anonymised:
        _after_commit(files)
    redacted = redact_sent_emails(now)
    orphans = remove_orphan_uploads(now)
    return {"anonymised": anonymised, "emails_redacted": redacted, "consents_expired": expired,
            "orphan_files_removed": orphans}


def redact_sent_emails(now: datetime) -> int:
    """Blank the emails an anonymised candidate was sent after their data went (the ones
    still queued then). Run after every outbox relay run and by the retention job."""
    rows = db.session.execute(
        select(OutboxEmail, Candidate)
        .join(Application, Application.id == OutboxEmail.application_id)
        .join(Candidate, Candidate.id == Application.candidate_id)
        .where(Candidate.anonymised_at.is_not(None), OutboxEmail.status != "queued",
               OutboxEmail.subject != REDACTED_SUBJECT)
    ).all()
    if not rows:
        return 0
    with transaction():
        for email, candidate in rows:  # sent or failed: _blank_email's queued branch never applies
            _blank_email(email, candidate, now)
    if db.engine.dialect.name == "sqlite":
        with db.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return len(rows)


# --- erasure on request ----------------------------------------------------------------------


def erase_candidate(candidate: Candidate, *, reason: str, actor: User | None,
                    now: datetime | None = None) -> dict[str, Any]:
    """Erase on the candidate's request (admins). An open application is withdrawn first,
    with the usual confirmation to the candidate (sent before its text is blanked)."""
    require_role(actor, Role.ADMIN)
    now = clock(now)
    if candidate.anonymised_at is not None:
        raise Conflict(f"Candidate #{candidate.id} has already been erased.")
    reason = (reason or "").strip()
    errors: dict[str, str] = {}
    if not reason:
        errors["reason"] = "Give the reason (e.g. “request by email of 1 December”)."
    elif len(reason) > 500:
        errors["reason"] = "At most 500 characters."
    elif any(needle and needle.lower() in reason.lower()
             for needle in (candidate.email, candidate.name.strip() if len(candidate.name.strip()) >= 3 else "")):
        errors["reason"] = "The reason stays in the audit log: leave the candidate's name and email out of it."
    if errors:
        raise InvalidInput("The candidate could not be erased.", errors)
    for application in list(candidate.applications):
        if application.is_open:
            withdraw(application, reason="", actor=actor, now=now)
    with transaction():
        counts = _anonymise(candidate, now)
        files = counts.pop("files")
        audit("candidate_erased", now, actor, candidate_id=candidate.id, reason=reason, **counts)
    _after_commit(files)
    return counts
