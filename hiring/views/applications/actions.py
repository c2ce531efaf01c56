"""The action forms of the application page, as a table.

pipeline.available_actions says which steps fit (the services' own rules); ``ACTION_FORMS``
says, for each step, which form it takes, under which key the template finds it (the form's
prefix too: one page carries many forms) and which endpoint handles its POST. Adding a
step is one entry here, one block in ``applications/show.html`` and one route.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_wtf import FlaskForm

from ... import forms, queries, services
from ...models import Application, Interview, User
from ...pipeline import InvalidInput, Stage, Step
from ...settings import get_policy
from .loading import available, find

OUTCOME_LABELS = {
    (Stage.FIRST_DECISION, "advance"): "Invite to the second interview",
    (Stage.FIRST_DECISION, "reject"): "Reject",
}


def outcome_choices(application: Application, outcomes: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(o, OUTCOME_LABELS.get((application.stage_enum, o), o.capitalize())) for o in outcomes]


def decision_choices(application: Application, user: User) -> list[tuple[str, str]]:
    found = find(application, user, Step.DECIDE)
    outcomes = found.outcomes if found is not None else ("reject",)  # the service says why not
    return outcome_choices(application, outcomes)


def local_parts(moment: datetime, *, seconds: bool = False) -> tuple[date, Any]:
    local = moment.astimezone(get_policy().tz)
    return local.date(), local.time().replace(second=local.second if seconds else 0, microsecond=0)


# --- the table --------------------------------------------------------------------------------


Initial = Callable[[Application, Interview | None, datetime], dict[str, Any]]


def _nothing(application: Application, interview: Interview | None, now: datetime) -> dict[str, Any]:
    return {}


def _rescheduled(application: Application, interview: Interview | None, now: datetime) -> dict[str, Any]:
    day, start = local_parts(interview.scheduled_at)
    return {"day": day, "start": start, "duration_minutes": interview.duration_minutes,
            "location": interview.location, "video_link": interview.video_link, "panel": interview.panel_user_ids}


def _held(application: Application, interview: Interview | None, now: datetime) -> dict[str, Any]:
    day, start = local_parts(min(interview.scheduled_at, now), seconds=True)
    return {"day": day, "start": start}


@dataclass(frozen=True)
class ActionForm:
    form: type[FlaskForm]
    key: str  # the form's prefix and its key in the template's ``forms``; {id} is the interview's
    endpoint: str  # the view (in routes) that handles its POST
    initial: Initial = _nothing  # the values an empty form starts with
    panel: bool = False  # has a panel picker (its suggestions cost a query)
    # Folded away on the page (a link until it is opened, ``deferred`` in the template): its
    # form is built only when opened. A stage: folded except at that stage.
    rare: bool | Stage = False
    outcomes: bool = False  # its outcome choices come from the step (available.outcomes)
    per_interview: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "per_interview", "{id}" in self.key)

    def key_for(self, interview_id: int | None = None) -> str:
        return self.key.format(id=interview_id)

    def folded(self, application: Application) -> bool:
        return self.rare is True or (isinstance(self.rare, Stage) and application.stage != self.rare)


class Folded:
    """Stands for the form of an action folded away on the page: the template shows the
    link that opens it, and only needs to know that it is offered. Building each unopened
    form (and rendering nothing of it) cost more than a third of the page's forms."""

    __slots__ = ()

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return "FOLDED"


FOLDED = Folded()


ACTION_FORMS: dict[Step, ActionForm] = {
    Step.SCHEDULE_INTERVIEW: ActionForm(forms.InterviewForm, "schedule", "applications.schedule_interview",
                                        lambda a, i, now: {"duration_minutes": 60}, panel=True),
    Step.RESCHEDULE_INTERVIEW: ActionForm(forms.InterviewForm, "reschedule-{id}", "applications.reschedule_interview",
                                          _rescheduled, panel=True, rare=True),
    Step.CANCEL_INTERVIEW: ActionForm(forms.CancelInterviewForm, "cancel-{id}", "applications.cancel_interview",
                                      rare=True),
    Step.MARK_HELD: ActionForm(forms.HeldForm, "held-{id}", "applications.interview_held", _held),
    Step.GIVE_FEEDBACK: ActionForm(forms.FeedbackForm, "feedback-{id}", "applications.submit_feedback"),
    Step.DECIDE: ActionForm(forms.DecisionForm, "decision", "applications.decide", outcomes=True,
                              rare=Stage.FIRST_DECISION),  # shown at the first decision; else "Reject" folded
    Step.OFFER_DECISION: ActionForm(forms.OfferDecisionForm, "offer_decision", "applications.offer_decision"),
    Step.OFFER_RESPONSE: ActionForm(forms.OfferResponseForm, "offer_response", "applications.offer_response"),
    Step.EXTEND_DEADLINE: ActionForm(forms.ExtendDeadlineForm, "extend", "applications.extend_deadline", rare=True),
    Step.COMPETING_OFFER: ActionForm(forms.CompetingOfferForm, "competing", "applications.competing_offer",
                                     lambda a, i, now: {"deadline": a.competing_offer_deadline}, rare=True),
    Step.LOG_CONTACT: ActionForm(forms.ContactForm, "contact", "applications.log_contact", rare=True),
    Step.ADD_REFERENCE: ActionForm(forms.ReferenceForm, "reference", "applications.add_reference", rare=True),
    Step.UPLOAD_DOCUMENT: ActionForm(forms.DocumentForm, "document", "applications.upload_document"),
    Step.WITHDRAW: ActionForm(forms.WithdrawForm, "withdraw", "applications.withdraw", rare=True),
}


# --- building the forms ---------------------------------------------------------------------


def fresh(form_class: type[FlaskForm], key: str, application: Application, **data: Any) -> FlaskForm:
    return form_class(formdata=None, prefix=key, data={"version": application.version, **data})


def posted(step: Step, interview_id: int | None = None) -> FlaskForm:
    """The form of ``step`` as sent (a panel picker accepts any id: the service checks each,
    and the page fills in the labels when it is shown again)."""
    spec = ACTION_FORMS[step]
    form = spec.form(prefix=spec.key_for(interview_id))
    form.key = spec.key_for(interview_id)  # where the page shows it again
    if spec.panel:
        form.panel.choices = []
    return form


def panel_suggestions(application: Application) -> list[tuple[int, str]]:
    """The likely interviewers: everyone on this application's panels so far, the position's
    hiring manager, and whoever interviewed most often for the position lately."""
    first = [member.user for interview in application.interviews for member in interview.panel]
    return queries.panel_suggestions(application.position_id, services.FEEDBACK_ROLES,
                                     first=[*first, application.position.hiring_manager])


def with_chosen(suggested: list[tuple[int, str]], chosen: list[int] | None) -> list[tuple[int, str]]:
    """The suggestions plus anyone ticked who is not among them (a form sent back with an
    error keeps the people found by search), each once."""
    missing = [i for i in dict.fromkeys(chosen or []) if i not in dict(suggested)]
    if not missing:
        return suggested
    return [*suggested, *queries.people_labelled(missing)]


def panel_ids(form: FlaskForm) -> list[int]:
    """The ticked boxes plus the people typed into "Add someone else" by name or email;
    anything that is not exactly one active team member is refused with what to type."""
    ids, problems = queries.people_named(form.panel_more.data, services.FEEDBACK_ROLES)
    if problems:
        raise InvalidInput("Check the people added to the panel.", {"panel_more": " ".join(problems)})
    return [*form.panel.data, *ids]


def build_forms(application: Application, user: User, now: datetime,
                expanded: set[str | None] | None = None) -> dict[str, FlaskForm | Folded]:
    """The empty action forms that fit the stage and the user's role, keyed by prefix.

    A rare form is shown only when ``expanded`` names it: until then it is FOLDED (not
    built, and a panel needs no suggestions, a query). ``expanded`` None: every form built."""
    found: dict[str, FlaskForm | Folded] = {}
    panel_choices: list[tuple[int, str]] | None = None
    interviews = {i.id: i for i in application.interviews}
    for action in available(application, user, now):
        spec = ACTION_FORMS.get(action.step)
        if spec is None:
            continue
        interview = interviews.get(action.interview_id)
        if spec.per_interview and interview is None:
            continue
        key = spec.key_for(action.interview_id)
        if expanded is not None and key not in expanded and spec.folded(application):
            found[key] = FOLDED
            continue
        form = fresh(spec.form, key, application, **spec.initial(application, interview, now))
        if spec.panel:
            if panel_choices is None:
                panel_choices = panel_suggestions(application)
            form.panel.choices = forms.choices(panel_choices)
        if spec.outcomes:
            form.outcome.choices = forms.choices(outcome_choices(application, action.outcomes))
        found[key] = form
    return found
