"""The application page: everything about one application, and the actions that fit.

Emails link to /applications/<id>, so that URL stays. Every action is a POST that goes
through a service. A bad form, a stale form or a refused step re-renders the page with
the user's input kept; success redirects back (post/redirect/get).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import cache
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.orm import joinedload, load_only, selectinload
from werkzeug.exceptions import RequestEntityTooLarge

from .. import forms, pipeline, queries, services, timefmt
from ..extensions import db
from ..models import (
    Application,
    AuditEvent,
    CandidateContact,
    Decision,
    Document,
    Feedback,
    Interview,
    OutboxEmail,
    PanelMember,
    Position,
    Reference,
    User,
    utcnow,
)
from ..pipeline import Action, DomainError, InvalidInput, NotAllowed, Recommendation, Stage, StaleVersion, Step
from ..settings import get_policy

bp = Blueprint("applications", __name__, url_prefix="/applications")

CONFLICT_MESSAGE = ("Someone else changed this application while you were filling in the form. "
                    "The page now shows their change; your input is kept below — check it and submit again.")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


# --- loading and permissions ------------------------------------------------------------


@cache
def _load_statement():
    """Built once: the application, its people and decisions in one statement, its
    interviews with their panels and feedback in a second (a handful of rows each)."""
    interviews = selectinload(Application.interviews)
    return (
        select(Application)
        .where(Application.id == bindparam("application_id"))
        .options(
            joinedload(Application.candidate),
            joinedload(Application.owner),
            joinedload(Application.position).joinedload(Position.owner),
            joinedload(Application.position).joinedload(Position.hiring_manager),
            joinedload(Application.decisions).joinedload(Decision.decided_by),
            interviews.joinedload(Interview.panel).joinedload(PanelMember.user),
            interviews.joinedload(Interview.feedback).joinedload(Feedback.interviewer),
        )
    )


def _load(application_id: int) -> Application:
    """The application with everything the page shows, in a fixed number of queries."""
    application = db.session.scalars(_load_statement(), {"application_id": application_id}).unique().one_or_none()
    if application is None:
        abort(404)
    if not services.can_view_application(current_user, application):
        abort(404)  # as for an id that does not exist: a 403 would confirm that this one does
    return application


def _require(action: Action) -> None:
    if not current_user.can(action):
        abort(403)


def _interview(application: Application, interview_id: int) -> Interview:
    interview = next((i for i in application.interviews if i.id == interview_id), None)
    if interview is None:
        abort(404)
    return interview


# --- which actions fit ----------------------------------------------------------------------
# Asked of pipeline.available_actions, which follows the services' own rules: the page never
# offers a step the service would refuse.


def _interview_facts(application: Application, user: User) -> list[pipeline.InterviewFacts]:
    return [pipeline.InterviewFacts(id=i.id, round=i.round, scheduled_at=i.scheduled_at,
                                    held=i.held_at is not None, cancelled=i.cancelled_at is not None,
                                    on_panel=user.id in i.panel_user_ids,
                                    gave_feedback=i.feedback_by(user.id) is not None)
            for i in application.interviews]


def available(application: Application, user: User, now: datetime) -> list[pipeline.Available]:
    return pipeline.available_actions(
        application.stage, user.role, now, get_policy(), user_id=user.id,
        hiring_manager_id=application.position.hiring_manager_id,
        interviews=_interview_facts(application, user), has_due_date=application.due_at is not None)


def _find(application: Application, user: User, step: Step) -> pipeline.Available | None:
    return next((a for a in available(application, user, utcnow()) if a.step == step), None)


OUTCOME_LABELS = {
    (Stage.FIRST_DECISION, "advance"): "Invite to the second interview",
    (Stage.FIRST_DECISION, "reject"): "Reject",
}


def _decision_choices(application: Application, user: User) -> list[tuple[str, str]]:
    found = _find(application, user, Step.DECIDE)
    outcomes = found.outcomes if found is not None else ("reject",)  # the service says why not
    return [(o, OUTCOME_LABELS.get((application.stage_enum, o), o.capitalize())) for o in outcomes]


def _local_parts(moment: datetime, *, seconds: bool = False) -> tuple[date, Any]:
    local = moment.astimezone(get_policy().tz)
    return local.date(), local.time().replace(second=local.second if seconds else 0, microsecond=0)


# --- the panel picker ---------------------------------------------------------------------
# A large team has thousands of people who may sit on a panel: listing them all made the
# page slow and the list unusable. The form offers the likely interviewers as checkboxes and
# finds anyone else by name or email (GET /applications/people, and on submit).

PANEL_SUGGESTIONS = 12  # people offered as checkboxes, besides this application's own panels
PANEL_HISTORY = 200  # the position's latest interviews that say who usually interviews for it
PEOPLE_SEARCH_LIMIT = 20


def _team_member():
    """Who may sit on a panel: active users of a role that gives feedback."""
    return and_(User.active.is_(True), User.role.in_([r.value for r in services.FEEDBACK_ROLES]))


def _person_label(name: str, role: str) -> str:
    return f"{name} ({role})"


def _may_sit_on_panel(user: User | None) -> bool:
    return user is not None and user.active and user.role in {r.value for r in services.FEEDBACK_ROLES}


def _panel_suggestions(application: Application) -> list[tuple[int, str]]:
    """The likely interviewers, by name: everyone on this application's panels so far, the
    position's hiring manager, and whoever interviewed most often for the position lately.

    One query (the application's panels are already loaded), bounded by PANEL_HISTORY
    whatever the size of the team or of the position's history."""
    recent = (
        select(Interview.id).join(Application, Application.id == Interview.application_id)
        .where(Application.position_id == application.position_id)
        .order_by(Interview.id.desc()).limit(PANEL_HISTORY).subquery()
    )
    usual = db.session.execute(
        select(User.id, User.name, User.role)
        .join(PanelMember, PanelMember.user_id == User.id)
        .where(PanelMember.interview_id.in_(select(recent.c.id)), _team_member())
        .group_by(User.id, User.name, User.role)
        .order_by(func.count().desc(), User.name, User.id)
        .limit(PANEL_SUGGESTIONS)
    ).all()
    people: dict[int, str] = {}
    for interview in application.interviews:
        for member in interview.panel:
            if _may_sit_on_panel(member.user):
                people[member.user_id] = _person_label(member.user.name, member.user.role)
    manager = application.position.hiring_manager
    if _may_sit_on_panel(manager):
        people[manager.id] = _person_label(manager.name, manager.role)
    for row in usual:
        if len(people) >= PANEL_SUGGESTIONS:
            break
        people.setdefault(row.id, _person_label(row.name, row.role))
    return sorted(people.items(), key=lambda item: (item[1].casefold(), item[0]))


def _with_chosen(suggested: list[tuple[int, str]], chosen: list[int] | None) -> list[tuple[int, str]]:
    """The suggestions plus anyone ticked who is not among them (a form sent back with an
    error keeps the people found by search), each once."""
    missing = [i for i in dict.fromkeys(chosen or []) if i not in dict(suggested)]
    if not missing:
        return suggested
    rows = db.session.execute(select(User.id, User.name, User.role).where(User.id.in_(missing))).all()
    return [*suggested, *((row.id, _person_label(row.name, row.role)) for row in rows)]


def _first_name(name: str) -> str:
    return (name.split() or [""])[0].casefold()


def _people_named(text: str | None) -> list[int]:
    """The ids of the people typed into "Add someone else": email addresses, full names, or
    a first name that only one active team member has, separated by commas or semicolons.
    Anything that is not exactly one active team member is refused with a message that says
    what to type instead."""
    wanted = [part.strip() for part in re.split(r"[,;\n]", text or "") if part.strip()]
    if not wanted:
        return []
    keys = {part.casefold() for part in wanted}
    first_names = [func.lower(User.name).like(queries.like_pattern(key)[1:-1] + " %", escape="\\")
                   for key in keys if " " not in key and "@" not in key]
    rows = db.session.execute(
        select(User.id, User.name, User.email)
        .where(_team_member(), or_(func.lower(User.email).in_(keys), func.lower(User.name).in_(keys), *first_names))
    ).all()
    ids: list[int] = []
    problems: list[str] = []
    for part in wanted:
        key = part.casefold()
        matches = [r for r in rows if r.email.casefold() == key] or [r for r in rows if r.name.casefold() == key]
        by_first_name = not matches
        if by_first_name:
            matches = [r for r in rows if _first_name(r.name) == key]
        if not matches:
            problems.append(f"Nobody on the active team is called or has the email “{part}”.")
        elif len(matches) > 1 and by_first_name:
            names = ", ".join(sorted(r.name for r in matches)[:5])
            problems.append(f"{len(matches)} people have the first name “{part}” ({names}): type the full name "
                            "or the email address instead.")
        elif len(matches) > 1:
            problems.append(f"{len(matches)} people are called “{part}”: type the email address instead.")
        else:
            ids.append(matches[0].id)
    if problems:
        raise InvalidInput("Check the people added to the panel.", {"panel_more": " ".join(problems)})
    return ids


@bp.get("/people")
@login_required
def people():
    """Active team members whose name or email contains ``q`` (at least two characters):
    the panel picker's suggestions as one types."""
    _require(Action.MANAGE_APPLICATIONS)
    q = request.args.get("q", "").strip()
    if len(q) < 2:
        return jsonify(people=[])
    rows = db.session.execute(
        select(User.id, User.name, User.email, User.role)
        .where(_team_member(), queries.contains(q, User.name, User.email))
        .order_by(User.name, User.id).limit(PEOPLE_SEARCH_LIMIT)
    ).all()
    return jsonify(people=[{"id": r.id, "name": r.name, "email": r.email, "role": r.role,
                            "label": _person_label(r.name, r.role)} for r in rows])


def _panel_ids(form: FlaskForm) -> list[int]:
    """The ticked boxes plus the people typed in by name or email."""
    return [*form.panel.data, *_people_named(form.panel_more.data)]


def _fresh(form_class: type[FlaskForm], key: str, application: Application, **data: Any) -> FlaskForm:
    return form_class(formdata=None, prefix=key, data={"version": application.version, **data})


def build_forms(application: Application, user: User, now: datetime,
                expanded: set[str | None] | None = None) -> dict[str, FlaskForm]:
    """The empty action forms that fit the stage and the user's role, keyed by prefix.

    A reschedule form is a rare action, shown only when ``expanded`` names it: until then
    its panel needs no suggestions (a query)."""
    found: dict[str, FlaskForm] = {}
    panel_choices: list[tuple[int, str]] | None = None

    def interview_form(key: str, **data: Any) -> FlaskForm:
        nonlocal panel_choices
        form = _fresh(forms.InterviewForm, key, application, **data)
        if key.startswith("reschedule-") and expanded is not None and key not in expanded:
            return form
        if panel_choices is None:
            panel_choices = _panel_suggestions(application)
        form.panel.choices = forms.choices(panel_choices)
        return form

    for action in available(application, user, now):
        step, interview_id = action.step, action.interview_id
        interview = next((i for i in application.interviews if i.id == interview_id), None)
        if step == Step.SCHEDULE_INTERVIEW:
            found["schedule"] = interview_form("schedule", duration_minutes=60)
        elif step == Step.RESCHEDULE_INTERVIEW and interview is not None:
            day, start = _local_parts(interview.scheduled_at)
            found[f"reschedule-{interview.id}"] = interview_form(
                f"reschedule-{interview.id}", day=day, start=start, duration_minutes=interview.duration_minutes,
                location=interview.location, video_link=interview.video_link, panel=interview.panel_user_ids)
        elif step == Step.CANCEL_INTERVIEW and interview is not None:
            found[f"cancel-{interview.id}"] = _fresh(forms.CancelInterviewForm, f"cancel-{interview.id}",
                                                     application)
        elif step == Step.MARK_HELD and interview is not None:
            day, start = _local_parts(min(interview.scheduled_at, now), seconds=True)
            found[f"held-{interview.id}"] = _fresh(forms.HeldForm, f"held-{interview.id}", application,
                                                   day=day, start=start)
        elif step == Step.GIVE_FEEDBACK and interview is not None:
            found[f"feedback-{interview.id}"] = _fresh(forms.FeedbackForm, f"feedback-{interview.id}", application)
        elif step == Step.DECIDE:
            form = _fresh(forms.DecisionForm, "decision", application)
            form.outcome.choices = forms.choices(
                [(o, OUTCOME_LABELS.get((application.stage_enum, o), o.capitalize())) for o in action.outcomes])
            found["decision"] = form
        elif step == Step.OFFER_DECISION:
            found["offer_decision"] = _fresh(forms.OfferDecisionForm, "offer_decision", application)
        elif step == Step.OFFER_RESPONSE:
            found["offer_response"] = _fresh(forms.OfferResponseForm, "offer_response", application)
        elif step == Step.EXTEND_DEADLINE:
            found["extend"] = _fresh(forms.ExtendDeadlineForm, "extend", application)
        elif step == Step.COMPETING_OFFER:
            found["competing"] = _fresh(forms.CompetingOfferForm, "competing", application,
                                        deadline=application.competing_offer_deadline)
        elif step == Step.LOG_CONTACT:
            found["contact"] = _fresh(forms.ContactForm, "contact", application)
        elif step == Step.ADD_REFERENCE:
            found["reference"] = _fresh(forms.ReferenceForm, "reference", application)
        elif step == Step.UPLOAD_DOCUMENT:
            found["document"] = _fresh(forms.DocumentForm, "document", application)
        elif step == Step.WITHDRAW:
            found["withdraw"] = _fresh(forms.WithdrawForm, "withdraw", application)
    return found


# --- the timeline ----------------------------------------------------------------------------


@dataclass
class TimelineItem:
    at: datetime
    kind: str  # event / email / contact
    title: str
    detail: str = ""
    actor: str = ""
    url: str = ""


ROUND_NAMES = {1: "First interview", 2: "Second interview"}
OUTCOME_TITLES = {
    ("advance", "second_interview"): "Invited to the second interview",
    ("advance", "offer"): "Offer made",
    ("reject", "rejected"): "Rejected",
}


def _when(value: Any) -> str:
    if isinstance(value, str):  # audit data keeps ISO strings: "2026-12-01" or with a time
        try:
            value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        except ValueError:
            return value
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
    if isinstance(value, datetime):
        return timefmt.date_time(value, get_policy())
    if isinstance(value, date):
        return timefmt.short_date(value, get_policy())
    return ""


def _describe(event: AuditEvent, rounds: dict[int, int], visible_feedback: set[int]) -> TimelineItem:
    data = event.data or {}
    kind = event.kind
    title, detail = kind.replace("_", " ").capitalize(), ""
    round_name = ROUND_NAMES.get(rounds.get(data.get("interview_id"), data.get("round")), "Interview")
    # The date told to the candidate (events before the promise record kept it in due_at).
    told = data.get("promised_at") or data.get("due_at")
    if kind == "application_submitted":
        title = "Application received"
        if told:
            detail = f"Answer promised by {_when(told)}"
    elif kind == "interview_scheduled":
        title, detail = f"{round_name} scheduled", f"for {_when(data.get('scheduled_at'))}"
        if data.get("promised_at"):
            detail += f"; answer promised by {_when(data['promised_at'])}"
        if data.get("reason"):
            detail += f" (date moved: {data['reason']})"
    elif kind == "interview_rescheduled":
        title, detail = f"{round_name} rescheduled", f"now {_when(data.get('scheduled_at'))}"
    elif kind == "interview_cancelled":
        title, detail = f"{round_name} cancelled", data.get("reason") or ""
    elif kind == "interview_held":
        title = f"{round_name} held"
        if told:
            detail = f"Answer promised by {_when(told)}"
    elif kind == "feedback_submitted":
        title = f"Feedback on the {round_name.lower()}"
        if data.get("interview_id") in visible_feedback and data.get("recommendation"):
            detail = Recommendation(data["recommendation"]).label
    elif kind == "decision":
        title = OUTCOME_TITLES.get((data.get("outcome"), data.get("to_stage")), "Decision")
        detail = data.get("rationale") or ""
    elif kind == "offer_response":
        title = "Offer accepted" if data.get("accepted") else "Offer declined"
        detail = data.get("note") or ""
    elif kind == "deadline_extended":
        title = "Answer date moved (automatic delay notice)" if data.get("automatic") else "Answer date extended"
        detail = f"to {_when(told)} — {data.get('reason') or ''}"
    elif kind == "competing_offer_set":
        title, detail = "Competing offer noted", f"expires {_when(data.get('deadline'))}; answer promised by " \
                                                 f"{_when(told)}"
    elif kind == "competing_offer_cleared":
        title = "Competing offer cleared"
    elif kind == "withdrawn":
        title, detail = "Candidate withdrew", data.get("reason") or ""
    elif kind == "reference_added":
        title = "Reference added"
    elif kind == "reference_updated":
        title, detail = "Reference updated", (data.get("status") or "").capitalize()
    elif kind == "document_uploaded":
        title, detail = "Document uploaded", data.get("filename") or ""
    actor = event.actor.name if event.actor else "System"
    return TimelineItem(at=event.occurred_at, kind="event", title=title, detail=detail, actor=actor)


def build_timeline(application: Application, user: User, visible_feedback: set[int]) -> list[TimelineItem]:
    """Every audit event, email and candidate contact, newest first."""
    rounds = {i.id: i.round for i in application.interviews}
    items: list[TimelineItem] = []
    events = db.session.scalars(
        select(AuditEvent).options(joinedload(AuditEvent.actor))
        .where(AuditEvent.application_id == application.id).order_by(AuditEvent.occurred_at, AuditEvent.id)
    ).all()
    for event in events:
        if event.kind == "candidate_contact":
            continue  # shown from the contact itself, with its summary
        items.append(_describe(event, rounds, visible_feedback))
    if user.can(Action.VIEW_EMAILS):
        email_page = "emails.detail" in current_app.view_functions
        emails = db.session.scalars(
            select(OutboxEmail)
            .options(load_only(OutboxEmail.template, OutboxEmail.recipient, OutboxEmail.subject,
                               OutboxEmail.status, OutboxEmail.created_at, OutboxEmail.sent_at,
                               OutboxEmail.to_candidate))
            .where(OutboxEmail.application_id == application.id).order_by(OutboxEmail.created_at, OutboxEmail.id)
        ).all()
        for email in emails:
            status = {"queued": "queued", "sent": f"sent {_when(email.sent_at)}", "failed": "failed, will retry",
                      "not_delivered": "not delivered (no mail server)"}.get(email.status, email.status)
            items.append(TimelineItem(at=email.created_at, kind="email", title=email.subject,
                                      detail=f"to {email.recipient} · {status}",
                                      url=url_for("emails.detail", email_id=email.id) if email_page else ""))
    contacts = db.session.scalars(
        select(CandidateContact).options(joinedload(CandidateContact.recorded_by))
        .where(CandidateContact.application_id == application.id)
        .order_by(CandidateContact.occurred_at, CandidateContact.id)
    ).all()
    for contact in contacts:
        kind = dict(forms.CONTACT_KIND_CHOICES).get(contact.kind, contact.kind)
        channel = dict(forms.CONTACT_CHANNEL_CHOICES).get(contact.channel, contact.channel).lower()
        items.append(TimelineItem(at=contact.occurred_at, kind="contact", title=f"{kind} from the candidate",
                                  detail=f"by {channel}" + (f" — {contact.summary}" if contact.summary else ""),
                                  actor=contact.recorded_by.name if contact.recorded_by else ""))
    # Newest first; within one instant the later-recorded first (each list above is in
    # recording order), so equal timestamps never swap places between page loads.
    order = {id(item): n for n, item in enumerate(items)}
    items.sort(key=lambda item: (item.at, order[id(item)]), reverse=True)
    return items


# --- rendering -------------------------------------------------------------------------------


def render_page(application: Application, *, posted: tuple[str, FlaskForm] | None = None,
                conflict: bool = False, status: int = 200):
    user = current_user._get_current_object()
    now = utcnow()
    policy = get_policy()
    # The rare actions whose forms are shown: the one asked for, the one sent back.
    expanded = {posted[0] if posted is not None else None, request.args.get("action")}
    action_forms = build_forms(application, user, now, expanded)
    orphan = None
    if posted is not None:
        key, form = posted
        if conflict:
            form.version.data = str(application.version)  # resubmitting is now a conscious choice
        if key in action_forms:
            if hasattr(form, "panel") and hasattr(action_forms[key], "panel"):
                suggested = [(c.value, c.label) for c in action_forms[key].panel.choices]
                form.panel.choices = forms.choices(_with_chosen(suggested, form.panel.data))
            if key == "decision":
                form.outcome.choices = action_forms[key].outcome.choices
            action_forms[key] = form
        else:
            orphan = form  # the step no longer fits the stage: still show what was typed
    summary, focus = _error_summary(posted[1] if posted is not None and orphan is None else None)
    if orphan is not None and not conflict:
        # The step is not offered here (any more): its field errors cannot sit next to a
        # field, so they are said at the top, and what was typed is shown to copy.
        for f in orphan:
            for message in f.errors if f.type not in ("HiddenField", "CSRFTokenField") else ():
                flash(f"{f.label.text}: {message}", "error")
    visible = {i.id for i in application.interviews if services.feedback_visible(user, i)}  # as in the API
    documents = db.session.execute(
        select(Document, User.name).outerjoin(User, User.id == Document.uploaded_by_id)
        .where(Document.application_id == application.id).order_by(Document.uploaded_at.desc(), Document.id.desc())
    ).all()
    references = db.session.scalars(
        select(Reference).where(Reference.application_id == application.id).order_by(Reference.id)).all()
    reference_forms = {}
    if user.can(Action.MANAGE_APPLICATIONS):
        for reference in references:
            key = f"refout-{reference.id}"
            if posted is not None and posted[0] == key:
                reference_forms[reference.id] = posted[1]
                orphan = None if orphan is posted[1] else orphan
            else:
                reference_forms[reference.id] = _fresh(forms.ReferenceOutcomeForm, key, application,
                                                       status=reference.status, notes=reference.notes)
    context = {
        "application": application,
        "candidate": application.candidate,
        "position": application.position,
        "stage": application.stage_enum,
        "flags": application.flags(now, policy),
        "late_days": _late_days(application, now, policy),
        "hold_by": (pipeline.hold_by_date(application.stage_entered_at, policy,
                                          extended_until=application.extended_until)
                    if application.stage == Stage.SECOND_INTERVIEW else None),
        "now": now,
        "policy": policy,
        "forms": action_forms,
        "reference_forms": reference_forms,
        "orphan_form": orphan,
        "open_key": posted[0] if posted is not None else None,
        "expanded": expanded,
        "conflict": conflict,
        "visible_feedback": visible,
        "timeline": build_timeline(application, user, visible),
        "documents": documents,
        "references": references,
        "reference_statuses": dict(forms.REFERENCE_STATUS_CHOICES),
        "recommendation_labels": {r.value: r.label for r in Recommendation},
        "Action": Action,
        "error_summary": summary,
        "error_focus": focus,
        "acting_for": any(a.step == Step.OFFER_DECISION and a.acting_for for a in available(application, user, now)),
    }
    return render_template("applications/show.html", **context), status


def _late_days(application: Application, now: datetime, policy) -> int:
    """Whole days the team is past its first missed deadline (0 when on time)."""
    state = application.state()
    late = pipeline.late_since(state)
    if not pipeline.is_overdue(state, now) or late is None:
        return 0
    return max(1, pipeline.days_overdue(late, now, policy))


def _error_summary(form: FlaskForm | None) -> tuple[list[tuple[str, str, str]], str | None]:
    """A form sent back with errors: (target id, field label, message) for the summary at
    the top of the page, each linking to its field, and the id of the control to focus
    (the first field in error, in the form's order) — so the eye lands where the error is."""
    if form is None:
        return [], None
    summary: list[tuple[str, str, str]] = []
    focus = None
    for f in form:
        if not f.errors or f.type in ("HiddenField", "CSRFTokenField"):
            continue
        control = f.id
        if f.type in ("RadioField", "MultiCheckboxField"):  # a group: its first option (or the "add" box)
            control = f"{f.id}-0" if f.choices else getattr(getattr(form, "panel_more", None), "id", f.id)
        summary.append((control, f.label.text, " ".join(f.errors)))
        focus = focus or control
    return summary, focus


@bp.get("/<int:application_id>")
@login_required
def detail(application_id: int):
    return render_page(_load(application_id))


# --- actions ---------------------------------------------------------------------------------


def _apply_errors(form: FlaskForm, errors: dict[str, str], aliases: dict[str, str] | None = None) -> list[str]:
    """Put a service's per-field messages next to the form's fields; return the rest."""
    rest = []
    for name, message in errors.items():
        target = getattr(form, (aliases or {}).get(name, name), None)
        if target is not None and hasattr(target, "errors"):
            target.errors = [*list(target.errors or []), message]
        else:
            rest.append(message)
    return rest


def _handle(application: Application, key: str, form: FlaskForm, action: Callable[[FlaskForm], Any], *,
            success: str, aliases: dict[str, str] | None = None, check_version: bool = True,
            anchor: str = ""):
    """Validate, run the service, and answer: redirect on success, or the page again
    with the input kept and the reason shown."""
    if check_version and form.is_submitted() and form.expected_version() not in (None, application.version):
        return _conflict(application.id, key, form)
    if form.validate_on_submit():
        try:
            action(form)
        except StaleVersion:
            return _conflict(application.id, key, form)
        except InvalidInput as exc:
            db.session.rollback()
            application = _load(application.id)
            for message in _apply_errors(form, exc.fields, aliases):
                flash(message, "error")
            if not exc.fields:
                flash(str(exc), "error")
            return render_page(application, posted=(key, form), status=422)
        except NotAllowed as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return render_page(_load(application.id), posted=(key, form), status=403)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return render_page(_load(application.id), posted=(key, form), status=409)
        flash(success, "success")
        return redirect(url_for("applications.detail", application_id=application.id, _anchor=anchor or None))
    return render_page(application, posted=(key, form), status=422)


def _conflict(application_id: int, key: str, form: FlaskForm):
    db.session.rollback()
    flash(CONFLICT_MESSAGE, "warning")
    return render_page(_load(application_id), posted=(key, form), conflict=True, status=409)


def _clock(form: FlaskForm) -> datetime:
    return forms.local_datetime(form.day.data, form.start.data, get_policy())


def _interview_form(key: str) -> forms.InterviewForm:
    form = forms.InterviewForm(prefix=key)
    form.panel.choices = []  # any id may be sent; the service checks each (render_page fills the labels)
    return form


@bp.post("/<int:application_id>/interviews")
@login_required
def schedule_interview(application_id: int):
    application = _load(application_id)
    _require(Action.MANAGE_APPLICATIONS)
    form = _interview_form("schedule")

    def action(f):
        # A step that no longer fits still goes to the service, which says why it is refused.
        offered = _find(application, current_user, Step.SCHEDULE_INTERVIEW)
        round_ = offered.round if offered is not None else (2 if application.stage == Stage.SECOND_INTERVIEW else 1)
        services.schedule_interview(
            application, round=round_,
            scheduled_at=_clock(f), panel_user_ids=_panel_ids(f), duration_minutes=f.duration_minutes.data,
            location=f.location.data or "", video_link=f.video_link.data or "", actor=current_user,
            expected_version=f.expected_version(), extend_until=f.extend_until.data,
            reason=f.extension_reason.data or "")

    return _handle(application, "schedule", form, action, success="Interview scheduled; the candidate is invited.",
                   aliases={"scheduled_at": "day", "reason": "extension_reason"}, anchor="interviews")


@bp.post("/<int:application_id>/interviews/<int:interview_id>/reschedule")
@login_required
def reschedule_interview(application_id: int, interview_id: int):
    application = _load(application_id)
    _require(Action.MANAGE_APPLICATIONS)
    interview = _interview(application, interview_id)
    key = f"reschedule-{interview.id}"
    form = _interview_form(key)

    def action(f):
        services.reschedule_interview(
            interview, scheduled_at=_clock(f), panel_user_ids=_panel_ids(f), duration_minutes=f.duration_minutes.data,
            location=f.location.data or "", video_link=f.video_link.data or "", actor=current_user,
            expected_version=f.expected_version(), extend_until=f.extend_until.data,
            reason=f.extension_reason.data or "")

    return _handle(application, key, form, action, success="Interview rescheduled; the candidate is told.",
                   aliases={"scheduled_at": "day", "reason": "extension_reason"}, anchor="interviews")


@bp.post("/<int:application_id>/interviews/<int:interview_id>/cancel")
@login_required
def cancel_interview(application_id: int, interview_id: int):
    application = _load(application_id)
    _require(Action.MANAGE_APPLICATIONS)
    interview = _interview(application, interview_id)
    key = f"cancel-{interview.id}"
    return _handle(application, key, forms.CancelInterviewForm(prefix=key),
                   lambda f: services.cancel_interview(interview, reason=f.reason.data or "", actor=current_user,
                                                       expected_version=f.expected_version()),
                   success="Interview cancelled.", anchor="interviews")


@bp.post("/<int:application_id>/interviews/<int:interview_id>/held")
@login_required
def interview_held(application_id: int, interview_id: int):
    application = _load(application_id)
    _require(Action.MANAGE_APPLICATIONS)
    interview = _interview(application, interview_id)
    key = f"held-{interview.id}"
    return _handle(application, key, forms.HeldForm(prefix=key),
                   lambda f: services.record_interview_held(interview, held_at=_clock(f),
                                                            actor=current_user,
                                                            expected_version=f.expected_version()),
                   success="Interview marked as held; the panel is asked for feedback.",
                   aliases={"held_at": "day"}, anchor="interviews")


@bp.post("/<int:application_id>/interviews/<int:interview_id>/feedback")
@login_required
def submit_feedback(application_id: int, interview_id: int):
    application = _load(application_id)
    interview = _interview(application, interview_id)
    if not current_user.can(Action.SUBMIT_FEEDBACK) or current_user.id not in interview.panel_user_ids:
        abort(403)
    key = f"feedback-{interview.id}"
    # Feedback is each panel member's own and given once: another member's feedback
    # landing meanwhile is no conflict, so the version is not enforced here.
    return _handle(application, key, forms.FeedbackForm(prefix=key),
                   lambda f: services.submit_feedback(interview, interviewer=current_user,
                                                      recommendation=f.recommendation.data,
                                                      notes=f.notes.data or ""),
                   success="Thank you — your feedback is recorded.", check_version=False,
                   anchor=f"interview-{interview.id}")


@bp.post("/<int:application_id>/decision")
@login_required
def decide(application_id: int):
    application = _load(application_id)
    _require(Action.DECIDE)
    form = forms.DecisionForm(prefix="decision")
    form.outcome.choices = forms.choices(_decision_choices(application, current_user))
    return _handle(application, "decision", form,
                   lambda f: services.decide(application, outcome=f.outcome.data, rationale=f.rationale.data or "",
                                             candidate_feedback=f.candidate_feedback.data or "",
                                             actor=current_user, expected_version=f.expected_version()),
                   success="Decision recorded; the candidate is told.")


@bp.post("/<int:application_id>/offer-decision")
@login_required
def offer_decision(application_id: int):
    application = _load(application_id)
    # Who may decide is the service's question (pipeline.offer_decider): the hiring manager,
    # or an admin acting for them; anyone else gets the page with the reason (403).
    return _handle(application, "offer_decision", forms.OfferDecisionForm(prefix="offer_decision"),
                   lambda f: services.decide_offer(application, outcome=f.outcome.data,
                                                   rationale=f.rationale.data or "", actor=current_user,
                                                   expected_version=f.expected_version(),
                                                   acting_for=f.acting_for.data or ""),
                   success="Offer decision recorded; the candidate is told.")


@bp.post("/<int:application_id>/offer-response")
@login_required
def offer_response(application_id: int):
    application = _load(application_id)
    _require(Action.MANAGE_APPLICATIONS)
    return _handle(application, "offer_response", forms.OfferResponseForm(prefix="offer_response"),
                   lambda f: services.record_offer_response(application, accepted=f.response.data == "accepted",
                                                            note=f.note.data or "", actor=current_user,
                                                            expected_version=f.expected_version()),
                   success="The candidate's answer is recorded.")


@bp.post("/<int:application_id>/deadline")
@login_required
def extend_deadline(application_id: int):
    application = _load(application_id)
    _require(Action.EXTEND_DEADLINE)
    return _handle(application, "extend", forms.ExtendDeadlineForm(prefix="extend"),
                   lambda f: services.extend_deadline(application, until=f.until.data, reason=f.reason.data,
                                                      actor=current_user, expected_version=f.expected_version()),
                   success="Answer date extended; the candidate is told the new date.")


@bp.post("/<int:application_id>/competing-offer")
@login_required
def competing_offer(application_id: int):
    application = _load(application_id)
    _require(Action.MANAGE_APPLICATIONS)
    form = forms.CompetingOfferForm(prefix="competing")
    clearing = request.form.get("competing-clear") is not None

    def action(f):
        if not clearing and f.deadline.data is None:
            raise InvalidInput("Choose the date.", {"deadline": "Choose the date their other offer expires."})
        services.set_competing_offer(application, deadline=None if clearing else f.deadline.data,
                                     actor=current_user, expected_version=f.expected_version())

    return _handle(application, "competing", form, action,
                   success="Competing offer cleared." if clearing else "Competing offer noted; the answer date "
                   "is brought forward.")


@bp.post("/<int:application_id>/contacts")
@login_required
def log_contact(application_id: int):
    application = _load(application_id)
    _require(Action.MANAGE_APPLICATIONS)

    def action(f):
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

    return _handle(application, "contact", forms.ContactForm(prefix="contact"), action,
                   success="Contact logged.", aliases={"occurred_at": "day"}, anchor="timeline")


@bp.post("/<int:application_id>/references")
@login_required
def add_reference(application_id: int):
    application = _load(application_id)
    _require(Action.MANAGE_APPLICATIONS)
    return _handle(application, "reference", forms.ReferenceForm(prefix="reference"),
                   lambda f: services.add_reference(application, name=f.name.data, contact=f.contact.data or "",
                                                    status=f.status.data, notes=f.notes.data or "",
                                                    actor=current_user),
                   success="Reference added.", anchor="references")


@bp.post("/<int:application_id>/references/<int:reference_id>")
@login_required
def update_reference(application_id: int, reference_id: int):
    application = _load(application_id)
    _require(Action.MANAGE_APPLICATIONS)
    reference = db.session.get(Reference, reference_id)
    if reference is None or reference.application_id != application.id:
        abort(404)
    key = f"refout-{reference.id}"
    return _handle(application, key, forms.ReferenceOutcomeForm(prefix=key),
                   lambda f: services.update_reference(reference, status=f.status.data, notes=f.notes.data or "",
                                                       actor=current_user),
                   success="Reference updated.", anchor="references")


@bp.post("/<int:application_id>/withdraw")
@login_required
def withdraw(application_id: int):
    application = _load(application_id)
    _require(Action.MANAGE_APPLICATIONS)
    return _handle(application, "withdraw", forms.WithdrawForm(prefix="withdraw"),
                   lambda f: services.withdraw(application, reason=f.reason.data or "", actor=current_user,
                                               expected_version=f.expected_version()),
                   success="Application withdrawn; the candidate gets a confirmation.")


# --- documents -------------------------------------------------------------------------------


@bp.post("/<int:application_id>/documents")
@login_required
def upload_document(application_id: int):
    application = _load(application_id)
    _require(Action.MANAGE_APPLICATIONS)
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit and (request.content_length or 0) > limit:
        # Refuse before parsing: nothing is spooled to disk for a file we will not keep.
        raise RequestEntityTooLarge()
    form = forms.DocumentForm(prefix="document")

    def action(f):
        upload = f.document.data
        services.add_document(application, filename=upload.filename or "document",
                              data=upload.read(services.MAX_DOCUMENT_BYTES + 1), actor=current_user)

    return _handle(application, "document", form, action, success="Document uploaded.", anchor="documents")


@bp.errorhandler(RequestEntityTooLarge)
def too_large(exc):
    """An upload past the request limit: say so on the page instead of a bare 413."""
    application_id = (request.view_args or {}).get("application_id")
    flash("The file is too large: documents can be at most 10 MB.", "error")
    if application_id is None:
        return "The upload is too large (at most 10 MB).", 413
    return redirect(url_for("applications.detail", application_id=application_id, _anchor="documents"))


@bp.get("/<int:application_id>/documents/<int:document_id>")
@login_required
def download_document(application_id: int, document_id: int):
    application = _load(application_id)  # 404 for anyone who may not see the application
    document = db.session.get(Document, document_id)
    if document is None or document.application_id != application.id:
        abort(404)
    path = services.document_path(document)
    if not path.is_file():
        current_app.logger.error("document %s is missing its file %s", document.id, path)
        abort(404)
    response = send_file(path, mimetype=document.content_type, as_attachment=True,
                         download_name=document.filename, conditional=False, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
