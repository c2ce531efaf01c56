"""Dashboard "Needs attention" and the pipeline board.

Each page runs a fixed number of indexed, limited queries whatever the number of
applications: flags come from hiring.queries as SQL, related rows are eager-loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import Blueprint, render_template, request
from flask_login import current_user
from sqlalchemy import and_, exists, func, or_, select, union_all
from sqlalchemy.orm import joinedload

from .. import queries
from ..extensions import db
from ..models import OPEN_STAGE_VALUES, Application, Feedback, Interview, PanelMember, Position, User, utcnow
from ..pipeline import OPEN_STAGES, Action, Flag, Role, Stage
from ..settings import get_policy
from . import require_action

bp = Blueprint("dashboard", __name__)

ATTENTION_LIMIT = 50  # a list longer than this is a backlog; the board and filters take over
BOARD_COLUMN_LIMIT = 25  # cards per column; the column header carries the full count

REASON_LABELS = {
    "overdue": "Overdue",
    "due_soon": "Due soon",
    "feedback": "Awaiting my feedback",
    "decision": "Awaiting my decision",
    "approval": "Awaiting my offer decision",
    "expedite": "Competing offer",
    "schedule": "Schedule the first interview",
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


@dataclass
class AttentionItem:
    application: Application
    reasons: list[str] = field(default_factory=list)
    interview: Interview | None = None

    def sort_key(self) -> tuple:
        due = self.application.due_at
        return (0 if "overdue" in self.reasons else 1, due is None, due or datetime.max, self.application.id)


def _my_decision_condition(user: User):
    """The applications whose next step is this user's decision."""
    if user.role == Role.MANAGER:
        return and_(Application.stage == Stage.FINAL_DECISION.value,
                    Position.hiring_manager_id == user.id)
    if user.can(Action.DECIDE):
        return and_(Application.owner_id == user.id,
                    Application.stage.in_([Stage.APPLIED.value, Stage.FIRST_DECISION.value]))
    return None


def _scope_condition(user: User, everyone: bool):
    """Whose applications count as "mine" for deadlines."""
    if everyone and user.can(Action.VIEW_ALL):
        return None
    if user.role == Role.MANAGER:
        return Position.hiring_manager_id == user.id
    if user.can(Action.MANAGE_APPLICATIONS):
        return Application.owner_id == user.id
    return False


def attention_items(user: User, now: datetime, *, everyone: bool = False) -> list[AttentionItem]:
    """Two queries: my applications needing action, and interviews awaiting my feedback."""
    policy = get_policy()
    items: dict[int, AttentionItem] = {}

    scope = _scope_condition(user, everyone)
    if scope is not False:
        urgent = or_(queries.flag_condition(Flag.OVERDUE, now, policy),
                     queries.flag_condition(Flag.DUE_SOON, now, policy),
                     queries.flag_condition(Flag.EXPEDITE, now, policy))
        decision = _my_decision_condition(user)
        wanted = or_(urgent, decision) if decision is not None else urgent
        stmt = (
            select(Application)
            .join(Position, Position.id == Application.position_id)
            .where(queries.is_open(), wanted)
            .options(joinedload(Application.candidate), joinedload(Application.position))
            .order_by(Application.due_at.asc().nulls_last(), Application.id)
            .limit(ATTENTION_LIMIT)
        )
        if scope is not None:
            stmt = stmt.where(scope)
        for application in db.session.scalars(stmt).unique():
            item = items.setdefault(application.id, AttentionItem(application))
            flags = application.flags(now, policy)
            if Flag.OVERDUE in flags:
                item.reasons.append("overdue")
            elif Flag.DUE_SOON in flags:
                item.reasons.append("due_soon")
            if Flag.EXPEDITE in flags:
                item.reasons.append("expedite")
            if application.stage == Stage.FINAL_DECISION.value and user.role == Role.MANAGER and (
                    application.position.hiring_manager_id == user.id):
                item.reasons.append("approval")
            elif application.stage == Stage.FIRST_DECISION.value and application.owner_id == user.id:
                item.reasons.append("decision")
            elif application.stage == Stage.APPLIED.value and application.owner_id == user.id:
                item.reasons.append("schedule")

    for interview in db.session.scalars(_awaiting_my_feedback(user).limit(ATTENTION_LIMIT)).unique():
        item = items.setdefault(interview.application_id, AttentionItem(interview.application))
        item.reasons.insert(0, "feedback")
        item.interview = interview
    return sorted(items.values(), key=AttentionItem.sort_key)


def _awaiting_my_feedback(user: User):
    mine = exists().where(Feedback.interview_id == Interview.id, Feedback.interviewer_id == user.id)
    return (
        select(Interview)
        .join(PanelMember, and_(PanelMember.interview_id == Interview.id, PanelMember.user_id == user.id))
        .join(Application, Application.id == Interview.application_id)
        .where(Interview.held_at.is_not(None), Interview.cancelled_at.is_(None), ~mine, queries.is_open())
        .options(joinedload(Interview.application).joinedload(Application.candidate),
                 joinedload(Interview.application).joinedload(Application.position))
        .order_by(Interview.held_at, Interview.id)
    )


def stage_counts(position_id: int | None = None, owner_id: int | None = None) -> dict[str, int]:
    """Open applications per stage, on open positions (one grouped query)."""
    stmt = (
        select(Application.stage, func.count())
        .join(Position, Position.id == Application.position_id)
        .where(Application.stage.in_(OPEN_STAGE_VALUES))
        .group_by(Application.stage)
    )
    # One position's board shows it even when closed; otherwise only open positions count.
    if position_id:
        stmt = stmt.where(Application.position_id == position_id)
    else:
        stmt = stmt.where(Position.status == "open")
    if owner_id:
        stmt = stmt.where(Application.owner_id == owner_id)
    counts = dict.fromkeys(OPEN_STAGE_VALUES, 0)
    counts.update({stage: n for stage, n in db.session.execute(stmt)})
    return counts


@bp.get("/")
def index():
    now = utcnow()
    everyone = request.args.get("scope") == "all" and current_user.can(Action.VIEW_ALL)
    items = attention_items(current_user, now, everyone=everyone)
    counts = stage_counts() if current_user.can(Action.VIEW_ALL) else None
    return render_template("dashboard/index.html", items=items, counts=counts, now=now, everyone=everyone,
                           reason_labels=REASON_LABELS, next_step=NEXT_STEP, stages=OPEN_STAGES, policy=get_policy(),
                           limit=ATTENTION_LIMIT)


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() else None


@bp.get("/board")
@require_action(Action.VIEW_ALL)
def board():
    return _board(_int_arg("position"))


@bp.get("/positions/<int:position_id>/board")
@require_action(Action.VIEW_ALL)
def position_board(position_id: int):
    db.get_or_404(Position, position_id)
    return _board(position_id)


def _board(position_id: int | None):
    now = utcnow()
    owner_id = _int_arg("owner")
    # The first N of each column, by urgency: one limited query per stage, each walking the
    # (stage, due_at) index, glued into one statement with UNION ALL.
    parts = []
    for stage in OPEN_STAGES:
        part = (
            select(Application.id)
            .join(Position, Position.id == Application.position_id)
            .where(Application.stage == stage.value)
            .order_by(Application.due_at.asc().nulls_last(), Application.id)
            .limit(BOARD_COLUMN_LIMIT)
        )
        if position_id:
            part = part.where(Application.position_id == position_id)
        else:
            part = part.where(Position.status == "open")
        if owner_id:
            part = part.where(Application.owner_id == owner_id)
        sub = part.subquery()
        parts.append(select(sub.c.id))
    card_ids = union_all(*parts).subquery()
    cards = db.session.scalars(
        select(Application)
        .where(Application.id.in_(select(card_ids.c.id)))
        .options(joinedload(Application.candidate), joinedload(Application.position))
        .order_by(Application.due_at.asc().nulls_last(), Application.id)
    ).unique().all()
    columns: dict[str, list[Application]] = {stage.value: [] for stage in OPEN_STAGES}
    for application in cards:
        columns[application.stage].append(application)
    # The next interview of cards waiting for one: only those columns, only two columns read.
    waiting = [a.id for a in cards if a.stage in (Stage.FIRST_INTERVIEW.value, Stage.SECOND_INTERVIEW.value)]
    next_interview: dict[int, datetime] = {}
    for application_id, scheduled_at in db.session.execute(  # always run: a constant statement count
        select(Interview.application_id, Interview.scheduled_at)
        .where(Interview.application_id.in_(waiting), Interview.held_at.is_(None),
               Interview.cancelled_at.is_(None))
        .order_by(Interview.id)
    ):
        next_interview[application_id] = scheduled_at
    counts = stage_counts(position_id, owner_id)
    # The filters need names only: plain rows, not thousands of ORM objects.
    positions = db.session.execute(
        select(Position.id, Position.title).where(Position.status == "open").order_by(Position.title)).all()
    owners = db.session.execute(
        select(User.id, User.name).where(User.role.in_([Role.RECRUITER.value, Role.ADMIN.value]))
        .order_by(User.name)).all()
    position = db.session.get(Position, position_id) if position_id else None
    return render_template("dashboard/board.html", columns=columns, counts=counts, stages=OPEN_STAGES, now=now,
                           positions=positions, owners=owners, position=position, owner_id=owner_id,
                           next_interview=next_interview,
                           policy=get_policy(), column_limit=BOARD_COLUMN_LIMIT)
