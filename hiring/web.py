"""Web plumbing shared by every blueprint, in one place: the request hooks (login wall,
read-only commit, NUL refusal, security headers), the layout context, every template
filter, the error pages (domain errors by their ``http_status``) and the health check."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from flask import (
    Flask,
    abort,
    current_app,
    flash,
    g,
    has_request_context,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from markupsafe import Markup, escape
from sqlalchemy import event, select
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter
from werkzeug.security import safe_join

from . import pipeline, timefmt, validation
from .extensions import db, login_manager
from .models import User, utcnow
from .pipeline import Action, DomainError, Policy, Role, due_soon_threshold, local_date
from .settings import get_policy


@dataclass(frozen=True)
class Moment:
    """"Now" in the company's terms: the time, the policy, today's date in the company's
    zone and the end of the due-soon window."""

    now: datetime
    policy: Policy
    today: date
    due_soon_until: datetime
    # The due badges worked out at this moment, by what they say (deadlines are ends of
    # days: a board's sixty cards carry about a dozen different ones).
    badges: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    @classmethod
    def at(cls, now: datetime, policy: Policy) -> Moment:
        return cls(now, policy, local_date(now, policy), due_soon_threshold(now, policy))


def option_tags(rows, selected: int | None = None) -> Markup:
    """``<option>``s of (id, label) rows, as a Jinja loop writes them, built in Python: a
    select of every position (two thousand at 100k applications) was most of a page's time."""
    return Markup("".join(f'<option value="{id_}"{" selected" if id_ == selected else ""}>{escape(label)}</option>'
                          for id_, label in rows))


def moment() -> Moment:
    """This request's moment, worked out once (a board formats hundreds of dates with it).
    Outside a request (a job rendering emails) it is worked out afresh each time."""
    if not has_request_context():
        return Moment.at(utcnow(), get_policy())
    store = g._get_current_object()  # one look-up through the proxy: lists call this per row
    current = getattr(store, "hiring_moment", None)
    if current is None or current.policy is not getattr(store, "hiring_policy", None):
        current = store.hiring_moment = Moment.at(utcnow(), get_policy())
    return current


@dataclass(frozen=True)
class Badge:
    kind: str  # the CSS modifier: overdue, due-soon, on-track, none
    text: str
    title: str = ""

    def __html__(self) -> str:
        """The badge as the pages print it: built here, since boards and lists print dozens
        and a Jinja macro call per badge cost more than the rest of the row."""
        title = f' title="{escape(self.title)}"' if self.title else ""
        return f'<span class="badge badge-{self.kind}"{title}>{escape(self.text)}</span>'


@cache
def stage_badge(stage: str) -> Markup:
    """A stage's badge (six stages: each built once per worker)."""
    try:
        label = pipeline.Stage(stage).label
    except ValueError:
        label = stage
    return Markup(f'<span class="badge badge-stage stage-{escape(stage)}">{escape(label)}</span>')


def due_badge(application, m: Moment | None = None) -> Badge | None:
    """The due badge of an open application: the colour helps, the words carry the meaning."""
    if not application.is_open:
        return None
    return badge_for(application.due_at, overdue_since=application.overdue_since,
                     promised_at=application.promised_at, promise_moves=application.promise_moves or 0, m=m)


def badge_for(due: datetime | None, *, overdue_since: datetime | None = None, promised_at: datetime | None = None,
              promise_moves: int = 0, m: Moment | None = None) -> Badge:
    """The due badge of an open application: the team's deadline and, beside it, the date
    the candidate holds (two facts: a delay notice moves the candidate's date, it does not
    make a late team punctual)."""
    if due is None:
        return Badge("none", "No answer date")
    m = m or moment()
    key = (due, overdue_since, promised_at, promise_moves)
    badge = m.badges.get(key)
    if badge is None:
        badge = m.badges[key] = _badge(due, overdue_since, promised_at, promise_moves, m)
    return badge


def _badge(due: datetime, overdue_since: datetime | None, promised_at: datetime | None, promise_moves: int,
           m: Moment) -> Badge:
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
    title = f"Team deadline {short} {timefmt.hh_mm(local)}"  # as timefmt.date_time writes it
    if "overdue" in relative:
        return Badge("overdue", f"⚠ Overdue · {label}{told}", title)
    if m.now <= due <= m.due_soon_until:
        return Badge("due-soon", f"Due soon · {label}{told}", title)
    return Badge("on-track", f"Due {label}{told}", title)


def days_since(value: datetime | None, m: Moment | None = None) -> str:
    """Whole days from ``value`` to today in the company zone ("3 days in stage",
    "less than a day in stage")."""
    if value is None:
        return ""
    m = m or moment()
    return days_in_words((m.today - local_date(value, m.policy)).days)


def days_in_words(days: int) -> str:
    """A count of whole days as ``days_since`` writes it."""
    return "less than a day" if days <= 0 else ("1 day" if days == 1 else f"{days} days")


_FLUSHED = "hiring_flushed"  # session.info: this transaction has written something


@event.listens_for(Session, "after_flush")
def _note_flush(session, flush_context) -> None:
    session.info[_FLUSHED] = True


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_flush(session) -> None:
    session.info.pop(_FLUSHED, None)


_READ_ONLY = "hiring_read_only"  # session.info: a read_only page's request (its value: the autoflush to restore)


@event.listens_for(Session, "before_flush")
def _refuse_writes_of_read_only_pages(session, flush_context, instances) -> None:
    """Without a transaction each write would commit on its own: a page marked read_only
    that writes is a bug to find in the tests, not to run half-done."""
    if _READ_ONLY in session.info and (session.new or session.dirty or session.deleted):
        raise RuntimeError("a page marked read_only wrote through the session")


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


CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


# Blueprints with their own authentication (the token-based JSON API).
_SELF_AUTHENTICATING_BLUEPRINTS = {"api"}


def is_safe_next(target: str | None) -> bool:
    """Only a local path: no scheme, no host, no protocol-relative '//' or '/\\' tricks."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and not any(ord(c) < 32 for c in target)


def back_url(default: str = "dashboard.index") -> str:
    """Where to return after a refused POST: the page the form was on, if it is ours."""
    referrer = request.referrer or ""
    if referrer:
        parts = urlsplit(referrer)
        if parts.netloc == request.host and is_safe_next(parts.path or "/"):
            return parts.path + (f"?{parts.query}" if parts.query else "")
    return url_for(default)


def users_exist() -> bool:
    """Cached once true: the first admin can never be undone, so setup stays gone."""
    if current_app.extensions.get("hiring_users_exist"):
        return True
    exists = db.session.scalar(select(User.id).limit(1)) is not None
    if exists:
        current_app.extensions["hiring_users_exist"] = True
    return exists


def _next_param() -> str | None:
    """Where to come back to after logging in again (a page, never a form's POST)."""
    if request.method != "GET":
        return None
    path = request.full_path.removesuffix("?")
    return path if is_safe_next(path) else None


def _wants_json() -> bool:
    return request.blueprint in _SELF_AUTHENTICATING_BLUEPRINTS or request.path.startswith("/api/")


# Static files are linked with their content's fingerprint (?v=), so a browser keeps them
# for a year and asks again only when a file changes. Without it every page view also
# revalidated its stylesheets and scripts: four more requests to the server.
STATIC_MAX_AGE = 365 * 86400


def static_fingerprint(app: Flask, filename: str) -> str | None:
    """The first 12 hex digits of the file's SHA-256, or None when there is no such file.
    Kept for the process's life (a deploy restarts it); read again at every link in debug
    mode, where files are edited while the server runs."""
    fingerprints = app.extensions.setdefault("hiring_static_fingerprints", {})
    if not app.debug and filename in fingerprints:
        return fingerprints[filename]
    path = safe_join(app.static_folder, filename)
    try:
        fingerprint = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12] if path else None
    except OSError:
        fingerprint = None
    fingerprints[filename] = fingerprint
    return fingerprint


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = IdConverter  # before any blueprint adds its rules

    @app.url_defaults
    def _fingerprint_static_links(endpoint, values):
        if endpoint == "static" and "v" not in values:
            fingerprint = static_fingerprint(app, values.get("filename", ""))
            if fingerprint:
                values["v"] = fingerprint

    @app.after_request
    def _cache_fingerprinted_static_files(response):
        """A static file asked for with its current fingerprint never changes: a year,
        without revalidation. Any other (no ``v``, an old one) keeps Flask's no-cache."""
        if (request.endpoint == "static" and response.status_code in (200, 304) and request.args.get("v")
                and request.args["v"] == static_fingerprint(app, (request.view_args or {}).get("filename", ""))):
            response.cache_control.no_cache = None
            response.cache_control.public = True
            response.cache_control.max_age = STATIC_MAX_AGE
            response.cache_control.immutable = True
        return response

    from . import security
    from .views import application_url

    # The user of a session that still counts (server-side sessions, hiring.security).
    login_manager.user_loader(security.load_user)

    @app.before_request
    def _read_without_transaction():
        """A page marked ``read_only`` reads on PostgreSQL without BEGIN and COMMIT: under
        READ COMMITTED every statement takes its own snapshot anyway, so a transaction around
        a page's reads made them no more consistent, and cost two round trips (~0.2 ms of a
        3 ms page). Set before the login wall's session check, the transaction's first read."""
        if request.method in ("GET", "HEAD") and getattr(
                app.view_functions.get(request.endpoint), "_hiring_read_only", False):
            session = db.session()
            # No flush before each query either: a change an object picks up on the way (never
            # meant to be saved) stays unwritten, as the transaction's rollback used to undo it.
            session.info[_READ_ONLY], session.autoflush = session.autoflush, False
            if db.engine.dialect.name == "postgresql":
                session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})

    @app.teardown_request
    def _end_read_only(exc):
        """The mark and the connection without a transaction last one request (a session
        can outlive it: the app context of a test, of a CLI command)."""
        session = db.session()
        if _READ_ONLY in session.info:
            session.autoflush = session.info.pop(_READ_ONLY)
            session.rollback()  # nothing written: forgets unsaved changes, gives the connection back

    @app.after_request
    def end_read_only_transaction(response):
        """A page that only read ends its transaction with COMMIT, not the ROLLBACK of the
        session's teardown: psycopg forgets its prepared statements at every ROLLBACK, so
        PostgreSQL planned each page's queries anew on every request. Only when nothing
        in the session changed: a page never saves by accident."""
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
    app.add_template_global(stage_badge, "stage_badge_of")

    @app.template_filter("short_date")
    def short_date(value):
        m = moment()
        return timefmt.short_date(value, m.policy, today=m.today)

    @app.template_filter("date_time")
    def date_time(value):
        m = moment()
        return timefmt.date_time(value, m.policy, today=m.today)

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

    # --- the login wall, headers, layout context, filters and error pages of the pages ---

    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see this page."
    login_manager.login_message_category = "info"

    @app.before_request
    def _login_wall():
        if request.blueprint in _SELF_AUTHENTICATING_BLUEPRINTS or request.endpoint is None:
            return None  # the API authenticates itself; unknown URLs become the 404 page
        if request.endpoint in ("static", "healthz"):
            return None
        if not users_exist():
            if request.endpoint != "auth.setup":
                return redirect(url_for("auth.setup"))
            return None
        # Loading the user checks the server-side session (hiring.security.load_user): one
        # that was ended (logout, new password, deactivation) or timed out loads nobody.
        authenticated = current_user.is_authenticated
        if getattr(app.view_functions.get(request.endpoint), "_hiring_public", False):
            return None
        if not authenticated:
            if security.session_ended():  # the login page says why, instead of the generic line
                return redirect(url_for("auth.login", next=_next_param()))
            return login_manager.unauthorized()
        return None

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        if app.config.get("ENV") == "production" and app.config.get("HSTS_SECONDS"):
            # Browsers reach us over HTTPS only from now on (production is served behind TLS).
            headers.setdefault("Strict-Transport-Security", f"max-age={int(app.config['HSTS_SECONDS'])}")
        # Static files and the health check hold no candidate data. They are asked before
        # current_user: looking at it loads the session's user, a database read for every
        # stylesheet, script and icon a logged-in browser asks for (a page is four requests).
        if request.endpoint not in ("static", "healthz") and current_user and getattr(
                current_user, "is_authenticated", False):
            # Candidate data must not linger in shared caches or the back button of a shared PC.
            headers.setdefault("Cache-Control", "no-store")
        return response

    @app.context_processor
    def _layout_context():
        return {
            "Action": Action,
            "Role": Role,
            "application_url": application_url,
            "nav_items": _nav_items(app),
            "company_name": app.config.get("COMPANY_NAME", ""),
            "company_timezone": _company_timezone,
        }

    @app.template_filter("is_due_soon")
    def _is_due_soon(value):
        if value is None:
            return False
        m = moment()
        return m.now <= value <= m.due_soon_until

    @app.template_filter("label")
    def _label(value, vocabulary: str = "Stage"):
        """The words for a stored value of one of pipeline's enums, from the enum itself:
        ``{{ p.status | label("PositionStatus") }}``; an unknown value shows as it is."""
        try:
            return getattr(pipeline, vocabulary)(value).label
        except ValueError:
            return str(value)

    @app.template_filter("stage_label")
    def _stage_label(value):
        return _label(value, "Stage")

    @app.template_filter("ago")
    def _ago(value):
        """A past moment for people: 'today', 'yesterday', '3 days ago' (company zone)."""
        if value is None:
            return ""
        m = moment()
        return timefmt.days_ago(value, m.now, m.policy, today=m.today)

    app.add_template_filter(days_since, "days_since")

    def _error_page(status: int, title: str, message: str):  # -> (body, status)
        if _wants_json():
            return jsonify(error={"code": status, "message": message}), status
        return render_template("error.html", status=status, title=title, message=message), status

    @app.before_request
    def _refuse_nul_characters():
        """A NUL character is never text a person typed (PostgreSQL cannot even store one,
        SQLite's search chokes on it): refuse the request clearly instead of a 500 later.
        The API's schemas refuse them field by field."""
        if request.blueprint in _SELF_AUTHENTICATING_BLUEPRINTS:
            return None
        values = list(request.args.values())
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        if request.method == "POST" and (limit is None or (request.content_length or 0) <= limit):
            values += request.form.values()  # a too-large upload is refused by its view before parsing
        if has_nul(values):
            return _error_page(400, "Unreadable input",
                               "The form or link contained a NUL character, which is never part of text. "
                               "Go back, retype the text (do not paste it from a binary file) and send it again.")
        return None

    @app.errorhandler(403)
    def _forbidden(error: HTTPException):
        message = error.description if isinstance(error.description, str) and not error.description.startswith(
            "You don't have the permission") else "Your role does not give access to this page."
        return _error_page(403, "Not for your role", message)

    @app.errorhandler(404)
    def _not_found(error: HTTPException):
        return _error_page(404, "Page not found",
                           "There is nothing here. The link may be old, or the item was removed.")

    @app.errorhandler(405)
    def _method_not_allowed(error: HTTPException):
        return _error_page(405, "Not possible here", "This page cannot be used that way. Go back and use its form.")

    @app.errorhandler(413)
    def _too_large(error: HTTPException):
        return _error_page(413, "File too large", "Documents can be at most 10 MB. Choose a smaller file.")

    @app.errorhandler(429)
    def _too_many(error: HTTPException):
        # The login and setup pages answer their own 429 (the form, the wait, Retry-After).
        return _error_page(429, "Too many attempts", "Too many attempts. Wait a minute, then try again.")

    @app.errorhandler(503)
    def _not_ready(error: HTTPException):
        body, status = _error_page(503, "Not ready yet", error.description if isinstance(error.description, str)
                                   else "This is not available yet. Try again in a few minutes.")
        return body, status, [(key, value) for key, value in error.get_headers() if key == "Retry-After"]

    @app.errorhandler(CSRFError)
    def _csrf_failed(error: CSRFError):
        return _error_page(400, "The form expired",
                           "For your safety the form could not be sent (its security token was missing or "
                           "expired). Go back, reload the page and send it again.")

    @app.errorhandler(500)
    def _server_error(error: Exception):
        db.session.rollback()
        return _error_page(500, "Something went wrong",
                           "We could not complete this request. Nothing was changed; please try again. "
                           "If it keeps happening, tell an admin the time it happened.")

    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError):
        """A refused action in a view: a clear message on the page, never a 500. The
        status comes from the error's class (the API maps it the same way)."""
        db.session.rollback()
        if _wants_json():
            return jsonify(error={"code": error.code, "message": str(error)}), error.http_status
        if error.http_status == 404:
            return _error_page(404, "Not found", str(error))
        if error.http_status == 403:
            return _error_page(403, "Not for your role", str(error))
        flash(str(error), "error")
        if request.method == "GET":
            return redirect(url_for("dashboard.index"))
        return redirect(back_url())


def _company_timezone() -> str:
    try:
        return get_policy().timezone
    except Exception:  # an error page must render even when the database is the problem
        return "the company time zone"


NAV_CACHE_SIZE = 32
NAV_CANDIDATES = (
    ("dashboard.index", "Needs attention", None),
    ("dashboard.board", "Board", Action.VIEW_ALL),
    ("candidates.index", "Candidates", Action.VIEW_ALL),
    ("privacy.talent_pool", "Talent pool", Action.MANAGE_APPLICATIONS),
    ("positions.index", "Positions", Action.VIEW_ALL),
    ("reports.index", "Reports", Action.VIEW_ALL),
    ("interviews.mine", "My interviews", Action.SUBMIT_FEEDBACK),
    ("emails.index", "Emails", Action.VIEW_EMAILS),
    ("admin.settings", "Settings", Action.MANAGE_SETTINGS),
    ("admin.users", "Users", Action.MANAGE_USERS),
)


def _nav_items(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, label, url) for the logged-in user's role; endpoints not present are skipped.

    Built once per role (and the URL prefix the app is served under) for the app's life:
    what it depends on never changes while it runs, and every page's layout asked for it
    (ten url_for and permission checks a request)."""
    if not current_user or not current_user.is_authenticated:
        return []
    cache = app.extensions.setdefault("hiring_nav_items", {})
    key = (current_user.role, request.script_root)
    items = cache.get(key)
    if items is None:
        items = [(endpoint, label, url_for(endpoint)) for endpoint, label, action in NAV_CANDIDATES
                 if endpoint in app.view_functions and (action is None or pipeline.can(current_user.role, action))]
        if len(cache) < NAV_CACHE_SIZE:  # a few roles × prefixes; never grows with what clients send
            cache[key] = items
    return items
