"""The hiring process: positions, candidates, applications and everything that happens to
an application (interviews, panels, feedback, decisions, promises, contacts, references,
documents)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import pipeline
from ..extensions import db
from ..pipeline import ApplicationState, Source, Stage, Verdict
from .accounts import User
from .types import OPEN_STAGE_VALUES, UTCDateTime, one_of, utcnow


class Position(db.Model):
    __tablename__ = "position"
    __table_args__ = (
        one_of("status", pipeline.PositionStatus),
        # Open positions by title (the Reports page's position filter; migration f3b7d2c9a1e5).
        Index("ix_position_status_title", "status", "title", "id"),
    )

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
        # The talent pool's tag filter: only the tagged candidates, not all of them.
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
LATE_ANNOUNCED = "overdue_since IS NOT NULL AND overdue_notified_at IS NOT NULL"
DELAYED = "automatic_delays > 0"
# The flag "awaiting feedback" as queries.flag_condition writes it (a partial index serves
# only a query whose WHERE repeats its condition: SQLite's booleans are written "IS 1").
AWAITING_FEEDBACK = {"sqlite": "awaiting_feedback IS 1", "postgresql": "awaiting_feedback IS true"}


class Application(db.Model):
    __tablename__ = "application"
    __table_args__ = (
        one_of("stage", Stage),
        one_of("source", Source),
        one_of("verdict", Verdict),  # NULL (no panel yet) passes a CHECK
        UniqueConstraint("candidate_id", "position_id", name="uq_application_candidate_position"),
        # The reports: applications received in a period (funnel, sources, time to hire).
        Index("ix_application_applied_at", "applied_at"),
        # The dashboard and the deadline job: open applications by stage and due date. The
        # id makes it the board's order (due date, then id) on PostgreSQL too, where equal
        # keys follow the rows' places on disk: a column's first ten cards then read ten
        # entries instead of every application due the same day (SQLite's indexes end with
        # the id already).
        Index("ix_application_stage_due_at", "stage", "due_at", "id"),
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
        # ... and once announced: with it, the overdue flag (queries.flag_condition) reads
        # the late applications through these two. Without it a list or count of the
        # overdue read every open application's row (26 ms at 1M on SQLite). Disjoint from
        # the one above, so the deadline job still reads only the unannounced.
        Index("ix_application_late_announced", "stage", sqlite_where=text(LATE_ANNOUNCED),
              postgresql_where=text(LATE_ANNOUNCED)),
        # The applications whose date moved automatically, by stage and number of moves: an
        # admin's dashboard reads the stalled (more moves than the policy allows) through it
        # instead of testing every open application (160 ms at 1M on SQLite).
        Index("ix_application_delayed", "stage", "automatic_delays", sqlite_where=text(DELAYED),
              postgresql_where=text(DELAYED)),
        # The API's list of the applications awaiting feedback, with their stage so that a
        # count reads the index alone: without it a list or count tested every open
        # application's row (SQLite 158 ms at 1M). The stage first: led by the id, SQLite
        # preferred the (stage, due_at) index (21 ms).
        Index("ix_application_awaiting_feedback", "stage", "id", sqlite_where=text(AWAITING_FEEDBACK["sqlite"]),
              postgresql_where=text(AWAITING_FEEDBACK["postgresql"])),
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
        return application_state(self)

    def flags(self, now: datetime, policy: pipeline.Policy) -> list[pipeline.Flag]:
        return pipeline.flags(self.state(), now, policy)

    def current_interview(self) -> Interview | None:
        live = [i for i in self.interviews if i.cancelled_at is None]
        return live[-1] if live else None


# The columns the flags depend on: a page that reads applications as plain rows selects these.
STATE_COLUMNS = ("stage", "due_at", "competing_offer_deadline", "verdict", "awaiting_feedback", "promised_at",
                 "overdue_since", "automatic_delays", "interview_ends_at")


def application_state(application) -> ApplicationState:
    """The facts the flags depend on, of an Application or of a row with STATE_COLUMNS."""
    return ApplicationState(
        stage=Stage(application.stage),
        due_at=application.due_at,
        competing_offer_deadline=application.competing_offer_deadline,
        verdict=Verdict(application.verdict) if application.verdict else None,
        awaiting_feedback=application.awaiting_feedback,
        promised_at=application.promised_at,
        overdue_since=application.overdue_since,
        automatic_delays=application.automatic_delays or 0,
        interview_ends_at=application.interview_ends_at,
    )


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
