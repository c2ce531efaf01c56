"""First-run setup, login (password, then the second factor when the user has one, or
single sign-on), the user's two-factor page, and logout."""

from __future__ import annotations

import enum
import time

import requests
from authlib.integrations.flask_client import OAuthError
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from joserfc.errors import JoseError
from markupsafe import Markup
from sqlalchemy import func, select

from .. import security, services, sso, twofactor
from ..extensions import db
from ..forms import ConfirmForm, LoginForm, SetupForm, TwoFactorCodeForm
from ..models import RecoveryCode, User
from ..pipeline import InvalidInput, Role
from ..settings import get_security
from . import is_safe_next, public, show_refusal, users_exist

bp = Blueprint("auth", __name__)

LOGIN_METHOD_KEY = "hiring_login_method"
PENDING_KEY = "hiring_pending_login"  # password right, second factor not yet given
ENROL_KEY = "hiring_totp_enrolment"  # the secret shown while enrolling, until confirmed
SSO_NEXT_KEY = "hiring_sso_next"
PENDING_SECONDS = 5 * 60
PENDING_TRIES = 5


class LoginMethod(enum.StrEnum):
    SETUP = "setup"
    PASSWORD = "password"
    PASSWORD_TOTP = "password+totp"
    PASSWORD_RECOVERY_CODE = "password+recovery_code"
    SSO = "sso"


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
                show_refusal(form, exc)
            else:
                _complete_login(user, LoginMethod.SETUP)
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
        password_allowed = sso.passwords_allowed_for(email)  # False with HIRING_OIDC_ONLY, but break-glass
        if valid and user is not None and user.is_active and password_allowed:
            target = _next_or_dashboard()
            if user.has_two_factor:
                return _ask_for_second_factor(user, target)
            _complete_login(user, LoginMethod.PASSWORD)
            return redirect(target)
        if not password_allowed:  # the same answer whatever the password, so it tells nothing
            security.count_failure(email=email, address=address)
            form.password.errors = [f"Password sign-in is turned off. Use “Sign in with {sso.provider_name()}”."]
        elif valid and user is not None and not user.is_active:
            form.email.errors = ["This account has been deactivated. Ask an admin if this is a mistake."]
        else:
            refusal = security.count_failure(email=email, address=address)
            wait = f" Then wait {security.duration(refusal.retry_after)} before the next try." if refusal else ""
            form.password.errors = ["Wrong email or password. Check both and try again." + wait]
    return render_template("auth/login.html", form=form, next=request.args.get("next", ""), sso=_sso_button())


# How each way of signing in is recorded: the session record's method (hiring.security), and
# the finer-grained one the two-factor requirement reads (single sign-on is exempt).
_SESSION_METHOD = {"password": "password", "setup": "setup", "password+totp": "totp",
                   "password+recovery_code": "totp", "sso": "oidc"}


def _complete_login(user: User, method: LoginMethod) -> None:
    """The one place a sign-in becomes a session: after the password (and the second
    factor, when the user has one), after single sign-on, or at the first-run setup. The
    session record (security.start_session) makes it one that logout and a new password end."""
    security.start_session(user, method=_SESSION_METHOD[method.value])
    session[LOGIN_METHOD_KEY] = method.value


def _sso_button() -> dict | None:
    if not sso.enabled():
        return None
    return {"name": sso.provider_name(), "only": bool(current_app.config.get("OIDC_ONLY"))}


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


# --- the second step of a password sign-in -------------------------------------------------------
# Between the password and the code the session holds only PENDING_KEY: no user is logged
# in (Flask-Login knows nobody), so the login wall lets nothing through but this page.


def _ask_for_second_factor(user: User, target: str):
    session.clear()
    session[PENDING_KEY] = {"user_id": user.id, "next": target, "until": time.time() + PENDING_SECONDS, "tries": 0}
    return redirect(url_for("auth.second_factor"))


def _pending_user() -> User | None:
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or pending.get("until", 0) < time.time():
        session.pop(PENDING_KEY, None)
        return None
    user = db.session.get(User, pending.get("user_id"))
    if user is None or not user.is_active or not user.has_two_factor:
        session.pop(PENDING_KEY, None)
        return None
    return user


@bp.route("/login/two-factor", methods=["GET", "POST"])
@public
def second_factor():
    user = _pending_user()
    if user is None:
        flash("Your sign-in expired. Enter your email and password again.", "info")
        return redirect(url_for("auth.login"))
    form = TwoFactorCodeForm()
    address = security.client_address()
    if request.method == "POST" and (
            refusal := security.check_throttle(email=user.email, address=address)) is not None:
        return _throttled("auth/second_factor.html", form, refusal)
    if form.validate_on_submit():
        used = services.verify_second_factor(user, form.code.data or "")
        if used is not None:
            target = session[PENDING_KEY]["next"]
            _complete_login(user, LoginMethod.PASSWORD_TOTP if used == "totp" else LoginMethod.PASSWORD_RECOVERY_CODE)
            if used == "recovery_code":
                flash("You signed in with a recovery code, which is now used up. Check your authenticator app, "
                      "or make new recovery codes under “Two-factor sign-in”.", "info")
            return redirect(target if is_safe_next(target) else url_for("dashboard.index"))
        security.count_failure(email=user.email, address=address)  # wrong codes count like wrong passwords
        pending = dict(session[PENDING_KEY])
        pending["tries"] = pending.get("tries", 0) + 1
        if pending["tries"] >= PENDING_TRIES:
            session.pop(PENDING_KEY, None)
            flash("Too many wrong codes. Enter your email and password again.", "error")
            return redirect(url_for("auth.login"))
        session[PENDING_KEY] = pending
        form.code.errors = ["That code is not right (or was used already). Enter the current code from your app, "
                            "or one of your recovery codes."]
    return render_template("auth/second_factor.html", form=form)


@bp.before_app_request
def _two_factor_required():
    """When an admin requires two-factor sign-in for admins and managers, such a user
    signed in with a password alone can do nothing but enrol (or log out). Single sign-on
    is exempt: the identity provider's own MFA counts (see README, Security)."""
    if request.endpoint in _ALWAYS_ALLOWED or request.blueprint == "api":
        return None
    if not current_user.is_authenticated or not current_user.is_active or current_user.has_two_factor:
        return None
    if session.get(LOGIN_METHOD_KEY) == LoginMethod.SSO:
        return None
    if not get_security().requires_two_factor(current_user.role):
        return None
    flash("Two-factor sign-in is required for your role. Set it up now to continue.", "info")
    return redirect(url_for("auth.two_factor"))


_ALWAYS_ALLOWED = {None, "static", "healthz", "auth.two_factor", "auth.logout"}


# --- the user's own two-factor page --------------------------------------------------------------


@bp.route("/account/two-factor", methods=["GET", "POST"])
def two_factor():
    """Enrol (QR code or key, confirm with a code, recovery codes shown once), make new
    recovery codes, or turn it off."""
    user = db.session.get(User, current_user.id)
    form = TwoFactorCodeForm()
    action = request.form.get("action", "enable")
    required = get_security().requires_two_factor(user.role)
    if user.has_two_factor:
        session.pop(ENROL_KEY, None)
        if form.validate_on_submit():
            try:
                if action == "disable":
                    services.disable_two_factor(user, form.code.data or "")
                    flash("Two-factor sign-in is off. You sign in with your password alone.", "success")
                    return redirect(url_for("auth.two_factor"))
                if action == "recovery_codes":
                    codes = services.regenerate_recovery_codes(user, form.code.data or "")
                    return render_template("auth/recovery_codes.html", codes=codes, new_codes=True)
                abort(400)
            except InvalidInput as exc:
                form.code.errors = [exc.fields.get("code", str(exc))]
        left = db.session.scalar(select(func.count()).select_from(RecoveryCode).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)))
        return render_template("auth/two_factor.html", user=user, form=form, action=action, required=required,
                               codes_left=left)
    secret = session.get(ENROL_KEY) or twofactor.new_secret()
    session[ENROL_KEY] = secret
    if form.validate_on_submit():
        try:
            codes = services.enable_two_factor(user, secret, form.code.data or "")
        except InvalidInput as exc:
            form.code.errors = [exc.fields.get("code", str(exc))]
        else:
            session.pop(ENROL_KEY, None)
            return render_template("auth/recovery_codes.html", codes=codes, new_codes=False)
    issuer = current_app.config.get("COMPANY_NAME") or "Hiring"
    uri = twofactor.provisioning_uri(secret, user.email, f"{issuer} hiring")
    return render_template("auth/two_factor.html", user=user, form=form, action="enable", required=required,
                           qr=Markup(twofactor.qr_svg(uri)), key=twofactor.grouped(secret))


# --- single sign-on (OpenID Connect) -------------------------------------------------------------


@bp.get("/login/sso")
@public
def sso_start():
    """A link, not a form: the CSP's ``form-action 'self'`` would stop a form's redirect to
    the identity provider. Starting a sign-in changes nothing here; ``state`` (kept in this
    browser's session) is what makes a callback from another browser worthless."""
    if not sso.enabled():
        abort(404)
    try:
        response = sso.client().authorize_redirect(sso.redirect_uri())
    except (OAuthError, requests.RequestException, ValueError) as exc:
        current_app.logger.warning("Single sign-on could not start: %r", exc)
        return _sso_refused("The identity provider cannot be reached right now. Try again in a minute; if it "
                            "keeps happening, tell an admin.", status=502)
    session[SSO_NEXT_KEY] = _next_or_dashboard()
    return response


@bp.get("/login/sso/callback")
@public
def sso_callback():
    """Each refusal is audited; like failed logins they count against the address's limit,
    so a script cannot fill the audit log."""
    if not sso.enabled():
        abort(404)
    if (refusal := security.check_throttle(address=security.client_address())) is not None:
        response = make_response(render_template("auth/sso_refused.html", sso=_sso_button(),
                                                 message=f"Too many failed sign-ins from here. Try again in "
                                                         f"{security.duration(refusal.retry_after)}."), 429)
        response.headers["Retry-After"] = str(refusal.retry_after)
        return response
    try:
        token = sso.client().authorize_access_token(claims_options=sso.claims_options())
    except (OAuthError, JoseError, requests.RequestException, ValueError) as exc:
        reason = " ".join(str(part) for part in (getattr(exc, "error", None) or type(exc).__name__,
                                                   getattr(exc, "description", None)) if part)
        current_app.logger.warning("Single sign-on refused: %r", exc)
        services.record_sso_refusal(None, f"invalid answer from the identity provider: {reason}")
        return _sso_refused("The sign-in with your identity provider could not be completed (it was cancelled, "
                            "took too long, or its answer could not be verified). Start again.")
    userinfo = token.get("userinfo")
    if not userinfo:  # no ID token at all: the provider was not asked for (or ignored) "openid"
        services.record_sso_refusal(None, "no ID token")
        return _sso_refused("The identity provider did not say who you are. Tell an admin.")
    who = sso.identity(userinfo)
    if not who.email or not who.email_verified:
        services.record_sso_refusal(who.email, "email missing or not verified")
        return _sso_refused("Your identity provider did not confirm your email address, so it cannot be matched "
                            "to a user here. Ask your IT team to verify it.")
    user = db.session.scalar(select(User).where(User.email == who.email))
    if user is None:
        services.record_sso_refusal(who.email, "no user with this email")
        return _sso_refused(f"There is no user with the email {who.email} here. An admin adds the hiring team "
                            "under Users; ask one to add you with this email.")
    if not user.is_active:
        services.record_sso_refusal(who.email, "user deactivated", user=user)
        return _sso_refused("This account has been deactivated. Ask an admin if this is a mistake.")
    target = session.get(SSO_NEXT_KEY)
    _complete_login(user, LoginMethod.SSO)
    return redirect(target if is_safe_next(target) else url_for("dashboard.index"))


def _sso_refused(message: str, status: int = 403):
    security.count_failure(address=security.client_address())
    session.pop(PENDING_KEY, None)
    return render_template("auth/sso_refused.html", message=message, sso=_sso_button()), status
