"""Read-side queries shared by the UI, the API, the jobs and the benchmark.

The flags are computed in SQL with the same rules as hiring.pipeline.flags, so a list
filtered by flag costs one indexed query, whatever the number of applications.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    column,
    false,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
    true,
    union_all,
)

from .extensions import db
from .models import OPEN_STAGE_VALUES, Application, Candidate, Interview, PanelMember, User, UTCDateTime
from .pipeline import Flag, Policy, Stage, Verdict, due_soon_threshold, local_date


def is_open() -> ColumnElement[bool]:
    """The application is in an open stage. The stages are written into the SQL (as
    ``constant`` says why): with them as six parameters of each of its eight conditions,
    PostgreSQL planned a recruiter's needs-attention statement anew at every visit (1.2 ms
    of planning for 0.2 ms of work at 1M applications); written in, it keeps the generic
    plan it judges as good (median 1.9 -> 0.4 ms)."""
    return Application.stage.in_(constants(OPEN_STAGE_VALUES))


_WORD = re.compile(r"[a-z_]+")


def constant(value: str | int) -> ColumnElement[Any]:
    """A value fixed in the statement's code (a stage, a status, a page size), written into
    the SQL text instead of sent as a parameter. PostgreSQL plans a prepared statement
    whose parameters are all such constants anew at every execution when its generic plan
    looks dearer than the plans for the values seen (the board's cards: 0.7 ms of planning
    for 0.3 ms of work); without them it plans the statement once per connection. Written
    when the statement is compiled, not at each execution (a literal_execute parameter
    cost 0.1 ms a run of the board's statement), so only words and whole numbers: no
    quoting is needed, and none can go wrong."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"constant() takes a word or a whole number, not {value!r}")
    if isinstance(value, int):
        return literal_column(str(value), Integer())
    if not _WORD.fullmatch(value):
        raise ValueError(f"constant() takes a word of a-z and _, not {value!r}")
    return literal_column(f"'{value}'", String())


def constants(values: Iterable[str]) -> list[ColumnElement[Any]]:
    return [constant(value) for value in values]


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
        # Past the team's deadline, or late since an automatic delay (announced or not).
        # Each branch whole, so the database reads each through its own index (SQLite's
        # MULTI-INDEX OR, PostgreSQL's BitmapOr): the (stage, due_at) index and the partial
        # indexes of the late applications announced (ix_application_late_announced) and
        # not (ix_application_late_unannounced, the deadline job's). As "open and (past or
        # late)" SQLite read every open application's row (26 ms at 1M applications).
        late = Application.overdue_since.is_not(None)
        return or_(and_(is_open(), past_team_deadline(at.now)),
                   and_(is_open(), late, Application.overdue_notified_at.is_not(None)),
                   and_(is_open(), late, Application.overdue_notified_at.is_(None)))
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
        # "> 0" is implied (the policy's limit is 0 to 20) and says it in the terms of the
        # partial index of the delayed applications (ix_application_delayed), so that the
        # stalled few are read through it. Without it a list, a count or an admin's
        # dashboard tested every open application's row (190 ms at 1M on SQLite).
        # The 0 is written in (``constant``): as a parameter PostgreSQL planned a manager's
        # and an admin's needs-attention statements anew at every visit.
        return and_(is_open(), Application.automatic_delays > constant(0),
                    Application.automatic_delays > at.max_automatic_delays)
    return false()


def past_team_deadline(now: Any) -> ColumnElement[bool]:
    """The team's deadline has passed (the deadline job's indexed part of OVERDUE: an
    application late since an automatic delay was announced as overdue before it)."""
    return and_(Application.due_at.is_not(None), Application.due_at < now)


def responsible_user_id() -> ColumnElement[int]:
    """pipeline.responsible in SQL (needs Position joined): who must act next."""
    from .models import Position

    return case(
        (Application.stage == constant(Stage.FINAL_DECISION.value),
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


def candidate_matches(q: str, *, many: bool = False, on: Any = Candidate) -> ColumnElement[bool]:
    """Candidates whose name or email contains ``q``, case-insensitively.

    Substring search cannot use a B-tree index; from three characters on it goes through
    the trigram index of migration 5e7a1c2d9b40: SQLite's FTS5 table ``candidate_search``
    (a quoted phrase there is a literal substring), PostgreSQL's pg_trgm GIN indexes on
    ``lower(name)`` and ``email``, which this same LIKE condition uses.

    ``many``: the caller knows ``q`` matches many candidates (more than
    ``SEARCH_COUNT_LIMIT``). On SQLite, ``id + 0`` then keeps the planner from looking up
    every match by its key and sorting them all by name (33 ms for "schmidt", 24,510 matches
    at 1M): it walks the name index in order, checks each id against the matches' list, and
    stops after the page. For a rare name that walk would read the whole index, hence the
    count first. PostgreSQL chooses by its statistics.

    ``on``: the candidate table or an alias of it (the talent pool's walk).
    """
    return search_condition(is_fts(q), many=many, on=on, q=q)


def search_condition(fts: bool, *, many: bool = False, on: Any = Candidate, q: str | None = None
                     ) -> ColumnElement[bool]:
    """``candidate_matches``: with ``q``'s values bound now, or (``q`` None) bound when the
    statement runs, from ``search_params(q)``: for a statement built once per kind of
    search (``fts``: ``is_fts(q)``), as the candidate search does."""
    if fts:
        match = text("candidate_search MATCH :candidate_phrase")
        if q is not None:
            match = match.bindparams(candidate_phrase=_phrase(q))
        matches = select(literal_column("rowid")).select_from(table("candidate_search")).where(match)
        return (on.id + 0).in_(matches) if many else on.id.in_(matches)
    if q is None:
        pattern = bindparam("candidate_pattern", type_=String)
    else:
        pattern = bindparam("candidate_pattern", like_pattern(q.lower()), type_=String)
    return or_(func.lower(on.name).like(pattern, escape="\\"), on.email.like(pattern, escape="\\"))


# SQLite's second trigram table (migration c8e4a6f2b1d9) has for rowid a key that follows
# the candidates' (name, id) order; keys from this one on are candidates the triggers found
# no room for between their neighbours (2**62 + id), outside that order.
NAME_ORDER_UNPLACED = 2 ** 62


def name_order_matches(first: ColumnElement[int]) -> Select:
    """SQLite: the ids of the first ``first`` matches of ``:candidate_phrase`` in name order,
    and of any unplaced matches; the caller sorts them by (name, id) and takes its page.

    FTS5 returns a MATCH in rowid order and stops at the LIMIT, so this reads the page and
    the matches before it: "schmidt" (24,510 matches at 1M applications) in 0.3 ms, where
    every match had to be taken (10 ms) when the rowid is the candidate's id."""
    by_name = table("candidate_search_by_name")
    rowid = literal_column("rowid", Integer)
    match = text("candidate_search_by_name MATCH :candidate_phrase")
    unplaced = constant(NAME_ORDER_UNPLACED)
    placed = select(rowid).select_from(by_name).where(match, rowid < unplaced).order_by(rowid).limit(first)
    keys = union_all(select(literal_column("rowid")).select_from(placed.subquery()),
                     select(rowid).select_from(by_name).where(match, rowid >= unplaced))
    order = table("candidate_search_order", column("candidate_id", Integer), column("sort_key", Integer))
    return select(order.c.candidate_id).where(order.c.sort_key.in_(keys))


def search_params(q: str) -> dict[str, str]:
    """The values of ``search_condition(is_fts(q))`` built without ``q``."""
    return {"candidate_phrase": _phrase(q)} if is_fts(q) else {"candidate_pattern": like_pattern(q.lower())}


# The search counts its matches up to this many; beyond, the page says "more than 1,000".
# An exact count reads every match (24,510 for "schmidt" at 1M applications, 10 ms on
# SQLite, more on PostgreSQL); a bounded one stops at the limit.
SEARCH_COUNT_LIMIT = 1000


def count_candidate_matches(q: str, *, limit: int | None = None) -> int:
    """How many candidates ``candidate_matches(q)`` finds, or ``limit`` when there are at
    least that many (the count stops there)."""
    params = {**search_params(q), **({"count_limit": limit} if limit is not None else {})}
    statement = count_matches_statement(is_fts(q), limited=limit is not None, dialect=db.engine.dialect.name)
    return db.session.scalar(statement, params)


@functools.cache
def count_matches_statement(fts: bool, *, limited: bool = True, dialect: str = "") -> Select:
    """The statement of ``count_candidate_matches``, its values (``search_params`` and
    ``count_limit``) bound when it runs: built once per kind of search (``fts``), as the
    candidate search's page (views.candidates._page_statement): building a statement and
    its cache key anew cost more than running it. On SQLite the FTS5 table answers alone (it
    holds one row per candidate, kept by triggers): a count through the candidate table
    would fetch each of the thousands of rows a common name matches.

    On PostgreSQL the bounded count first counts the names alone (up to the limit): a
    common name reaches it there, and the email index is not read. Each trigram index
    is read whole before the count can stop (a bitmap), 4 ms each for "schmidt" at 1M
    applications; the second count is an InitPlan run only when the first falls short."""
    if fts:
        matches = (select(literal_column("rowid")).select_from(table("candidate_search"))
                   .where(text("candidate_search MATCH :candidate_phrase")))
    else:
        matches = select(Candidate.id).where(search_condition(False))
    if not limited:
        return select(func.count()).select_from(matches.subquery())
    limit = bindparam("count_limit", type_=Integer)
    count = select(func.count()).select_from(matches.limit(limit).subquery())
    if fts or dialect != "postgresql":
        return count
    pattern = bindparam("candidate_pattern", type_=String)
    names = select(Candidate.id).where(func.lower(Candidate.name).like(pattern, escape="\\")).limit(limit)
    names_count = select(func.count()).select_from(names.subquery()).scalar_subquery()
    return select(case((names_count >= limit, limit), else_=count.scalar_subquery()))


def count_candidates(*, limit: int) -> int:
    """How many candidates there are, or ``limit`` when there are at least that many."""
    return db.session.scalar(_COUNT_CANDIDATES, {"count_limit": limit})


_COUNT_CANDIDATES = select(func.count()).select_from(
    select(Candidate.id).limit(bindparam("count_limit", type_=Integer)).subquery())


def is_fts(q: str) -> bool:
    """Does the search for ``q`` go through SQLite's trigram table (three characters on)?"""
    return len(q) >= TRIGRAM and db.engine.dialect.name == "sqlite"


def _phrase(q: str) -> str:
    return '"' + q.replace('"', '""') + '"'  # a quoted phrase: a literal substring


TRIGRAM = 3


# --- the people search (the panel picker) -------------------------------------------------
# A large team has thousands of people who may sit on a panel: the application page offers
# the likely interviewers as checkboxes and finds anyone else by name or email.

PANEL_SUGGESTIONS = 12  # people offered as checkboxes, besides the application's own panels
PANEL_HISTORY = 200  # the position's latest interviews that say who usually interviews for it
PEOPLE_SEARCH_LIMIT = 20


def team_member(roles: Iterable[str]) -> ColumnElement[bool]:
    """Who may sit on a panel: active users of one of ``roles`` (those that give feedback)."""
    return and_(User.active.is_(True), User.role.in_([str(r) for r in roles]))


def person_label(name: str, role: str) -> str:
    return f"{name} ({role})"


def panel_suggestions(position_id: int, roles: Iterable[str], *, first: Iterable[Any] = (),
                      limit: int = PANEL_SUGGESTIONS) -> list[tuple[int, str]]:
    """The likely interviewers for a position, by name: the users in ``first`` who may sit
    on a panel (the application's panels so far, its hiring manager), then whoever
    interviewed most often for the position lately, up to ``limit`` people.

    One query, bounded by PANEL_HISTORY whatever the size of the team or of the position's
    history."""
    roles = [str(r) for r in roles]
    usual = db.session.execute(_panel_statement(tuple(roles), limit), {"position_id": position_id}).all()
    people: dict[int, str] = {}
    for user in first:
        if user is not None and user.active and user.role in roles:
            people[user.id] = person_label(user.name, user.role)
    for row in usual:
        if len(people) >= limit:
            break
        people.setdefault(row.id, person_label(row.name, row.role))
    return sorted(people.items(), key=lambda item: (item[1].casefold(), item[0]))


@cache
def _panel_statement(roles: tuple[str, ...], limit: int) -> Select:
    """Built once (building it and its cache key cost more than running it): who sat on
    the panels of the position's latest PANEL_HISTORY interviews, most often first."""
    recent = (
        select(Interview.id).join(Application, Application.id == Interview.application_id)
        .where(Application.position_id == bindparam("position_id"))
        .order_by(Interview.id.desc()).limit(PANEL_HISTORY).subquery()
    )
    return (
        select(User.id, User.name, User.role)
        .join(PanelMember, PanelMember.user_id == User.id)
        .where(PanelMember.interview_id.in_(select(recent.c.id)), team_member(roles))
        .group_by(User.id, User.name, User.role)
        .order_by(func.count().desc(), User.name, User.id)
        .limit(limit)
    )


def people_labelled(ids: Iterable[int]) -> list[tuple[int, str]]:
    """(id, label) of the users with ``ids`` (a form sent back keeps the people it found)."""
    rows = db.session.execute(select(User.id, User.name, User.role).where(User.id.in_(list(ids)))).all()
    return [(row.id, person_label(row.name, row.role)) for row in rows]


def search_people(q: str, roles: Iterable[str], *, limit: int = PEOPLE_SEARCH_LIMIT) -> list[dict[str, Any]]:
    """Active team members whose name or email contains ``q``: the panel picker's
    suggestions as one types."""
    rows = db.session.execute(
        select(User.id, User.name, User.email, User.role)
        .where(team_member(roles), contains(q, User.name, User.email))
        .order_by(User.name, User.id).limit(limit)
    ).all()
    return [{"id": r.id, "name": r.name, "email": r.email, "role": r.role,
             "label": person_label(r.name, r.role)} for r in rows]


def _first_name(name: str) -> str:
    return (name.split() or [""])[0].casefold()


def people_named(text_: str | None, roles: Iterable[str]) -> tuple[list[int], list[str]]:
    """The ids of the people typed as email addresses, full names, or a first name that
    only one active team member has, separated by commas, semicolons or lines; and, for
    anything that is not exactly one active team member, a message that says what to type
    instead."""
    wanted = [part.strip() for part in re.split(r"[,;\n]", text_ or "") if part.strip()]
    if not wanted:
        return [], []
    keys = {part.casefold() for part in wanted}
    first_names = [func.lower(User.name).like(like_pattern(key)[1:-1] + " %", escape="\\")
                   for key in keys if " " not in key and "@" not in key]
    rows = db.session.execute(
        select(User.id, User.name, User.email)
        .where(team_member(roles),
               or_(func.lower(User.email).in_(keys), func.lower(User.name).in_(keys), *first_names))
    ).all()
    ids: list[int] = []
    problems: list[str] = []
    for part in wanted:
        key = part.casefold()
        matches = [r for r in rows if r.email.casefold() == key] or [r for r in rows if r.name.casefold() == key]
        by_first_name = not matches
        if by_first_name:
            matches = [r for r in rows if _first_name(r.name) == key]
        if not matches:
            problems.append(f"Nobody on the active team is called or has the email “{part}”.")
        elif len(matches) > 1 and by_first_name:
            names = ", ".join(sorted(r.name for r in matches)[:5])
            problems.append(f"{len(matches)} people have the first name “{part}” ({names}): type the full name "
                            "or the email address instead.")
        elif len(matches) > 1:
            problems.append(f"{len(matches)} people are called “{part}”: type the email address instead.")
        else:
            ids.append(matches[0].id)
    return ids, problems
