"""The reports' daily rollup (hiring.reports.rollup): what the Reports page and the API's
summary sum instead of reading every application. Derived data, rebuilt by the
``report-rollup`` job from the records; nothing else writes it. No foreign keys: a rebuild
replaces every row, and a row outlives nothing it points to.

Days are company-local days; ``position_id`` and ``owner_id`` are the application's.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .. import pipeline
from ..extensions import db
from .types import UTCDateTime, one_of


class PromiseStatus(enum.StrEnum):
    """How a promise stood when the rollup was built: its outcome, or open (its day not yet
    over). An open promise whose day had passed by then is counted broken."""

    KEPT = pipeline.PromiseOutcome.KEPT.value
    MOVED = pipeline.PromiseOutcome.MOVED.value
    BROKEN = pipeline.PromiseOutcome.BROKEN.value
    WITHDRAWN = pipeline.PromiseOutcome.WITHDRAWN.value
    OPEN = "open"


class Measure(enum.StrEnum):
    """The durations measured: the three stage times (named as the stages in the API), and
    application → offer accepted (hire) or → offer decided (offer)."""

    FIRST_DECISION = pipeline.Stage.FIRST_DECISION.value
    SECOND_INTERVIEW = pipeline.Stage.SECOND_INTERVIEW.value
    FINAL_DECISION = pipeline.Stage.FINAL_DECISION.value
    HIRE = "hire"
    OFFER = "offer"


def _read_indexes(table: str) -> tuple[Index, ...]:
    """A report reads a range of days, optionally of one position or one owner."""
    return (Index(f"ix_{table}_day", "day"), Index(f"ix_{table}_position_day", "position_id", "day"),
            Index(f"ix_{table}_owner_day", "owner_id", "day"))


class ReportApplicationDay(db.Model):
    """Applications received per day, by where they came from and how far they got."""

    __tablename__ = "report_application_day"
    __table_args__ = (
        one_of("source", pipeline.Source),
        one_of("stage", pipeline.Stage),
        CheckConstraint("reached BETWEEN 0 AND 6", name="reached"),  # an index of reports.FUNNEL_STEPS
        CheckConstraint("applications > 0", name="applications"),
        *_read_indexes("report_application_day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)  # received
    position_id: Mapped[int] = mapped_column(Integer)
    owner_id: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(20))
    stage: Mapped[str] = mapped_column(String(20))  # the application's stage
    reached: Mapped[int] = mapped_column(Integer)  # the furthest funnel step
    interviewed: Mapped[bool] = mapped_column(Boolean)  # a first interview was scheduled
    applications: Mapped[int] = mapped_column(Integer)


class ReportPromiseDay(db.Model):
    """Dates told to candidates per promised day, by stage and how each stood."""

    __tablename__ = "report_promise_day"
    __table_args__ = (
        one_of("stage", pipeline.Stage),
        one_of("status", PromiseStatus),
        CheckConstraint("promises > 0", name="promises"),
        *_read_indexes("report_promise_day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)  # promise.promised_for
    position_id: Mapped[int] = mapped_column(Integer)
    owner_id: Mapped[int | None] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    promises: Mapped[int] = mapped_column(Integer)


class ReportDurationDay(db.Model):
    """A histogram per day a measured passage ended: how many took ``days`` company-local
    days. Whole days keep every median and percentile exact when rows are summed."""

    __tablename__ = "report_duration_day"
    __table_args__ = (
        one_of("measure", Measure),
        CheckConstraint("passages > 0", name="passages"),
        *_read_indexes("report_duration_day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)  # the passage ended
    position_id: Mapped[int] = mapped_column(Integer)
    owner_id: Mapped[int | None] = mapped_column(Integer)
    measure: Mapped[str] = mapped_column(String(20))
    days: Mapped[int] = mapped_column(Integer)
    passages: Mapped[int] = mapped_column(Integer)


class ReportRollup(db.Model):
    """The one row that says what the rollup holds: the moment its figures are true for,
    the time zone its days are in, and the records it was built from (the newest audit
    event, application and promise), so a refresh with nothing new does not rebuild."""

    __tablename__ = "report_rollup"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    zone: Mapped[str] = mapped_column(String(64))
    built_from: Mapped[list] = mapped_column(JSON)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime)
    build_seconds: Mapped[float] = mapped_column(Float)
