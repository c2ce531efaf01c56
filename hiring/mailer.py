"""The outbox relay: claims queued emails, sends them over one SMTP connection, retries.

Services only ever write OutboxEmail rows (in the transaction of the change that caused
them); this module is the only code that talks SMTP. Claiming is a short transaction of
its own (``FOR UPDATE SKIP LOCKED`` on PostgreSQL plus a compare-and-set lease on every
database), so two relays never send the same row; each row is marked sent right after
its own send, so a crash repeats at most the email in flight (see ``_Outcomes`` for the
cheap commits that make this fast, and what they give up).
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
from flask_mail import BadHeaderError, Connection, Message
from sqlalchemy import Row, select, update

from . import pipeline, validation
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


def message_id(email: OutboxEmail | Row) -> str:
    """Stable per outbox row, so a resend after a crash carries the same Message-ID."""
    digest = hashlib.sha256(email.idempotency_key.encode()).hexdigest()[:16]
    sender = parseaddr(current_app.config.get("MAIL_DEFAULT_SENDER") or "")[1]
    domain = sender.partition("@")[2] or urlsplit(current_app.config["BASE_URL"]).hostname or "localhost"
    return f"<outbox-{email.id}.{digest}@{domain}>"


# What makes one email unsendable whatever the server says: it fails alone, at once, with
# its error on the Emails page (anything else unexpected is retried like a 4xx).
UNSENDABLE = (validation.BadAddress, BadHeaderError, UnicodeError, ValueError, TypeError, KeyError)


def build_message(email: OutboxEmail | Row) -> Message:
    """The email as Flask-Mail sends it. The subject is made one line (text stored before
    control characters were refused must not break a header); the recipient goes in its
    ASCII form, and an address SMTP cannot carry raises BadAddress."""
    message = Message(
        subject=validation.one_line(email.subject or ""),
        recipients=[validation.smtp_address(email.recipient)],
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
    max_attempts = get_policy().email_max_attempts
    counts["failed"] += give_up_abandoned(now, max_attempts)
    relay = _Relay(now, max_attempts, counts)
    try:
        for _ in range(MAX_BATCHES):
            ids = claim(now, BATCH_SIZE)
            if not ids or not relay.send_batch(ids):
                break
    finally:
        relay.close()
        db.session.expire_all()  # the outcomes were written on the relay's own connection
    return counts


def give_up_abandoned(now: datetime, max_attempts: int) -> int:
    """Fail the due rows that already had every attempt: a relay that stopped while sending
    them (a crash, a kill) left them queued under a lease that has run out. Without this a
    message that kills the relay every time would be claimed, and counted, for ever."""
    query = select(OutboxEmail).where(OutboxEmail.status == "queued", OutboxEmail.next_attempt_at <= now,
                                      OutboxEmail.attempts >= max_attempts)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    with _transaction():
        abandoned = db.session.scalars(query).all()
        for email in abandoned:
            email.status = "failed"
            email.next_attempt_at = None
            reason = f"gave up after {email.attempts} attempts: the relay stopped while sending it"
            email.last_error = f"{reason} (last error: {email.last_error})" if email.last_error else reason
            log.warning("outbox email %s failed: %s", email.id, email.last_error)
    return len(abandoned)


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


class _Outcomes:
    """The relay's own database connection, on which it records what happened to each email.

    Each email is recorded in its own small transaction right after its SMTP reply, so a
    relay that crashes repeats at most the one email in flight (after the lease, with the
    same Message-ID, so a duplicate can be recognised downstream). What makes this cheap
    enough for 100+ emails a second is the commit: on this connection only, a commit does
    not wait for the disk — PostgreSQL ``synchronous_commit = off``, SQLite (WAL)
    ``synchronous = NORMAL``. The trade-off, accepted here: if the *database server or the
    machine* crashes (not the relay), the last fraction of a second of "sent" marks can be
    lost; those rows are still claimed under their lease and are sent once more when it
    runs out. No email is lost and the database stays consistent (both settings are
    crash-safe, they only give up durability of the latest commits). Claims, and every
    other write of the application, keep fully durable commits.
    """

    def __init__(self) -> None:
        # Autocommit: each record is one UPDATE of one row, its own transaction, one round trip
        # (no BEGIN and COMMIT around it). SQLAlchemy restores the isolation level when the
        # connection goes back to the pool; the commit setting is restored by close().
        self.connection = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        self.dialect = self.connection.dialect.name
        self._restore: str | None = None
        if self.dialect == "postgresql":
            self.connection.exec_driver_sql("SET synchronous_commit = off")
            self._restore = "RESET synchronous_commit"
        elif self.dialect == "sqlite":
            previous = self.connection.exec_driver_sql("PRAGMA synchronous").scalar()
            self.connection.exec_driver_sql("PRAGMA synchronous = NORMAL")
            self._restore = f"PRAGMA synchronous = {int(previous)}"

    def record(self, email_id: int, **values: object) -> None:
        self.connection.execute(update(OutboxEmail.__table__).where(OutboxEmail.id == email_id).values(**values))

    def close(self) -> None:
        try:
            if self._restore:
                self.connection.exec_driver_sql(self._restore)
        except Exception:
            # The pooled connection must not keep the cheap commits for other work.
            self.connection.invalidate()
            raise
        finally:
            self.connection.close()


_LOADED = (OutboxEmail.id, OutboxEmail.idempotency_key, OutboxEmail.recipient, OutboxEmail.to_candidate,
           OutboxEmail.subject, OutboxEmail.body_text, OutboxEmail.body_html, OutboxEmail.attachments,
           OutboxEmail.attempts)


class _Relay:
    """One run of the relay: one SMTP connection for every batch, reopened only after a loss."""

    def __init__(self, now: datetime, max_attempts: int, counts: dict[str, int]) -> None:
        self.now = now
        self.max_attempts = max_attempts
        self.counts = counts
        self.smtp: _TimeoutConnection | None = None
        self.outcomes = _Outcomes()

    def close(self) -> None:
        try:
            if self.smtp is not None:
                self.smtp.__exit__(None, None, None)
                self.smtp = None
        finally:
            self.outcomes.close()

    def send_batch(self, ids: list[int]) -> bool:
        """Send the claimed ``ids``; False when the server cannot be reached (stop this run)."""
        emails = db.session.execute(select(*_LOADED).where(OutboxEmail.id.in_(ids)).order_by(OutboxEmail.id)).all()
        db.session.commit()  # no transaction stays open while we talk SMTP
        if self.smtp is None:
            try:
                self.smtp = _TimeoutConnection(current_app.extensions["mail"]).__enter__()
            except (smtplib.SMTPException, OSError) as exc:
                for email in emails:
                    self._give_back(email, f"cannot connect to the SMTP server: {_describe(exc)}")
                return False
        for index, email in enumerate(emails):
            try:
                message = build_message(email)
            except Exception as exc:  # noqa: BLE001 - one bad row must not stop the others
                self._unsendable(email, exc)
                continue
            try:
                self.smtp.send(message)
            except smtplib.SMTPRecipientsRefused as exc:
                code, reply = next(iter(exc.recipients.values()))
                self._answer(email, code, reply)
            except smtplib.SMTPResponseException as exc:
                self._answer(email, exc.smtp_code, exc.smtp_error)
            except (smtplib.SMTPException, OSError) as exc:
                # The connection is gone (SMTPServerDisconnected, timeout, reset): this email and
                # the rest of the batch go back to the queue; the next batch connects anew.
                for rest in emails[index:]:
                    self._give_back(rest, f"SMTP connection lost: {_describe(exc)}")
                self._drop_connection()
                return True
            except Exception as exc:  # noqa: BLE001 - recorded on this email, never the end of the run
                # Raised by Flask-Mail or smtplib about this one message (a bad header, an
                # address that cannot be encoded), possibly halfway through its SMTP
                # transaction: record it, reset the transaction, go on with the next one.
                if isinstance(exc, UNSENDABLE):
                    self._unsendable(email, exc)
                else:
                    log.exception("outbox email %s: unexpected error while sending", email.id)
                    self._give_back(email, f"unexpected error: {_describe(exc)}")
                if not self._reset():
                    for rest in emails[index + 1:]:
                        self._give_back(rest, f"SMTP connection lost: {_describe(exc)}")
                    return True
            else:
                # The real time, whatever clock the job was given.
                self.outcomes.record(email.id, status="sent", sent_at=utcnow(), last_error=None,
                                     next_attempt_at=None)
                self.counts["sent"] += 1
        return True

    def _drop_connection(self) -> None:
        if self.smtp is not None and self.smtp.host is not None:
            self.smtp.host.close()
            self.smtp.host = None
        self.smtp = None

    def _reset(self) -> bool:
        """End a half-done SMTP transaction (RSET); False when the connection is gone."""
        try:
            self.smtp.host.rset()
            return True
        except (smtplib.SMTPException, OSError, AttributeError):
            self._drop_connection()
            return False

    def _unsendable(self, email, exc: BaseException) -> None:
        error = f"cannot be sent: {exc if isinstance(exc, validation.BadAddress) else _describe(exc)}"
        self.outcomes.record(email.id, status="failed", last_error=error, next_attempt_at=None)
        self.counts["failed"] += 1
        log.warning("outbox email %s failed: %s", email.id, error)

    def _answer(self, email, code: int, reply: bytes | str) -> None:
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        error = f"SMTP {code} {text}".strip()
        if 500 <= code < 600:  # a permanent refusal: retrying cannot help
            self.outcomes.record(email.id, status="failed", last_error=error, next_attempt_at=None)
            self.counts["failed"] += 1
            log.warning("outbox email %s failed permanently: %s", email.id, error)
        else:
            self._give_back(email, error)

    def _give_back(self, email, error: str) -> None:
        if email.attempts >= self.max_attempts:
            self.outcomes.record(email.id, status="failed", next_attempt_at=None,
                                 last_error=f"{error} (gave up after {email.attempts} attempts)")
            self.counts["failed"] += 1
        else:
            self.outcomes.record(email.id, status="queued", last_error=error,
                                 next_attempt_at=self.now + backoff(email.attempts))
            self.counts["retry"] += 1


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def retry_email(email: OutboxEmail, *, actor: User | None, now: datetime | None = None) -> OutboxEmail:
    """Queue a failed or undelivered email again (the Emails page's retry button)."""
    if actor is not None:
        pipeline.require(actor.role, Action.VIEW_EMAILS)
    now = _now(now)
    if email.status not in RETRYABLE_STATUSES:
        raise Conflict("Only a failed or undelivered email can be sent again.")
    from .privacy import REDACTED_SUBJECT

    if email.subject == REDACTED_SUBJECT:
        raise Conflict("This email's content was removed for data protection: it cannot be sent again.")
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
