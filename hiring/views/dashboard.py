"""Dashboard "Needs attention" and the pipeline board.

Each page runs a fixed number of indexed, limited queries whatever the number of
applications: flags come from hiring.queries as SQL, related rows are eager-loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache, lru_cache
from typing import Any

from flask import Blueprint, abort, jsonify, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import Integer, and_, any_, bindparam, case, exists, func, or_, select, union, union_all
from sqlalchemy.orm import joinedload

from .. import queries, timefmt
from ..extensions import db
from ..models import (
    OPEN_STAGE_VALUES,
    STATE_COLUMNS,
    Application,
    BoardStageCount,
    Candidate,
    Feedback,
    Interview,
    PanelMember,
    Position,
    StageCount,
    User,
    application_state,
    utcnow,
)
from ..pipeline import OPEN_STAGES, Action, Flag, PositionStatus, Role, Stage
from ..pipeline import can as pipeline_can
from ..pipeline import flags as pipeline_flags
from ..queries import constant
from ..settings import get_policy
from ..web import DB_INT_MAX, Moment, badge_for, days_in_words, db_int, due_badge, moment, stage_badge
from . import application_url, application_url_prefix, filters, read_only, require_action

bp = Blueprint("dashboard", __name__)

ATTENTION_LIMIT = 50  # a list longer than this is a backlog; the board and filters take over
BOARD_COLUMN_LIMIT = 10  # cards per column; the header has the full count, "show all" the rest
COLUMN_PAGE_SIZE = 50  # one column's cards per page when shown all

REASON_LABELS = {
    "overdue": "Overdue",
    "due_soon": "Due soon",
    "feedback": "Awaiting my feedback",
    "decision": "Awaiting my decision",
    "approval": "Awaiting my offer decision",
    "expedite": "Competing offer",
    "schedule": "Schedule the first interview",
    "unrecorded": "Interview not recorded",
    "stalled": "Stalled: date moved automatically",
}
# What moves an application on, for items that are here only because of their date.
NEXT_STEP = {
    Stage.APPLIED.value: "Next: schedule the first interview or reject",
    Stage.FIRST_INTERVIEW.value: "Next: hold the first interview",
    Stage.FIRST_DECISION.value: "Next: debrief and decide on a second interview",
    Stage.SECOND_INTERVIEW.value: "Next: hold the second interview",
    Stage.FINAL_DECISION.value: "Next: the offer decision with management",
    Stage.OFFER.value: "Next: record the candidate's answer to the offer",
}


# The same words as the items print them, escaped once per worker instead of per item.
_REASON_BADGES = {reason: f'<span class="badge badge-reason reason-{reason}">{escape(label)}</span> '
                  for reason, label in REASON_LABELS.items()}
_NEXT_STEP_LINES = {stage: f"<small>{escape(text)}</small> " for stage, text in NEXT_STEP.items()}


# What the dashboard shows and decides about an application, read as plain rows (loading
# fifty Application objects with their candidate and position, every column, was most of
# everyone's dashboard: 3 ms of 8 at 100k applications).
ATTENTION_COLUMNS = (
    Application.id, Application.owner_id, Application.promise_moves,
    *(getattr(Application, name) for name in STATE_COLUMNS),
    Candidate.name.label("candidate_name"), Position.title.label("position_title"), Position.hiring_manager_id,
)


@dataclass(frozen=True, slots=True)
class AttentionApplication:
    """One application of the dashboard (a row of ATTENTION_COLUMNS)."""

    id: int
    owner_id: int | None
    promise_moves: int
    stage: str
    due_at: datetime | None
    competing_offer_deadline: date | None
    verdict: str | None
    awaiting_feedback: bool
    promised_at: datetime | None
    overdue_since: datetime | None
    automatic_delays: int
    interview_ends_at: datetime | None
    candidate_name: str
    position_title: str
    hiring_manager_id: int | None

    @property
    def is_open(self) -> bool:
        return self.stage in OPEN_STAGE_VALUES

    def flags(self, now: datetime, policy) -> list[Flag]:
        return pipeline_flags(application_state(self), now, policy)


@dataclass
class AttentionItem:
    application: AttentionApplication
    reasons: list[str] = field(default_factory=list)
    interview_held_at: datetime | None = None  # of the interview awaiting my feedback

    @property
    def asks(self) -> list[str]:
        """What the user is asked to do (overdue and due soon are in the due badge already)."""
        return [reason for reason in self.reasons if reason not in ("overdue", "due_soon")]

    def __html__(self) -> str:
        """The item as the list prints it (fifty of them: a Jinja loop body per item cost
        more than reading them)."""
        a, m = self.application, moment()
        url, name = escape(application_url(a.id)), escape(a.candidate_name)
        badge = due_badge(a, m)
        asks = self.asks
        parts = [f'<li><div class="line"><a class="who" href="{url}">{name}</a> '
                 f'<span>{escape(a.position_title)}</span> {stage_badge(a.stage)} '
                 f'{badge.__html__() if badge else ""}</div><div class="line">']
        parts += [_REASON_BADGES[reason] for reason in asks]
        if not asks or asks == ["expedite"]:
            parts.append(_NEXT_STEP_LINES[a.stage])
        if self.interview_held_at:
            held = self.interview_held_at
            when = timefmt.date_time(held, m.policy, today=m.today)
            ago = timefmt.days_ago(held, m.now, m.policy, today=m.today)
            parts.append(f'<small class="muted">Interview held {escape(when)} ({escape(ago)})</small> ')
        parts.append(f'<a href="{url}" class="small">Open<span class="visually-hidden"> {name}\'s application</span>'
                     " →</a></div></li>")
        return "".join(parts)

    def sort_key(self) -> tuple:
        due = self.application.due_at
        return (0 if "overdue" in self.reasons else 1, due is None, due or datetime.max, self.application.id)


# The attention statement depends only on the user's role and on "everyone's": it is built
# once per worker for each, with the user and the moment as bind parameters (building it,
# with its flag conditions, cost more than running it).
USER_ID = bindparam("attention_user_id", type_=Integer)


def _my_decision_condition(role: str):
    """The applications whose next step is this user's decision."""
    if role == Role.MANAGER:
        return and_(Application.stage == constant(Stage.FINAL_DECISION.value),
                    Position.hiring_manager_id == USER_ID)
    if pipeline_can(role, Action.DECIDE):
        return and_(Application.owner_id == USER_ID,
                    Application.stage.in_(queries.constants([Stage.APPLIED.value, Stage.FIRST_DECISION.value])))
    return None


def _scope_condition(role: str, everyone: bool):
    """Whose deadlines count as "mine": those where I must act next (pipeline.responsible,
    in SQL) — a manager's are the offer decisions, not the recruiters' tasks before them."""
    if everyone and pipeline_can(role, Action.VIEW_ALL):
        return None
    if not (pipeline_can(role, Action.MANAGE_APPLICATIONS) or pipeline_can(role, Action.DECIDE_OFFER)):
        return False
    return queries.responsible_user_id() == USER_ID


def _stalled_condition(role: str):
    """Stalled applications go to the position's hiring manager and every admin."""
    stalled = queries.flag_condition(Flag.STALLED, queries.FLAG_BINDS)
    if role == Role.ADMIN:
        return stalled
    if role == Role.MANAGER:
        return and_(stalled, Position.hiring_manager_id == USER_ID)
    return None


@cache
def _attention_statement(role: str, everyone: bool, postgresql: bool = False):
    """My applications needing action (None: nothing can, for this role)."""
    scope = _scope_condition(role, everyone)
    wanted = []
    if scope is not False:
        urgent = or_(*(queries.flag_condition(flag, queries.FLAG_BINDS)
                       for flag in (Flag.OVERDUE, Flag.DUE_SOON, Flag.EXPEDITE, Flag.UNRECORDED)))
        wanted.append(urgent if scope is None else and_(scope, urgent))
    for condition in (_my_decision_condition(role), _stalled_condition(role)):
        if condition is not None:
            wanted.append(condition)
    if not wanted:
        return None
    where = [queries.is_open(), or_(*wanted)]
    if scope is None:
        return _everyones_statement(where, postgresql)
    # Implied by every condition above (the responsible person, my decision, a manager's
    # stalled) but an admin's stalled: the application is mine or in a position I own or
    # manage. Said explicitly, the database reads those applications through the owner and
    # position indexes (and an admin's stalled through the delayed ones) instead of
    # testing every open application's CASE.
    mine = select(Position.id).where(or_(Position.owner_id == USER_ID, Position.hiring_manager_id == USER_ID))
    if postgresql:
        # As "= ANY(ARRAY(...))" PostgreSQL reads those positions' rows through an index
        # (a BitmapOr with the owner's); as "IN (subquery)" it filtered every open
        # application's row (10 ms at 1M applications).
        in_mine = Application.position_id == any_(func.array(mine.scalar_subquery()))
    else:
        in_mine = Application.position_id.in_(mine)
    if role != Role.ADMIN:
        where.append(or_(Application.owner_id == USER_ID, in_mine))
    else:
        where.append(or_(Application.owner_id == USER_ID, in_mine, _stalled_condition(role)))
    return (
        select(*ATTENTION_COLUMNS)
        .join(Position, Position.id == Application.position_id)
        .join(Candidate, Candidate.id == Application.candidate_id)
        .where(*where)
        .order_by(Application.due_at.asc().nulls_last(), Application.id)
        .limit(ATTENTION_LIMIT)
    )


def _everyones_statement(where: list, postgresql: bool = False):
    """Everyone's applications needing action, read through indexes at any size.

    Every open application due by the end of the "due soon" window needs action (overdue,
    late since a delay, or due soon): the first ``ATTENTION_LIMIT`` of each stage in the
    (stage, due_at, id) index are read in order, and the page's first ``ATTENTION_LIMIT``
    are among them and among the applications needing action for another reason that are
    due later or undated, which sort after them all. So when there are at least that many
    due, those others cannot be on the page and are not looked for: the whole condition
    (``where``) is asked only when fewer are due (a constant test, done once; PostgreSQL's
    One-Time Filter). As one OR over the open applications both databases tested every open
    application's row (SQLite 300 ms, PostgreSQL 60 ms at 1M applications)."""
    due_by = and_(Application.due_at.is_not(None), Application.due_at <= queries.FLAG_BINDS.due_soon_until)
    # PostgreSQL: each head's stage written in, or it planned the statement at every visit at
    # 1M applications (3 ms of planning for 2 ms of work); SQLite plans each run anyway.
    heads = [select(select(Application.id, Application.due_at)
                    .where(Application.stage == (constant(stage) if postgresql else stage), due_by)
                    .order_by(Application.due_at, Application.id).limit(ATTENTION_LIMIT).subquery())
             for stage in OPEN_STAGE_VALUES]
    due = select(func.count()).select_from(
        select(Application.id).where(queries.is_open(), due_by).limit(ATTENTION_LIMIT).subquery())
    others = (select(Application.id, Application.due_at).join(Position, Position.id == Application.position_id)
              .where(due.scalar_subquery() < ATTENTION_LIMIT, *where))
    # The page's ids cut before the candidates and positions are joined (UNION, not ALL:
    # an application both due and needing action otherwise must count once).
    found = union(*heads, others).subquery()
    page = select(found.c.id).order_by(found.c.due_at.asc().nulls_last(), found.c.id).limit(ATTENTION_LIMIT)
    return (
        select(*ATTENTION_COLUMNS)
        .join(Position, Position.id == Application.position_id)
        .join(Candidate, Candidate.id == Application.candidate_id)
        .where(Application.id.in_(page))
        .order_by(Application.due_at.asc().nulls_last(), Application.id)
        .limit(ATTENTION_LIMIT)
    )


def attention_items(user: User, now: datetime, *, everyone: bool = False) -> list[AttentionItem]:
    """Two queries: my applications needing action, and interviews awaiting my feedback."""
    policy = get_policy()
    items: dict[int, AttentionItem] = {}
    # Read once: ``user`` is usually current_user, a proxy that looks the user up at every use.
    user_id, is_manager = user.id, user.role == Role.MANAGER

    stmt = _attention_statement(user.role, everyone, db.engine.dialect.name == "postgresql")
    if stmt is not None:
        params = {"attention_user_id": user_id, **queries.flag_bind_values(now, policy)}
        for row in db.session.execute(stmt, params):
            application = AttentionApplication(*row)
            item = items.setdefault(application.id, AttentionItem(application))
            flags = application.flags(now, policy)
            if Flag.OVERDUE in flags:
                item.reasons.append("overdue")
            elif Flag.DUE_SOON in flags:
                item.reasons.append("due_soon")
            if Flag.EXPEDITE in flags:
                item.reasons.append("expedite")
            if Flag.STALLED in flags:
                item.reasons.append("stalled")
            if Flag.UNRECORDED in flags:
                item.reasons.append("unrecorded")
            if application.stage == Stage.FINAL_DECISION.value and is_manager and (
                    application.hiring_manager_id == user_id):
                item.reasons.append("approval")
            elif application.stage == Stage.FIRST_DECISION.value and application.owner_id == user_id:
                item.reasons.append("decision")
            elif application.stage == Stage.APPLIED.value and application.owner_id == user_id:
                item.reasons.append("schedule")

    for held_at, *row in db.session.execute(_awaiting_feedback_statement(), {"feedback_user_id": user_id}):
        application = AttentionApplication(*row)
        item = items.setdefault(application.id, AttentionItem(application))
        item.reasons.insert(0, "feedback")
        item.interview_held_at = held_at
    return sorted(items.values(), key=AttentionItem.sort_key)


def _awaiting_feedback(stmt, user_id):
    """``stmt`` limited to the held interviews on open applications where the user sat on
    the panel and has not yet given feedback, oldest first."""
    mine = exists().where(Feedback.interview_id == Interview.id, Feedback.interviewer_id == user_id)
    return (
        stmt.join(PanelMember, and_(PanelMember.interview_id == Interview.id, PanelMember.user_id == user_id))
        .join(Application, Application.id == Interview.application_id)
        .where(Interview.held_at.is_not(None), Interview.cancelled_at.is_(None), ~mine, queries.is_open())
        .order_by(Interview.held_at, Interview.id)
    )


def awaiting_feedback_from(user: User):
    """The interviews awaiting ``user``'s feedback (My interviews lists them)."""
    return _awaiting_feedback(select(Interview), user.id).options(
        joinedload(Interview.application).joinedload(Application.candidate),
        joinedload(Interview.application).joinedload(Application.position))


# The user's id written into the statement's text when it runs (the statement itself is
# still built and compiled once). A statement without parameters keeps the plan PostgreSQL
# prepared for it; with the user as a parameter PostgreSQL planned this six-table join anew
# on every dashboard (1.5 ms, ten times its execution): the generic plan's estimate for "any
# user" came out a little dearer than each user's own, so it was never chosen.
FEEDBACK_USER_ID = bindparam("feedback_user_id", type_=Integer, literal_execute=True)


@cache
def _awaiting_feedback_statement():
    """The same, as the dashboard's rows: built once, the user's id written in as it runs."""
    stmt = select(Interview.held_at, *ATTENTION_COLUMNS).select_from(Interview)
    return (_awaiting_feedback(stmt, FEEDBACK_USER_ID)
            .join(Candidate, Candidate.id == Application.candidate_id)
            .join(Position, Position.id == Application.position_id)
            .limit(constant(ATTENTION_LIMIT)))


def _open_positions():
    return select(Position.id).where(Position.status == PositionStatus.OPEN.value)


# The board's statements depend only on which filters are set: each is built once, with
# the filter values as bind parameters (building these unions cost more than running them).
POSITION_ID = bindparam("position_id", type_=Integer)
OWNER_ID = bindparam("owner_id", type_=Integer)


@cache
def _stage_counts_statement(by_position: bool, by_owner: bool):
    """The counts kept by the triggers of migration c5d8a3e1f9b2: the six rows of
    board_stage_count without a filter, a few rows of stage_count with one."""
    if not (by_position or by_owner):
        return select(BoardStageCount.stage, BoardStageCount.count)
    stmt = (
        select(StageCount.stage, func.sum(StageCount.count))
        .where(StageCount.stage.in_(OPEN_STAGE_VALUES))
        .group_by(StageCount.stage)
    )
    # One position's board shows it even when closed; otherwise only open positions count.
    if by_position:
        stmt = stmt.where(StageCount.position_id == POSITION_ID)
    else:
        stmt = stmt.where(StageCount.position_id.in_(_open_positions()))
    if by_owner:
        stmt = stmt.where(StageCount.owner_id == OWNER_ID)
    return stmt


def stage_counts(position_id: int | None = None, owner_id: int | None = None) -> dict[str, int]:
    """Open applications per stage, on open positions (one small query over counts kept
    up to date, whatever the number of applications)."""
    stmt = _stage_counts_statement(bool(position_id), bool(owner_id))
    counts = dict.fromkeys(OPEN_STAGE_VALUES, 0)
    rows = db.session.connection().execute(stmt, _filter_params(position_id, owner_id))  # Core: plain rows
    counts.update({stage: int(n) for stage, n in rows if stage in counts})
    return counts


def _filter_params(position_id: int | None, owner_id: int | None) -> dict[str, int]:
    params = {}
    if position_id:
        params["position_id"] = position_id
    if owner_id:
        params["owner_id"] = owner_id
    return params

@bp.get("/")
@read_only
def index():
    now = utcnow()
    everyone = request.args.get("scope") == "all" and current_user.can(Action.VIEW_ALL)
    items = attention_items(current_user, now, everyone=everyone)
    counts = stage_counts() if current_user.can(Action.VIEW_ALL) else None
    return render_template("dashboard/index.html", items=items, counts=counts, now=now, everyone=everyone,
                           reason_labels=REASON_LABELS, next_step=NEXT_STEP, stages=OPEN_STAGES, policy=get_policy(),
                           limit=ATTENTION_LIMIT)


def _int_arg(name: str) -> int | None:
    return request.args.get(name, type=db_int)


@bp.get("/board")
@read_only
@require_action(Action.VIEW_ALL)
def board():
    return _board(_int_arg("position"))


@bp.get("/positions/<int:position_id>/board")
@read_only
@require_action(Action.VIEW_ALL)
def position_board(position_id: int):
    position = _position_row(position_id)
    if position is None:
        abort(404)
    return _board(position_id, position)


@cache
def _position_statement():
    return select(Position.id, Position.title).where(Position.id == POSITION_ID)


def _position_row(position_id: int):
    """What the board shows of its position (the title) as a plain row: an ORM object with
    every column, through the session's identity map, cost more than the rest of the
    position board's statements."""
    connection = db.session.connection()
    rows = _compiled(_position_statement(), connection.dialect).run(connection, {"position_id": position_id})
    return rows[0] if rows else None


def _scoped(stmt, by_position: bool, by_owner: bool, sqlite: bool = False):
    """Only one position's applications, or those of open positions; only one owner's.

    Not IN: walking the (stage, due_at) index in order, the database then stops after the
    first few open positions' rows instead of sorting the whole stage. PostgreSQL joins.
    SQLite gets the position's status as a correlated subquery: with a join it builds a
    Bloom filter of the positions before reading the first application, for each column
    (0.8 ms a column at 1M applications, 20,000 positions) to then read ten rows."""
    open_ = constant(PositionStatus.OPEN.value)
    if by_position:
        stmt = stmt.where(Application.position_id == POSITION_ID)
    elif sqlite:
        status = select(Position.status).where(Position.id == Application.position_id).scalar_subquery()
        stmt = stmt.where(status == open_)
    else:
        stmt = (stmt.join(Position, Position.id == Application.position_id)
                .where(Position.status == open_))
    if by_owner:
        stmt = stmt.where(Application.owner_id == OWNER_ID)
    return stmt


def _column_head(stage: Stage, sqlite: bool, by_position: bool, by_owner: bool, limit: int):
    """The first ``limit`` ids of one column, by urgency (due date, no date last, then id),
    read in the order of the (stage, due_at) index so that no database sorts the whole stage.

    PostgreSQL walks that index for NULLS LAST as it is. SQLite cannot (its NULLs sort
    first), so there dated and undated cards are read separately, each in index order,
    and the union of at most 2 × limit rows is ordered and cut."""
    in_stage, limit = Application.stage == constant(stage.value), constant(limit)  # constants: see queries.constant
    if not sqlite:
        return _scoped(select(Application.id).where(in_stage)
                       .order_by(Application.due_at.asc().nulls_last(), Application.id).limit(limit),
                       by_position, by_owner)
    dated = _scoped(select(Application.id, Application.due_at)
                    .where(in_stage, Application.due_at.is_not(None))
                    .order_by(Application.due_at, Application.id).limit(limit), by_position, by_owner, sqlite)
    undated = _scoped(select(Application.id, Application.due_at)
                      .where(in_stage, Application.due_at.is_(None))
                      .order_by(Application.id).limit(limit), by_position, by_owner, sqlite)
    both = union_all(select(dated.subquery()), select(undated.subquery())).subquery()
    return select(both.c.id).order_by(both.c.due_at.is_(None), both.c.due_at, both.c.id).limit(limit)


# --- the board's filters: typed, with suggestions (hiring.views.filters) --------------------


@bp.get("/board/suggest/positions")
@read_only
@require_action(Action.VIEW_ALL)
def suggest_positions():
    """Open positions whose title contains ``q``: the position filters' suggestions."""
    q = request.args.get("q", "").strip()
    rows = filters.matching_positions(q) if len(q) >= 2 else []
    return jsonify(filters.suggestions(rows, lambda r: r.title, lambda r: r.department or ""))


@bp.get("/board/suggest/owners")
@read_only
@require_action(Action.VIEW_ALL)
def suggest_owners():
    """Recruiters and admins whose name or email contains ``q``: the owner filters' suggestions."""
    q = request.args.get("q", "").strip()
    rows = filters.matching_owners(q) if len(q) >= 2 else []
    return jsonify(filters.suggestions(rows, lambda r: r.name, lambda r: r.email))


class CardPrinter:
    """A board's cards as HTML, one column at a time (a board prints sixty cards: built as
    Card objects, each escaped and joined by Jinja, they cost a third of the page).

    What repeats across cards is worked out once per request: the application URLs'
    prefix, each position title escaped, each due badge printed (from the database's
    values as read, converted only for a badge not printed yet), each day count."""

    def __init__(self, m: Moment, show_position: bool, as_datetime: Callable[[Any], datetime | None]):
        self.m = m
        self.tz = m.policy.tz
        self.show_position = show_position
        self.as_datetime = as_datetime  # a timestamp as the database driver returns it -> aware UTC
        self.url_prefix = str(escape(application_url_prefix()))
        self.titles: dict[str, str] = {}  # a position's title -> "<p>title</p>" (a few positions fill a board)
        self.in_stage: dict[date | None, str] = {}  # local date the stage began -> "<p>… in stage</p>"
        self.badges: dict[tuple, str] = {}  # the due badge's values as read -> "<p>badge</p>"
        self.interview_days: dict[tuple, tuple[str, str]] = {}  # (local day, to come) -> its words

    def card(self, id_: int, name: str, title: str, entered: Any, due: Any, overdue_since: Any, promised_at: Any,
             promise_moves: int, interview_at: datetime | None) -> str:
        """One card, as the board has always printed it (see board.html)."""
        if self.show_position:
            position = self.titles.get(title)
            if position is None:
                position = self.titles[title] = f"<p>{escape(title)}</p>"
        else:
            position = ""
        entered = self.as_datetime(entered)
        day = entered.astimezone(self.tz).date() if entered is not None else None
        in_stage = self.in_stage.get(day)
        if in_stage is None:
            since = "" if day is None else days_in_words((self.m.today - day).days)
            in_stage = self.in_stage[day] = f'<p class="muted">{escape(since)} in stage</p>'
        interview = "" if interview_at is None else self._interview(self.as_datetime(interview_at))
        key = (due, overdue_since, promised_at, promise_moves)
        badge = self.badges.get(key)
        if badge is None:
            as_datetime = self.as_datetime
            badge = badge_for(as_datetime(due), overdue_since=as_datetime(overdue_since),
                              promised_at=as_datetime(promised_at), promise_moves=promise_moves, m=self.m)
            badge = self.badges[key] = f"<p>{badge.__html__()}</p>"
        return (f'<li class="card"><a href="{self.url_prefix}{int(id_)}">{escape(name)}</a>'
                f"{position}{in_stage}{interview}{badge}</li>")

    def _interview(self, at: datetime) -> str:
        m = self.m
        local = at.astimezone(self.tz)  # once for the date and the time
        day = local.date()
        # The words depend only on the day and on whether it is still to come.
        key = (day, at >= m.now)
        words = self.interview_days.get(key)
        if words is None:
            relative = timefmt.interview_relative(at, m.now, m.policy, today=m.today)
            words = self.interview_days[key] = (timefmt.short_date(day, m.policy), relative)
        return f"<p>{escape(f'Interview {words[0]} {timefmt.hh_mm(local)} · {words[1]}')}</p>"


def _board_link(position_id: int | None, owner_id: int | None, **extra: Any) -> str:
    """This board (a position's own board stays one) with the given filters, column, page."""
    if request.endpoint == "dashboard.position_board":
        return url_for("dashboard.position_board", position_id=position_id, owner=owner_id, **extra)
    return url_for("dashboard.board", position=position_id, owner=owner_id, **extra)


def _column_links(board_url: str) -> Callable[..., str]:
    """``_board_link`` for this board's columns and pages (the template asks for six or
    more): the board's URL built once, the column and page added as url_for adds them, in
    the order given. Their values are stage names and page numbers: nothing to quote."""
    separator = "&" if "?" in board_url else "?"

    def link(**extra: str | int) -> str:
        if not extra:
            return board_url
        return board_url + separator + "&".join(f"{name}={value}" for name, value in extra.items())

    return link


@cache
def _cards_statement(sqlite: bool, one_column: bool, by_position: bool, by_owner: bool):
    """What the cards show, as plain rows (the board is read, not edited, and ORM objects
    for every card cost more than the page's queries): the first N of each column, one
    limited query per stage glued with UNION ALL; or, for "Show all", one column a page
    at a time."""
    if one_column:
        card_ids = _scoped(
            select(Application.id).where(Application.stage == bindparam("stage"))
            .order_by(Application.due_at.asc().nulls_last(), Application.id)
            .limit(COLUMN_PAGE_SIZE).offset(bindparam("offset", type_=Integer)), by_position, by_owner).subquery()
    else:
        card_ids = union_all(*(
            select(_column_head(stage, sqlite, by_position, by_owner, BOARD_COLUMN_LIMIT).subquery())
            for stage in OPEN_STAGES)).subquery()
    # The next interview of a card waiting for one: the last scheduled (by id) neither held
    # nor cancelled (a second statement per page cost more than these twenty index look-ups).
    # "Neither" as one COALESCE, which no index answers: with "held_at IS NULL" SQLite read
    # every unheld interview through ix_interview_held_at when its statistics say a held_at
    # value is rare (data with interview histories: 2.4 ms at 100k applications, the board
    # at 10x the floor) instead of this application's few through ix_interview_application_id
    # (0.18 ms).
    next_interview = (
        select(Interview.scheduled_at)
        .where(Interview.application_id == Application.id,
               func.coalesce(Interview.held_at, Interview.cancelled_at).is_(None))
        .order_by(Interview.id.desc()).limit(constant(1))
        .correlate(Application).scalar_subquery()
    )
    waiting = Application.stage.in_(queries.constants([Stage.FIRST_INTERVIEW.value, Stage.SECOND_INTERVIEW.value]))
    return (
        select(Application.id, Application.stage, Application.stage_entered_at, Application.due_at,
               Application.overdue_since, Application.promised_at, Application.promise_moves,
               Candidate.name, Position.title, case((waiting, next_interview)).label("next_interview"))
        .join(Candidate, Candidate.id == Application.candidate_id)
        .join(Position, Position.id == Application.position_id)
        .where(Application.id.in_(select(card_ids.c.id)))
        .order_by(Application.due_at.asc().nulls_last(), Application.id)
    )


@dataclass(frozen=True)
class CompiledStatement:
    """A statement built once, compiled once per database, run as its SQL text: its rows
    come back as the driver returns them, without SQLAlchemy's statement cache look-up,
    parameter processing and result processing (the board's cards: 0.2 ms of 0.35 ms per
    run at 100k applications on SQLite, most of it converting timestamps that only key a
    cache). Only for parameters the driver takes as they are (integers, words)."""

    sql: str
    compiled: Any

    def run(self, connection, values: dict[str, Any]) -> list:
        params = self.compiled.construct_params(values)  # with the defaults of its other parameters
        if self.compiled.positional:
            params = tuple(params[name] for name in self.compiled.positiontup)
        return connection.exec_driver_sql(self.sql, params).all()


@lru_cache(maxsize=64)
def _compiled(stmt, dialect) -> CompiledStatement:
    compiled = stmt.compile(dialect=dialect)
    if compiled.post_compile_params:  # an expanding IN is written at each execution: not for this
        raise ValueError("a statement run as compiled text cannot have expanding parameters")
    return CompiledStatement(compiled.string, compiled)


@lru_cache(maxsize=8)
def _timestamp_reader(dialect) -> Callable[[Any], datetime | None]:
    """A timestamp as the driver returns it (SQLite: text; PostgreSQL: datetime) -> an aware
    UTC datetime, exactly as the application's timestamp columns (UTCDateTime) read it."""
    column_type = Application.__table__.c.due_at.type
    return column_type.dialect_impl(dialect).result_processor(dialect, None)


def _board(position_id: int | None, position=None):
    """``position``: its row (``_position_row``) already read, not read a second time."""
    now = utcnow()
    owner_id = _int_arg("owner")
    problems: list[filters.FilterProblem] = []
    position_q = request.args.get("position_q", "").strip()
    if position_q and not position_id and request.endpoint == "dashboard.board":
        row, choices = filters.resolve(position_q, filters.matching_positions(position_q), filters.position_names)
        position_id = row.id if row is not None else None
        if row is None:
            problems.append(filters.filter_problem(
                "open position", position_q, choices, filters.position_label, lambda r: _board_link(r.id, owner_id),
                otherwise="the board shows everyone's"))
    owner_q = request.args.get("owner_q", "").strip()
    if owner_q and not owner_id:
        row, choices = filters.resolve(owner_q, filters.matching_owners(owner_q), filters.owner_names)
        owner_id = row.id if row is not None else None
        if row is None:
            problems.append(filters.filter_problem(
                "owner", owner_q, choices, filters.owner_label, lambda r: _board_link(position_id, r.id),
                otherwise="the board shows everyone's"))
    column = next((stage for stage in OPEN_STAGES if stage.value == request.args.get("stage")), None)
    page = max(_int_arg("page") or 1, 1)
    if (page - 1) * COLUMN_PAGE_SIZE > DB_INT_MAX:
        abort(404)  # no column has that many cards, and PostgreSQL's integer OFFSET would overflow
    params = _filter_params(position_id, owner_id)
    if column is not None:
        params.update(stage=column.value, offset=(page - 1) * COLUMN_PAGE_SIZE)
    stmt = _cards_statement(db.engine.dialect.name == "sqlite", column is not None, bool(position_id), bool(owner_id))
    # Core, not the ORM session's execute: these are plain rows, and the ORM's layer around
    # each execution cost more than reading sixty rows.
    connection = db.session.connection()
    rows = _compiled(stmt, connection.dialect).run(connection, params)
    counts = stage_counts(position_id, owner_id)
    if position is None and position_id:
        position = _position_row(position_id)
    printer = CardPrinter(moment(), position is None, _timestamp_reader(connection.dialect))
    cards: dict[str, list[str]] = {stage.value: [] for stage in OPEN_STAGES}
    for id_, stage, entered, due, overdue_since, promised_at, promise_moves, name, title, interview in rows:
        cards[stage].append(printer.card(id_, name, title, entered, due, overdue_since, promised_at, promise_moves,
                                         interview))
    # Each column's cards joined once, printed as they are (no escaping per card in Jinja).
    columns = {stage: Markup("".join(html)) for stage, html in cards.items()}
    shown = {stage: len(html) for stage, html in cards.items()}
    owner = db.session.get(User, owner_id) if owner_id else None
    pages = -(-counts[column.value] // COLUMN_PAGE_SIZE) if column else 1
    return render_template("dashboard/board.html", columns=columns, shown=shown, counts=counts, stages=OPEN_STAGES,
                           now=now, position=position, owner=owner, owner_id=owner_id, problems=problems,
                           position_q=position_q, owner_q=owner_q,
                           column=column, page=page, pages=max(pages, 1),
                           board_link=_column_links(_board_link(position_id, owner_id)),
                           policy=get_policy(), column_limit=BOARD_COLUMN_LIMIT)
