"""My interviews: what is coming up for me, and where my feedback is still missing."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import and_, func, select
from sqlalchemy.orm import joinedload

from .. import queries
from ..extensions import db
from ..models import Application, Interview, PanelMember, utcnow
from ..pipeline import Action
from . import require_action
from .dashboard import ATTENTION_LIMIT, awaiting_feedback_from

bp = Blueprint("interviews", __name__, url_prefix="/interviews")


@bp.get("/mine")
@require_action(Action.SUBMIT_FEEDBACK)
def mine():
    now = utcnow()
    upcoming = db.session.scalars(
        select(Interview)
        .join(PanelMember, and_(PanelMember.interview_id == Interview.id, PanelMember.user_id == current_user.id))
        .join(Application, Application.id == Interview.application_id)
        # Neither held nor cancelled, as one condition no index serves: SQLite's statistics
        # take "held_at IS NULL" for one row, and it walked every unheld interview (8,078 at
        # 1M applications, 3.3 ms) to find the user's few panels, not the user's panels first.
        .where(func.coalesce(Interview.held_at, Interview.cancelled_at).is_(None), queries.is_open())
        .options(joinedload(Interview.application).joinedload(Application.candidate),
                 joinedload(Interview.application).joinedload(Application.position),
                 joinedload(Interview.panel).joinedload(PanelMember.user))
        .order_by(Interview.scheduled_at, Interview.id)
        .limit(ATTENTION_LIMIT)
    ).unique().all()
    awaiting = db.session.scalars(awaiting_feedback_from(current_user).limit(ATTENTION_LIMIT)).unique().all()
    # An interview whose time has passed but that nobody marked as held yet is not "upcoming".
    not_marked = [i for i in upcoming if i.scheduled_at + timedelta(minutes=i.duration_minutes) < now]
    upcoming = [i for i in upcoming if i not in not_marked]
    return render_template("interviews/mine.html", upcoming=upcoming, awaiting=awaiting, not_marked=not_marked,
                           now=now)
