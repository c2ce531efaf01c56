"""Read-side queries shared by the UI, the API, the jobs and the benchmark.

The flags are computed in SQL with the same rules as hiring.pipeline.flags, so a list
filtered by flag costs one indexed query, whatever the number of applications.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    false,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
    true,
)

from .extensions import db
from .models import OPEN_STAGE_VALUES, Application, Candidate, UTCDateTime
from .pipeline import Flag, Policy, Stage, Verdict, due_soon_threshold, local_date


def is_open() -> ColumnElement[bool]:
    return Application.stage.in_(OPEN_STAGE_VALUES)


@dataclass(frozen=True)
class FlagMoment:
    """The moments and limits the flag conditions compare with: values, or bind parameters
    for a statement built once and run with ``flag_moment(now, policy)`` (a job that runs
    every 15 minutes should not rebuild its statement each time)."""

    now: Any
    due_soon_until: Any
    today: Any
    unrecorded_before: Any
    max_automatic_delays: Any


def flag_moment(now: datetime, policy: Policy) -> FlagMoment:
    return FlagMoment(now, due_soon_threshold(now, policy), local_date(now, policy),
                      now - timedelta(hours=policy.record_interview_hours), policy.max_automatic_delays)


FLAG_BINDS = FlagMoment(
    bindparam("flag_now", type_=UTCDateTime()), bindparam("flag_due_soon_until", type_=UTCDateTime()),
    bindparam("flag_today", type_=Date()), bindparam("flag_unrecorded_before", type_=UTCDateTime()),
    bindparam("flag_max_automatic_delays", type_=Integer()),
)


def flag_bind_values(now: datetime, policy: Policy) -> dict[str, Any]:
    """The values of ``FLAG_BINDS`` at ``now``."""
    moment = flag_moment(now, policy)
    return {bind.key: getattr(moment, name) for name, bind in vars(FLAG_BINDS).items()}


def flag_condition(flag: Flag | str, now: datetime | FlagMoment, policy: Policy | None = None) -> ColumnElement[bool]:
    """SQL for "this application carries ``flag`` at ``now``" (mirrors pipeline.flags;
    tests compare the two on the same data). ``now`` may be a FlagMoment (FLAG_BINDS)."""
    flag = Flag(flag)
    at = now if isinstance(now, FlagMoment) else flag_moment(now, policy)
    if flag == Flag.OVERDUE:
        return and_(is_open(), or_(past_team_deadline(at.now), Application.overdue_since.is_not(None)))
    if flag == Flag.DUE_SOON:
        return and_(is_open(), Application.due_at >= at.now, Application.due_at <= at.due_soon_until,
                    Application.overdue_since.is_(None))
    if flag == Flag.EXPEDITE:
        return and_(is_open(), Application.competing_offer_deadline.is_not(None),
                    Application.competing_offer_deadline >= at.today)
    if flag == Flag.NEEDS_DISCUSSION:
        return and_(Application.stage == Stage.FINAL_DECISION.value, Application.verdict == Verdict.MIXED.value)
    if flag == Flag.AWAITING_FEEDBACK:
        return and_(is_open(), Application.awaiting_feedback.is_(true()))
    if flag == Flag.UNRECORDED:
        return and_(is_open(), Application.interview_ends_at.is_not(None),
                    Application.interview_ends_at < at.unrecorded_before)
    if flag == Flag.STALLED:
        return and_(is_open(), Application.automatic_delays > at.max_automatic_delays)
    return false()


def past_team_deadline(now: Any) -> ColumnElement[bool]:
    """The team's deadline has passed (the deadline job's indexed part of OVERDUE: an
    application late since an automatic delay was announced as overdue before it)."""
    return and_(Application.due_at.is_not(None), Application.due_at < now)


def responsible_user_id() -> ColumnElement[int]:
    """pipeline.responsible in SQL (needs Position joined): who must act next."""
    from .models import Position

    return case(
        (Application.stage == Stage.FINAL_DECISION.value,
         func.coalesce(Position.hiring_manager_id, Position.owner_id, Application.owner_id)),
        else_=func.coalesce(Application.owner_id, Position.owner_id),
    )


def like_pattern(text_: str) -> str:
    """``%text%`` with LIKE's wildcards in ``text_`` taken literally (escape character \\)."""
    escaped = text_.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def contains(text_: str, *columns: ColumnElement[str]) -> ColumnElement[bool]:
    """Any of ``columns`` contains ``text_``, ignoring case, wildcards taken literally: the
    searches of the positions and users pages and the suggestions as one types."""
    pattern = like_pattern(text_.casefold())
    return or_(*(func.lower(column).like(pattern, escape="\\") for column in columns))


def candidate_matches(q: str) -> ColumnElement[bool]:
    """Candidates whose name or email contains ``q``, case-insensitively.

    Substring search cannot use a B-tree index; from three characters on it goes through
    the trigram index of migration 5e7a1c2d9b40: SQLite's FTS5 table ``candidate_search``
    (a quoted phrase there is a literal substring), PostgreSQL's pg_trgm GIN indexes on
    ``lower(name)`` and ``email``, which this same LIKE condition uses.
    """
    pattern = like_pattern(q.lower())
    condition = or_(func.lower(Candidate.name).like(pattern, escape="\\"),
                    Candidate.email.like(pattern, escape="\\"))
    if _fts(q):
        return Candidate.id.in_(_fts_matches(q, literal_column("rowid")))
    return condition


def count_candidate_matches(q: str) -> int:
    """How many candidates ``candidate_matches(q)`` finds. On SQLite the FTS5 table answers
    alone (it holds one row per candidate, kept by triggers): a count through the candidate
    table would fetch each of the thousands of rows a common name matches."""
    if _fts(q):
        return db.session.scalar(_fts_matches(q, func.count()))
    return db.session.scalar(select(func.count()).select_from(Candidate).where(candidate_matches(q)))


def _fts(q: str) -> bool:
    return len(q) >= TRIGRAM and db.engine.dialect.name == "sqlite"


def _fts_matches(q: str, column: ColumnElement) -> Select:
    phrase = '"' + q.replace('"', '""') + '"'  # a quoted phrase: a literal substring
    return (select(column).select_from(table("candidate_search"))
            .where(text("candidate_search MATCH :candidate_phrase").bindparams(candidate_phrase=phrase)))


TRIGRAM = 3
