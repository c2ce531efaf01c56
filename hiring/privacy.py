"""Data protection (GDPR): retention, erasure on request, access export, talent-pool consent.

The verbs here follow the services' pattern (load, check, change, audit, commit). What
"anonymised" means, in one place (``_anonymise``): the candidate row keeps its id, dates
and language but loses name, email, phone, tags and consent; every free text about them
(applications' extension reasons, interviews' locations and links, feedback notes,
decision rationales, contact summaries, references, document names) is blanked; document
files are deleted from disk; their emails lose recipient, subject, body and attachments;
their audit events keep only the keys in ``AUDIT_KEEP`` (stages, outcomes, dates, ids)
and get ``redacted_at``. Rows, counts and dates stay, so reports keep counting them.

The audit log is append-only by database trigger. The one change it allows is the
redaction above, and only while an ``AuditRedaction`` row exists — which ``_redaction``
inserts at the start of this module's transaction and deletes before its commit.

Emails still queued for the candidate when they are erased (the withdrawal confirmation
an erasure sends for an open application) are sent first: they keep their content until
the outbox relay has handled them, and ``redact_sent_emails`` — run by the outbox job
right after each relay run, and by the retention job — blanks them then.
"""

from __future__ import annotations

import calendar
import io
import json
import logging
import re
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import (
    String,
    cast,
    delete,
    event,
    false,
    func,
    inspect,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from . import pipeline
from .extensions import db
from .models import (
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
    Position,
    Reference,
    User,
    utcnow,
)
from .pipeline import InvalidInput, NotAllowed, Role, Source
from .services import document_path, submit_application, withdraw
from .services.core import Conflict, NotFound, audit, normalise_email, transaction
from .services.core import resolve_now as clock
from .settings import get_policy

log = logging.getLogger(__name__)

REDACTED_SUBJECT = "(removed: data protection)"
# Audit data that never identifies a candidate: stages, outcomes, dates, ids, counts, and
# the team's own addresses. Everything else (reasons, rationales, notes, file names, SMTP
# errors that quote an address) goes when the candidate is anonymised.
AUDIT_KEEP = frozenset({
    "stage", "outcome", "to_stage", "round", "due_at", "promised_at", "scheduled_at", "held_at", "before",
    "deadline", "automatic", "automatic_delays", "escalated", "recommendation", "accepted", "status",
    "status_before", "interview_id", "document_id", "reference_id", "contact_id", "contact_kind", "channel",
    "position_id", "candidate_id", "email_id", "reminder", "competing_offer_deadline", "panel", "interviewer",
    "recipient_user_id", "user_id",
})
CONSENT_SOURCES = {
    "application_form": "Ticked on the application form",
    "email": "Asked for it by email",
    "phone": "Said so on the phone",
    "in_person": "Said so in person",
    "renewal": "Renewed from the renewal email",
    "other": "Other (see the audit log)",
}
RENEWAL_DAYS = 30
ORPHAN_UPLOAD_AGE = timedelta(hours=1)
WITHDRAWAL_SALT = "talent-pool-withdrawal"
MAX_TAGS = 20
MAX_TAG_LENGTH = 40


# --- small helpers -------------------------------------------------------------------------


def add_months(moment: datetime, months: int) -> datetime:
    """The same day ``months`` later (the month's last day when it has fewer days)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def anonymous_email(candidate_id: int) -> str:
    return f"anonymised-{candidate_id}@anonymised.invalid"


def consent_valid(candidate: Candidate, now: datetime) -> bool:
    return bool(candidate.talent_pool_consent) and (
        candidate.talent_pool_expires_at is None or candidate.talent_pool_expires_at > now)


def _require(actor: User | None, *roles: Role) -> None:
    if actor is not None and actor.role not in {r.value for r in roles}:
        raise NotAllowed("Only " + " and ".join(r.value + "s" for r in roles) + " may do this.")


def find_candidate(email: str) -> Candidate:
    candidate = db.session.scalar(select(Candidate).where(Candidate.email == normalise_email(email)))
    if candidate is None or candidate.anonymised_at is not None:
        raise NotFound(f"No candidate with the email {email.strip()}.")
    return candidate


def _application_ids(candidate: Candidate) -> list[int]:
    return list(db.session.scalars(select(Application.id).where(Application.candidate_id == candidate.id)))


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


def _like(value: str) -> str:
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _emails_about(candidate: Candidate, application_ids: list[int]) -> list[OutboxEmail]:
    """Their emails, the team's emails about their applications, and any other email (a
    digest) whose text names them."""
    conditions = [OutboxEmail.recipient == candidate.email]
    if application_ids:
        conditions.append(OutboxEmail.application_id.in_(application_ids))
    for needle in {candidate.name.strip(), candidate.email}:
        if len(needle) >= 3:
            pattern = _like(needle)
            conditions += [OutboxEmail.subject.ilike(pattern, escape="\\"),
                           OutboxEmail.body_text.ilike(pattern, escape="\\"),
                           OutboxEmail.body_html.ilike(pattern, escape="\\")]
    return list(db.session.scalars(select(OutboxEmail).where(or_(*conditions))))


# --- anonymisation: the one routine behind retention and erasure ------------------------------


def _anonymise(candidate: Candidate, now: datetime) -> dict[str, Any]:
    """Blank everything that identifies ``candidate``, inside the caller's transaction.
    Returns the counts for the audit event and the storage keys of the files to delete
    after the commit."""
    application_ids = _application_ids(candidate)
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
            connection.execute(text("INSERT INTO candidate_search(candidate_search) VALUES ('optimize')"))
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
        for email, candidate in rows:
            email.recipient = anonymous_email(candidate.id) if email.to_candidate else email.recipient
            email.subject = REDACTED_SUBJECT
            email.body_text = ""
            email.body_html = ""
            email.attachments = []
            email.last_error = None
    if db.engine.dialect.name == "sqlite":
        with db.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return len(rows)


# --- erasure on request ----------------------------------------------------------------------


def erase_candidate(candidate: Candidate, *, reason: str, actor: User | None,
                    now: datetime | None = None) -> dict[str, Any]:
    """Erase on the candidate's request (admins). An open application is withdrawn first,
    with the usual confirmation to the candidate (sent before its text is blanked)."""
    _require(actor, Role.ADMIN)
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


# --- access export ---------------------------------------------------------------------------

SUMMARY = {
    "en": {
        "title": "What {company} holds about you",
        "intro": "This archive contains every piece of personal data we hold about you, as of {date}.",
        "applications": "Applications",
        "line": "- {position}: applied on {applied}, now “{stage}”",
        "files": "Files: data.json (everything, machine-readable) and documents/ (the files you sent us).",
        "not_included": "Not included: our interviewers' internal notes and the internal reasons of our decisions "
                        "(these are the team's assessments; their outcome is included), and what referees told us "
                        "(their own data).",
        "consent": "Talent pool: you agreed on {since} ({how}); it holds until {until}.",
        "no_consent": "Talent pool: you are not in our talent pool.",
        "retention": "We keep this data for {months} months after your last application closed, unless you are in "
                     "our talent pool; then it is anonymised.",
    },
    "de": {
        "title": "Welche Daten {company} über Sie speichert",
        "intro": "Dieses Archiv enthält alle personenbezogenen Daten, die wir über Sie speichern (Stand {date}).",
        "applications": "Bewerbungen",
        "line": "- {position}: beworben am {applied}, Stand „{stage}“",
        "files": "Dateien: data.json (alles, maschinenlesbar) und documents/ (die Unterlagen, die Sie uns "
                 "geschickt haben).",
        "not_included": "Nicht enthalten: die internen Notizen unserer Interviewer:innen und die internen Begründungen "
                        "unserer Entscheidungen (Einschätzungen des Teams; das Ergebnis ist enthalten) sowie "
                        "Auskünfte von Referenzgeber:innen (deren eigene Daten).",
        "consent": "Talentpool: Sie haben am {since} zugestimmt ({how}); die Zustimmung gilt bis {until}.",
        "no_consent": "Talentpool: Sie sind nicht in unserem Talentpool.",
        "retention": "Wir bewahren diese Daten {months} Monate nach Abschluss Ihrer letzten Bewerbung "
                     "auf, es sei denn, Sie sind in unserem Talentpool; danach werden sie anonymisiert.",
    },
}


# The summary's stage words in German (the English ones are pipeline.Stage's labels).
STAGE_DE = {
    "applied": "Bewerbung eingegangen", "first_interview": "Erstes Gespräch", "first_decision": "Entscheidung nach "
    "dem ersten Gespräch", "second_interview": "Zweites Gespräch", "final_decision": "Entscheidung über ein Angebot",
    "offer": "Angebot", "hired": "Eingestellt", "rejected": "Abgesagt", "declined": "Angebot abgelehnt",
    "withdrawn": "Zurückgezogen",
}


def _iso(value: Any) -> Any:
    return value.isoformat() if value is not None and hasattr(value, "isoformat") else value


def export_data(candidate: Candidate) -> dict[str, Any]:
    """Everything about the candidate they are entitled to see (README: data protection).
    Left out: interviewers' internal notes and names, decisions' internal rationale, and
    referees' statements — the team's and third parties' data (Art. 15(4) GDPR)."""
    applications = []
    for application in sorted(candidate.applications, key=lambda a: a.id):
        interviews = [{
            "round": i.round, "scheduled_at": _iso(i.scheduled_at), "duration_minutes": i.duration_minutes,
            "location": i.location, "video_link": i.video_link, "held_at": _iso(i.held_at),
            "cancelled_at": _iso(i.cancelled_at),
            "recommendations": sorted(f.recommendation for f in i.feedback),
        } for i in application.interviews]
        emails = db.session.scalars(
            select(OutboxEmail).where(OutboxEmail.application_id == application.id, OutboxEmail.to_candidate)
            .order_by(OutboxEmail.created_at, OutboxEmail.id)).all()
        contacts = db.session.scalars(select(CandidateContact).where(CandidateContact.application_id == application.id)
                                      .order_by(CandidateContact.occurred_at)).all()
        references = db.session.scalars(select(Reference).where(Reference.application_id == application.id)
                                        .order_by(Reference.id)).all()
        documents = db.session.scalars(select(Document).where(Document.application_id == application.id)
                                       .order_by(Document.id)).all()
        applications.append({
            "id": application.id,
            "position": application.position.title,
            "stage": pipeline.Stage(application.stage).label,
            "applied_at": _iso(application.applied_at),
            "stage_entered_at": _iso(application.stage_entered_at),
            "closed_at": _iso(application.closed_at),
            "promised_answer_by": _iso(application.promised_at),
            "competing_offer_deadline": _iso(application.competing_offer_deadline),
            "extension_reason": application.extension_reason or "",
            "interviews": interviews,
            "decisions": [{"stage": d.stage, "outcome": d.outcome, "decided_at": _iso(d.decided_at)}
                          for d in application.decisions],
            "emails": [{"sent_at": _iso(e.sent_at), "queued_at": _iso(e.created_at), "to": e.recipient,
                        "subject": e.subject, "body": e.body_text, "status": e.status} for e in emails],
            "contacts": [{"kind": c.kind, "channel": c.channel, "occurred_at": _iso(c.occurred_at),
                          "summary": c.summary} for c in contacts],
            "references": [{"name": r.name, "contact": r.contact, "status": r.status} for r in references],
            "documents": [{"file": f"documents/{d.id}-{d.filename}", "filename": d.filename,
                           "content_type": d.content_type, "size_bytes": d.size_bytes,
                           "uploaded_at": _iso(d.uploaded_at)} for d in documents],
        })
    return {
        "candidate": {
            "id": candidate.id, "name": candidate.name, "email": candidate.email, "phone": candidate.phone,
            "language": candidate.language, "created_at": _iso(candidate.created_at), "tags": candidate.tags or [],
            "talent_pool": {
                "consent": bool(candidate.talent_pool_consent),
                "given_at": _iso(candidate.talent_pool_consent_at),
                "how": candidate.talent_pool_consent_source,
                "expires_at": _iso(candidate.talent_pool_expires_at),
            },
        },
        "applications": applications,
    }


def _summary(candidate: Candidate, data: dict[str, Any], now: datetime) -> str:
    from . import timefmt

    policy = get_policy()
    lang = candidate.language if candidate.language in SUMMARY else "en"
    words = SUMMARY[lang]

    def day(value: datetime | None) -> str:
        return timefmt.long_date(value, policy, lang) if value is not None else "—"

    company = current_app.config.get("COMPANY_NAME") or "we"
    lines = [words["title"].format(company=company), "", words["intro"].format(date=day(now)), "",
             words["applications"] + ":"]
    for application in sorted(candidate.applications, key=lambda a: a.id):
        stage = STAGE_DE.get(application.stage) if lang == "de" else None
        lines.append(words["line"].format(position=application.position.title, applied=day(application.applied_at),
                                          stage=stage or pipeline.Stage(application.stage).label))
    lines.append("")
    if consent_valid(candidate, now):
        lines.append(words["consent"].format(since=day(candidate.talent_pool_consent_at),
                                             how=candidate.talent_pool_consent_source or "—",
                                             until=day(candidate.talent_pool_expires_at)))
    else:
        lines.append(words["no_consent"])
    lines += [words["retention"].format(months=policy.retention_months), "", words["files"], words["not_included"]]
    return "\n".join(lines) + "\n"


def export_candidate(candidate: Candidate, *, actor: User | None, now: datetime | None = None) -> bytes:
    """The ZIP: data.json, summary.txt (in the candidate's language) and documents/. The
    export itself is audited (who, when; no data)."""
    _require(actor, Role.ADMIN, Role.RECRUITER)
    now = clock(now)
    if candidate.anonymised_at is not None:
        raise Conflict(f"Candidate #{candidate.id} has been anonymised: nothing personal is held any more.")
    data = export_data(candidate)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, indent=2, ensure_ascii=False))
        archive.writestr("summary.txt", _summary(candidate, data, now))
        for application in data["applications"]:
            for entry in application["documents"]:
                document_id = int(entry["file"].split("/", 1)[1].split("-", 1)[0])
                path = document_path(db.session.get(Document, document_id))
                if path.is_file():
                    archive.write(path, entry["file"])
    with transaction():
        audit("candidate_exported", now, actor, candidate_id=candidate.id)
    return buffer.getvalue()


# --- talent-pool consent ---------------------------------------------------------------------


def give_consent(candidate: Candidate, *, source: str, actor: User | None, now: datetime | None = None) -> Candidate:
    """Record (or renew) talent-pool consent: when, how, and until when."""
    _require(actor, Role.ADMIN, Role.RECRUITER)
    now = clock(now)
    if source not in CONSENT_SOURCES:
        raise InvalidInput("The consent could not be recorded.", {"source": "Choose how the candidate agreed."})
    if candidate.anonymised_at is not None:
        raise Conflict("This candidate has been anonymised.")
    with transaction():
        candidate.talent_pool_consent = True
        candidate.talent_pool_consent_at = now
        candidate.talent_pool_consent_source = CONSENT_SOURCES[source]
        candidate.talent_pool_expires_at = add_months(now, get_policy().talent_pool_months)
        candidate.talent_pool_renewal_sent_at = None
        audit("talent_pool_consent_given", now, actor, candidate_id=candidate.id, source=source,
              expires_at=candidate.talent_pool_expires_at)
    return candidate


def withdraw_consent(candidate: Candidate, *, via: str, actor: User | None = None,
                     now: datetime | None = None) -> bool:
    """The candidate no longer wants to be in the talent pool (the link in every email, or
    the team on their behalf). False when there was nothing to withdraw."""
    now = clock(now)
    if not candidate.talent_pool_consent:
        return False
    with transaction():
        candidate.talent_pool_consent = False
        candidate.talent_pool_expires_at = now
        audit("talent_pool_consent_withdrawn", now, actor, candidate_id=candidate.id, via=via)
    return True


def expire_consents(now: datetime) -> int:
    """Consents past their date end (the candidate then falls under retention again)."""
    expired = db.session.scalars(select(Candidate).where(
        Candidate.talent_pool_consent.is_(True), Candidate.talent_pool_expires_at <= now)).all()
    if not expired:
        return 0
    with transaction():
        for candidate in expired:
            candidate.talent_pool_consent = False
            audit("talent_pool_consent_expired", now, None, candidate_id=candidate.id)
    return len(expired)


def withdrawal_token(candidate: Candidate) -> str:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=WITHDRAWAL_SALT).dumps(
        {"c": candidate.id, "e": candidate.email})


def withdrawal_max_age() -> int:
    return int(current_app.config.get("PRIVACY_LINK_MAX_AGE") or 90 * 86400)


def candidate_from_token(token: str) -> Candidate | None:
    """The candidate a withdrawal link names, or None (forged, expired, or erased since)."""
    serializer = URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=WITHDRAWAL_SALT)
    try:
        payload = serializer.loads(token, max_age=withdrawal_max_age())
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(payload, dict):
        return None
    candidate = db.session.get(Candidate, payload.get("c"))
    if candidate is None or candidate.email != payload.get("e") or candidate.anonymised_at is not None:
        return None
    return candidate


def footer_context(candidate: Candidate) -> dict[str, str]:
    """What every candidate email's footer links to: the privacy notice and the signed,
    expiring link to leave the talent pool."""
    from .notifications import absolute_url

    return {
        "privacy_url": current_app.config.get("PRIVACY_URL") or absolute_url("/privacy"),
        "withdraw_url": absolute_url(f"/privacy/talent-pool/{withdrawal_token(candidate)}"),
    }


def send_consent_renewals(now: datetime) -> dict[str, int]:
    """The daily `consent-renewals` job: ask candidates to renew 30 days before their consent
    expires, once per expiry date."""
    from . import notifications as notify

    due = db.session.scalars(select(Candidate).where(
        Candidate.talent_pool_consent.is_(True), Candidate.anonymised_at.is_(None),
        Candidate.talent_pool_expires_at > now,
        Candidate.talent_pool_expires_at <= now + timedelta(days=RENEWAL_DAYS),
        # Reset when the consent is given again, so once per expiry date.
        Candidate.talent_pool_renewal_sent_at.is_(None),
    ).order_by(Candidate.id)).all()
    sent = 0
    for candidate in due:
        with transaction():
            email = notify.queue_email(
                template="talent_pool_renewal", recipient=candidate.email,
                idempotency_key=f"talent-pool-renewal:{candidate.id}:{candidate.talent_pool_expires_at.date()}",
                context={"candidate": candidate, "expires_at": candidate.talent_pool_expires_at,
                         **footer_context(candidate)},
                lang=candidate.language, to_candidate=True, now=now)
            candidate.talent_pool_renewal_sent_at = now
            audit("talent_pool_renewal_requested", now, None, candidate_id=candidate.id)
        sent += email is not None
    return {"renewal_requests": sent}


@event.listens_for(Session, "before_flush")
def _date_new_consents(session: Session, flush_context: Any, instances: Any) -> None:
    """Consent ticked on the application form (hiring.services, the API) arrives as the bare
    flag: give it its date, how, and expiry — the application's time, so ``now`` holds."""
    for candidate in [o for o in (*session.new, *session.dirty) if isinstance(o, Candidate)]:
        if not candidate.talent_pool_consent or candidate.anonymised_at is not None:
            continue
        state = inspect(candidate)
        # Undated, or switched on again (a new application after the old consent ended)
        # by code that did not date it (give_consent dates it itself).
        switched_on = state.attrs.talent_pool_consent.history.has_changes() \
            and not state.attrs.talent_pool_consent_at.history.has_changes()
        if candidate.talent_pool_consent_at is not None and not switched_on:
            continue
        when = next((a.created_at for a in session.new if isinstance(a, Application) and a.candidate is candidate
                     and a.created_at is not None), None) or candidate.created_at
        if when is None:
            continue
        with session.no_autoflush:
            months = get_policy().talent_pool_months
        candidate.talent_pool_consent_at = when
        candidate.talent_pool_consent_source = CONSENT_SOURCES["application_form"]
        candidate.talent_pool_expires_at = add_months(when, months)
        candidate.talent_pool_renewal_sent_at = None


# --- talent pool: tags and invitations -------------------------------------------------------


def clean_tags(raw: str | list[str]) -> list[str]:
    values = raw.split(",") if isinstance(raw, str) else list(raw)
    tags: list[str] = []
    for value in values:
        tag = re.sub(r"\s+", " ", str(value)).strip().lower()
        if tag and tag not in tags:
            tags.append(tag)
    errors = {}
    if len(tags) > MAX_TAGS:
        errors["tags"] = f"At most {MAX_TAGS} tags."
    elif any(len(t) > MAX_TAG_LENGTH for t in tags):
        errors["tags"] = f"A tag has at most {MAX_TAG_LENGTH} characters."
    elif any(not t.isprintable() for t in tags):
        errors["tags"] = "Tags cannot contain control characters."
    if errors:
        raise InvalidInput("The tags could not be saved.", errors)
    return tags


def set_tags(candidate: Candidate, tags: str | list[str], *, actor: User | None,
             now: datetime | None = None) -> Candidate:
    _require(actor, Role.ADMIN, Role.RECRUITER)
    now = clock(now)
    cleaned = clean_tags(tags)
    with transaction():
        candidate.tags = cleaned
        audit("candidate_tagged", now, actor, candidate_id=candidate.id, tags=len(cleaned))
    return candidate


def known_tags() -> list[str]:
    """Every tag in use, for the suggestions as one types."""
    found: set[str] = set()
    # '[]' written into the statement, not bound: only then may SQLite use the partial index
    # ix_candidate_tagged (a bound value could be anything); before, every candidate was read.
    tagged = select(Candidate.tags).where(Candidate.anonymised_at.is_(None),
                                          cast(Candidate.tags, String) != literal_column("'[]'"))
    for tags in db.session.scalars(tagged.limit(5000)):
        found.update(tags or [])
    return sorted(found)


def talent_pool(now: datetime, *, search: str = "", tag: str = "", position_id: int | None = None,
                limit: int = 500, offset: int = 0) -> list[Candidate]:
    """The consented candidates, filtered by name/email, tag and positions applied for,
    in name order: ``limit`` of them from ``offset``."""
    query = select(Candidate).where(Candidate.talent_pool_consent.is_(True), Candidate.anonymised_at.is_(None),
                                    or_(Candidate.talent_pool_expires_at.is_(None),
                                        Candidate.talent_pool_expires_at > now))
    if search.strip():
        pattern = _like(search.strip().lower())
        query = query.where(or_(func.lower(Candidate.name).like(pattern, escape="\\"),
                                Candidate.email.like(pattern, escape="\\")))
    if position_id:
        query = query.where(select(Application.id).where(Application.candidate_id == Candidate.id,
                                                         Application.position_id == position_id).exists())
    if tag.strip():
        # The list as stored (json.dumps: ["a", "b"]), searched for the quoted tag.
        query = query.where(cast(Candidate.tags, String).like(_like(json.dumps(tag.strip().lower())), escape="\\"))
    return list(db.session.scalars(query.order_by(Candidate.name, Candidate.id).limit(limit).offset(offset)))


def invite_to_apply(candidate: Candidate, position: Position, *, actor: User | None,
                    now: datetime | None = None) -> Application:
    """Invite a talent-pool candidate: a new application for ``position`` (source: talent
    pool) and the usual "application received" email with the promised date."""
    _require(actor, Role.ADMIN, Role.RECRUITER)
    now = clock(now)
    if not consent_valid(candidate, now) or candidate.anonymised_at is not None:
        raise InvalidInput("Only candidates in the talent pool can be invited.",
                           {"candidate": "Not in the talent pool (no valid consent)."})
    return submit_application(position, name=candidate.name, email=candidate.email, phone=candidate.phone,
                              language=candidate.language, actor=actor, now=now, source=Source.TALENT_POOL)

