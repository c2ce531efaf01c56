"""The hiring process rules, in pure Python.

Stages, the transitions between them, who may make each one, when an answer is
due, the clear-recommendation rule and the flags. No Flask, no SQLAlchemy, and no
clock: every function that needs the time takes ``now`` (an aware datetime).

One module per concern; every public name is re-exported here, so callers write
``from hiring import pipeline; pipeline.X``:
- ``errors``     what the rules refuse (DomainError and its kinds)
- ``stages``     the vocabulary: stages, transitions, roles, recommendations, verdicts, flags
- ``access``     who may do what
- ``decisions``  which transition a decision makes, who takes it, the clear-recommendation rule
- ``actions``    which actions a user may take now (the application page's forms)
- ``policy``     the process settings and the working-day calendar
- ``deadlines``  reported times, due dates, extensions, competing offers
- ``promise``    the date told to the candidate
- ``flags``      overdue, due soon, stalled …
- ``walk``       the steps to a stage, their times, the deadline job's memory (demo, factories, generator)
- ``vocabulary`` the small vocabularies (languages, statuses, contact kinds) with their labels
"""

from __future__ import annotations

import enum  # noqa: F401  (pipeline.enum.Enum: the services' audit data turns enums into values)
from datetime import UTC
from zoneinfo import ZoneInfo  # noqa: F401  (pipeline.ZoneInfo, as before the split)

from . import walk  # pipeline.walk: the demo, factories and generator walk the process
from .access import ACTION_TEXT, PERMISSIONS, Action, can, may_see_feedback, require
from .actions import Available, InterviewFacts, Step, available_actions
from .deadlines import (
    HORIZON,
    add_days,
    base_due_at,
    base_due_on,
    check_competing_offer,
    check_extension,
    check_held_time,
    check_reported_time,
    competing_offer_active,
    days_overdue,
    due_soon_threshold,
    end_of_day,
    local_date,
)
from .decisions import (
    check_offer_decision,
    check_panel_decision,
    check_rejection,
    decision_event,
    may_decide_offer,
    offer_decider,
    panel_verdict,
    require_decision,
)
from .errors import DomainError, IllegalTransition, InvalidInput, NotAllowed, StaleVersion, require_aware
from .flags import ApplicationState, flags, is_overdue, is_stalled, late_since, unrecorded_after, urgency_key
from .policy import Policy, is_business_day, policy_errors
from .promise import (
    PromiseOutcome,
    answer_date,
    competing_offer_cap,
    competing_offer_promise,
    delay_notice_at,
    delay_notice_date,
    delay_notice_threshold,
    hold_by_date,
    needs_delay_notice,
    promise_date,
    promise_outcome,
    responsible,
    team_due_at,
    working_days_before,
)
from .stages import (
    CLOSED_STAGES,
    OPEN_STAGES,
    PROGRESS,
    STAGE_LABELS,
    TRANSITIONS,
    VERDICT_LABELS,
    Event,
    Flag,
    Recommendation,
    Role,
    Stage,
    Verdict,
    allowed_events,
    another_preferred,
    next_stage,
    path_to,
    rejected_after,
)
from .vocabulary import (
    ContactChannel,
    ContactKind,
    Language,
    OutboxStatus,
    PositionStatus,
    ReferenceStatus,
    Source,
    Vocabulary,
)

__all__ = [
    "path_to",
    "VERDICT_LABELS",
    "ContactChannel", "ContactKind", "Language", "OutboxStatus", "PositionStatus", "ReferenceStatus", "Source",
    "Vocabulary",
    "ACTION_TEXT", "Action", "ApplicationState", "Available", "CLOSED_STAGES", "DomainError", "Event", "Flag",
    "HORIZON", "IllegalTransition", "InterviewFacts", "InvalidInput", "NotAllowed", "OPEN_STAGES", "PERMISSIONS",
    "PROGRESS", "Policy", "PromiseOutcome", "Recommendation", "Role", "STAGE_LABELS", "Stage", "StaleVersion", "Step",
    "TRANSITIONS", "UTC", "Verdict", "add_days", "allowed_events", "another_preferred", "answer_date",
    "available_actions", "base_due_at", "base_due_on", "can", "check_competing_offer", "check_extension",
    "check_held_time", "check_offer_decision", "check_panel_decision", "check_rejection", "check_reported_time",
    "competing_offer_active", "competing_offer_cap", "competing_offer_promise", "days_overdue",
    "decision_event", "delay_notice_at", "delay_notice_date", "delay_notice_threshold", "due_soon_threshold",
    "end_of_day", "flags", "hold_by_date", "is_business_day", "is_overdue", "is_stalled",
    "late_since", "local_date", "may_decide_offer", "may_see_feedback", "needs_delay_notice", "next_stage",
    "offer_decider", "panel_verdict", "policy_errors", "promise_date", "promise_outcome", "rejected_after", "require",
    "require_aware", "require_decision", "responsible", "team_due_at", "unrecorded_after", "urgency_key",
    "walk", "working_days_before",
]
