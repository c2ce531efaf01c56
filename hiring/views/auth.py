"""First-run setup, login and logout."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from .. import services
from ..extensions import db, limiter
from ..forms import ConfirmForm, LoginForm, SetupForm
from ..models import User
from ..pipeline import InvalidInput, Role
from . import is_safe_next, public, users_exist

bp = Blueprint("auth", __name__)

# A constant hash to compare against when the email is unknown, so a wrong email and a
# wrong password take the same time (no user enumeration by timing).
_DUMMY_HASH = "scrypt:32768:8:1$hiring$" + "0" * 128


def _login_limit() -> str:
    return current_app.config.get("LOGIN_RATE_LIMIT", "10 per minute")


@bp.route("/setup", methods=["GET", "POST"])
@public
def setup():
    """Creates the first admin; once anyone exists this page is gone for good."""
    if users_exist():
        abort(404)
    form = SetupForm()
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
            session.clear()
            login_user(user)
            flash("Welcome! Your admin account is ready. Next: add your team under Users, then a position.",
                  "success")
            return redirect(url_for("admin.users"))
    return render_template("auth/setup.html", form=form)


def _failed_login() -> bool:
    return bool(g.get("hiring_login_failed"))


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"], deduct_when=lambda response: _failed_login(),
               error_message="Too many failed logins")
def login():
    if current_user.is_authenticated:
        return redirect(_next_or_dashboard())
    form = LoginForm()
    if form.validate_on_submit():
        email = (form.email.data or "").strip().lower()
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            from werkzeug.security import check_password_hash

            check_password_hash(_DUMMY_HASH, form.password.data or "")
            valid = False
        else:
            valid = user.check_password(form.password.data or "")
        if valid and user is not None and user.is_active:
            target = _next_or_dashboard()
            session.clear()  # no session fixation: a fresh session for the logged-in user
            login_user(user)
            return redirect(target)
        g.hiring_login_failed = True
        if valid and user is not None and not user.is_active:
            form.email.errors = ["This account has been deactivated. Ask an admin if this is a mistake."]
        else:
            form.password.errors = ["Wrong email or password. Check both and try again."]
    return render_template("auth/login.html", form=form, next=request.args.get("next", ""))


def _next_or_dashboard() -> str:
    target = request.args.get("next") or request.form.get("next")
    return target if is_safe_next(target) else url_for("dashboard.index")


@bp.post("/logout")
def logout():
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))
