"""The application page and its action endpoints.

Each action validates its form, runs one service verb and answers: a redirect on success
(post/redirect/get), or the page again with the input kept and the reason shown. The forms
and their keys come from the table in ``actions``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from functools import wraps
from typing import Any

from flask import abort, flash, jsonify, redirect, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from ... import forms, queries, services
from ...extensions import db
from ...forms import apply_field_errors
from ...models import Application, Interview, Reference, User, utcnow
from ...pipeline import Action, DomainError, InvalidInput, Stage, StaleVersion, Step
from ...settings import get_policy
from .. import read_only
from . import bp
from .actions import decision_choices, panel_ids, posted
from .loading import find, interview_of, load, require
from .page import render_page

CONFLICT_MESSAGE = ("Someone else changed this application while you were filling in the form. "
                    "The page now shows their change; your input is kept below — check it and submit again.")


@bp.get("/people")
@login_required
def people():
    """Active team members whose name or email contains ``q`` (at least two characters):
    the panel picker's suggestions as one types."""
    require(Action.MANAGE_APPLICATIONS)
    q = request.args.get("q", "").strip()
    if len(q) < 2:
        return jsonify(people=[])
    return jsonify(people=queries.search_people(q, services.FEEDBACK_ROLES))


@bp.get("/<int:application_id>")
@read_only
@login_required
def detail(application_id: int):
    return render_page(load(application_id))


# --- actions ---------------------------------------------------------------------------------


def handle(application: Application, form: FlaskForm, action: Callable[[FlaskForm], Any], *,
           success: str, aliases: dict[str, str] | None = None, check_version: bool = True,
           anchor: str = ""):
    """Validate, run the service, and answer: redirect on success, or the page again
    with the input kept and the reason shown (``form.key`` says where it goes)."""
    key = form.key
    if check_version and form.is_submitted() and form.expected_version() not in (None, application.version):
        return _conflict(application.id, key, form)
    if form.validate_on_submit():
        try:
            action(form)
        except StaleVersion:
            return _conflict(application.id, key, form)
        except InvalidInput as exc:
            db.session.rollback()
            application = load(application.id)
            for message in apply_field_errors(form, exc.fields, aliases):
                flash(message, "error")
            if not exc.fields:
                flash(str(exc), "error")
            return render_page(application, posted=(key, form), status=422)
        except DomainError as exc:  # NotAllowed is 403, any other refusal 409
            db.session.rollback()
            flash(str(exc), "error")
            return render_page(load(application.id), posted=(key, form), status=exc.http_status)
        flash(success, "success")
        return redirect(url_for("applications.detail", application_id=application.id, _anchor=anchor or None))
    return render_page(application, posted=(key, form), status=422)


def _conflict(application_id: int, key: str, form: FlaskForm):
    db.session.rollback()
    flash(CONFLICT_MESSAGE, "warning")
    return render_page(load(application_id), posted=(key, form), conflict=True, status=409)


def _clock(form: FlaskForm) -> datetime:
    return forms.local_datetime(form.day.data, form.start.data, get_policy())


INTERVIEW_ALIASES = {"scheduled_at": "day", "reason": "extension_reason"}  # the service's names → the form's


def _interview_fields(f: FlaskForm) -> dict[str, Any]:
    """What scheduling and rescheduling both send to the service from the interview form."""
    return {"scheduled_at": _clock(f), "panel_user_ids": panel_ids(f), "duration_minutes": f.duration_minutes.data,
            "location": f.location.data or "", "video_link": f.video_link.data or "", "actor": current_user,
            "expected_version": f.expected_version(), "extend_until": f.extend_until.data,
            "reason": f.extension_reason.data or ""}


def action_route(rule: str, step: Step, *, success: str, requires: Action | None = Action.MANAGE_APPLICATIONS,
                 outcomes: Callable[[Application, User], list[tuple[str, str]]] | None = None, **options: Any):
    """The POST endpoint of an action of the table: ``@action_route(rule, step, success=...)``
    over a function that takes what the rule names (the interview when it names one, else the
    application) and the validated form, and calls the one service verb.

    The endpoint is the function's name. It loads the application, requires ``requires``
    (None: the service decides who may), reads the step's form (``outcomes``: the outcome
    choices it is checked against) and answers through ``handle`` (``options``: its aliases,
    check_version, anchor)."""
    def register(verb: Callable[[Any, FlaskForm], Any]):
        @bp.post(rule, endpoint=verb.__name__)
        @login_required
        @wraps(verb)
        def view(application_id: int, interview_id: int | None = None):
            application = load(application_id)
            if requires is not None:
                require(requires)
            subject = application if interview_id is None else interview_of(application, interview_id)
            form = posted(step, interview_id)
            if outcomes is not None:
                form.outcome.choices = forms.choices(outcomes(application, current_user))
            return handle(application, form, lambda f: verb(subject, f), success=success, **options)
        return view
    return register


@action_route("/<int:application_id>/interviews", Step.SCHEDULE_INTERVIEW,
              success="Interview scheduled; the candidate is invited.", aliases=INTERVIEW_ALIASES,
              anchor="interviews")
def schedule_interview(application: Application, f: FlaskForm):
    # A step that no longer fits still goes to the service, which says why it is refused.
    offered = find(application, current_user, Step.SCHEDULE_INTERVIEW)
    round_ = offered.round if offered is not None else (2 if application.stage == Stage.SECOND_INTERVIEW else 1)
    services.schedule_interview(application, round=round_, **_interview_fields(f))


@action_route("/<int:application_id>/interviews/<int:interview_id>/reschedule", Step.RESCHEDULE_INTERVIEW,
              success="Interview rescheduled; the candidate is told.", aliases=INTERVIEW_ALIASES,
              anchor="interviews")
def reschedule_interview(interview: Interview, f: FlaskForm):
    services.reschedule_interview(interview, **_interview_fields(f))


@action_route("/<int:application_id>/interviews/<int:interview_id>/cancel", Step.CANCEL_INTERVIEW,
              success="Interview cancelled.", anchor="interviews")
def cancel_interview(interview: Interview, f: FlaskForm):
    services.cancel_interview(interview, reason=f.reason.data or "", actor=current_user,
                              expected_version=f.expected_version())


@action_route("/<int:application_id>/interviews/<int:interview_id>/held", Step.MARK_HELD,
              success="Interview marked as held; the panel is asked for feedback.", aliases={"held_at": "day"},
              anchor="interviews")
def interview_held(interview: Interview, f: FlaskForm):
    services.record_interview_held(interview, held_at=_clock(f), actor=current_user,
                                   expected_version=f.expected_version())


@bp.post("/<int:application_id>/interviews/<int:interview_id>/feedback")
@login_required
def submit_feedback(application_id: int, interview_id: int):
    application = load(application_id)
    interview = interview_of(application, interview_id)
    if not current_user.can(Action.SUBMIT_FEEDBACK) or current_user.id not in interview.panel_user_ids:
        abort(403)
    # Feedback is each panel member's own and given once: another member's feedback
    # landing meanwhile is no conflict, so the version is not enforced here.
    return handle(application, posted(Step.GIVE_FEEDBACK, interview.id),
                  lambda f: services.submit_feedback(interview, interviewer=current_user,
                                                     recommendation=f.recommendation.data,
                                                     notes=f.notes.data or ""),
                  success="Thank you — your feedback is recorded.", check_version=False,
                  anchor=f"interview-{interview.id}")


@action_route("/<int:application_id>/decision", Step.DECIDE, requires=Action.DECIDE, outcomes=decision_choices,
              success="Decision recorded; the candidate is told.")
def decide(application: Application, f: FlaskForm):
    services.decide(application, outcome=f.outcome.data, rationale=f.rationale.data or "",
                    candidate_feedback=f.candidate_feedback.data or "", actor=current_user,
                    expected_version=f.expected_version())


# Who may decide is the service's question (pipeline.offer_decider): the hiring manager,
# or an admin acting for them; anyone else gets the page with the reason (403).
@action_route("/<int:application_id>/offer-decision", Step.OFFER_DECISION, requires=None,
              success="Offer decision recorded; the candidate is told.")
def offer_decision(application: Application, f: FlaskForm):
    services.decide_offer(application, outcome=f.outcome.data, rationale=f.rationale.data or "", actor=current_user,
                          expected_version=f.expected_version(), acting_for=f.acting_for.data or "")


@action_route("/<int:application_id>/offer-response", Step.OFFER_RESPONSE,
              success="The candidate's answer is recorded.")
def offer_response(application: Application, f: FlaskForm):
    services.record_offer_response(application, accepted=f.response.data == "accepted", note=f.note.data or "",
                                   actor=current_user, expected_version=f.expected_version())


@action_route("/<int:application_id>/deadline", Step.EXTEND_DEADLINE, requires=Action.EXTEND_DEADLINE,
              success="Answer date extended; the candidate is told the new date.")
def extend_deadline(application: Application, f: FlaskForm):
    services.extend_deadline(application, until=f.until.data, reason=f.reason.data, actor=current_user,
                             expected_version=f.expected_version())


@bp.post("/<int:application_id>/competing-offer")
@login_required
def competing_offer(application_id: int):
    application = load(application_id)
    require(Action.MANAGE_APPLICATIONS)
    form = posted(Step.COMPETING_OFFER)
    clearing = request.form.get("competing-clear") is not None

    def action(f):
        if not clearing and f.deadline.data is None:
            raise InvalidInput("Choose the date.", {"deadline": "Choose the date their other offer expires."})
        services.set_competing_offer(application, deadline=None if clearing else f.deadline.data,
                                     actor=current_user, expected_version=f.expected_version())

    return handle(application, form, action,
                  success="Competing offer cleared." if clearing else "Competing offer noted; the answer date "
                  "is brought forward.")


@action_route("/<int:application_id>/contacts", Step.LOG_CONTACT, success="Contact logged.",
              aliases={"occurred_at": "day"}, anchor="timeline")
def log_contact(application: Application, f: FlaskForm):
    occurred = None  # default: now
    if f.day.data:
        # A day without a time means "some time that day": noon, or now when that is
        # today and noon has not come yet. A later day stays later, and the service
        # refuses it ("not in the future") instead of it becoming today silently.
        clock = f.start.data or time(12, 0)
        occurred = forms.local_datetime(f.day.data, clock, get_policy())
        now = utcnow()
        if f.start.data is None and f.day.data == now.astimezone(get_policy().tz).date():
            occurred = min(occurred, now)
    services.record_candidate_contact(application, kind=f.kind.data, channel=f.channel.data,
                                      summary=f.summary.data or "", occurred_at=occurred, actor=current_user)


@action_route("/<int:application_id>/references", Step.ADD_REFERENCE, success="Reference added.",
              anchor="references")
def add_reference(application: Application, f: FlaskForm):
    services.add_reference(application, name=f.name.data, contact=f.contact.data or "", status=f.status.data,
                           notes=f.notes.data or "", actor=current_user)


@bp.post("/<int:application_id>/references/<int:reference_id>")
@login_required
def update_reference(application_id: int, reference_id: int):
    application = load(application_id)
    require(Action.MANAGE_APPLICATIONS)
    reference = db.session.get(Reference, reference_id)
    if reference is None or reference.application_id != application.id:
        abort(404)
    key = f"refout-{reference.id}"  # one per reference, shown beside it (not an action of the table)
    form = forms.ReferenceOutcomeForm(prefix=key)
    form.key = key
    return handle(application, form,
                  lambda f: services.update_reference(reference, status=f.status.data, notes=f.notes.data or "",
                                                      actor=current_user),
                  success="Reference updated.", anchor="references")


@action_route("/<int:application_id>/withdraw", Step.WITHDRAW,
              success="Application withdrawn; the candidate gets a confirmation.")
def withdraw(application: Application, f: FlaskForm):
    services.withdraw(application, reason=f.reason.data or "", actor=current_user,
                      expected_version=f.expected_version())
