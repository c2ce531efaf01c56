"""What the data-protection modules share: the vocabulary of consent and redaction, and
small lookups."""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta

from sqlalchemy import select

from ..extensions import db
from ..models import (
    Application,
    Candidate,
    User,
)
from ..pipeline import NotAllowed, Role
from ..services.core import NotFound, normalise_email

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


def require_role(actor: User | None, *roles: Role) -> None:
    if actor is not None and actor.role not in {r.value for r in roles}:
        raise NotAllowed("Only " + " and ".join(r.value + "s" for r in roles) + " may do this.")


def find_candidate(email: str) -> Candidate:
    candidate = db.session.scalar(select(Candidate).where(Candidate.email == normalise_email(email)))
    if candidate is None or candidate.anonymised_at is not None:
        raise NotFound(f"No candidate with the email {email.strip()}.")
    return candidate


def candidate_application_ids(candidate: Candidate) -> list[int]:
    return list(db.session.scalars(select(Application.id).where(Application.candidate_id == candidate.id)))
