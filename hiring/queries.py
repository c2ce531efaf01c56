"""Read-side queries shared by the UI, the API, the jobs and the benchmark.

The flags are computed in SQL with the same rules as hiring.pipeline.flags, so a list
filtered by flag costs one indexed query, whatever the number of applications.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, false, or_, true

from .models import OPEN_STAGE_VALUES, Application
from .pipeline import Flag, Policy, Stage, Verdict, due_soon_threshold

CLEAR_VERDICTS = (Verdict.CLEAR_HIRE.value, Verdict.CLEAR_NO.value)


def is_open() -> ColumnElement[bool]:
    return Application.stage.in_(OPEN_STAGE_VALUES)


def flag_condition(flag: Flag | str, now: datetime, policy: Policy) -> ColumnElement[bool]:
    """SQL for "this application carries ``flag`` at ``now``" (mirrors pipeline.flags)."""
    flag = Flag(flag)
    if flag == Flag.OVERDUE:
        return and_(is_open(), Application.due_at.is_not(None), Application.due_at < now)
    if flag == Flag.DUE_SOON:
        return and_(is_open(), Application.due_at >= now, Application.due_at <= due_soon_threshold(now, policy))
    if flag == Flag.EXPEDITE:
        return and_(is_open(), Application.competing_offer_deadline.is_not(None))
    if flag == Flag.NEEDS_DISCUSSION:
        return and_(
            Application.stage == Stage.FINAL_DECISION.value,
            or_(Application.verdict.is_(None), Application.verdict.not_in(CLEAR_VERDICTS)),
        )
    if flag == Flag.AWAITING_FEEDBACK:
        return and_(is_open(), Application.awaiting_feedback.is_(true()))
    return false()
