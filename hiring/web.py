"""Web plumbing shared by every blueprint: login loading, template filters, health."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask import Flask, abort, g, has_request_context, jsonify, request
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.routing import IntegerConverter

from . import timefmt, validation
from .extensions import db, login_manager
from .models import utcnow
from .pipeline import Policy, due_soon_threshold, local_date
from .settings import get_policy


@dataclass(frozen=True)
class Moment:
    """"Now" in the company's terms: the time, the policy, today's date in the company's
    zone and the end of the due-soon window."""

    now: datetime
    policy: Policy
    today: date
    due_soon_until: datetime

    @classmethod
    def at(cls, now: datetime, policy: Policy) -> Moment:
        return cls(now, policy, local_date(now, policy), due_soon_threshold(now, policy))


def moment() -> Moment:
    """This request's moment, worked out once (a board formats hundreds of dates with it).
    Outside a request (a job rendering emails) it is worked out afresh each time."""
    if not has_request_context():
        return Moment.at(utcnow(), get_policy())
    current = g.get("hiring_moment")
    if current is None or current.policy is not get_policy():
        current = g.hiring_moment = Moment.at(utcnow(), get_policy())
    return current


@dataclass(frozen=True)
class Badge:
    kind: str  # the CSS modifier: overdue, due-soon, on-track, none
    text: str
    title: str = ""


def due_badge(application) -> Badge | None:
    """The due badge of an open application: the colour helps, the words carry the meaning."""
    if not application.is_open:
        return None
    return badge_for(application.due_at, overdue_since=application.overdue_since,
                     promised_at=application.promised_at, promise_moves=application.promise_moves or 0)


def badge_for(due: datetime | None, *, overdue_since: datetime | None = None, promised_at: datetime | None = None,
              promise_moves: int = 0) -> Badge:
    """The due badge of an open application: the team's deadline and, beside it, the date
    the candidate holds (two facts: a delay notice moves the candidate's date, it does not
    make a late team punctual)."""
    if due is None:
        return Badge("none", "No answer date")
    m = moment()
    told = ""
    if promised_at is not None:
        moved = f", moved {promise_moves}×" if promise_moves else ""
        told = f" · candidate told {timefmt.short_date(promised_at.astimezone(m.policy.tz).date(), m.policy)}{moved}"
    if overdue_since is not None:  # late since a deadline before the current one
        relative = timefmt.relative_days(overdue_since, m.now, m.policy, today=m.today)
        return Badge("overdue", f"⚠ Overdue · {relative}{told}", "The team missed its deadline; "
                     "the candidate was told a later date automatically.")
    local = due.astimezone(m.policy.tz)  # once: a board formats dozens of these
    short = timefmt.short_date(local.date(), m.policy)
    relative = timefmt.relative_days(due, m.now, m.policy, today=m.today)
    label = f"{short} · {relative}"
    title = f"Team deadline {short} {local:%H:%M}"  # as timefmt.date_time writes it
    if "overdue" in relative:
        return Badge("overdue", f"⚠ Overdue · {label}{told}", title)
    if m.now <= due <= m.due_soon_until:
        return Badge("due-soon", f"Due soon · {label}{told}", title)
    return Badge("on-track", f"Due {label}{told}", title)


def days_since(value: datetime | None) -> str:
    """Whole days from ``value`` to today in the company zone ("3 days in stage",
    "less than a day in stage")."""
    if value is None:
        return ""
    m = moment()
    days = (m.today - local_date(value, m.policy)).days
    return "less than a day" if days <= 0 else ("1 day" if days == 1 else f"{days} days")


_FLUSHED = "hiring_flushed"  # session.info: this transaction has written something


@event.listens_for(Session, "after_flush")
def _note_flush(session, flush_context) -> None:
    session.info[_FLUSHED] = True


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_flush(session) -> None:
    session.info.pop(_FLUSHED, None)


# Ids are PostgreSQL integer columns; no row has a larger one. A larger number reaching
# the database fails there (SQLite cannot even bind past 2**63) and became a 500.
DB_INT_MAX = validation.DB_INT_MAX


def db_int(value: str) -> int:
    """A whole number from a query string (an id, a page) the database can compare, as
    ``type=`` of ``request.args.get``: text that is no number falls back to the default; a
    number no row (or page) can have is a 404, like ``<int:…>`` in the path."""
    number = int(value)
    if not 0 <= number <= DB_INT_MAX:
        abort(404)
    return number


class IdConverter(IntegerConverter):
    """``<int:…>`` in every URL: a number longer than any id is no page (404), not a 500."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", DB_INT_MAX)
        super().__init__(map, *args, **kwargs)


def has_nul(values) -> bool:
    return any("\x00" in value for value in values)


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = IdConverter  # before any blueprint adds its rules

    from . import security

    # The user of a session that still counts (server-side sessions, hiring.security).
    login_manager.user_loader(security.load_user)

    @app.after_request
    def end_read_only_transaction(response):
        """A page that only read ends its transaction with COMMIT, not the ROLLBACK of the
        session's teardown: psycopg forgets its prepared statements at every ROLLBACK, so
        PostgreSQL planned each page's queries anew on every request (a few ms each under
        load). Only when nothing in the session changed: a page never saves by accident."""
        session = db.session()
        if (request.method in ("GET", "HEAD") and response.status_code < 400 and session.in_transaction()
                and not (session.new or session.dirty or session.deleted or session.info.get(_FLUSHED))):
            session.commit()
        return response

    @app.get("/healthz")
    def healthz():
        """A trivial route: liveness for operators, and the benchmark's floor."""
        return jsonify(status="ok")

    app.add_template_global(due_badge, "due_badge_of")

    @app.template_filter("short_date")
    def short_date(value):
        return timefmt.short_date(value, get_policy())

    @app.template_filter("date_time")
    def date_time(value):
        return timefmt.date_time(value, get_policy())

    @app.template_filter("due_label")
    def due_label(value):
        m = moment()
        return timefmt.due_label(value, m.now, m.policy, today=m.today)

    @app.template_filter("interview_relative")
    def interview_relative(value):
        m = moment()
        return timefmt.interview_relative(value, m.now, m.policy, today=m.today)

    @app.template_filter("is_past")
    def is_past(value):
        return value is not None and value < moment().now

    @app.template_filter("relative_days")
    def relative_days(value):
        m = moment()
        return timefmt.relative_days(value, m.now, m.policy, today=m.today)
