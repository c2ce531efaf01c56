"""Applications: submit, withdraw, and the record kept beside them (candidate contacts,
references)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import (
    Application,
    Candidate,
    CandidateContact,
    Position,
    Reference,
    User,
)
from ..pipeline import (
    Action,
    ContactChannel,
    ContactKind,
    DomainError,
    Event,
    IllegalTransition,
    InvalidInput,
    Language,
    ReferenceStatus,
    Source,
    Stage,
)
from .core import (
    Conflict,
    audit,
    check_lengths,
    check_text,
    check_version,
    clean,
    email_candidate,
    enter_stage,
    normalise_email,
    refuse_control_characters,
    require,
    require_aware,
    resolve_now,
    touch,
    transaction,
    transition,
)
from .interviews import (
    cancel_upcoming_interviews,
    tell_panel_cancelled,
)
from .promises import keep_promise

CONTACT_KINDS = ContactKind.values()
CONTACT_CHANNELS = ContactChannel.values()
REFERENCE_STATUSES = ReferenceStatus.values()


def submit_application(position: Position, *, name: str, email: str, phone: str = "",
                       language: str = "en", talent_pool_consent: bool | None = None,
                       applied_at: datetime | None = None, actor: User | None,
                       now: datetime | None = None, source: str = Source.DIRECT) -> Application:
    """A new application; a candidate with the same email is reused."""
    require(actor, Action.MANAGE_APPLICATIONS)
    now = resolve_now(now)
    require_aware(applied_at, "applied_at")
    applied_at = applied_at or now
    errors: dict[str, str] = {}
    if not clean(name):
        errors["name"] = "Enter the candidate's name."
    check_lengths(errors, name=(name, 200))
    if source not in Source.values():
        errors["source"] = "Choose one of: " + ", ".join(Source.values()) + "."
    if language not in Language.values():
        errors["language"] = "Choose en or de."
    if applied_at > now:
        errors["applied_at"] = "The application date cannot be in the future."
    try:
        email = normalise_email(email)
    except InvalidInput as exc:
        errors.update(exc.fields)
    if len(clean(phone)) > 50:
        errors["phone"] = "At most 50 characters."
    check_text(errors, lines={"name": name, "phone": phone})
    if errors:
        raise InvalidInput("The application could not be saved.", errors)
    if position.status != "open":
        raise IllegalTransition(f"“{position.title}” is closed and takes no new applications.")
    name, phone = clean(name), clean(phone)

    def existing() -> tuple[Candidate | None, Conflict | None]:
        candidate = db.session.scalar(select(Candidate).where(Candidate.email == email))
        if candidate is not None and db.session.scalar(
            select(Application.id).where(Application.candidate_id == candidate.id,
                                         Application.position_id == position.id)
        ) is not None:
            return candidate, Conflict(f"{candidate.name} has already applied for “{position.title}”.")
        return candidate, None

    candidate, conflict = existing()
    if conflict is not None:
        raise conflict
    insert = functools.partial(_insert_application, position, name=name, email=email, phone=phone,
                               language=language, talent_pool_consent=talent_pool_consent, applied_at=applied_at,
                               source=source, actor=actor, now=now, duplicate=lambda: existing()[1])
    try:
        return insert(candidate)
    except IntegrityError:
        # Not the same application, but the candidate's email: another request created this
        # candidate meanwhile (both saw none). Reuse it, as if it had been there all along.
        candidate, conflict = existing()
        if candidate is None or conflict is not None:
            raise
        return insert(candidate)


def _insert_application(position: Position, candidate: Candidate | None, *, name: str, email: str, phone: str,
                        language: str, talent_pool_consent: bool | None, applied_at: datetime, actor: User | None,
                        now: datetime, duplicate: Callable[[], DomainError | None],
                        source: str = Source.DIRECT) -> Application:
    with transaction(duplicate):
        if candidate is None:
            candidate = Candidate(name=name, email=email, phone=phone, language=language,
                                  talent_pool_consent=bool(talent_pool_consent), created_at=now)
            db.session.add(candidate)
        else:
            # The latest application speaks for the candidate's contact details.
            candidate.name = name
            if phone:
                candidate.phone = phone
            candidate.language = language
            if talent_pool_consent is not None:
                candidate.talent_pool_consent = talent_pool_consent
        application = Application(
            candidate=candidate, position=position, owner_id=position.owner_id, stage=Stage.APPLIED.value,
            applied_at=applied_at, stage_entered_at=applied_at, created_at=now, updated_at=now, source=source,
        )
        db.session.add(application)
        db.session.flush()
        keep_promise(application, now, told_in="application_received", resolved_by="application_submitted")
        event = audit("application_submitted", now, actor, application, position_id=position.id,
                      candidate_id=candidate.id, due_at=application.due_at, promised_at=application.promised_at)
        email_candidate(application, "application_received", event.id, now)
    return application


def withdraw(application: Application, *, reason: str = "", actor: User | None, now: datetime | None = None,
             expected_version: int | None = None) -> Application:
    """The candidate withdrew; confirm it to them."""
    require(actor, Action.MANAGE_APPLICATIONS)
    now = resolve_now(now)
    check_version(application, expected_version)
    next_stage = transition(application, Event.WITHDRAW)
    refuse_control_characters("The withdrawal could not be saved.", lines={"reason": reason})
    with transaction():
        stage_before = application.stage
        enter_stage(application, next_stage, now, now)
        cancelled = cancel_upcoming_interviews(application, now)
        touch(application, now)
        keep_promise(application, now, told_in="withdrawal_confirmation", resolved_by="withdrawn", answers=True)
        event = audit("withdrawn", now, actor, application, stage=stage_before, reason=clean(reason))
        email_candidate(application, "withdrawal_confirmation", event.id, now)
        for interview in cancelled:
            tell_panel_cancelled(interview, event.id, now, why="withdrawn")
    return application


def record_candidate_contact(application: Application, *, kind: str, channel: str, summary: str = "",
                             occurred_at: datetime | None = None, actor: User | None,
                             now: datetime | None = None) -> CandidateContact:
    require(actor, Action.MANAGE_APPLICATIONS)
    now = resolve_now(now)
    require_aware(occurred_at, "occurred_at")
    occurred_at = occurred_at or now
    errors: dict[str, str] = {}
    if kind not in CONTACT_KINDS:
        errors["kind"] = "Choose thank-you note, enquiry or other."
    if channel not in CONTACT_CHANNELS:
        errors["channel"] = "Choose email, phone, in person or other."
    if occurred_at > now:
        errors["occurred_at"] = "Not in the future."
    check_text(errors, texts={"summary": summary})
    if errors:
        raise InvalidInput("The contact could not be logged.", errors)
    with transaction():
        contact = CandidateContact(application_id=application.id, kind=kind, channel=channel, summary=clean(summary),
                                   occurred_at=occurred_at, recorded_by_id=actor.id if actor else None,
                                   created_at=now)
        db.session.add(contact)
        touch(application, now)
        db.session.flush()
        # "contact_kind": audit's own first parameter is called kind.
        audit("candidate_contact", now, actor, application, contact_id=contact.id, contact_kind=kind,
              channel=channel)
    return contact


def add_reference(application: Application, *, name: str, contact: str = "", status: str = "requested",
                  notes: str = "", actor: User | None, now: datetime | None = None) -> Reference:
    require(actor, Action.MANAGE_APPLICATIONS)
    now = resolve_now(now)
    errors: dict[str, str] = {}
    if not clean(name):
        errors["name"] = "Enter the reference's name."
    check_lengths(errors, name=(name, 200), contact=(contact, 300))
    check_text(errors, lines={"name": name, "contact": contact}, texts={"notes": notes})
    if status not in REFERENCE_STATUSES:
        errors["status"] = "Choose a status."
    if errors:
        raise InvalidInput("The reference could not be added.", errors)
    with transaction():
        reference = Reference(application_id=application.id, name=clean(name), contact=clean(contact),
                              status=status, notes=clean(notes), created_at=now, updated_at=now)
        db.session.add(reference)
        touch(application, now)
        db.session.flush()
        audit("reference_added", now, actor, application, reference_id=reference.id, status=status)
    return reference


def update_reference(reference: Reference, *, status: str, notes: str | None = None, actor: User | None,
                     now: datetime | None = None) -> Reference:
    require(actor, Action.MANAGE_APPLICATIONS)
    now = resolve_now(now)
    if status not in REFERENCE_STATUSES:
        raise InvalidInput("Unknown status.", {"status": "Choose a status."})
    refuse_control_characters("The reference could not be saved.", texts={"notes": notes})
    application = db.session.get(Application, reference.application_id)
    with transaction():
        reference.status = status
        if notes is not None:
            reference.notes = clean(notes)
        reference.updated_at = now
        touch(application, now)
        audit("reference_updated", now, actor, application, reference_id=reference.id, status=status)
    return reference
