"""The hiring team's pages: one blueprint per module, registered by name in ``init_app``.

Adding a page: a module here with a Blueprint ``bp``, imported and registered in
``init_app`` below; views guarded with ``@require_action(Action.X)``; templates that
extend base.html and use the macros in _macros.html. Every page requires login except
the ones marked ``@public`` (the login wall and the other request hooks, the template
filters and the error pages live in hiring.web). Role checks answer with the friendly
403 page and never with the data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import Flask, abort, current_app, flash, g, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from .. import pipeline
from ..forms import apply_field_errors
from ..pipeline import Action, DomainError, InvalidInput, NotAllowed
from ..web import back_url, is_safe_next, users_exist

__all__ = ["application_url", "back_url", "init_app", "is_safe_next", "public", "read_only", "require_action",
           "show_refusal", "users_exist"]


def public(view: Callable) -> Callable:
    """Mark a view as reachable without login (hiring.web's login wall reads the mark)."""
    view._hiring_public = True  # type: ignore[attr-defined]
    return view


def read_only(view: Callable) -> Callable:
    """Mark a page that only reads (its GET): on PostgreSQL it reads without a transaction
    (hiring.web), and writing through the session there is an error, not a silent commit.
    Put it under the route decorator, above the others (the mark goes on what is routed)."""
    view._hiring_read_only = True  # type: ignore[attr-defined]
    return view


def forbid_unless(allowed: bool, message: str | None = None) -> None:
    """Answer 403 (the friendly page) unless ``allowed``: for a rule finer than a role's
    actions (only admins erase a candidate)."""
    if not allowed:
        abort(403, description=message or "Your role does not give access to this page.")


def require_action(*actions: Action | str) -> Callable:
    """Decorator: the logged-in user's role must allow every one of ``actions``."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            if not current_user.is_authenticated:
                abort(403, description="Log in to do this.")
            for action in actions:
                try:
                    pipeline.require(current_user.role, action)
                except NotAllowed as exc:
                    abort(403, description=str(exc))
            return view(*args, **kwargs)

        return wrapped

    return decorator


def id_url_prefix(endpoint: str, id_arg: str) -> str:
    """The URL of ``endpoint`` without its id at the end ("/emails/"), for lists that link
    every row: the ids are appended to it (url_for per row cost more than the row)."""
    return url_for(endpoint, **{id_arg: 0}).removesuffix("0")


def application_url(application_id: int) -> str:
    """The application page (its blueprint lives in views.applications)."""
    return f"{application_url_prefix()}{int(application_id)}"


def application_url_prefix() -> str:
    """Boards link hundreds of cards: the application pages' URL is built once per request
    and the ids appended."""
    prefix = g.get("hiring_application_url_prefix")
    if prefix is None:
        if "applications.detail" in current_app.view_functions:
            prefix = id_url_prefix("applications.detail", "application_id")
        else:
            prefix = "/applications/"
        g.hiring_application_url_prefix = prefix
    return prefix


@dataclass
class ListPage:
    """A page of a list of plain rows, for the ``pagination`` macro (what ``db.paginate``
    gives for ORM objects); subclasses say whether there is a next page and how many."""

    items: list
    page: int

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def show_refusal(form: FlaskForm, error: DomainError, *, field: str = "") -> None:
    """A service refused the form: InvalidInput's messages go next to their fields (its own
    message is flashed when one fits no field); any other refusal (a duplicate, say) goes
    next to ``field``, or is flashed."""
    fields = error.fields if isinstance(error, InvalidInput) else {field: str(error)}
    if apply_field_errors(form, fields):  # some message has no field
        flash(str(error), "error")


def confirmed() -> bool:
    """Whether a destructive form was confirmed: static/confirm.js asks in the browser and adds
    ``confirmed=1``; without the script, the server asks on a page of its own (confirm_page)."""
    return request.form.get("confirmed") == "1"


def confirm_page(*, title: str, message: str, action: str, button: str, back: str,
                 fields: dict[str, str] | None = None) -> str:
    """The question "are you sure?" as a page, for a browser without static/confirm.js: it
    posts ``fields`` and ``confirmed=1`` to ``action``, or goes ``back``."""
    return render_template("confirm.html", title=title, message=message, action=action, fields=fields or {},
                           button=button, back=back)


def init_app(app: Flask) -> None:
    """Register every page blueprint by name: a missing module is an ImportError."""
    from . import admin, applications, auth, candidates, dashboard, emails, interviews, positions, privacy, reports

    for module in (auth, dashboard, candidates, positions, interviews, admin, applications, emails, reports,
                   privacy):
        app.register_blueprint(module.bp)
