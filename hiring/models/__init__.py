"""Typed SQLAlchemy models. State changes go through hiring.services, never here.

Where things are:
- ``types``    UTC timestamps, CHECK constraints from pipeline's enums
- ``accounts`` users, sessions, tokens, recovery codes, login throttle, settings
- ``process``  positions, candidates, applications, interviews, feedback, decisions, promises,
               contacts, references, documents
- ``records``  the append-only audit log and its guard, the outbox, job runs
- ``reports``  the reports' daily rollup (derived; rebuilt by a job)
"""

from __future__ import annotations

from .accounts import (
    ApiToken,
    LoginThrottle,
    RecoveryCode,
    Setting,
    User,
    UserSession,
)
from .process import (
    HAS_COMPETING_OFFER,
    HAS_PROMISE,
    LATE_UNANNOUNCED,
    STATE_COLUMNS,
    UNANNOUNCED,
    UNRECORDED_UNANNOUNCED,
    Application,
    Candidate,
    CandidateContact,
    Decision,
    Document,
    Feedback,
    Interview,
    PanelMember,
    Position,
    Promise,
    Reference,
    application_state,
)
from .records import (
    REDACTED_SUBJECT,
    AuditEvent,
    AuditRedaction,
    BoardStageCount,
    JobRun,
    OutboxEmail,
    OutboxStatusCount,
    StageCount,
    StageTotal,
    TagCount,
    audit_guard_lifted,
)
from .reports import (
    Level,
    Measure,
    PromiseStatus,
    ReportApplicationDay,
    ReportDurationDay,
    ReportPromiseDay,
    ReportRollup,
)
from .types import (
    OPEN_STAGE_VALUES,
    UTC,
    UTCDateTime,
    one_of,
    utcnow,
)

__all__ = [
    "REDACTED_SUBJECT",
    "STATE_COLUMNS",
    "application_state",
    "ApiToken",
    "Application",
    "AuditEvent",
    "AuditRedaction",
    "Candidate",
    "CandidateContact",
    "Decision",
    "Document",
    "Feedback",
    "HAS_COMPETING_OFFER",
    "HAS_PROMISE",
    "Interview",
    "JobRun",
    "LATE_UNANNOUNCED",
    "Level",
    "LoginThrottle",
    "Measure",
    "OPEN_STAGE_VALUES",
    "OutboxEmail",
    "OutboxStatusCount",
    "StageCount",
    "StageTotal",
    "TagCount",
    "BoardStageCount",
    "PanelMember",
    "Position",
    "Promise",
    "PromiseStatus",
    "RecoveryCode",
    "Reference",
    "ReportApplicationDay",
    "ReportDurationDay",
    "ReportPromiseDay",
    "ReportRollup",
    "Setting",
    "UNANNOUNCED",
    "UNRECORDED_UNANNOUNCED",
    "UTC",
    "UTCDateTime",
    "User",
    "UserSession",
    "audit_guard_lifted",
    "one_of",
    "utcnow",
]
