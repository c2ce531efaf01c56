"""First-run setup, login and logout."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from .. import security, services
from ..extensions import db
from ..forms import ConfirmForm, LoginForm, SetupForm
from ..models import User
from ..pipeline import InvalidInput, Role
from . import is_safe_next, public, users_exist

bp = Blueprint("auth", __name__)

# A constant hash to compare against when the email is unknown, so a wrong email and a
# wrong password take the same time (no user enumeration by timing).
_DUMMY_HASH = "scrypt:32768:8:1$hiring$" + "0" * 128


def _throttled(template: str, form, refusal: security.Refusal, **context):
    """The form again, with the wait: 429 and Retry-After (the throttle, hiring.security)."""
    response = make_response(render_template(template, form=form, refusal=refusal, **context), 429)
    response.headers["Retry-After"] = str(refusal.retry_after)
    return response


@bp.route("/setup", methods=["GET", "POST"])
@public
def setup():
    """Creates the first admin; once anyone exists this page is gone for good."""
    if users_exist():
        abort(404)
    form = SetupForm()
    if request.method == "POST":
        address = security.client_address()
        if (refusal := security.check_throttle(address=address)) is not None:
            return _throttled("auth/setup.html", form, refusal)
        if form.validate_on_submit():
            try:
                # Re-checked inside: two people racing through setup get one admin, not two.
                if db.session.scalar(select(User.id).limit(1)) is not None:
                    abort(404)
                user = services.create_user(form.email.data, form.name.data, Role.ADMIN.value, form.password.data)
            except InvalidInput as exc:
                from ..forms import apply_field_errors

                if not apply_field_errors(form, exc.fields):
                    flash(str(exc), "error")
            else:
                security.start_session(user, method="setup")
                flash("Welcome! Your admin account is ready. Next: add your team under Users, then a position.",
                      "success")
                return redirect(url_for("admin.users"))
        security.count_failure(address=address)  # every POST that created no admin counts
    return render_template("auth/setup.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(_next_or_dashboard())
    form = LoginForm()
    if form.validate_on_submit():
        email = (form.email.data or "").strip().lower()
        address = security.client_address()
        # Refused during a wait without looking at the password, a correct one too.
        if (refusal := security.check_throttle(email=email, address=address)) is not None:
            return _throttled("auth/login.html", form, refusal, next=request.args.get("next", ""))
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            from werkzeug.security import check_password_hash

            check_password_hash(_DUMMY_HASH, form.password.data or "")
            valid = False
        else:
            valid = user.check_password(form.password.data or "")
        if valid and user is not None and user.is_active:
            target = _next_or_dashboard()
            security.start_session(user, method="password")
            return redirect(target)
        if valid and user is not None and not user.is_active:
            form.email.errors = ["This account has been deactivated. Ask an admin if this is a mistake."]
        else:
            refusal = security.count_failure(email=email, address=address)
            wait = f" Then wait {security.duration(refusal.retry_after)} before the next try." if refusal else ""
            form.password.errors = ["Wrong email or password. Check both and try again." + wait]
    return render_template("auth/login.html", form=form, next=request.args.get("next", ""))


def _next_or_dashboard() -> str:
    target = request.args.get("next") or request.form.get("next")
    return target if is_safe_next(target) else url_for("dashboard.index")


@bp.get("/account/sessions")
def sessions():
    """Where this person is logged in (server-side sessions, hiring.security)."""
    config = current_app.config
    return render_template("auth/sessions.html", sessions=security.live_sessions(current_user),
                           current=security.current_session(), methods=security.METHOD_LABELS,
                           idle=security.duration(config["SESSION_IDLE_TIMEOUT"]),
                           lifetime=security.duration(config["SESSION_LIFETIME"]))


@bp.post("/logout")
def logout():
    """Ends every session of this user — this browser's and any other (a copied cookie too)."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    security.end_all_sessions(current_user._get_current_object())
    flash("You are logged out, on this and every other device.", "info")
    return redirect(url_for("auth.login"))
