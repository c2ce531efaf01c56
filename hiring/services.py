"""The verbs: the only code that changes state.

Each service loads what it needs, asks the process rules (hiring.pipeline), changes
the rows, writes an audit event, queues its emails in the outbox, and commits — all
in one transaction. Views, the API, the CLI and the jobs are thin adapters over these.

Every service takes ``now`` (default: the real clock) so that jobs and tests can move
time, and ``expected_version`` where two people may edit the same application.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import secrets
import uuid
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from . import notifications as notify
from . import pipeline, twofactor, validation
from .extensions import db
from .models import (
    ApiToken,
    Application,
    AuditEvent,
    Candidate,
    CandidateContact,
    Decision,
    Document,
    Feedback,
    Interview,
    LoginThrottle,
    PanelMember,
    Position,
    Promise,
    RecoveryCode,
    Reference,
    Setting,
    Source,
    User,
    UserSession,
    utcnow,
)
from .pipeline import (
    Action,
    DomainError,
    Event,
    IllegalTransition,
    InvalidInput,
    NotAllowed,
    Recommendation,
    Role,
    Stage,
    StaleVersion,
    Verdict,
)
from .settings import (
    POLICY_KEY,
    SECURITY_KEY,
    SecuritySettings,
    forget_policy,
    forget_security,
    get_policy,
    get_security,
)

CONTACT_KINDS = ("thank_you", "enquiry", "other")
CONTACT_CHANNELS = ("email", "phone", "in_person", "other")
REFERENCE_STATUSES = ("requested", "received", "positive", "negative", "unreachable")
FEEDBACK_ROLES = (Role.INTERVIEWER, Role.RECRUITER, Role.MANAGER, Role.ADMIN)


class Conflict(DomainError):
    """The request clashes with existing data (a duplicate, for instance)."""

    code = "conflict"


class NotFound(DomainError):
    code = "not_found"


# --- plumbing ----------------------------------------------------------------------------


def _now(now: datetime | None) -> datetime:
    if now is None:
        return utcnow()
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now


@contextmanager
def _transaction(duplicate: Callable[[], DomainError | None] | None = None):
    """Commit on success; roll back and translate concurrency errors on failure.

    A service checks for duplicates before writing, but two requests can pass that check
    at the same time; the database's unique constraint then refuses the second. After
    the rollback ``duplicate()`` looks again and returns the domain error to raise
    instead (None: not a duplicate after all, so the IntegrityError is a bug and stays).
    """
    try:
        yield
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise StaleVersion() from None
    except IntegrityError:
        db.session.rollback()
        error = duplicate() if duplicate is not None else None
        if error is None:
            raise
        raise error from None
    except BaseException:
        db.session.rollback()
        raise
    finally:
        db.session.info.pop("hiring_version_bumped", None)


def _audit(kind: str, now: datetime, actor: User | None, application: Application | None = None,
           **data: Any) -> AuditEvent:
    event = AuditEvent(**audit_row(kind, now, actor, application, **data))
    db.session.add(event)
    db.session.flush()  # the id keys the emails this event causes
    return event


def audit_row(kind: str, now: datetime, actor: User | None, application: Application | None = None,
              **data: Any) -> dict[str, Any]:
    """An audit event's column values, for jobs that insert many in one statement."""
    return {
        "application_id": application.id if application is not None else None,
        "actor_id": actor.id if actor is not None else None,
        "kind": kind,
        "data": _jsonable(data),
        "occurred_at": now,
    }


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, datetime | date):
            out[key] = value.isoformat()
        elif isinstance(value, pipeline.enum.Enum):
            out[key] = value.value
        else:
            out[key] = value
    return out


def _check_version(application: Application, expected_version: int | str | None) -> None:
    if expected_version is None:
        return
    try:
        expected = int(expected_version)
    except (TypeError, ValueError):
        raise InvalidInput("The form is damaged; reload the page.",
                           {"expected_version": "Not a version number."}) from None
    if expected != application.version:
        raise StaleVersion()


def _touch(application: Application, now: datetime) -> None:
    """Every change to an application bumps its version (optimistic locking), by one."""
    application.updated_at = now
    flag_modified(application, "updated_at")  # an UPDATE even when `now` did not change
    bumped = db.session.info.setdefault("hiring_version_bumped", set())
    if id(application) not in bumped:
        bumped.add(id(application))
        application.version = (application.version or 0) + 1
    db.session.add(application)


def _require(actor: User | None, action: Action) -> None:
    if actor is None:
        return  # the system itself (scheduled jobs, CLI demo) acts without a role check
    pipeline.require(actor.role, action)


def can_view_application(user: User, application: Application) -> bool:
    if user.can(Action.VIEW_ALL):
        return True
    return db.session.scalar(
        select(PanelMember.user_id)
        .join(Interview, Interview.id == PanelMember.interview_id)
        .where(Interview.application_id == application.id, PanelMember.user_id == user.id)
        .limit(1)
    ) is not None


def feedback_visible(user: User, interview: Interview) -> bool:
    """Whether ``user`` may read the feedback on ``interview`` (pipeline.may_see_feedback)."""
    return pipeline.may_see_feedback(user.role, on_panel=user.id in interview.panel_user_ids,
                                     gave_own=interview.feedback_by(user.id) is not None)


def visible_feedback(user: User, interview: Interview) -> list[Feedback]:
    """The feedback on ``interview`` that ``user`` may read: all of it, or none."""
    return list(interview.feedback) if feedback_visible(user, interview) else []


def visible_verdict(user: User, application: Application) -> str | None:
    """The application's verdict, for ``user``: it sums up the feedback on its latest held
    interview, so only whoever may read that feedback sees it (as on the application page,
    where an interviewer sees the verdict of their own round, after giving their feedback)."""
    if application.verdict is None:
        return None
    held = [i for i in application.interviews if i.held_at is not None and i.cancelled_at is None]
    if not held:
        return application.verdict if user.can(Action.VIEW_ALL) else None
    latest = max(held, key=lambda i: (i.held_at, i.id))
    return application.verdict if feedback_visible(user, latest) else None


def _upcoming_interview(application: Application) -> Interview | None:
    """The interview of the current interview stage that has not been marked held."""
    if application.stage not in (Stage.FIRST_INTERVIEW, Stage.SECOND_INTERVIEW):
        return None
    interview = application.current_interview()
    if interview is None or interview.held_at is not None:
        return None
    return interview


def _track_interview(application: Application) -> None:
    """Keep interview_ends_at on the interview nobody has yet marked held (the unrecorded
    flag); a new end may be announced anew."""
    interview = _upcoming_interview(application)
    ends = None if interview is None else interview.scheduled_at + timedelta(minutes=interview.duration_minutes)
    if ends != application.interview_ends_at:
        application.interview_ends_at = ends
        application.unrecorded_notified_at = None


def keep_promise(application: Application, now: datetime, *, told_in: str, resolved_by: str,
                 answers: bool = False, new_date: date | None = None, automatic: bool = False) -> None:
    """Bring the date the candidate holds up to date after a change, before the email
    that tells it is rendered: the promise record, ``promised_at``, the team's ``due_at``.

    ``answers``: this change is what the current promise was about (a decision, the
    interview date it promised), so that promise is kept and a new one starts. Otherwise
    the current date stands or moves later (``pipeline.promise_date``). ``new_date`` is a
    date chosen by a person or the delay notice, already checked. Each promise that ends
    gets its outcome, each new one its row; the team deadline follows the promise."""
    policy = get_policy()
    stage = Stage(application.stage)
    current = application.promised_at
    current_day = pipeline.local_date(current, policy) if current is not None else None
    if new_date is None:
        interview = _upcoming_interview(application)
        computed = pipeline.answer_date(
            stage, application.stage_entered_at, policy,
            interview_at=interview.scheduled_at if interview is not None else None,
            extended_until=application.extended_until)
        new_day = pipeline.promise_date(computed, now, policy, current=current_day, answers=answers,
                                        competing_offer_deadline=application.competing_offer_deadline)
    else:
        new_day = new_date
    changed = answers or new_day != current_day
    if current is not None and changed:
        moved = new_day is not None and not answers
        outcome = pipeline.promise_outcome(current, now, moved=moved, withdrawn=resolved_by == "withdrawn")
        db.session.execute(
            update(Promise).where(Promise.application_id == application.id, Promise.outcome.is_(None))
            .values(outcome=outcome.value, resolved_at=now, resolved_by=resolved_by),
            execution_options={"synchronize_session": False})
        application.promise_moves = (application.promise_moves or 0) + 1 if moved else 0
    elif current is None:
        application.promise_moves = 0
    if automatic:
        application.automatic_delays = (application.automatic_delays or 0) + 1
        application.overdue_since = application.overdue_since or application.due_at
    else:  # a person acted (or the promise was answered): the team is on its new deadline
        application.automatic_delays = 0
        application.overdue_since = None
    if new_day is not None and changed:
        application.promised_at = pipeline.end_of_day(new_day, policy)
        application.promise_made_at = now
        db.session.add(Promise(application_id=application.id, stage=stage.value, promised_for=new_day,
                               lapses_at=application.promised_at, told_at=now, told_in=told_in,
                               automatic=automatic))
    elif new_day is None:
        application.promised_at = None
    if stage == Stage.OFFER:  # the candidate's date to answer our offer
        due = application.extended_until or pipeline.base_due_at(stage, application.stage_entered_at, policy)
    elif application.promised_at is None:
        due = None
    elif changed:
        due = pipeline.team_due_at(new_day, now, policy)
    else:
        due = application.due_at
    if due != application.due_at:
        application.due_at = due
        application.due_soon_notified_at = None
        if not automatic:  # after a delay notice the team is still overdue, and was told so
            application.overdue_notified_at = None
    _track_interview(application)


def _enter_stage(application: Application, stage: Stage, entered_at: datetime, now: datetime) -> None:
    application.stage = stage.value
    application.stage_entered_at = entered_at
    application.extended_until = None
    application.extension_reason = None
    if not stage.is_open:
        application.closed_at = now
        application.awaiting_feedback = False


def _transition(application: Application, event: Event) -> Stage:
    return pipeline.next_stage(application.stage, event)


def _clean(value: str | None) -> str:
    return (value or "").strip()


def normalise_email(value: str | None, field: str = "email") -> str:
    """An address as stored, refused (InvalidInput) when the relay could not send to it."""
    try:
        return validation.normalise_email(value)
    except validation.BadAddress as exc:
        raise InvalidInput("That email address is not valid.", {field: str(exc)}) from None


def _check_text(errors: dict[str, str], *, lines: dict[str, str | None] | None = None,
                texts: dict[str, str | None] | None = None) -> dict[str, str]:
    """Control characters (hiring.validation): none in the single-line ``lines`` (names,
    titles: they reach email headers), only line breaks and tabs in the multi-line ``texts``.
    The forms and the API's schemas check the same; the CLI and jobs reach here directly."""
    for field, value in (lines or {}).items():
        if field not in errors and (message := validation.single_line_error(value)):
            errors[field] = message
    for field, value in (texts or {}).items():
        if field not in errors and (message := validation.multi_line_error(value)):
            errors[field] = message
    return errors


def _refuse_control_characters(what: str, **kwargs) -> None:
    if errors := _check_text({}, **kwargs):
        raise InvalidInput(what, errors)


def _check_lengths(errors: dict[str, str], **fields: tuple[str | None, int]) -> dict[str, str]:
    """Each ``field=(value, limit)`` longer than its column is an error next to the field
    (PostgreSQL would refuse the row, a 500; SQLite would keep it, unlike PostgreSQL).
    The forms and the API's schemas bound them too; the CLI and jobs reach here directly."""
    for field, (value, limit) in fields.items():
        if value is not None and len(_clean(value)) > limit and field not in errors:
            errors[field] = f"At most {limit:,} characters."
    return errors


def _require_aware(value: datetime | None, field: str) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise InvalidInput("Give the time with its time zone.", {field: "Include a time zone offset."})


# --- users and tokens ----------------------------------------------------------------------


def create_user(email: str, name: str, role: str, password: str | None = None, *,
                actor: User | None = None, now: datetime | None = None) -> User:
    _require(actor, Action.MANAGE_USERS)
    now = _now(now)
    email = normalise_email(email)
    errors: dict[str, str] = {}
    if not _clean(name):
        errors["name"] = "Enter the person's name."
    _check_lengths(errors, name=(name, 200))
    _check_text(errors, lines={"name": name})
    if role not in {r.value for r in Role}:
        errors["role"] = "Choose admin, recruiter, interviewer or manager."
    if password is not None and (message := validation.password_error(password)):
        errors["password"] = message
    if errors:
        raise InvalidInput("The user could not be created.", errors)
    def duplicate() -> Conflict | None:
        if db.session.scalar(select(User.id).where(User.email == email)) is not None:
            return Conflict(f"A user with the email {email} already exists.")
        return None

    if (error := duplicate()) is not None:
        raise error
    with _transaction(duplicate):
        user = User(email=email, name=_clean(name), role=role, active=True, created_at=now)
        if password:
            user.set_password(password)
        db.session.add(user)
        db.session.flush()
        _audit("user_created", now, actor, user_id=user.id, email=email, role=role)
    return user


def update_user(user: User, *, role: str | None = None, active: bool | None = None,
                name: str | None = None, password: str | None = None,
                actor: User | None = None, now: datetime | None = None) -> User:
    _require(actor, Action.MANAGE_USERS)
    now = _now(now)
    changes: dict[str, Any] = {}
    if role is not None and role != user.role:
        if role not in {r.value for r in Role}:
            raise InvalidInput("Unknown role.", {"role": "Choose admin, recruiter, interviewer or manager."})
        if user.role == Role.ADMIN and _is_last_active_admin(user):
            raise Conflict("This is the last active admin; make someone else admin first.")
        changes["role"] = role
    if active is not None and active != user.active:
        if not active and user.role == Role.ADMIN and _is_last_active_admin(user):
            raise Conflict("This is the last active admin; it cannot be deactivated.")
        changes["active"] = active
    if errors := _check_text(_check_lengths({}, name=(name, 200)), lines={"name": name}):
        raise InvalidInput("The user could not be saved.", errors)
    if name is not None and _clean(name) and _clean(name) != user.name:
        changes["name"] = _clean(name)
    if password and (message := validation.password_error(password)):
        raise InvalidInput("The password was refused.", {"password": message})
    if not changes and not password:
        return user
    with _transaction():
        for key, value in changes.items():
            setattr(user, key, value)
        if password:
            user.set_password(password)
            changes["password"] = "changed"
        # A new password or a deactivation signs the person out everywhere: a copied cookie
        # (or a browser left open) must not outlive either.
        reason = "deactivated" if changes.get("active") is False else "password_changed" if password else None
        if reason:
            changes["sessions_ended"] = _end_sessions(user, reason, now)
        _audit("user_updated", now, actor, user_id=user.id, **changes)
    return user


# --- sessions (the signed-in browsers of a user; hiring.security reads them) ---------------------

SESSION_METHODS = ("password", "totp", "oidc", "setup")


def start_session(user: User, *, method: str = "password", user_agent: str = "", ip_address: str = "",
                  now: datetime | None = None) -> tuple[UserSession, str]:
    """A new signed-in session for ``user``, after every factor has been checked. Returns
    the row and the secret for the cookie (stored hashed). Use hiring.security.start_session
    from a view: it also sets the cookie and resets the throttle."""
    now = _now(now)
    if method not in SESSION_METHODS:
        raise ValueError(f"unknown login method {method!r}")
    if not user.active:
        raise NotAllowed("This account has been deactivated.")
    secret = secrets.token_urlsafe(32)
    with _transaction():
        row = UserSession(user_id=user.id, token_hash=hash_token(secret), method=method, created_at=now,
                          last_seen_at=now, user_agent=(user_agent or "")[:300], ip_address=(ip_address or "")[:45])
        db.session.add(row)
        db.session.flush()
        _audit("login", now, user, user_id=user.id, session_id=row.id, method=method, ip_address=row.ip_address)
    return row, secret


def end_sessions(user: User, *, reason: str = "logout", actor: User | None = None,
                 now: datetime | None = None) -> int:
    """Ends every session of ``user`` (logout ends them all, on every device: the issue
    asks for it literally, and it is what ends a session whose cookie was copied)."""
    now = _now(now)
    with _transaction():
        count = _end_sessions(user, reason, now)
        _audit("logout" if reason == "logout" else "sessions_ended", now, actor, user_id=user.id, reason=reason,
               sessions_ended=count)
    return count


# Ended sessions are kept this long for the record (who was signed in from where), then deleted.
SESSION_RECORD_DAYS = 30


def prune_sign_in_records(now: datetime | None = None) -> dict[str, int]:
    """Deletes sessions over for more than SESSION_RECORD_DAYS and throttle counts past
    their window (the logins themselves stay in the audit log). A rerun deletes nothing."""
    now = _now(now)
    config = current_app.config
    keep_from = now - timedelta(days=SESSION_RECORD_DAYS)
    over = or_(
        UserSession.ended_at < keep_from,
        UserSession.created_at < keep_from - timedelta(seconds=int(config["SESSION_LIFETIME"])),
        UserSession.last_seen_at < keep_from - timedelta(seconds=int(config["SESSION_IDLE_TIMEOUT"])),
    )
    forgotten = now - timedelta(seconds=int(config["LOGIN_THROTTLE_WINDOW"]))
    stale = and_(LoginThrottle.last_failure_at < forgotten,
                 or_(LoginThrottle.blocked_until.is_(None), LoginThrottle.blocked_until < now))
    with _transaction():
        sessions = db.session.execute(delete(UserSession).where(over)
                                      .execution_options(synchronize_session=False)).rowcount or 0
        throttles = db.session.execute(delete(LoginThrottle).where(stale)
                                       .execution_options(synchronize_session=False)).rowcount or 0
        if sessions or throttles:
            _audit("sign_in_records_pruned", now, None, sessions=sessions, throttle_counts=throttles)
    return {"sessions": sessions, "throttle_counts": throttles}


def _end_sessions(user: User, reason: str, now: datetime) -> int:
    result = db.session.execute(
        update(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason).execution_options(synchronize_session=False))
    return result.rowcount or 0


def _is_last_active_admin(user: User) -> bool:
    others = db.session.scalar(
        select(User.id).where(User.role == Role.ADMIN.value, User.active.is_(True), User.id != user.id).limit(1)
    )
    return others is None


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_token(user: User, label: str = "", *, actor: User | None = None,
                     now: datetime | None = None) -> tuple[ApiToken, str]:
    """Returns the token row and the secret, which is shown once and stored hashed."""
    now = _now(now)
    _refuse_control_characters("The token could not be created.", lines={"label": label})
    secret = "hp_" + secrets.token_urlsafe(32)
    with _transaction():
        token = ApiToken(user_id=user.id, label=_clean(label), token_hash=hash_token(secret), created_at=now)
        db.session.add(token)
        db.session.flush()
        _audit("api_token_created", now, actor, token_id=token.id, user_id=user.id, label=token.label)
    return token, secret


def revoke_api_token(token: ApiToken, *, actor: User | None = None, now: datetime | None = None) -> ApiToken:
    now = _now(now)
    if token.revoked_at is not None:
        return token
    with _transaction():
        token.revoked_at = now
        _audit("api_token_revoked", now, actor, token_id=token.id, user_id=token.user_id)
    return token


# --- settings --------------------------------------------------------------------------------


def update_policy(values: dict[str, Any], *, actor: User | None, now: datetime | None = None) -> pipeline.Policy:
    """Validate and store the process policy; open applications keep their dates."""
    _require(actor, Action.MANAGE_SETTINGS)
    now = _now(now)
    current = get_policy()
    merged = {**current.to_dict(), **values}
    policy = pipeline.Policy.from_mapping(merged)  # raises InvalidInput with per-field messages
    changed = {k: v for k, v in policy.to_dict().items() if current.to_dict().get(k) != v}
    with _transaction():
        row = db.session.get(Setting, POLICY_KEY)
        if row is None:
            row = Setting(key=POLICY_KEY, value=policy.to_dict(), updated_at=now)
            db.session.add(row)
        else:
            row.value = policy.to_dict()
            row.updated_at = now
        _audit("policy_updated", now, actor, changes=changed)
    forget_policy()
    return policy


def update_security_settings(values: dict[str, Any], *, actor: User | None,
                             now: datetime | None = None) -> SecuritySettings:
    """The sign-in rules (e.g. two-factor sign-in required for admins and managers)."""
    _require(actor, Action.MANAGE_SETTINGS)
    now = _now(now)
    current = get_security()
    security = SecuritySettings.from_mapping({**current.to_dict(), **values})
    changed = {k: v for k, v in security.to_dict().items() if current.to_dict().get(k) != v}
    if not changed:
        return current
    with _transaction():
        row = db.session.get(Setting, SECURITY_KEY)
        if row is None:
            db.session.add(Setting(key=SECURITY_KEY, value=security.to_dict(), updated_at=now))
        else:
            row.value = security.to_dict()
            row.updated_at = now
        _audit("security_settings_updated", now, actor, changes=changed)
    forget_security()
    return security


# --- sign-in: two-factor (TOTP) and single sign-on -------------------------------------------


def _new_recovery_codes(user: User, now: datetime) -> list[str]:
    """Replaces the user's recovery codes (inside the caller's transaction)."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = twofactor.new_recovery_codes()
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=twofactor.hash_recovery_code(code), created_at=now)
                       for code in codes)
    return codes


def _current_totp_step(user: User, code: str, now: datetime) -> int:
    secret = twofactor.decrypt_secret(user.totp_secret) if user.has_two_factor else None
    step = twofactor.matching_step(secret, code, now) if secret else None
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        raise InvalidInput("Wrong code.", {"code": "That code is not right (or was used already). "
                                                   "Enter the current code from your app."})
    return step


def enable_two_factor(user: User, secret: str, code: str, *, now: datetime | None = None) -> list[str]:
    """Turns on two-factor sign-in for ``user`` (who enrols themselves) once ``code`` shows
    their app has ``secret``. Returns the new recovery codes, to be shown once."""
    now = _now(now)
    step = twofactor.matching_step(secret, code, now)
    if step is None:
        raise InvalidInput("Wrong code.", {"code": "That code is not right. Check the time on your phone and "
                                                   "enter the code your app shows now."})
    with _transaction():
        user.totp_secret = twofactor.encrypt_secret(secret)
        user.totp_enabled_at = now
        user.totp_last_step = step
        codes = _new_recovery_codes(user, now)
        _audit("two_factor_enabled", now, user, user_id=user.id)
    return codes


def disable_two_factor(user: User, code: str, *, now: datetime | None = None) -> None:
    """The user turns two-factor sign-in off, confirming with a current code."""
    now = _now(now)
    if not user.has_two_factor:
        return
    if get_security().requires_two_factor(user.role):
        raise Conflict(f"Two-factor sign-in is required for {user.role}s; it cannot be turned off.")
    _current_totp_step(user, code, now)
    with _transaction():
        _clear_two_factor(user)
        _audit("two_factor_disabled", now, user, user_id=user.id)


def reset_two_factor(user: User, *, actor: User | None, now: datetime | None = None) -> None:
    """An admin (or the CLI) turns off someone's two-factor sign-in, e.g. after a lost phone.
    They sign in with their password alone, and enrol again when their role requires it."""
    _require(actor, Action.MANAGE_USERS)
    now = _now(now)
    if not user.has_two_factor:
        return
    with _transaction():
        _clear_two_factor(user)
        _audit("two_factor_reset", now, actor, user_id=user.id, email=user.email)


def _clear_two_factor(user: User) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def regenerate_recovery_codes(user: User, code: str, *, now: datetime | None = None) -> list[str]:
    """New recovery codes (the old ones stop working), confirmed with a current code."""
    now = _now(now)
    step = _current_totp_step(user, code, now)
    with _transaction():
        user.totp_last_step = step
        codes = _new_recovery_codes(user, now)
        _audit("recovery_codes_regenerated", now, user, user_id=user.id)
    return codes


def verify_second_factor(user: User, code: str, *, now: datetime | None = None) -> str | None:
    """The second step of a password sign-in: ``code`` is the app's current code or one of
    the user's recovery codes. Returns "totp" or "recovery_code", or None when it is neither.

    Each code works once: the time step of a TOTP code is remembered, and a recovery code
    is marked used; both with a conditional UPDATE, so two requests racing with the same
    code cannot both succeed. A used recovery code is audited; a TOTP sign-in is ordinary
    sign-in bookkeeping (like the API token's last use) and is not."""
    now = _now(now)
    if not user.has_two_factor or not user.active:
        return None
    if twofactor.looks_like_recovery_code(code):
        with _transaction():
            used = db.session.execute(
                update(RecoveryCode)
                .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None),
                       RecoveryCode.code_hash == twofactor.hash_recovery_code(code))
                .values(used_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount
            if not used:
                return None
            left = db.session.scalar(select(func.count()).select_from(RecoveryCode).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)))
            _audit("recovery_code_used", now, user, user_id=user.id, codes_left=left)
        return "recovery_code"
    secret = twofactor.decrypt_secret(user.totp_secret)
    step = twofactor.matching_step(secret, code, now) if secret else None
    if step is None:
        return None
    with _transaction():
        taken = db.session.execute(
            update(User)
            .where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
            .values(totp_last_step=step)
            .execution_options(synchronize_session=False)
        ).rowcount
    db.session.expire(user, ["totp_last_step"])
    return "totp" if taken else None


def record_sso_refusal(email: str | None, reason: str, *, user: User | None = None,
                       now: datetime | None = None) -> None:
    """A single sign-on that did not log anyone in (unknown, unverified or inactive email,
    a refused or tampered answer from the identity provider): kept in the audit log."""
    now = _now(now)
    with _transaction():
        _audit("sso_login_refused", now, None, user_id=user.id if user is not None else None,
               email=(email or "")[:254], reason=reason[:200])


# --- positions -----------------------------------------------------------------------------


def _user_with_role(user_id: int | None, roles: Iterable[Role], field: str, what: str) -> User | None:
    if user_id is None:
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        raise InvalidInput(f"Unknown {what}.", {field: f"Choose an active {what}."})
    if user.role not in {r.value for r in roles}:
        raise InvalidInput(f"That person cannot be the {what}.", {field: f"The {what} must be a "
                           + " or ".join(r.value for r in roles) + "."})
    return user


def create_position(title: str, *, department: str = "", owner_id: int | None = None,
                    hiring_manager_id: int | None = None, actor: User | None,
                    now: datetime | None = None) -> Position:
    _require(actor, Action.MANAGE_POSITIONS)
    now = _now(now)
    if not _clean(title):
        raise InvalidInput("The position needs a title.", {"title": "Enter a title."})
    if errors := _check_text(_check_lengths({}, title=(title, 200), department=(department, 200)),
                             lines={"title": title, "department": department}):
        raise InvalidInput("The position could not be saved.", errors)
    owner = _user_with_role(owner_id, (Role.RECRUITER, Role.ADMIN), "owner_id", "owner recruiter")
    manager = _user_with_role(hiring_manager_id, (Role.MANAGER,), "hiring_manager_id", "hiring manager")
    if owner is None and actor is not None and actor.role in (Role.RECRUITER, Role.ADMIN):
        owner = actor
    with _transaction():
        position = Position(title=_clean(title), department=_clean(department), status="open",
                            owner_id=owner.id if owner else None,
                            hiring_manager_id=manager.id if manager else None, created_at=now)
        db.session.add(position)
        db.session.flush()
        _audit("position_created", now, actor, position_id=position.id, title=position.title)
    return position


def update_position(position: Position, *, title: str | None = None, department: str | None = None,
                    owner_id: int | None = None, hiring_manager_id: int | None = None,
                    status: str | None = None, actor: User | None, now: datetime | None = None) -> Position:
    _require(actor, Action.MANAGE_POSITIONS)
    now = _now(now)
    changes: dict[str, Any] = {}
    if errors := _check_text(_check_lengths({}, title=(title, 200), department=(department, 200)),
                             lines={"title": title, "department": department}):
        raise InvalidInput("The position could not be saved.", errors)
    if title is not None:
        if not _clean(title):
            raise InvalidInput("The position needs a title.", {"title": "Enter a title."})
        changes["title"] = _clean(title)
    if department is not None:
        changes["department"] = _clean(department)
    if owner_id is not None:
        _user_with_role(owner_id, (Role.RECRUITER, Role.ADMIN), "owner_id", "owner recruiter")
        changes["owner_id"] = owner_id
    if hiring_manager_id is not None:
        _user_with_role(hiring_manager_id, (Role.MANAGER,), "hiring_manager_id", "hiring manager")
        changes["hiring_manager_id"] = hiring_manager_id
    if status is not None:
        if status not in ("open", "closed"):
            raise InvalidInput("Unknown status.", {"status": "Choose open or closed."})
        changes["status"] = status
    changes = {k: v for k, v in changes.items() if getattr(position, k) != v}
    if not changes:
        return position
    with _transaction():
        for key, value in changes.items():
            setattr(position, key, value)
        _audit("position_updated", now, actor, position_id=position.id, **changes)
    return position


def close_position(position: Position, *, actor: User | None, now: datetime | None = None) -> Position:
    return update_position(position, status="closed", actor=actor, now=now)


# --- applications ---------------------------------------------------------------------------


def submit_application(position: Position, *, name: str, email: str, phone: str = "",
                       language: str = "en", talent_pool_consent: bool | None = None,
                       applied_at: datetime | None = None, actor: User | None,
                       now: datetime | None = None, source: str = "direct") -> Application:
    """A new application; a candidate with the same email is reused."""
    _require(actor, Action.MANAGE_APPLICATIONS)
    now = _now(now)
    _require_aware(applied_at, "applied_at")
    applied_at = applied_at or now
    errors: dict[str, str] = {}
    if not _clean(name):
        errors["name"] = "Enter the candidate's name."
    _check_lengths(errors, name=(name, 200))
    if language not in ("en", "de"):
        errors["language"] = "Choose en or de."
    if source not in {s.value for s in Source}:
        errors["source"] = "Choose one of: " + ", ".join(s.value for s in Source) + "."
    if applied_at > now:
        errors["applied_at"] = "The application date cannot be in the future."
    try:
        email = normalise_email(email)
    except InvalidInput as exc:
        errors.update(exc.fields)
    if len(_clean(phone)) > 50:
        errors["phone"] = "At most 50 characters."
    _check_text(errors, lines={"name": name, "phone": phone})
    if errors:
        raise InvalidInput("The application could not be saved.", errors)
    if position.status != "open":
        raise IllegalTransition(f"“{position.title}” is closed and takes no new applications.")
    name, phone = _clean(name), _clean(phone)

    def existing() -> tuple[Candidate | None, Conflict | None]:
        candidate = db.session.scalar(select(Candidate).where(Candidate.email == email))
        if candidate is not None and db.session.scalar(
            select(Application.id).where(Application.candidate_id == candidate.id,
                                         Application.position_id == position.id)
        ) is not None:
            return candidate, Conflict(f"{candidate.name} has already applied for “{position.title}”.")
        return candidate, None

    candidate, conflict = existing()
    if conflict is not None:
        raise conflict
    insert = functools.partial(_insert_application, position, name=name, email=email, phone=phone,
                               language=language, talent_pool_consent=talent_pool_consent, applied_at=applied_at,
                               source=source, actor=actor, now=now, duplicate=lambda: existing()[1])
    try:
        return insert(candidate)
    except IntegrityError:
        # Not the same application, but the candidate's email: another request created this
        # candidate meanwhile (both saw none). Reuse it, as if it had been there all along.
        candidate, conflict = existing()
        if candidate is None or conflict is not None:
            raise
        return insert(candidate)


def _insert_application(position: Position, candidate: Candidate | None, *, name: str, email: str, phone: str,
                        language: str, talent_pool_consent: bool | None, applied_at: datetime, actor: User | None,
                        now: datetime, duplicate: Callable[[], DomainError | None],
                        source: str = "direct") -> Application:
    with _transaction(duplicate):
        if candidate is None:
            candidate = Candidate(name=name, email=email, phone=phone, language=language,
                                  talent_pool_consent=bool(talent_pool_consent), created_at=now)
            db.session.add(candidate)
        else:
            # The latest application speaks for the candidate's contact details.
            candidate.name = name
            if phone:
                candidate.phone = phone
            candidate.language = language
            if talent_pool_consent is not None:
                candidate.talent_pool_consent = talent_pool_consent
        application = Application(
            candidate=candidate, position=position, owner_id=position.owner_id, stage=Stage.APPLIED.value,
            applied_at=applied_at, stage_entered_at=applied_at, created_at=now, updated_at=now, source=source,
        )
        db.session.add(application)
        db.session.flush()
        keep_promise(application, now, told_in="application_received", resolved_by="application_submitted")
        event = _audit("application_submitted", now, actor, application, position_id=position.id,
                       candidate_id=candidate.id, due_at=application.due_at, promised_at=application.promised_at)
        notify.to_candidate(application, "application_received", f"received:{event.id}", now)
    return application


def _panel_users(user_ids: Sequence[int]) -> list[User]:
    ids = list(dict.fromkeys(int(i) for i in user_ids))
    if not ids:
        raise InvalidInput("The interview needs a panel.", {"panel": "Choose at least one interviewer."})
    if any(not 1 <= i <= validation.DB_INT_MAX for i in ids):  # no such row; PostgreSQL would fail on it
        raise InvalidInput("Unknown interviewer.", {"panel": "Choose active team members only."})
    users = db.session.scalars(select(User).where(User.id.in_(ids))).all()
    if len(users) != len(ids) or any(not u.active for u in users):
        raise InvalidInput("Unknown interviewer.", {"panel": "Choose active team members only."})
    if any(u.role not in {r.value for r in FEEDBACK_ROLES} for u in users):
        raise InvalidInput("Not an interviewer.", {"panel": "Everyone on the panel must be a team member."})
    return sorted(users, key=lambda u: ids.index(u.id))


def _check_interview_fields(scheduled_at: datetime, duration_minutes: int, location: str,
                            video_link: str, now: datetime) -> None:
    errors: dict[str, str] = {}
    _require_aware(scheduled_at, "scheduled_at")
    if scheduled_at <= now:
        errors["scheduled_at"] = "Choose a time in the future."
    elif not validation.date_in_range(scheduled_at):
        errors["scheduled_at"] = validation.DATE_RANGE_MESSAGE
    if not isinstance(duration_minutes, int) or not 15 <= duration_minutes <= 480:
        errors["duration_minutes"] = "Between 15 and 480 minutes."
    if not _clean(location) and not _clean(video_link):
        errors["location"] = "Give a place or a video link."
    if _clean(video_link) and not re.match(r"^https?://\S+$", _clean(video_link)):
        errors["video_link"] = "Enter a link starting with https://"
    if len(_clean(location)) > 500:
        errors["location"] = "At most 500 characters."
    _check_text(errors, lines={"location": location, "video_link": video_link})
    if errors:
        raise InvalidInput("The interview could not be scheduled.", errors)


def _check_hold_by(application: Application, scheduled_at: datetime, now: datetime,
                   extend_until: date | None, reason: str) -> bool:
    """A second interview takes place by the stage's date (told to the candidate). A later
    time needs that date moved, with a reason, in the same request; returns whether it is."""
    policy = get_policy()
    if application.stage != Stage.SECOND_INTERVIEW:
        return False
    hold_by = pipeline.hold_by_date(application.stage_entered_at, policy,
                                    extended_until=application.extended_until)
    day = pipeline.local_date(scheduled_at, policy)
    _refuse_control_characters("The interview could not be scheduled.", lines={"reason": reason})
    if extend_until is None:
        if day > hold_by:
            from .timefmt import short_date

            raise InvalidInput(
                "The second interview would be after the date the candidate was given.",
                {"scheduled_at": f"The candidate was told the second interview takes place by "
                                 f"{short_date(hold_by, policy)}. Choose an earlier time, or move that date "
                                 "(new date and reason) in the same form."})
        return False
    pipeline.check_extension(pipeline.end_of_day(hold_by, policy), extend_until, now, policy,
                             stage=application.stage, reason=reason, field="extend_until",
                             competing_offer_deadline=application.competing_offer_deadline)
    if day > extend_until:
        raise InvalidInput("The interview is after the new date.",
                           {"extend_until": "The new date must be on or after the interview's day."})
    return True


def schedule_interview(application: Application, *, round: int, scheduled_at: datetime,
                       panel_user_ids: Sequence[int], duration_minutes: int = 60, location: str = "",
                       video_link: str = "", actor: User | None, now: datetime | None = None,
                       expected_version: int | None = None, extend_until: date | None = None,
                       reason: str = "") -> Interview:
    _require(actor, Action.MANAGE_APPLICATIONS)
    now = _now(now)
    _check_version(application, expected_version)
    if round not in (1, 2):
        raise InvalidInput("Round must be 1 or 2.", {"round": "Choose the first or second interview."})
    if round == 1:
        next_stage = _transition(application, Event.SCHEDULE_FIRST_INTERVIEW)
    else:
        if application.stage != Stage.SECOND_INTERVIEW:
            raise IllegalTransition(
                f"Not possible while the application is at “{application.stage_enum.label}”: a second "
                "interview is scheduled after the candidate has been invited to it.")
        if any(i.round == 2 and i.cancelled_at is None for i in application.interviews):
            raise IllegalTransition("A second interview is already scheduled; reschedule it instead.")
        next_stage = Stage.SECOND_INTERVIEW
    _check_interview_fields(scheduled_at, duration_minutes, location, video_link, now)
    extended = _check_hold_by(application, scheduled_at, now, extend_until, reason) if round == 2 else False
    panel = _panel_users(panel_user_ids)
    with _transaction():
        hold_by_before = application.extended_until
        if extended:
            application.extended_until = pipeline.end_of_day(extend_until, get_policy())
            application.extension_reason = _clean(reason)
        interview = Interview(
            application=application, round=round, scheduled_at=scheduled_at,
            duration_minutes=duration_minutes, location=_clean(location), video_link=_clean(video_link),
            ical_uid=f"{uuid.uuid4()}@hiring", ical_sequence=0, created_at=now,
        )
        interview.panel = [PanelMember(user_id=u.id, reminders_sent=0) for u in panel]
        db.session.add(interview)
        if next_stage != application.stage:
            _enter_stage(application, next_stage, now, now)
        _touch(application, now)
        db.session.flush()
        db.session.refresh(application, ["interviews"])
        # The invitation answers what the candidate waited for (whether, and when, we meet)
        # and promises the answer after it: the interview's day plus the decision's days.
        keep_promise(application, now, told_in="interview_invitation", resolved_by="interview_scheduled",
                     answers=not extended)
        event = _audit("interview_scheduled", now, actor, application, interview_id=interview.id, round=round,
                       scheduled_at=scheduled_at, panel=[u.email for u in panel],
                       promised_at=application.promised_at,
                       **({"extended_until": application.extended_until, "reason": _clean(reason),
                           "before": hold_by_before} if extended else {}))
        notify.to_candidate(application, "interview_invitation", f"interview:{event.id}", now,
                            interview=interview, attachments=notify.interview_attachment(interview),
                            extension_reason=_clean(reason) if extended else "")
        notify.to_panel(interview, panel, "panel_invitation", event.id, now, panel=panel)
    return interview


def reschedule_interview(interview: Interview, *, scheduled_at: datetime, panel_user_ids: Sequence[int],
                         duration_minutes: int = 60, location: str = "", video_link: str = "",
                         actor: User | None, now: datetime | None = None,
                         expected_version: int | None = None, extend_until: date | None = None,
                         reason: str = "") -> Interview:
    _require(actor, Action.MANAGE_APPLICATIONS)
    now = _now(now)
    application = interview.application
    _check_version(application, expected_version)
    if interview.held_at is not None or interview.cancelled_at is not None:
        raise IllegalTransition("Only an upcoming interview can be rescheduled.")
    _check_interview_fields(scheduled_at, duration_minutes, location, video_link, now)
    extended = (_check_hold_by(application, scheduled_at, now, extend_until, reason)
                if interview.round == 2 else False)
    panel = _panel_users(panel_user_ids)
    with _transaction():
        if extended:
            application.extended_until = pipeline.end_of_day(extend_until, get_policy())
            application.extension_reason = _clean(reason)
        before_at = interview.scheduled_at
        before = {"scheduled_at": before_at.isoformat(), "panel": interview.panel_user_ids}
        new_ids = {u.id for u in panel}
        removed = [m.user for m in interview.panel if m.user_id not in new_ids]
        interview.scheduled_at = scheduled_at
        interview.duration_minutes = duration_minutes
        interview.location = _clean(location)
        interview.video_link = _clean(video_link)
        interview.ical_sequence += 1
        keep = {m.user_id: m for m in interview.panel}
        interview.panel = [keep.get(u.id) or PanelMember(user_id=u.id, reminders_sent=0) for u in panel]
        _touch(application, now)
        # A later interview moves the answer date later (told in this email); an earlier one
        # keeps the date the candidate holds.
        keep_promise(application, now, told_in="interview_updated", resolved_by="interview_rescheduled")
        event = _audit("interview_rescheduled", now, actor, application, interview_id=interview.id,
                       before=before, scheduled_at=scheduled_at, panel=[u.email for u in panel],
                       promised_at=application.promised_at,
                       **({"extended_until": application.extended_until, "reason": _clean(reason)}
                          if extended else {}))
        notify.to_candidate(application, "interview_updated", f"interview:{event.id}", now,
                            interview=interview, attachments=notify.interview_attachment(interview),
                            extension_reason=_clean(reason) if extended else "")
        # The panel as it was keeps its calendar entry, updated; newcomers are invited;
        # whoever left the panel gets a cancellation for their calendar.
        notify.to_panel(interview, [u for u in panel if u.id in before["panel"]], "panel_updated", event.id, now,
                        attendees=panel, panel=panel, before_at=before_at)
        notify.to_panel(interview, [u for u in panel if u.id not in before["panel"]], "panel_invitation", event.id,
                        now, attendees=panel, panel=panel)
        notify.to_panel(interview, removed, "panel_cancelled", event.id, now, cancelled=True, removed=True,
                        before_at=before_at)
    return interview


def cancel_interview(interview: Interview, *, reason: str = "", actor: User | None,
                     now: datetime | None = None, expected_version: int | None = None) -> Interview:
    """Cancel an upcoming interview. A cancelled first interview returns the application
    to `applied`, with a fresh answer date; a second one keeps its must-be-held-by date."""
    _require(actor, Action.MANAGE_APPLICATIONS)
    now = _now(now)
    application = interview.application
    _check_version(application, expected_version)
    if interview.held_at is not None or interview.cancelled_at is not None:
        raise IllegalTransition("Only an upcoming interview can be cancelled.")
    _refuse_control_characters("The interview could not be cancelled.", lines={"reason": reason})
    with _transaction():
        interview.cancelled_at = now
        interview.ical_sequence += 1
        if interview.round == 1 and application.stage == Stage.FIRST_INTERVIEW:
            _enter_stage(application, _transition(application, Event.CANCEL_FIRST_INTERVIEW), now, now)
        _touch(application, now)
        if application.is_open:
            # The email names the date of our next word; it never comes before the date the
            # candidate already holds.
            keep_promise(application, now, told_in="interview_cancelled", resolved_by="interview_cancelled")
        event = _audit("interview_cancelled", now, actor, application, interview_id=interview.id,
                       reason=_clean(reason), promised_at=application.promised_at)
        if application.is_open:
            notify.to_candidate(application, "interview_cancelled", f"interview:{event.id}", now,
                                interview=interview, reason=_clean(reason),
                                attachments=notify.interview_attachment(interview, cancelled=True))
        _tell_panel_cancelled(interview, event.id, now, reason=_clean(reason))
    return interview


def _tell_panel_cancelled(interview: Interview, event_id: int, now: datetime, *, reason: str = "",
                          why: str = "") -> None:
    """Take a cancelled interview out of its panel's calendars."""
    notify.to_panel(interview, [m.user for m in interview.panel], "panel_cancelled", event_id, now,
                    cancelled=True, reason=reason, why=why)


def _refresh_verdict(application: Application, interview: Interview) -> Verdict:
    verdict = interview.verdict()
    application.verdict = verdict.value
    application.awaiting_feedback = verdict == Verdict.INCOMPLETE
    return verdict


def record_interview_held(interview: Interview, *, held_at: datetime | None = None, actor: User | None,
                          now: datetime | None = None, expected_version: int | None = None) -> Interview:
    """The interview took place: the debrief (or the offer decision) is now due."""
    _require(actor, Action.MANAGE_APPLICATIONS)
    now = _now(now)
    _require_aware(held_at, "held_at")
    held_at = held_at or now
    application = interview.application
    _check_version(application, expected_version)
    if interview.cancelled_at is not None:
        raise IllegalTransition("This interview was cancelled.")
    if interview.held_at is not None:
        raise IllegalTransition("This interview is already marked as held.")
    pipeline.check_reported_time(held_at, now, stage_began=application.stage_entered_at, field="held_at",
                                 what="The time the interview was held", since="the interview was scheduled",
                                 policy=get_policy())
    pipeline.check_held_time(held_at, interview.scheduled_at, get_policy())
    event_type = Event.FIRST_INTERVIEW_HELD if interview.round == 1 else Event.SECOND_INTERVIEW_HELD
    next_stage = _transition(application, event_type)
    with _transaction():
        interview.held_at = held_at
        _enter_stage(application, next_stage, held_at, now)
        verdict = _refresh_verdict(application, interview)
        _touch(application, now)
        # The date given with the invitation holds; an interview held later moves it later.
        keep_promise(application, now, told_in="interview_thanks", resolved_by="interview_held")
        event = _audit("interview_held", now, actor, application, interview_id=interview.id,
                       round=interview.round, held_at=held_at, due_at=application.due_at,
                       promised_at=application.promised_at)
        notify.to_candidate(application, "interview_thanks", f"thanks:{event.id}", now, interview=interview)
        if next_stage == Stage.FINAL_DECISION and verdict in (Verdict.CLEAR_HIRE, Verdict.CLEAR_NO):
            _request_approval(application, event.id, now)
    return interview


def _request_approval(application: Application, event_id: int, now: datetime) -> None:
    """A clear recommendation reached the offer decision: ask management."""
    position = application.position
    notify.to_team_member(position.hiring_manager, "approval_request", f"approval:{application.id}:{event_id}",
                          now, application=application, verdict=application.verdict)


def submit_feedback(interview: Interview, *, interviewer: User, recommendation: str, notes: str = "",
                    now: datetime | None = None) -> Feedback:
    """The interviewer's own recommendation; once per interview."""
    pipeline.require(interviewer.role, Action.SUBMIT_FEEDBACK)
    now = _now(now)
    application = interview.application
    if interviewer.id not in interview.panel_user_ids:
        raise NotAllowed("Only the interview's panel can give feedback on it.")
    if interview.cancelled_at is not None:
        raise IllegalTransition("This interview was cancelled.")
    if interview.held_at is None and interview.scheduled_at > now:
        raise IllegalTransition("Feedback can be given once the interview has taken place.")
    if recommendation not in {r.value for r in Recommendation}:
        raise InvalidInput("Choose a recommendation.",
                           {"recommendation": "Choose strong no, no, yes or strong yes."})
    if interview.feedback_by(interviewer.id) is not None:
        raise Conflict("You have already submitted feedback for this interview.")
    if len(notes or "") > 20000:
        raise InvalidInput("Notes too long.", {"notes": "At most 20,000 characters."})
    _refuse_control_characters("The feedback could not be saved.", texts={"notes": notes})
    interview_id, interviewer_id = interview.id, interviewer.id

    def duplicate() -> Conflict | None:
        # The same person submitting twice at once (a double click, two tabs).
        if db.session.scalar(select(Feedback.id).where(Feedback.interview_id == interview_id,
                                                       Feedback.interviewer_id == interviewer_id)) is not None:
            return Conflict("You have already submitted feedback for this interview.")
        return None

    with _transaction(duplicate):
        feedback = Feedback(interview=interview, interviewer_id=interviewer.id, recommendation=recommendation,
                            notes=_clean(notes), submitted_at=now)
        db.session.add(feedback)
        db.session.flush()
        db.session.refresh(interview, ["feedback"])
        before = application.verdict
        verdict = interview.verdict()
        current = application.current_interview()
        if interview.held_at is not None and current is not None and current.id == interview.id:
            verdict = _refresh_verdict(application, interview)
        _touch(application, now)
        event = _audit("feedback_submitted", now, interviewer, application, interview_id=interview.id,
                       recommendation=recommendation)
        if (application.stage == Stage.FINAL_DECISION and before != verdict.value
                and verdict in (Verdict.CLEAR_HIRE, Verdict.CLEAR_NO)):
            _request_approval(application, event.id, now)
    return feedback


def decide(application: Application, *, outcome: str, rationale: str = "", candidate_feedback: str = "",
           actor: User | None, decided_at: datetime | None = None, now: datetime | None = None,
           expected_version: int | None = None, acting_for: str = "") -> Application:
    """Advance or reject. Advance from the debrief invites to the second interview; from
    the offer decision it makes the offer. The offer decision, both ways, is the position's
    hiring manager's; an admin may take it for them with ``acting_for`` (why; recorded).
    ``rationale`` stays internal; ``candidate_feedback`` is passed on to a rejected candidate.
    A decision against the panel's clear word, or with no feedback at all, needs a rationale."""
    now = _now(now)
    _require_aware(decided_at, "decided_at")
    decided_at = decided_at or now
    pipeline.check_reported_time(decided_at, now, stage_began=application.stage_entered_at, field="decided_at",
                                 what="The decision's date", since="the application reached this stage",
                                 policy=get_policy())
    event_type = pipeline.decision_event(application.stage, outcome)
    on_behalf = False
    if actor is not None:
        on_behalf = pipeline.require_decision(actor.role, application.stage, outcome, actor_id=actor.id,
                                              hiring_manager_id=application.position.hiring_manager_id,
                                              acting_for=acting_for)
    _check_version(application, expected_version)
    next_stage = _transition(application, event_type)
    if application.stage in (Stage.FIRST_DECISION, Stage.FINAL_DECISION):
        current = application.current_interview()
        pipeline.check_panel_decision(application.verdict, outcome, rationale,
                                      feedback_given=len(current.feedback) if current is not None else 0)
    if event_type == Event.MAKE_OFFER:
        pipeline.check_offer_decision(application.verdict, outcome, rationale)
    pipeline.check_rejection(outcome, rationale)
    if len(rationale or "") > 20000:
        raise InvalidInput("Rationale too long.", {"rationale": "At most 20,000 characters."})
    if too_long := _check_lengths({}, acting_for=(acting_for, 2000)):
        raise InvalidInput("The reason for acting on behalf is too long.", too_long)
    extra = {"acting_for": _clean(acting_for)} if on_behalf else {}
    rejection_context = _rejection_context(application) if next_stage == Stage.REJECTED else {}
    _refuse_control_characters("The decision could not be saved.",
                               texts={"rationale": rationale, "candidate_feedback": candidate_feedback})
    with _transaction():
        stage_before = application.stage
        db.session.add(Decision(application_id=application.id, stage=stage_before, outcome=outcome,
                                decided_by_id=actor.id if actor else None, decided_at=decided_at,
                                rationale=_clean(rationale)))
        _enter_stage(application, next_stage, decided_at, now)
        application.verdict = None if next_stage == Stage.SECOND_INTERVIEW else application.verdict
        application.awaiting_feedback = False
        _touch(application, now)
        cancelled_interviews = (_cancel_upcoming_interviews(application, now)
                                   if next_stage == Stage.REJECTED else [])
        # The decision is the answer the candidate waited for.
        keep_promise(application, now, told_in="second_interview_invitation", resolved_by="decision",
                     answers=True)
        event = _audit("decision", now, actor, application, stage=stage_before, outcome=outcome,
                       to_stage=next_stage.value, rationale=_clean(rationale), promised_at=application.promised_at,
                       **extra)
        key = f"decision:{event.id}"
        if next_stage == Stage.SECOND_INTERVIEW:
            notify.to_candidate(application, "second_interview_invitation", key, now)
        elif next_stage == Stage.OFFER:
            notify.to_candidate(application, "offer", key, now)
        elif next_stage == Stage.REJECTED:
            # Free the panel's and the candidate's calendars: no interview after a rejection.
            cancelled = cancelled_interviews
            attachments = [attachment for interview in cancelled
                           for attachment in notify.interview_attachment(interview, cancelled=True)]
            notify.to_candidate(application, "rejection", key, now, feedback_text=_clean(candidate_feedback),
                                invite_talent_pool=not application.candidate.talent_pool_consent,
                                attachments=attachments, **rejection_context)
            for interview in cancelled:
                _tell_panel_cancelled(interview, event.id, now, why="rejected")
    return application


def decide_offer(application: Application, *, outcome: str, rationale: str = "", actor: User | None,
                 now: datetime | None = None, expected_version: int | None = None,
                 acting_for: str = "") -> Application:
    """The final decision, after the second interview: the hiring manager's (see decide)."""
    if application.stage != Stage.FINAL_DECISION:
        raise IllegalTransition(
            f"Not possible while the application is at “{application.stage_enum.label}”: the offer "
            "is decided after the second interview.")
    return decide(application, outcome=outcome, rationale=rationale, actor=actor, now=now,
                  expected_version=expected_version, acting_for=acting_for)


def _rejection_context(application: Application) -> dict[str, Any]:
    """What the rejection email may truthfully say: what the rejection follows, and whether
    another application for the position got further (then someone else was preferred)."""
    rows = db.session.execute(
        select(Application.stage, Decision.stage)
        .outerjoin(Decision, (Decision.application_id == Application.id) & (Decision.outcome == "reject"))
        .where(Application.position_id == application.position_id, Application.id != application.id)
        .distinct()
    ).all()
    reached: list[str] = []
    for stage, rejected_at in rows:
        if stage == Stage.DECLINED:
            reached.append(Stage.OFFER)  # an offer was made to them
        elif stage == Stage.REJECTED:
            if rejected_at:
                reached.append(rejected_at)
        elif stage != Stage.WITHDRAWN:  # open, or hired
            reached.append(stage)
    return {"rejected_after": pipeline.rejected_after(application.stage),
            "other_preferred": pipeline.another_preferred(application.stage, reached)}


def record_offer_response(application: Application, *, accepted: bool, note: str = "", actor: User | None,
                          now: datetime | None = None, expected_version: int | None = None) -> Application:
    _require(actor, Action.MANAGE_APPLICATIONS)
    now = _now(now)
    _check_version(application, expected_version)
    next_stage = _transition(application, Event.OFFER_ACCEPTED if accepted else Event.OFFER_DECLINED)
    _refuse_control_characters("The answer could not be saved.", texts={"note": note})
    with _transaction():
        db.session.add(Decision(application_id=application.id, stage=Stage.OFFER.value,
                                outcome="accepted" if accepted else "declined",
                                decided_by_id=actor.id if actor else None, decided_at=now,
                                rationale=_clean(note)))
        _enter_stage(application, next_stage, now, now)
        _touch(application, now)
        keep_promise(application, now, told_in="offer_response", resolved_by="offer_response", answers=True)
        _audit("offer_response", now, actor, application, accepted=accepted, note=_clean(note))
    return application


def extend_deadline(application: Application, *, until: date, reason: str, actor: User | None,
                    now: datetime | None = None, expected_version: int | None = None) -> Application:
    """A new, later answer date with a reason; the candidate is told. At the offer it is
    the candidate's own date to answer by that moves."""
    _require(actor, Action.EXTEND_DEADLINE)
    now = _now(now)
    _check_version(application, expected_version)
    _refuse_control_characters("The answer date could not be extended.", texts={"reason": reason})
    policy = get_policy()
    at_offer = application.stage == Stage.OFFER
    new_end = pipeline.check_extension(application.due_at if at_offer else application.promised_at, until, now,
                                       policy, stage=application.stage, reason=reason,
                                       competing_offer_deadline=application.competing_offer_deadline)
    with _transaction():
        before = application.due_at if at_offer else application.promised_at
        application.extended_until = new_end
        application.extension_reason = _clean(reason)
        _touch(application, now)
        keep_promise(application, now, told_in="deadline_extended", resolved_by="deadline_extended",
                     new_date=None if at_offer else until)
        event = _audit("deadline_extended", now, actor, application, before=before, due_at=application.due_at,
                       promised_at=application.promised_at, reason=_clean(reason), automatic=False)
        notify.to_candidate(application, "deadline_extended", f"extended:{event.id}", now, reason=_clean(reason))
    return application


def send_delay_notice(application: Application, *, now: datetime) -> bool:
    """The promised morning has come and the date still stands: tell the candidate we need
    a little more time and the new date (an automatic extension, its reason in the audit
    log). Beyond the policy's automatic delays each notice also escalates to the position's
    hiring manager and every admin. Returns False when there is nothing to do (anymore)."""
    policy = get_policy()
    if not pipeline.needs_delay_notice(application.stage, application.promised_at, now, policy):
        return False
    promised = pipeline.local_date(application.promised_at, policy)
    until = pipeline.delay_notice_date(promised, now, policy,
                                       competing_offer_deadline=application.competing_offer_deadline)
    late = pipeline.late_since(application.state())
    late_days = pipeline.days_overdue(late, now, policy) if late is not None and late < now else 0
    reason = (f"Automatic delay notice: nothing was decided or said by the morning of {promised.isoformat()}, "
              f"the date the candidate was given; the team is {late_days} day{'s' if late_days != 1 else ''} "
              "past its deadline.")
    with _transaction():
        before = application.promised_at
        application.extended_until = pipeline.end_of_day(until, policy)
        application.extension_reason = reason
        _touch(application, now)
        keep_promise(application, now, told_in="delay_notice", resolved_by="delay_notice", new_date=until,
                     automatic=True)
        stalled = pipeline.is_stalled(application.automatic_delays, policy)
        event = _audit("deadline_extended", now, None, application, before=before, due_at=application.due_at,
                       promised_at=application.promised_at, reason=reason, automatic=True,
                       automatic_delays=application.automatic_delays, escalated=stalled)
        notify.to_candidate(application, "delay_notice", f"extended:{event.id}", now, reason=reason)
        if stalled:
            for person in _escalation_recipients(application):
                notify.to_team_member(
                    person, "stalled_notice", f"stalled:{application.id}:{event.id}:{person.id}", now,
                    application=application, automatic_delays=application.automatic_delays,
                    max_automatic_delays=policy.max_automatic_delays, late_days=late_days,
                    responsible=notify.responsible_user(application))
    return True


def _escalation_recipients(application: Application) -> list[User]:
    """The position's hiring manager and every active admin."""
    people = {u.id: u for u in db.session.scalars(
        select(User).where(User.role == Role.ADMIN.value, User.active.is_(True))).all()}
    manager = application.position.hiring_manager
    if manager is not None and manager.active:
        people[manager.id] = manager
    return sorted(people.values(), key=lambda u: u.id)


def set_competing_offer(application: Application, *, deadline: date | None, actor: User | None,
                        now: datetime | None = None, expected_version: int | None = None) -> Application:
    """The candidate has another offer until ``deadline``: answer the day before at the
    latest, and confirm to the candidate the date they will hear from us by."""
    _require(actor, Action.MANAGE_APPLICATIONS)
    now = _now(now)
    _check_version(application, expected_version)
    if not application.is_open:
        raise IllegalTransition("This application is closed.")
    policy = get_policy()
    if deadline is not None:
        pipeline.check_competing_offer(deadline, now, policy)
    with _transaction():
        before = application.promised_at
        application.competing_offer_deadline = deadline
        _touch(application, now)
        confirm = deadline is not None and application.promised_at is not None
        if confirm:
            new_day = pipeline.competing_offer_promise(pipeline.local_date(application.promised_at, policy),
                                                       deadline, now, policy)
            if application.extended_until is not None and application.extended_until > pipeline.end_of_day(
                    new_day, policy):
                application.extended_until = pipeline.end_of_day(new_day, policy)
            keep_promise(application, now, told_in="competing_offer_confirmation",
                         resolved_by="competing_offer_set", new_date=new_day)
        event = _audit("competing_offer_set" if deadline else "competing_offer_cleared", now, actor, application,
                       deadline=deadline, before=before, due_at=application.due_at,
                       promised_at=application.promised_at)
        if confirm:
            notify.to_candidate(application, "competing_offer_confirmation", f"competing-offer:{event.id}", now,
                                deadline=deadline, moved_earlier=application.promised_at != before)
    return application


def withdraw(application: Application, *, reason: str = "", actor: User | None, now: datetime | None = None,
             expected_version: int | None = None) -> Application:
    """The candidate withdrew; confirm it to them."""
    _require(actor, Action.MANAGE_APPLICATIONS)
    now = _now(now)
    _check_version(application, expected_version)
    next_stage = _transition(application, Event.WITHDRAW)
    _refuse_control_characters("The withdrawal could not be saved.", lines={"reason": reason})
    with _transaction():
        stage_before = application.stage
        _enter_stage(application, next_stage, now, now)
        cancelled = _cancel_upcoming_interviews(application, now)
        _touch(application, now)
        keep_promise(application, now, told_in="withdrawal_confirmation", resolved_by="withdrawn", answers=True)
        event = _audit("withdrawn", now, actor, application, stage=stage_before, reason=_clean(reason))
        notify.to_candidate(application, "withdrawal_confirmation", f"withdrawn:{event.id}", now)
        for interview in cancelled:
            _tell_panel_cancelled(interview, event.id, now, why="withdrawn")
    return application


def _cancel_upcoming_interviews(application: Application, now: datetime) -> list[Interview]:
    cancelled = [i for i in application.interviews if i.held_at is None and i.cancelled_at is None]
    for interview in cancelled:
        interview.cancelled_at = now
        interview.ical_sequence += 1
    return cancelled


def record_candidate_contact(application: Application, *, kind: str, channel: str, summary: str = "",
                             occurred_at: datetime | None = None, actor: User | None,
                             now: datetime | None = None) -> CandidateContact:
    _require(actor, Action.MANAGE_APPLICATIONS)
    now = _now(now)
    _require_aware(occurred_at, "occurred_at")
    occurred_at = occurred_at or now
    errors: dict[str, str] = {}
    if kind not in CONTACT_KINDS:
        errors["kind"] = "Choose thank-you note, enquiry or other."
    if channel not in CONTACT_CHANNELS:
        errors["channel"] = "Choose email, phone, in person or other."
    if occurred_at > now:
        errors["occurred_at"] = "Not in the future."
    _check_text(errors, texts={"summary": summary})
    if errors:
        raise InvalidInput("The contact could not be logged.", errors)
    with _transaction():
        contact = CandidateContact(application_id=application.id, kind=kind, channel=channel, summary=_clean(summary),
                                   occurred_at=occurred_at, recorded_by_id=actor.id if actor else None,
                                   created_at=now)
        db.session.add(contact)
        _touch(application, now)
        db.session.flush()
        # "contact_kind": _audit's own first parameter is called kind.
        _audit("candidate_contact", now, actor, application, contact_id=contact.id, contact_kind=kind,
               channel=channel)
    return contact


def add_reference(application: Application, *, name: str, contact: str = "", status: str = "requested",
                  notes: str = "", actor: User | None, now: datetime | None = None) -> Reference:
    _require(actor, Action.MANAGE_APPLICATIONS)
    now = _now(now)
    errors: dict[str, str] = {}
    if not _clean(name):
        errors["name"] = "Enter the reference's name."
    _check_lengths(errors, name=(name, 200), contact=(contact, 300))
    _check_text(errors, lines={"name": name, "contact": contact}, texts={"notes": notes})
    if status not in REFERENCE_STATUSES:
        errors["status"] = "Choose a status."
    if errors:
        raise InvalidInput("The reference could not be added.", errors)
    with _transaction():
        reference = Reference(application_id=application.id, name=_clean(name), contact=_clean(contact),
                              status=status, notes=_clean(notes), created_at=now, updated_at=now)
        db.session.add(reference)
        _touch(application, now)
        db.session.flush()
        _audit("reference_added", now, actor, application, reference_id=reference.id, status=status)
    return reference


def update_reference(reference: Reference, *, status: str, notes: str | None = None, actor: User | None,
                     now: datetime | None = None) -> Reference:
    _require(actor, Action.MANAGE_APPLICATIONS)
    now = _now(now)
    if status not in REFERENCE_STATUSES:
        raise InvalidInput("Unknown status.", {"status": "Choose a status."})
    _refuse_control_characters("The reference could not be saved.", texts={"notes": notes})
    application = db.session.get(Application, reference.application_id)
    with _transaction():
        reference.status = status
        if notes is not None:
            reference.notes = _clean(notes)
        reference.updated_at = now
        _touch(application, now)
        _audit("reference_updated", now, actor, application, reference_id=reference.id, status=status)
    return reference


# --- documents ----------------------------------------------------------------------------

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
DOCUMENT_TYPES = {
    "pdf": "application/pdf",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "odt": "application/vnd.oasis.opendocument.text",
}


def sniff_document_type(data: bytes) -> str | None:
    """The document type by content, not by name: PDF, DOC (OLE2), DOCX or ODT (zip)."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        # OLE2 also holds .xls, .msi and .msg files; a Word file has a WordDocument stream.
        return "doc" if "WordDocument".encode("utf-16-le") in data else None
    if data.startswith(b"PK\x03\x04"):
        import io
        import zipfile

        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
                if "mimetype" in names and archive.read("mimetype").strip() == DOCUMENT_TYPES["odt"].encode():
                    return "odt"
                if "[Content_Types].xml" in names and any(n.startswith("word/") for n in names):
                    return "docx"
        except (zipfile.BadZipFile, OSError, KeyError, ValueError):
            return None
    return None


def add_document(application: Application, *, filename: str, data: bytes, actor: User | None,
                 now: datetime | None = None) -> Document:
    _require(actor, Action.MANAGE_APPLICATIONS)
    now = _now(now)
    if not data:
        raise InvalidInput("The file is empty.", {"document": "Choose a file."})
    if len(data) > MAX_DOCUMENT_BYTES:
        raise InvalidInput("The file is too large.", {"document": "At most 10 MB."})
    kind = sniff_document_type(data)
    if kind is None:
        raise InvalidInput("Unsupported file.", {"document": "Upload a PDF, DOC, DOCX or ODT document."})
    safe_name = re.sub(r"[^\w.\- ]+", "_", Path(filename or "document").name).strip() or "document"
    stem = safe_name.rsplit(".", 1)[0] if "." in safe_name else safe_name
    safe_name = f"{stem[:200]}.{kind}"
    storage_key = uuid.uuid4().hex
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)  # candidates' documents: owner only
    path = folder / storage_key
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as fh:
        fh.write(data)
    try:
        with _transaction():
            document = Document(application_id=application.id, filename=safe_name, content_type=DOCUMENT_TYPES[kind],
                                size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest(),
                                storage_key=storage_key, uploaded_by_id=actor.id if actor else None,
                                uploaded_at=now)
            db.session.add(document)
            _touch(application, now)
            db.session.flush()
            _audit("document_uploaded", now, actor, application, document_id=document.id, filename=safe_name)
    except BaseException:
        path.unlink(missing_ok=True)  # no orphan file when the row did not land
        raise
    return document


def document_path(document: Document) -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"]) / document.storage_key

