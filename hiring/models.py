"""Typed SQLAlchemy models. State changes go through hiring.services, never here."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column, relationship
from sqlalchemy.types import TypeDecorator
from werkzeug.security import check_password_hash, generate_password_hash

from . import pipeline
from .extensions import db
from .pipeline import OPEN_STAGES, ApplicationState, Role, Source, Stage, Verdict

UTC = UTC


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every database.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so the value is stored
    as naive UTC and made aware again on the way out. Naive input is refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: store aware datetimes only")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


OPEN_STAGE_VALUES = [s.value for s in OPEN_STAGES]


def one_of(column: str, vocabulary: type[enum.StrEnum], name: str | None = None) -> CheckConstraint:
    """The CHECK constraint that keeps ``column`` within ``vocabulary``'s values (named
    ck_<table>_<name> by the naming convention; ``name`` defaults to the column's)."""
    values = ", ".join(f"'{member.value}'" for member in vocabulary)
    return CheckConstraint(f"{column} IN ({values})", name=name or column)


class User(UserMixin, db.Model):
    __tablename__ = "user"
    __table_args__ = (one_of("role", Role),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Two-factor sign-in (hiring.twofactor): the TOTP secret encrypted with a key derived
    # from SECRET_KEY, when it was enabled, and the last time step used (no replays).
    totp_secret: Mapped[str | None] = mapped_column(String(500))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

    @property
    def has_two_factor(self) -> bool:
        return self.totp_enabled_at is not None and bool(self.totp_secret)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login: deactivated users cannot log in
        return self.active

    def can(self, action: pipeline.Action | str) -> bool:
        return pipeline.can(self.role, action)

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class RecoveryCode(db.Model):
    """A one-time code that stands in for the authenticator app; stored hashed (sha256)."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiToken(db.Model):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the secret
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class UserSession(db.Model):
    """One signed-in browser. The session cookie holds a random secret; this row holds its
    hash, so a session ends for every worker the moment ``ended_at`` is set, and a copied
    cookie is worth nothing afterwards. Written by services.start_session / end_sessions."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the cookie's secret
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    method: Mapped[str] = mapped_column(String(20), default="password")  # how the login was completed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(30))  # logout, password_changed, deactivated, ...
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    ip_address: Mapped[str] = mapped_column(String(45), default="")

    user: Mapped[User] = relationship()


class LoginThrottle(db.Model):
    """Failed sign-in attempts per account and per client address, shared by every worker
    and host. ``key`` is a hash of ("account", email) or ("address", ip), so emails typed
    at the login form (sometimes a password by mistake) are not stored."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Setting(db.Model):
    """Admin-editable settings (the process policy), seeded from config."""

    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Position(db.Model):
    __tablename__ = "position"
    __table_args__ = (one_of("status", pipeline.PositionStatus),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    department: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(10), default=pipeline.PositionStatus.OPEN.value, index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    hiring_manager_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    hiring_manager: Mapped[User | None] = relationship(foreign_keys=[hiring_manager_id])


TAGGED = "anonymised_at IS NULL AND CAST(tags AS VARCHAR) != '[]'"


class Candidate(db.Model):
    __tablename__ = "candidate"
    __table_args__ = (
        one_of("language", pipeline.Language),
        # The tags in use (privacy.known_tags): only the tagged candidates, not all of them.
        Index("ix_candidate_tagged", "id", sqlite_where=text(TAGGED), postgresql_where=text(TAGGED)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    phone: Mapped[str] = mapped_column(String(50), default="")
    language: Mapped[str] = mapped_column(String(2), default=pipeline.Language.EN.value)
    talent_pool_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Talent-pool consent (hiring.privacy): when and how it was given, until when it holds,
    # and the renewal request's memory (one per expiry date).
    talent_pool_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Server defaults only (no Python-side ones): the generator's bulk INSERTs name just the
    # columns they fill, and a Python default would add these to every statement.
    talent_pool_consent_source: Mapped[str] = mapped_column(String(200), server_default="")
    talent_pool_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    talent_pool_renewal_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Free tags for the talent pool ("embedded", "rust", ...): a JSON list of strings.
    tags: Mapped[list] = mapped_column(JSON, server_default="[]")
    # Set when the candidate was anonymised (retention) or erased (on request): every
    # identifying field is blank; counts and dates stay.
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    applications: Mapped[list[Application]] = relationship(back_populates="candidate")


# The predicate of the deadline job's partial indexes; its queries repeat each term, since a
# partial index serves only a query whose WHERE implies the index's.
UNANNOUNCED = "{}_notified_at IS NULL AND due_at IS NOT NULL"
HAS_COMPETING_OFFER = "competing_offer_deadline IS NOT NULL"
HAS_PROMISE = "promised_at IS NOT NULL"
UNRECORDED_UNANNOUNCED = "interview_ends_at IS NOT NULL AND unrecorded_notified_at IS NULL"
LATE_UNANNOUNCED = "overdue_since IS NOT NULL AND overdue_notified_at IS NULL"


class Application(db.Model):
    __tablename__ = "application"
    __table_args__ = (
        one_of("stage", Stage),
        one_of("source", Source),
        UniqueConstraint("candidate_id", "position_id", name="uq_application_candidate_position"),
        # The reports: applications received in a period (funnel, sources, time to hire).
        Index("ix_application_applied_at", "applied_at"),
        # The dashboard and the deadline job: open applications by stage and due date.
        Index("ix_application_stage_due_at", "stage", "due_at"),
        Index("ix_application_owner_stage", "owner_id", "stage"),
        Index("ix_application_position_stage", "position_id", "stage"),
        # The deadline job asks one question per flag, each answered by its own index
        # (reminders._unannounced). The applications with a competing offer, by stage,
        # so that closed ones, which keep their deadline, are never read:
        Index("ix_application_stage_competing_offer", "stage", "competing_offer_deadline",
              sqlite_where=text(HAS_COMPETING_OFFER), postgresql_where=text(HAS_COMPETING_OFFER)),
        # ... and the due dates not yet announced: an announced (or closed, due_at NULL)
        # application leaves these partial indexes, so a run with nothing due reads nothing.
        Index("ix_application_due_soon_unannounced", "stage", "due_at",
              sqlite_where=text(UNANNOUNCED.format("due_soon")), postgresql_where=text(UNANNOUNCED.format("due_soon"))),
        Index("ix_application_overdue_unannounced", "stage", "due_at",
              sqlite_where=text(UNANNOUNCED.format("overdue")), postgresql_where=text(UNANNOUNCED.format("overdue"))),
        # The delay-notice job: open promises by date. The unrecorded interviews not yet announced.
        Index("ix_application_promised_at", "promised_at", sqlite_where=text(HAS_PROMISE),
              postgresql_where=text(HAS_PROMISE)),
        Index("ix_application_unrecorded_unannounced", "interview_ends_at",
              sqlite_where=text(UNRECORDED_UNANNOUNCED), postgresql_where=text(UNRECORDED_UNANNOUNCED)),
        # Late since an automatic delay, and never announced as overdue (the job was down).
        Index("ix_application_late_unannounced", "overdue_since",
              sqlite_where=text(LATE_UNANNOUNCED), postgresql_where=text(LATE_UNANNOUNCED)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidate.id"))
    position_id: Mapped[int] = mapped_column(ForeignKey("position.id"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    stage: Mapped[str] = mapped_column(String(20), default=Stage.APPLIED.value)
    source: Mapped[str] = mapped_column(String(20), default=Source.DIRECT.value, server_default=Source.DIRECT.value)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    stage_entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The answer date the candidate was last told, and when we last wrote to them.
    promised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When that promise was made: an email after it means the candidate has heard from us.
    promise_made_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_candidate_email_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    competing_offer_deadline: Mapped[date | None] = mapped_column(Date)
    extended_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    # Denormalised from the latest held interview's feedback, kept by the services.
    verdict: Mapped[str | None] = mapped_column(String(20))
    awaiting_feedback: Mapped[bool] = mapped_column(Boolean, default=False)
    # The deadline job's memory: which due_at it has already announced (reset when
    # due_at changes), so a rerun notifies nobody twice.
    due_soon_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Announced once per competing-offer deadline, and once per entry into the offer decision.
    expedite_notified_for: Mapped[date | None] = mapped_column(Date)
    needs_discussion_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The current promise's history: how often it was moved (by a delay notice or an
    # extension), how many of those moves were automatic, and the team deadline missed
    # before the first automatic one (the team stays late after the candidate is told).
    promise_moves: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    automatic_delays: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    overdue_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The end of the current interview while nobody has marked it held (or cancelled it),
    # and the deadline job's memory of having told the owner it is unrecorded.
    interview_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unrecorded_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # Every UPDATE checks the version it loaded (a concurrent edit raises StaleDataError),
    # but only services.touch() increments it: once per change, however many flushes
    # that change needs, and never for the jobs' own bookkeeping columns.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    candidate: Mapped[Candidate] = relationship(back_populates="applications")
    position: Mapped[Position] = relationship()
    owner: Mapped[User | None] = relationship()
    interviews: Mapped[list[Interview]] = relationship(
        back_populates="application", order_by="Interview.id"
    )
    # Time first, then id: rows of the same instant (a decision and the answer to it) keep
    # the order they were made in, on every database.
    decisions: Mapped[list[Decision]] = relationship(order_by=lambda: (Decision.decided_at, Decision.id))

    @property
    def stage_enum(self) -> Stage:
        return Stage(self.stage)

    @property
    def is_open(self) -> bool:
        return self.stage in OPEN_STAGE_VALUES

    def state(self) -> ApplicationState:
        return ApplicationState(
            stage=Stage(self.stage),
            due_at=self.due_at,
            competing_offer_deadline=self.competing_offer_deadline,
            verdict=Verdict(self.verdict) if self.verdict else None,
            awaiting_feedback=self.awaiting_feedback,
            promised_at=self.promised_at,
            overdue_since=self.overdue_since,
            automatic_delays=self.automatic_delays or 0,
            interview_ends_at=self.interview_ends_at,
        )

    def flags(self, now: datetime, policy: pipeline.Policy) -> list[pipeline.Flag]:
        return pipeline.flags(self.state(), now, policy)

    def current_interview(self) -> Interview | None:
        live = [i for i in self.interviews if i.cancelled_at is None]
        return live[-1] if live else None


class Interview(db.Model):
    __tablename__ = "interview"
    __table_args__ = (
        CheckConstraint("round IN (1, 2)", name="round"),
        # The reports: the second interviews held in a period (time per stage).
        Index("ix_interview_round_scheduled_at", "round", "scheduled_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_minutes: Mapped[int] = mapped_column(Integer, default=60)
    location: Mapped[str] = mapped_column(String(500), default="")
    video_link: Mapped[str] = mapped_column(String(500), default="")
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # iCalendar: the same UID across reschedules, SEQUENCE bumped on each change.
    ical_uid: Mapped[str] = mapped_column(String(100))
    ical_sequence: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    application: Mapped[Application] = relationship(back_populates="interviews")
    panel: Mapped[list[PanelMember]] = relationship(
        back_populates="interview", cascade="all, delete-orphan", order_by="PanelMember.user_id"
    )
    feedback: Mapped[list[Feedback]] = relationship(
        back_populates="interview", order_by=lambda: (Feedback.submitted_at, Feedback.id)
    )

    @property
    def panel_user_ids(self) -> list[int]:
        return [m.user_id for m in self.panel]

    def feedback_by(self, user_id: int) -> Feedback | None:
        return next((f for f in self.feedback if f.interviewer_id == user_id), None)

    def verdict(self) -> Verdict:
        return pipeline.panel_verdict(
            self.panel_user_ids, {f.interviewer_id: f.recommendation for f in self.feedback}
        )


class PanelMember(db.Model):
    __tablename__ = "panel_member"

    interview_id: Mapped[int] = mapped_column(ForeignKey("interview.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), primary_key=True, index=True)
    # Feedback reminders sent, so the job sends at most the policy's number.
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    last_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    interview: Mapped[Interview] = relationship(back_populates="panel")
    user: Mapped[User] = relationship()


class Feedback(db.Model):
    __tablename__ = "feedback"
    __table_args__ = (
        UniqueConstraint("interview_id", "interviewer_id", name="uq_feedback_interview_interviewer"),
        one_of("recommendation", pipeline.Recommendation),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(ForeignKey("interview.id"))
    interviewer_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    recommendation: Mapped[str] = mapped_column(String(20))
    notes: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    interview: Mapped[Interview] = relationship(back_populates="feedback")
    interviewer: Mapped[User] = relationship()


class Decision(db.Model):
    __tablename__ = "decision"
    # The reports: the decisions of one stage taken in a period (time per stage, to offer, to hire).
    __table_args__ = (Index("ix_decision_stage_decided_at", "stage", "decided_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    stage: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(20))  # advance / reject / accepted / declined
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rationale: Mapped[str] = mapped_column(Text, default="")

    decided_by: Mapped[User | None] = relationship()


class Promise(db.Model):
    """Every date told to a candidate: when, in which stage, and how it ended (kept, moved,
    broken or withdrawn). The current one is open (no outcome yet). Reports read this."""

    __tablename__ = "promise"
    __table_args__ = (
        one_of("outcome", pipeline.PromiseOutcome),
        Index("ix_promise_application_told", "application_id", "told_at"),
        Index("ix_promise_told_at", "told_at"),
        # The promises-kept report: the dates that fell in a period.
        Index("ix_promise_promised_for", "promised_for"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"))
    stage: Mapped[str] = mapped_column(String(20))
    promised_for: Mapped[date] = mapped_column(Date)  # the day told, in the company's zone
    lapses_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the end of that day
    told_at: Mapped[datetime] = mapped_column(UTCDateTime)
    told_in: Mapped[str] = mapped_column(String(50))  # the email that told it
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)  # told by a delay notice
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(20))
    resolved_by: Mapped[str | None] = mapped_column(String(50))  # what ended it (an audit kind)


class CandidateContact(db.Model):
    """Inbound contact from the candidate: thank-you notes, enquiries, calls."""

    __tablename__ = "candidate_contact"
    __table_args__ = (one_of("kind", pipeline.ContactKind), one_of("channel", pipeline.ContactChannel))

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # a pipeline.ContactKind
    channel: Mapped[str] = mapped_column(String(20))  # a pipeline.ContactChannel
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    summary: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    recorded_by: Mapped[User | None] = relationship()


class Reference(db.Model):
    __tablename__ = "reference"
    __table_args__ = (one_of("status", pipeline.ReferenceStatus),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(20), default=pipeline.ReferenceStatus.REQUESTED.value)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Document(db.Model):
    """Metadata of an uploaded file; the bytes live under instance/uploads."""

    __tablename__ = "document"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(100), unique=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEvent(db.Model):
    """Append-only: what happened, who did it, when. Never updated or deleted."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_application_occurred", "application_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    kind: Mapped[str] = mapped_column(String(50))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set by hiring.privacy when the identifying parts of ``data`` were removed (the one
    # UPDATE the database triggers allow, and only while an AuditRedaction row exists).
    redacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    actor: Mapped[User | None] = relationship()


class AuditRedaction(db.Model):
    """The guard of the audit log's one permitted change. The triggers (migration
    a4c8e2d6f1b3) refuse every UPDATE of audit_event unless a row exists here, and then
    allow only one that sets ``redacted_at`` and changes nothing but ``data``. Only
    hiring.privacy inserts a row, inside its own transaction, and deletes it before the
    commit, so no other transaction ever sees one."""

    __tablename__ = "audit_redaction"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _audit_is_append_only(mapper: Any, connection: Any, target: AuditEvent) -> None:
    raise RuntimeError("the audit log is append-only")


@event.listens_for(Session, "do_orm_execute")
def _no_bulk_audit_changes(state: ORMExecuteState) -> None:
    """update(AuditEvent) / delete(AuditEvent) bypass the mapper events above."""
    if (state.is_update or state.is_delete) and any(m.class_ is AuditEvent for m in state.all_mappers):
        raise RuntimeError("the audit log is append-only")


@contextmanager
def audit_guard_lifted(connection: Connection) -> Iterator[None]:
    """Lift the database's append-only guard on the audit log (the triggers of migration
    c3a9e1f4d2b8) inside the transaction of ``connection``, for emptying a whole database
    on purpose: the demo undoing a half-load, the tests. The guard is back when the block
    ends, and a rollback restores it too (DDL is transactional on both databases)."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
        yield
        connection.execute(text("ALTER TABLE audit_event ENABLE TRIGGER USER"))
    elif dialect == "sqlite":
        # pysqlite opens a transaction only before DML, and DDL outside one commits at once:
        # a statement that touches nothing opens it, so the drops below roll back with it.
        connection.execute(text("DELETE FROM audit_event WHERE 0"))
        triggers = connection.execute(text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_event'")).all()
        for name, _ in triggers:
            connection.execute(text(f'DROP TRIGGER "{name}"'))
        yield
        for _, sql in triggers:
            connection.execute(text(sql))
    else:
        yield


class OutboxStatusCount(db.Model):
    """How many emails of the outbox have each status, kept by database triggers on
    outbox_email (migration e2b9c4d71f06): the Emails page shows the counts, and counting
    hundreds of thousands of emails per visit cost more than the rest of the page. Written
    by the triggers only; a status no email has may have no row or a row of 0."""

    __tablename__ = "outbox_status_count"

    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class OutboxEmail(db.Model):
    """An email queued in the same transaction as the change that caused it."""

    __tablename__ = "outbox_email"
    __table_args__ = (
        one_of("status", pipeline.OutboxStatus),
        Index("ix_outbox_email_status_next_attempt", "status", "next_attempt_at"),
        Index("ix_outbox_email_application", "application_id", "created_at"),
        # The Emails page, newest first: all, and by status.
        Index("ix_outbox_email_created_at", "created_at", "id"),
        Index("ix_outbox_email_status_created_at", "status", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"))
    template: Mapped[str] = mapped_column(String(50))
    recipient: Mapped[str] = mapped_column(String(254))
    recipient_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    to_candidate: Mapped[bool] = mapped_column(Boolean, default=False)
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text, default="")
    # [{"filename", "content_type", "data"}] — e.g. the interview's .ics
    attachments: Mapped[list] = mapped_column(JSON, default=list)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(20), default=pipeline.OutboxStatus.QUEUED.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class JobRun(db.Model):
    """When each scheduled job last ran to completion (for operators and the digest)."""

    __tablename__ = "job_run"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_now: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_result: Mapped[dict | None] = mapped_column(JSON)
