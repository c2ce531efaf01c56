"""The verbs: the only code that changes state.

Each verb loads what it needs, asks the process rules (hiring.pipeline), changes the
rows, writes an audit event, queues its emails in the outbox, and commits — all in one
transaction (``core.transaction``). Views, the API, the CLI and the jobs are thin
adapters over these; a job step that changes state is a verb too.

Every verb takes ``now`` (default: the real clock) so that jobs and tests can move
time, and ``expected_version`` where two people may edit the same application.

One module per domain; this package re-exports every public verb, so callers write
``from hiring import services; services.decide(...)``. What the domain modules share
lives in ``core`` (public names: no module imports another's private ones).
"""

from __future__ import annotations

from .. import notifications as notify  # noqa: F401  (tests patch services.notify.*)
from ..models import utcnow  # noqa: F401  (services.utcnow(): the clock the verbs read)
from ..pipeline import DomainError, IllegalTransition, InvalidInput, NotAllowed, StaleVersion
from .access import can_view_application, feedback_visible, visible_feedback, visible_verdict
from .applications import (
    CONTACT_CHANNELS,
    CONTACT_KINDS,
    REFERENCE_STATUSES,
    add_reference,
    record_candidate_contact,
    submit_application,
    update_reference,
    withdraw,
)
from .core import (
    Conflict,
    NotFound,
    audit,
    audit_row,
    check_version,
    normalise_email,
    resolve_now,
    touch,
    transaction,
)
from .decisions import (
    decide,
    decide_offer,
    extend_deadline,
    record_offer_response,
    send_delay_notice,
    set_competing_offer,
    submit_feedback,
)
from .documents import DOCUMENT_TYPES, MAX_DOCUMENT_BYTES, add_document, document_path, sniff_document_type
from .emails import RETRYABLE_STATUSES, retry_email
from .interviews import (
    FEEDBACK_ROLES,
    cancel_interview,
    record_interview_held,
    reschedule_interview,
    schedule_interview,
)
from .notices import announce_flags, days_overdue, queue_digests, remind_feedback
from .positions import close_position, create_position, update_position
from .promises import keep_promise
from .users import (
    SESSION_METHODS,
    SESSION_RECORD_DAYS,
    create_api_token,
    create_user,
    disable_two_factor,
    enable_two_factor,
    end_sessions,
    hash_token,
    prune_sign_in_records,
    record_sso_refusal,
    regenerate_recovery_codes,
    reset_two_factor,
    revoke_api_token,
    start_session,
    update_policy,
    update_security_settings,
    update_user,
    verify_second_factor,
)

__all__ = [
    "CONTACT_CHANNELS", "CONTACT_KINDS", "DOCUMENT_TYPES", "FEEDBACK_ROLES", "MAX_DOCUMENT_BYTES",
    "REFERENCE_STATUSES", "RETRYABLE_STATUSES", "SESSION_METHODS", "SESSION_RECORD_DAYS",
    "Conflict", "DomainError", "IllegalTransition", "InvalidInput", "NotAllowed", "NotFound", "StaleVersion",
    "add_document", "add_reference", "announce_flags", "audit", "audit_row", "can_view_application",
    "cancel_interview", "check_version", "close_position", "create_api_token", "create_position", "create_user",
    "days_overdue", "decide", "decide_offer", "disable_two_factor", "document_path", "enable_two_factor",
    "end_sessions", "extend_deadline", "feedback_visible", "hash_token", "keep_promise", "normalise_email",
    "prune_sign_in_records", "queue_digests", "record_candidate_contact", "record_interview_held",
    "record_offer_response", "record_sso_refusal", "regenerate_recovery_codes", "remind_feedback",
    "reschedule_interview", "reset_two_factor", "resolve_now", "retry_email", "revoke_api_token",
    "schedule_interview", "send_delay_notice", "set_competing_offer", "sniff_document_type", "start_session",
    "submit_application", "submit_feedback", "touch", "transaction", "update_policy", "update_position",
    "update_reference", "update_security_settings", "update_user", "verify_second_factor", "visible_feedback",
    "visible_verdict", "withdraw",
]
