"""The reports' daily rollup (hiring.reports.rollup): what the Reports page and the API's
summary sum instead of reading every application. Derived data, refreshed by the
``report-rollup`` job from the records (the days that changed, or every row); nothing else
writes it. No foreign keys: a refresh replaces whole days, and a row outlives nothing it
points to.

Days are company-local days; ``position_id`` and ``owner_id`` are the application's. Each
day is kept at levels (``Level``): the whole company's rows, which a report without a
filter sums (a few dozen a day), and the rows per position and owner, which a filtered one
reads through its index; the promises also per owner, for their table by owner.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, Float, Index, Integer, SmallInteger, String
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


class Level(enum.IntEnum):
    COMPANY = 0  # position_id and owner_id are NULL: every application
    OWNER = 1  # position_id is NULL: every position of the owner
    DETAIL = 2  # one position and owner


def _rollup_columns(table: str) -> tuple[Any, ...]:
    """A report reads a range of days of one level, optionally of one position or one owner."""
    levels = ", ".join(str(level.value) for level in Level)
    return (CheckConstraint(f"level IN ({levels})", name="level"),
            CheckConstraint("(level = 2) = (position_id IS NOT NULL)", name="position_id"),
            Index(f"ix_{table}_level_day", "level", "day"), Index(f"ix_{table}_position_day", "position_id", "day"),
            Index(f"ix_{table}_owner_day", "owner_id", "day"))


class ReportApplicationDay(db.Model):
    """Applications received per day, by where they came from and how far they got."""

    __tablename__ = "report_application_day"
    __table_args__ = (
        one_of("source", pipeline.Source),
        one_of("stage", pipeline.Stage),
        CheckConstraint("reached BETWEEN 0 AND 6", name="reached"),  # an index of reports.FUNNEL_STEPS
        CheckConstraint("applications > 0", name="applications"),
        *_rollup_columns("report_application_day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)  # received
    level: Mapped[int] = mapped_column(SmallInteger)
    position_id: Mapped[int | None] = mapped_column(Integer)
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
        *_rollup_columns("report_promise_day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)  # promise.promised_for
    level: Mapped[int] = mapped_column(SmallInteger)
    position_id: Mapped[int | None] = mapped_column(Integer)
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
        *_rollup_columns("report_duration_day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)  # the passage ended
    level: Mapped[int] = mapped_column(SmallInteger)
    position_id: Mapped[int | None] = mapped_column(Integer)
    owner_id: Mapped[int | None] = mapped_column(Integer)
    measure: Mapped[str] = mapped_column(String(20))
    days: Mapped[int] = mapped_column(Integer)
    passages: Mapped[int] = mapped_column(Integer)


class ReportRollup(db.Model):
    """The one row that says what the rollup holds: the moment its figures are true for,
    the time zone its days are in, and the records it was built from (the newest audit
    event, application, promise, interview and decision: hiring.reports.changes), so a
    refresh with nothing new does not rebuild, and one after a few changes recomputes only
    the days they touched."""

    __tablename__ = "report_rollup"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    zone: Mapped[str] = mapped_column(String(64))
    built_from: Mapped[list] = mapped_column(JSON)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime)
    build_seconds: Mapped[float] = mapped_column(Float)
