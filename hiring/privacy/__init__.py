"""Data protection (GDPR): retention, erasure on request, access export, talent-pool consent.

The verbs here follow the services' pattern (load, check, change, audit, commit). What
"anonymised" means, in one place (``_anonymise``): the candidate row keeps its id, dates
and language but loses name, email, phone, tags and consent; every free text about them
(applications' extension reasons, interviews' locations and links, feedback notes,
decision rationales, contact summaries, references, document names) is blanked; document
files are deleted from disk; their emails lose recipient, subject, body and attachments;
their audit events keep only the keys in ``AUDIT_KEEP`` (stages, outcomes, dates, ids)
and get ``redacted_at``. Rows, counts and dates stay, so reports keep counting them.

The audit log is append-only by database trigger. The one change it allows is the
redaction above, and only while an ``AuditRedaction`` row exists — which ``_redaction``
inserts at the start of this module's transaction and deletes before its commit.

Emails still queued for the candidate when they are erased (the withdrawal confirmation
an erasure sends for an open application) are sent first: they keep their content until
the outbox relay has handled them, and ``redact_sent_emails`` — run by the outbox job
right after each relay run, and by the retention job — blanks them then.

Where things are:
- ``common``    consent sources, what the audit log keeps, small lookups
- ``anonymise`` anonymisation, the retention job's steps, erasure on request
- ``export``    the access export (ZIP)
- ``consent``   talent-pool consent, the withdrawal link, renewals, tags, invitations
"""

from __future__ import annotations

from .anonymise import (
    due_for_retention,
    erase_candidate,
    redact_sent_emails,
    remove_orphan_uploads,
    run_retention,
)
from .common import (
    AUDIT_KEEP,
    CONSENT_SOURCES,
    MAX_TAG_LENGTH,
    MAX_TAGS,
    ORPHAN_UPLOAD_AGE,
    RENEWAL_DAYS,
    WITHDRAWAL_SALT,
    add_months,
    anonymous_email,
    candidate_application_ids,
    consent_valid,
    find_candidate,
    require_role,
)
from .consent import (
    candidate_from_token,
    clean_tags,
    expire_consents,
    footer_context,
    give_consent,
    invite_to_apply,
    known_tags,
    send_consent_renewals,
    set_tags,
    talent_pool,
    talent_pool_query,
    withdraw_consent,
    withdrawal_max_age,
    withdrawal_token,
)
from .export import (
    STAGE_DE,
    SUMMARY,
    export_candidate,
    export_data,
)

__all__ = [
    "AUDIT_KEEP",
    "CONSENT_SOURCES",
    "MAX_TAGS",
    "MAX_TAG_LENGTH",
    "ORPHAN_UPLOAD_AGE",
    "RENEWAL_DAYS",
    "STAGE_DE",
    "SUMMARY",
    "WITHDRAWAL_SALT",
    "add_months",
    "anonymous_email",
    "candidate_application_ids",
    "candidate_from_token",
    "clean_tags",
    "consent_valid",
    "due_for_retention",
    "erase_candidate",
    "expire_consents",
    "export_candidate",
    "export_data",
    "find_candidate",
    "footer_context",
    "give_consent",
    "invite_to_apply",
    "known_tags",
    "redact_sent_emails",
    "remove_orphan_uploads",
    "require_role",
    "run_retention",
    "send_consent_renewals",
    "set_tags",
    "talent_pool",
    "talent_pool_query",
    "withdraw_consent",
    "withdrawal_max_age",
    "withdrawal_token",
]
