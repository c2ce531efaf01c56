"""The outbox relay: claims queued emails, sends them over one SMTP connection, retries.

Services only ever write OutboxEmail rows (in the transaction of the change that caused
them); this module is the only code that talks SMTP. Claiming is a short transaction of
its own (``FOR UPDATE SKIP LOCKED`` on PostgreSQL plus a compare-and-set lease on every
database), so two relays never send the same row; each row is marked sent right after
its own send, so a crash repeats at most the email in flight.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import time
from datetime import datetime, timedelta
from email.utils import parseaddr
from urllib.parse import urlsplit

from flask import current_app
from flask_mail import Connection, Message
from sqlalchemy import select, update

from . import pipeline
from .extensions import db
from .models import Application, OutboxEmail, User, utcnow
from .pipeline import Action
from .services import Conflict, _audit, _now, _transaction
from .settings import get_policy

log = logging.getLogger(__name__)

NO_SERVER = "not delivered: no SMTP server configured"
BATCH_SIZE = 50
MAX_BATCHES = 40  # per run; the relay runs every minute, so a backlog drains over several runs
LEASE = timedelta(minutes=10)  # a crashed relay's claimed rows come back after this
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=1)
RETRYABLE_STATUSES = ("failed", "not_delivered")


class _TimeoutConnection(Connection):
    """Flask-Mail's connection, with MAIL_TIMEOUT so a hung server cannot stall the relay."""

    def __enter__(self) -> _TimeoutConnection:
        # Always a real connection: MAIL_SUPPRESS_SEND (on under TESTING) would mark unsent mail sent.
        self.host = self.configure_host()
        self.num_emails = 0
        return self

    def configure_host(self) -> smtplib.SMTP:
        timeout = float(current_app.config.get("MAIL_TIMEOUT") or 10)
        mail = self.mail
        if mail.use_ssl:
            host: smtplib.SMTP = smtplib.SMTP_SSL(mail.server, mail.port, timeout=timeout)
        else:
            host = smtplib.SMTP(mail.server, mail.port, timeout=timeout)
        if mail.use_tls:
            host.starttls()
        if mail.username and mail.password:
            host.login(mail.username, mail.password)
        return host

    def __exit__(self, exc_type, exc_value, tb) -> None:
        if self.host is not None:
            try:
                self.host.quit()
            except (smtplib.SMTPException, OSError):
                self.host.close()  # the server already went away; nothing left to say


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, … minutes after each failed attempt, at most an hour."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)


def message_id(email: OutboxEmail) -> str:
    """Stable per outbox row, so a resend after a crash carries the same Message-ID."""
    digest = hashlib.sha256(email.idempotency_key.encode()).hexdigest()[:16]
    sender = parseaddr(current_app.config.get("MAIL_DEFAULT_SENDER") or "")[1]
    domain = sender.partition("@")[2] or urlsplit(current_app.config["BASE_URL"]).hostname or "localhost"
    return f"<outbox-{email.id}.{digest}@{domain}>"


def build_message(email: OutboxEmail) -> Message:
    message = Message(
        subject=email.subject,
        recipients=[email.recipient],
        body=email.body_text,
        html=email.body_html or None,
        sender=current_app.config.get("MAIL_DEFAULT_SENDER"),
        extra_headers=None if email.to_candidate else {"Auto-Submitted": "auto-generated"},
    )
    message.msgId = message_id(email)
    message.date = time.time()
    for attachment in email.attachments or []:
        message.attach(attachment["filename"], attachment["content_type"], attachment["data"].encode("utf-8"))
    return message


def relay_outbox(now: datetime) -> dict[str, int]:
    """Send what is due. Without MAIL_SERVER the emails stay visible as not delivered."""
    counts = {"sent": 0, "retry": 0, "failed": 0, "not_delivered": 0}
    if not current_app.config.get("MAIL_SERVER"):
        with _transaction():
            result = db.session.execute(
                update(OutboxEmail)
                .where(OutboxEmail.status == "queued", OutboxEmail.next_attempt_at <= now)
                .values(status="not_delivered", last_error=NO_SERVER),
                execution_options={"synchronize_session": False},
            )
        counts["not_delivered"] = result.rowcount or 0
        return counts
    for _ in range(MAX_BATCHES):
        ids = claim(now, BATCH_SIZE)
        if not ids:
            break
        _send_batch(ids, now, counts)
    return counts


def claim(now: datetime, limit: int) -> list[int]:
    """Take up to ``limit`` due rows for this relay: lease them and count the attempt."""
    query = (
        select(OutboxEmail.id)
        .where(OutboxEmail.status == "queued", OutboxEmail.next_attempt_at <= now)
        .order_by(OutboxEmail.next_attempt_at, OutboxEmail.id)
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    with _transaction():
        candidates = list(db.session.scalars(query))
        if not candidates:
            return []
        # Compare-and-set: only rows still due are taken (SQLite has no SKIP LOCKED).
        claimed = db.session.scalars(
            update(OutboxEmail)
            .where(OutboxEmail.id.in_(candidates), OutboxEmail.status == "queued",
                   OutboxEmail.next_attempt_at <= now)
            .values(next_attempt_at=now + LEASE, attempts=OutboxEmail.attempts + 1)
            .returning(OutboxEmail.id),
            execution_options={"synchronize_session": False},
        ).all()
    return sorted(claimed)


def _send_batch(ids: list[int], now: datetime, counts: dict[str, int]) -> None:
    emails = db.session.scalars(select(OutboxEmail).where(OutboxEmail.id.in_(ids)).order_by(OutboxEmail.id)).all()
    max_attempts = get_policy().email_max_attempts
    try:
        connection = _TimeoutConnection(current_app.extensions["mail"]).__enter__()
    except (smtplib.SMTPException, OSError) as exc:
        for email in emails:
            _give_back(email, f"cannot connect to the SMTP server: {_describe(exc)}", now, max_attempts, counts)
        return
    try:
        for index, email in enumerate(emails):
            try:
                connection.send(build_message(email))
            except smtplib.SMTPRecipientsRefused as exc:
                code, reply = next(iter(exc.recipients.values()))
                _answer(email, code, reply, now, max_attempts, counts)
            except smtplib.SMTPResponseException as exc:
                _answer(email, exc.smtp_code, exc.smtp_error, now, max_attempts, counts)
            except (smtplib.SMTPException, OSError) as exc:
                # The connection is gone (SMTPServerDisconnected, timeout, reset): this email and
                # the rest of the batch go back to the queue.
                for rest in emails[index:]:
                    _give_back(rest, f"SMTP connection lost: {_describe(exc)}", now, max_attempts, counts)
                connection.host.close()
                connection.host = None
                return
            else:
                with _transaction():
                    email.status = "sent"
                    email.sent_at = utcnow()  # the real time, whatever clock the job was given
                    email.last_error = None
                    email.next_attempt_at = None
                counts["sent"] += 1
    finally:
        connection.__exit__(None, None, None)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _answer(email: OutboxEmail, code: int, reply: bytes | str, now: datetime, max_attempts: int,
            counts: dict[str, int]) -> None:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    error = f"SMTP {code} {text}".strip()
    if 500 <= code < 600:
        with _transaction():  # a permanent refusal: retrying cannot help
            email.status = "failed"
            email.last_error = error
            email.next_attempt_at = None
        counts["failed"] += 1
        log.warning("outbox email %s failed permanently: %s", email.id, error)
    else:
        _give_back(email, error, now, max_attempts, counts)


def _give_back(email: OutboxEmail, error: str, now: datetime, max_attempts: int, counts: dict[str, int]) -> None:
    with _transaction():
        email.last_error = error
        if email.attempts >= max_attempts:
            email.status = "failed"
            email.next_attempt_at = None
            email.last_error = f"{error} (gave up after {email.attempts} attempts)"
            counts["failed"] += 1
        else:
            email.status = "queued"
            email.next_attempt_at = now + backoff(email.attempts)
            counts["retry"] += 1


def retry_email(email: OutboxEmail, *, actor: User | None, now: datetime | None = None) -> OutboxEmail:
    """Queue a failed or undelivered email again (the Emails page's retry button)."""
    if actor is not None:
        pipeline.require(actor.role, Action.VIEW_EMAILS)
    now = _now(now)
    if email.status not in RETRYABLE_STATUSES:
        raise Conflict("Only a failed or undelivered email can be sent again.")
    with _transaction():
        before = email.status
        email.status = "queued"
        email.attempts = 0
        email.next_attempt_at = now
        application = db.session.get(Application, email.application_id) if email.application_id else None
        _audit("email_retried", now, actor, application, email_id=email.id, status_before=before,
               last_error=email.last_error)
        email.last_error = None
    return email
