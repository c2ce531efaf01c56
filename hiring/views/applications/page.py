"""Rendering the application page, empty or with a form sent back."""

from __future__ import annotations

from flask import flash, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from ... import forms, pipeline, services
from ...models import Application, utcnow
from ...pipeline import Action, Recommendation, Stage, Step
from ...settings import get_policy
from . import history
from .actions import FOLDED, build_forms, fresh, with_chosen
from .loading import available
from .timeline import build_timeline


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
                form.panel.choices = forms.choices(with_chosen(suggested, form.panel.data))
            if key == "decision":
                form.outcome.choices = action_forms[key].outcome.choices
            action_forms[key] = form
        else:
            orphan = form  # the step no longer fits the stage: still show what was typed
    summary, focus = error_summary(posted[1] if posted is not None and orphan is None else None)
    if orphan is not None and not conflict:
        # The step is not offered here (any more): its field errors cannot sit next to a
        # field, so they are said at the top, and what was typed is shown to copy.
        for f in orphan:
            for message in f.errors if f.type not in ("HiddenField", "CSRFTokenField") else ():
                flash(f"{f.label.text}: {message}", "error")
    visible = {i.id for i in application.interviews if services.feedback_visible(user, i)}  # as in the API
    # The events, emails, contacts, documents and references: one statement, plain rows.
    listed = history.read(application.id, with_emails=user.can(Action.VIEW_EMAILS))
    documents, references = listed.documents, listed.references
    reference_forms = {}
    if user.can(Action.MANAGE_APPLICATIONS):
        for reference in references:
            key = f"refout-{reference.id}"
            if posted is not None and posted[0] == key:
                reference_forms[reference.id] = posted[1]
                orphan = None if orphan is posted[1] else orphan
            elif key not in expanded:
                reference_forms[reference.id] = FOLDED  # "Update the outcome" folded: a link
            else:
                reference_forms[reference.id] = fresh(forms.ReferenceOutcomeForm, key, application,
                                                      status=reference.status, notes=reference.notes)
    context = {
        "application": application,
        "candidate": application.candidate,
        "position": application.position,
        "stage": application.stage_enum,
        "flags": application.flags(now, policy),
        "late_days": services.days_overdue(application, now, policy),
        "late_since": pipeline.late_since(application.state()),  # the first deadline missed
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
        "timeline": build_timeline(application, user, visible, listed),
        "documents": documents,
        "references": references,
        "recommendation_labels": {r.value: r.label for r in Recommendation},
        "Action": Action,
        "page_url": url_for("applications.detail", application_id=application.id),  # the folded actions' links
        "error_summary": summary,
        "error_focus": focus,
        "acting_for": any(a.step == Step.OFFER_DECISION and a.acting_for for a in available(application, user, now)),
    }
    return render_template("applications/show.html", **context), status


def error_summary(form: FlaskForm | None) -> tuple[list[tuple[str, str, str]], str | None]:
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
