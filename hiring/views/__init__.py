"""The hiring team's web UI: blueprints, the login wall, role checks, error pages, headers.

Adding a page: a module here with a Blueprint ``bp`` (listed in PAGE_MODULES), views
guarded with ``@require_action(Action.X)`` or ``forbid_unless(...)``, templates that
extend base.html and use the macros in _macros.html. Every page requires login except
the ones marked ``@public``; the JSON API (blueprint
``api``) authenticates on its own and is left alone here. Role checks go through
``require_action`` (decorator) or ``forbid_unless`` (inline), both of which answer with
the friendly 403 page and never with the data.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Flask,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from .. import pipeline, security, timefmt
from ..extensions import db, login_manager
from ..models import User
from ..pipeline import Action, DomainError, NotAllowed, Role
from ..settings import get_policy
from ..web import days_since, has_nul, moment

# Endpoints reachable without login (the setup and login pages themselves, assets, health).
_PUBLIC_ENDPOINTS: set[str] = {"static", "healthz"}
# Blueprints with their own authentication (token-based JSON API).
_SELF_AUTHENTICATING_BLUEPRINTS = {"api"}

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def public(view: Callable) -> Callable:
    """Mark a view as reachable without login (registered by endpoint name at init)."""
    view._hiring_public = True  # type: ignore[attr-defined]
    return view


def forbid_unless(allowed: bool, message: str | None = None) -> None:
    """Answer 403 (the friendly page) unless ``allowed``."""
    if not allowed:
        abort(403, description=message or "Your role does not give access to this page.")


def require_action(*actions: Action | str) -> Callable:
    """Decorator: the logged-in user's role must allow every one of ``actions``."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            for action in actions:
                if not current_user.is_authenticated or not current_user.can(action):
                    role = current_user.role if current_user.is_authenticated else "anonymous"
                    text = pipeline._ACTION_TEXT.get(Action(action), "do this")
                    abort(403, description=f"Your role ({role}) may not {text}.")
            return view(*args, **kwargs)

        return wrapped

    return decorator


role_required = require_action  # the name some call sites read better with


def is_safe_next(target: str | None) -> bool:
    """Only a local path: no scheme, no host, no protocol-relative '//' or '/\\' tricks."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and not any(ord(c) < 32 for c in target)


def application_url(application_id: int) -> str:
    """The application page (its blueprint lives in views.applications).

    Boards link hundreds of cards: the URL is built once per request and the id appended."""
    prefix = g.get("hiring_application_url_prefix")
    if prefix is None:
        if "applications.detail" in current_app.view_functions:
            prefix = url_for("applications.detail", application_id=0).removesuffix("0")
        else:
            prefix = "/applications/"
        g.hiring_application_url_prefix = prefix
    return f"{prefix}{int(application_id)}"


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


# Each module of this package with a blueprint ``bp``; a page module missing here is
# simply skipped, so a new page needs only its file and an entry in this list.
PAGE_MODULES = ("auth", "dashboard", "candidates", "positions", "interviews", "admin", "applications",
                "documents", "emails", "privacy")


def init_app(app: Flask) -> None:
    import importlib

    for name in PAGE_MODULES:
        module_name = f"{__name__}.{name}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        app.register_blueprint(module.bp)
    for endpoint, function in app.view_functions.items():
        if getattr(function, "_hiring_public", False):
            _PUBLIC_ENDPOINTS.add(endpoint)

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
        if request.endpoint in _PUBLIC_ENDPOINTS:
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
        if current_user and getattr(current_user, "is_authenticated", False) and not request.path.startswith(
            "/static/"
        ):
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

    @app.template_filter("stage_label")
    def _stage_label(value):
        try:
            return pipeline.Stage(value).label
        except ValueError:
            return str(value)

    @app.template_filter("ago")
    def _ago(value):
        """A past moment for people: 'today', 'yesterday', '3 days ago' (company zone)."""
        if value is None:
            return ""
        m = moment()
        return timefmt.days_ago(value, m.now, m.policy, today=m.today)

    app.add_template_filter(days_since, "days_since")

    def _error_page(status: int, title: str, message: str):
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
        """A refused action in a view: a clear message on the page, never a 500."""
        from ..services import NotFound

        db.session.rollback()
        if _wants_json():
            return jsonify(error={"code": error.code, "message": str(error)}), 400
        if isinstance(error, NotFound):
            return _error_page(404, "Not found", str(error))
        if isinstance(error, NotAllowed):
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


def _nav_items(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, label, url) for the logged-in user's role; endpoints not present are skipped."""
    if not current_user or not current_user.is_authenticated:
        return []
    candidates = [
        ("dashboard.index", "Needs attention", None),
        ("dashboard.board", "Board", Action.VIEW_ALL),
        ("candidates.index", "Candidates", Action.VIEW_ALL),
        ("privacy.talent_pool", "Talent pool", Action.MANAGE_APPLICATIONS),
        ("positions.index", "Positions", Action.VIEW_ALL),
        ("interviews.mine", "My interviews", Action.SUBMIT_FEEDBACK),
        ("emails.index", "Emails", Action.VIEW_EMAILS),
        ("admin.settings", "Settings", Action.MANAGE_SETTINGS),
        ("admin.users", "Users", Action.MANAGE_USERS),
    ]
    items = []
    for endpoint, label, action in candidates:
        if endpoint not in app.view_functions:
            continue
        if action is not None and not current_user.can(action):
            continue
        items.append((endpoint, label, url_for(endpoint)))
    return items
