"""The product's small vocabularies, one enum each, with the words a person reads.

Each value is stored in the database (a CHECK constraint generated from the enum keeps it
there) and published in the API, so values never change; a member equals its string
(``StrEnum``), so code that compares with the string keeps working. ``label`` is what the
screen shows: change a word here and every page, form and email that names it follows.
Stages, roles and recommendations live with the process rules (``stages``) and carry
their labels there.
"""

from __future__ import annotations

import enum


class Vocabulary(enum.StrEnum):
    """A StrEnum whose members are declared as ``NAME = "value", "Label"``."""

    label: str

    def __new__(cls, value: str, label: str = ""):
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label or value.replace("_", " ").capitalize()
        return member

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """(value, label) for each member, in declaration order: a form's choices."""
        return [(m.value, m.label) for m in cls]

    @classmethod
    def values(cls) -> tuple[str, ...]:
        return tuple(m.value for m in cls)


class Language(Vocabulary):
    """The languages a candidate's emails are written in."""

    EN = "en", "English"
    DE = "de", "German"


class PositionStatus(Vocabulary):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class OutboxStatus(Vocabulary):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"  # the relay tries again later
    NOT_DELIVERED = "not_delivered", "Not delivered"  # no mail server configured


class ContactKind(Vocabulary):
    """What a candidate's message to us was (logged on the application's timeline)."""

    THANK_YOU = "thank_you", "Thank-you note"
    ENQUIRY = "enquiry", "Enquiry"
    OTHER = "other", "Other"


class ContactChannel(Vocabulary):
    EMAIL = "email", "Email"
    PHONE = "phone", "Phone"
    IN_PERSON = "in_person", "In person"
    OTHER = "other", "Other"


class ReferenceStatus(Vocabulary):
    REQUESTED = "requested", "Requested"
    RECEIVED = "received", "Received"
    POSITIVE = "positive", "Positive"
    NEGATIVE = "negative", "Negative"
    UNREACHABLE = "unreachable", "Unreachable"


class Source(Vocabulary):
    """Where an application came from (the sources report): one vocabulary for the model,
    the form, the API and the reports."""

    CAREERS_SITE = "careers_site", "Careers site"
    REFERRAL = "referral", "Referral"
    AGENCY = "agency", "Agency"
    JOB_BOARD = "job_board", "Job board"
    DIRECT = "direct", "Direct"
    TALENT_POOL = "talent_pool", "Talent pool"
    OTHER = "other", "Other"
