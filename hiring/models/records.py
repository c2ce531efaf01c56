"""What the system records and sends: the append-only audit log (guarded here and by a
database trigger), the email outbox, the scheduler's job runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    event,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column, relationship

from .. import pipeline
from ..extensions import db
from .accounts import User
from .types import UTCDateTime, one_of, utcnow


class AuditEvent(db.Model):
    """Append-only: what happened, who did it, when. Never updated or deleted."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_application_occurred", "application_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    kind: Mapped[str] = mapped_column(String(50))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set by hiring.privacy when the identifying parts of ``data`` were removed (the one
    # UPDATE the database triggers allow, and only while an AuditRedaction row exists).
    redacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    actor: Mapped[User | None] = relationship()


class AuditRedaction(db.Model):
    """The guard of the audit log's one permitted change. The triggers (migration
    a4c8e2d6f1b3) refuse every UPDATE of audit_event unless a row exists here, and then
    allow only one that sets ``redacted_at`` and changes nothing but ``data``. Only
    hiring.privacy inserts a row, inside its own transaction, and deletes it before the
    commit, so no other transaction ever sees one."""

    __tablename__ = "audit_redaction"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _audit_is_append_only(mapper: Any, connection: Any, target: AuditEvent) -> None:
    raise RuntimeError("the audit log is append-only")


@event.listens_for(Session, "do_orm_execute")
def _no_bulk_audit_changes(state: ORMExecuteState) -> None:
    """update(AuditEvent) / delete(AuditEvent) bypass the mapper events above."""
    if (state.is_update or state.is_delete) and any(m.class_ is AuditEvent for m in state.all_mappers):
        raise RuntimeError("the audit log is append-only")


@contextmanager
def audit_guard_lifted(connection: Connection) -> Iterator[None]:
    """Lift the database's append-only guard on the audit log (the triggers of migration
    c3a9e1f4d2b8) inside the transaction of ``connection``, for emptying a whole database
    on purpose: the demo undoing a half-load, the tests. The guard is back when the block
    ends, and a rollback restores it too (DDL is transactional on both databases)."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
        yield
        connection.execute(text("ALTER TABLE audit_event ENABLE TRIGGER USER"))
    elif dialect == "sqlite":
        # pysqlite opens a transaction only before DML, and DDL outside one commits at once:
        # a statement that touches nothing opens it, so the drops below roll back with it.
        connection.execute(text("DELETE FROM audit_event WHERE 0"))
        triggers = connection.execute(text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_event'")).all()
        for name, _ in triggers:
            connection.execute(text(f'DROP TRIGGER "{name}"'))
        yield
        for _, sql in triggers:
            connection.execute(text(sql))
    else:
        yield


class OutboxStatusCount(db.Model):
    """How many emails of the outbox have each status, kept by database triggers on
    outbox_email (migration e2b9c4d71f06): the Emails page shows the counts, and counting
    hundreds of thousands of emails per visit cost more than the rest of the page. Written
    by the triggers only; a status no email has may have no row or a row of 0."""

    __tablename__ = "outbox_status_count"

    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class StageCount(db.Model):
    """Open applications per position, owner (0 for none) and open stage, kept by database
    triggers on application (migration c5d8a3e1f9b2): the boards filtered by position or
    owner add up a few of these rows instead of counting the applications. Written by the
    triggers only; a row may hold 0."""

    __tablename__ = "stage_count"

    position_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(Integer, primary_key=True, index=True)
    stage: Mapped[str] = mapped_column(String(20), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class BoardStageCount(db.Model):
    """Open applications of open positions per open stage (the dashboard's and the whole
    board's column counts), kept by the triggers of migration c5d8a3e1f9b2 on application
    and on a position's status. Written by the triggers only; a stage may have no row."""

    __tablename__ = "board_stage_count"

    stage: Mapped[str] = mapped_column(String(20), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class StageTotal(db.Model):
    """Every application per stage, open or closed, kept by database triggers on
    application (migration 9a3e5c7b1d24): the API list's total without a filter, which
    counted a million rows per request. Written by the triggers only; a stage may have no
    row, or a row of 0."""

    __tablename__ = "stage_total"

    stage: Mapped[str] = mapped_column(String(20), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class TagCount(db.Model):
    """How many candidates carry each tag (not counting anonymised ones): the tags in use,
    which the talent pool and the candidate page suggest as one types. Kept by the triggers
    of migration 7c1e4b9d2f60 on candidate; a tag no one carries any more is deleted.
    Written by the triggers only."""

    __tablename__ = "tag_count"

    tag: Mapped[str] = mapped_column(String(40), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


# The subject of an email whose content was removed for data protection (hiring.privacy
# blanks it; such an email is never sent again).
REDACTED_SUBJECT = "(removed: data protection)"


class OutboxEmail(db.Model):
    """An email queued in the same transaction as the change that caused it."""

    __tablename__ = "outbox_email"
    __table_args__ = (
        one_of("status", pipeline.OutboxStatus),
        Index("ix_outbox_email_status_next_attempt", "status", "next_attempt_at"),
        Index("ix_outbox_email_application", "application_id", "created_at"),
        # The Emails page, newest first: all, and by status.
        Index("ix_outbox_email_created_at", "created_at", "id"),
        Index("ix_outbox_email_status_created_at", "status", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"))
    template: Mapped[str] = mapped_column(String(50))
    recipient: Mapped[str] = mapped_column(String(254))
    recipient_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    to_candidate: Mapped[bool] = mapped_column(Boolean, default=False)
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text, default="")
    # [{"filename", "content_type", "data"}] — e.g. the interview's .ics
    attachments: Mapped[list] = mapped_column(JSON, default=list)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(20), default=pipeline.OutboxStatus.QUEUED.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class JobRun(db.Model):
    """When each scheduled job last ran to completion (for operators and the digest)."""

    __tablename__ = "job_run"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_now: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_result: Mapped[dict | None] = mapped_column(JSON)
