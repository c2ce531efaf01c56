"""Who may see what: read-only questions the views and the API ask before showing data."""

from __future__ import annotations

from sqlalchemy import select

from .. import pipeline
from ..extensions import db
from ..models import (
    Application,
    Feedback,
    Interview,
    PanelMember,
    User,
)
from ..pipeline import (
    Action,
)


def can_view_application(user: User, application: Application) -> bool:
    if user.can(Action.VIEW_ALL):
        return True
    return db.session.scalar(
        select(PanelMember.user_id)
        .join(Interview, Interview.id == PanelMember.interview_id)
        .where(Interview.application_id == application.id, PanelMember.user_id == user.id)
        .limit(1)
    ) is not None


def feedback_visible(user: User, interview: Interview) -> bool:
    """Whether ``user`` may read the feedback on ``interview`` (pipeline.may_see_feedback)."""
    return pipeline.may_see_feedback(user.role, on_panel=user.id in interview.panel_user_ids,
                                     gave_own=interview.feedback_by(user.id) is not None)


def visible_feedback(user: User, interview: Interview) -> list[Feedback]:
    """The feedback on ``interview`` that ``user`` may read: all of it, or none."""
    return list(interview.feedback) if feedback_visible(user, interview) else []


def visible_verdict(user: User, application: Application) -> str | None:
    """The application's verdict, for ``user``: it sums up the feedback on its latest held
    interview, so only whoever may read that feedback sees it (as on the application page,
    where an interviewer sees the verdict of their own round, after giving their feedback)."""
    if application.verdict is None:
        return None
    held = [i for i in application.interviews if i.held_at is not None and i.cancelled_at is None]
    if not held:
        return application.verdict if user.can(Action.VIEW_ALL) else None
    latest = max(held, key=lambda i: (i.held_at, i.id))
    return application.verdict if feedback_visible(user, latest) else None
