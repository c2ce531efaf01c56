"""What the page lists under the application, read in one statement: its audit events,
emails, candidate contacts, documents and references.

Five small statements (a handful of rows each) cost five round trips and five times the
ORM's per-statement overhead, more than their rows; one UNION ALL of plain rows reads the
same rows in the same order. Each branch fills the columns it has (the others are NULL);
the first branch gives the columns their types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import JSON, Integer, Text, bindparam, cast, literal, null, select, type_coerce, union_all
from sqlalchemy.orm import aliased

from ...extensions import db
from ...models import AuditEvent, CandidateContact, Document, OutboxEmail, Reference, User, UTCDateTime
from .timeline import HIDDEN_KINDS

EVENT, EMAIL, CONTACT, DOCUMENT, REFERENCE = range(5)


class DocumentRow(NamedTuple):
    id: int
    filename: str
    size_bytes: int
    uploaded_at: datetime


class ReferenceRow(NamedTuple):
    id: int
    name: str
    contact: str
    status: str
    notes: str


@dataclass
class History:
    events: list[tuple[str, Any, datetime, str | None]] = field(default_factory=list)  # kind, data, at, actor
    emails: list[tuple[int, str, str, str, datetime, datetime | None]] = field(default_factory=list)
    contacts: list[tuple[str, str, str, datetime, str | None]] = field(default_factory=list)
    documents: list[tuple[DocumentRow, str | None]] = field(default_factory=list)  # newest first, uploader
    references: list[ReferenceRow] = field(default_factory=list)


def _text(value: Any = None):
    # Typed NULLs: PostgreSQL resolves a UNION's column types pairwise, and two untyped
    # NULLs would make a text column that the next branch's integer cannot join.
    return cast(null(), Text()) if value is None else type_coerce(value, Text())


@cache
def _statement(with_emails: bool):
    """Columns: source, at, id, a, b, c, d, data, at2, n (see ``read``)."""
    application_id = bindparam("application_id")
    actor, recorder, uploader = aliased(User), aliased(User), aliased(User)
    no_time, no_data, no_number = cast(null(), UTCDateTime()), cast(null(), JSON()), cast(null(), Integer())
    branches = [
        select(literal(EVENT, Integer()).label("source"), AuditEvent.occurred_at.label("at"),
               AuditEvent.id.label("id"), _text(AuditEvent.kind).label("a"), _text(actor.name).label("b"),
               _text().label("c"), _text().label("d"), AuditEvent.data.label("data"), no_time.label("at2"),
               no_number.label("n"))
        .outerjoin(actor, actor.id == AuditEvent.actor_id)
        .where(AuditEvent.application_id == application_id, AuditEvent.kind.not_in(sorted(HIDDEN_KINDS))),
    ]
    if with_emails:
        branches.append(
            select(literal(EMAIL, Integer()), OutboxEmail.created_at, OutboxEmail.id, _text(OutboxEmail.recipient),
                   _text(OutboxEmail.subject), _text(OutboxEmail.status), _text(), no_data, OutboxEmail.sent_at,
                   no_number)
            .where(OutboxEmail.application_id == application_id))
    branches += [
        select(literal(CONTACT, Integer()), CandidateContact.occurred_at, CandidateContact.id,
               _text(CandidateContact.kind), _text(CandidateContact.channel), _text(CandidateContact.summary),
               _text(recorder.name), no_data, no_time, no_number)
        .outerjoin(recorder, recorder.id == CandidateContact.recorded_by_id)
        .where(CandidateContact.application_id == application_id),
        select(literal(DOCUMENT, Integer()), Document.uploaded_at, Document.id, _text(Document.filename), _text(),
               _text(), _text(uploader.name), no_data, no_time, Document.size_bytes)
        .outerjoin(uploader, uploader.id == Document.uploaded_by_id)
        .where(Document.application_id == application_id),
        select(literal(REFERENCE, Integer()), no_time, Reference.id, _text(Reference.name),
               _text(Reference.contact), _text(Reference.status), _text(Reference.notes), no_data, no_time,
               no_number)
        .where(Reference.application_id == application_id),
    ]
    everything = union_all(*branches).subquery()
    # Each kind in recording order (time, then id); the documents are reversed in read().
    return select(everything).order_by(everything.c.source, everything.c.at, everything.c.id)


def read(application_id: int, *, with_emails: bool) -> History:
    history = History()
    for source, at, id_, a, b, c, d, data, at2, n in db.session.execute(_statement(with_emails),
                                                                        {"application_id": application_id}):
        if source == EVENT:
            history.events.append((a, data, at, b))
        elif source == EMAIL:
            history.emails.append((id_, a, b, c, at, at2))
        elif source == CONTACT:
            history.contacts.append((a, b, c, at, d))
        elif source == DOCUMENT:
            history.documents.append((DocumentRow(id_, a, n, at), d))
        else:
            history.references.append(ReferenceRow(id_, a, b, c, d))
    history.documents.reverse()  # newest first (uploaded_at, id descending)
    return history
