"""Which email goes to whom for which event, rendered into the outbox.

Every function here only adds an OutboxEmail row to the session: the service that
calls it commits it together with the change, and the outbox relay sends it later.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask import current_app, render_template
from jinja2 import TemplateNotFound
from sqlalchemy import select

from . import calendar as ical
from . import pipeline, timefmt
from .extensions import db
from .models import Application, Interview, OutboxEmail, User
from .settings import get_policy

CANDIDATE_LANGUAGES = pipeline.Language.values()

# The words a candidate reads for the people they meet (pipeline.Role, and the position's
# hiring manager, who is a manager with this position's decision).
ROLE_WORDS = {
    "en": {"interviewer": "Interviewer", "recruiter": "Recruiter", "admin": "Recruiter", "manager": "Manager",
           "hiring_manager": "Hiring manager"},
    "de": {"interviewer": "Interviewer:in", "recruiter": "Recruiting", "admin": "Recruiting",
           "manager": "Führungskraft", "hiring_manager": "Einstellende Führungskraft"},
}


def panel_people(interview: Interview, lang: str) -> list[tuple[str, str]]:
    """Who the candidate meets at ``interview``: (name, role word), in the panel's order."""
    words = ROLE_WORDS.get(lang, ROLE_WORDS["en"])
    hiring_manager_id = interview.application.position.hiring_manager_id
    return [(member.user.name,
             words["hiring_manager" if member.user_id == hiring_manager_id else member.user.role])
            for member in interview.panel]


def contact_person(application: Application) -> User | None:
    """Whom a candidate may ask, "why" included when a date passes: the application's owner
    (the position's owner when it has none); nobody who has left the team."""
    for person in (application.owner, application.position.owner):
        if person is not None and person.active:
            return person
    return None


def absolute_url(path: str) -> str:
    """Every link in an email is absolute, built on HIRING_BASE_URL."""
    return current_app.config["BASE_URL"].rstrip("/") + "/" + path.lstrip("/")


def application_url(application: Application) -> str:
    return absolute_url(f"/applications/{application.id}")


def _render(template: str, lang: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """Render subject, text and HTML of ``emails/<template>.<lang>``."""
    base = f"emails/{template}.{lang}"
    text = render_template(f"{base}.txt", **context)
    try:
        html = render_template(f"{base}.html", **context)
    except TemplateNotFound:
        html = ""
    # The first line of the text template is "Subject: …".
    first, _, rest = text.partition("\n")
    if not first.startswith("Subject:"):
        raise ValueError(f"{base}.txt must start with a 'Subject:' line")
    return first[len("Subject:"):].strip(), rest.lstrip("\n"), html


def queue_email(*, idempotency_key: str, **fields: Any) -> OutboxEmail | None:
    """Add one email to the outbox unless this key was queued before (then None);
    ``fields`` are render_email's."""
    existing = db.session.scalar(select(OutboxEmail.id).where(OutboxEmail.idempotency_key == idempotency_key))
    if existing is not None:
        return None
    email = OutboxEmail(**render_email(idempotency_key=idempotency_key, **fields))
    db.session.add(email)
    return email


def render_email(
    *,
    template: str,
    recipient: str,
    idempotency_key: str,
    context: dict[str, Any],
    lang: str = "en",
    application: Application | None = None,
    recipient_user: User | None = None,
    to_candidate: bool = False,
    attachments: list[dict[str, str]] | None = None,
    now: datetime,
) -> dict[str, Any]:
    """The rendered outbox row's column values, not checked against the idempotency keys
    already queued (the caller does that; the key's unique constraint refuses a duplicate
    in any case)."""
    policy = get_policy()
    lang = lang if lang in CANDIDATE_LANGUAGES else "en"
    context = {
        "company": current_app.config["COMPANY_NAME"],
        "application": application,
        "policy": policy,
        "lang": lang,
        "fmt_date": lambda value: timefmt.long_date(value, policy, lang),
        "fmt_time": lambda value: timefmt.local_time(value, policy),
        "url": absolute_url,
        **context,
    }
    if to_candidate and application is not None:
        context.setdefault("contact", contact_person(application))
        context.setdefault("panel_people", lambda interview: panel_people(interview, lang))
    candidate = context.get("candidate") or (application.candidate if application is not None else None)
    if to_candidate and candidate is not None:
        from .privacy import footer_context  # the privacy notice and the talent-pool withdrawal link

        for key, value in footer_context(candidate).items():
            context.setdefault(key, value)
    subject, body_text, body_html = _render(template, lang, context)
    if to_candidate and context.get("contact") is not None:
        # Every candidate email names the person to ask (the HTML layout shows the same).
        body_text = body_text.rstrip("\n") + "\n\n" + render_template(f"emails/_contact.{lang}.txt", **context)
    if to_candidate and context.get("withdraw_url"):
        body_text = body_text.rstrip("\n") + "\n\n" + render_template(f"emails/_privacy.{lang}.txt", **context)
    return {
        "application_id": application.id if application is not None else None,
        "template": template,
        "recipient": recipient,
        "recipient_user_id": recipient_user.id if recipient_user is not None else None,
        "to_candidate": to_candidate,
        "subject": subject,
        "body_text": body_text,
        "body_html": body_html,
        "attachments": attachments or [],
        "idempotency_key": idempotency_key,
        "status": "queued",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def to_candidate(
    application: Application,
    template: str,
    key: str,
    now: datetime,
    *,
    attachments: list[dict[str, str]] | None = None,
    **context: Any,
) -> OutboxEmail | None:
    """Queue a candidate email. The date it tells is ``application.promised_at``, which
    the service has set (services.keep_promise) before calling this. Verbs call it through
    services.core.email_candidate, which also records when the candidate last heard from us."""
    candidate = application.candidate
    return queue_email(
        template=template,
        recipient=candidate.email,
        idempotency_key=candidate_email_key(application.id, key),
        context={"candidate": candidate, "position": application.position, **context},
        lang=candidate.language,
        application=application,
        to_candidate=True,
        attachments=attachments,
        now=now,
    )


# What a candidate email's key names besides the audit event that caused it: one email per
# event and kind (a decision's emails share one kind: a decision sends one of them).
_KEY_KINDS = {
    "application_received": "received", "withdrawal_confirmation": "withdrawn",
    "second_interview_invitation": "decision", "offer": "decision", "rejection": "decision",
    "deadline_extended": "extended", "delay_notice": "extended", "competing_offer_confirmation": "competing-offer",
    "interview_invitation": "interview", "interview_updated": "interview", "interview_cancelled": "interview",
    "interview_thanks": "thanks",
}


def event_key(template: str, event_id: int) -> str:
    """The ``key`` of the candidate email ``template`` caused by the audit event ``event_id``."""
    return f"{_KEY_KINDS[template]}:{event_id}"


def approval_key(application_id: int, event_id: int) -> str:
    """The hiring manager's approval request after the interview held in ``event_id``."""
    return f"approval:{application_id}:{event_id}"


def candidate_email_key(application_id: int, key: str) -> str:
    """A candidate email's idempotency key: its verb's ``key`` (e.g. ``decision:<event id>``)
    within the application. The generator writes the same keys."""
    return f"application:{application_id}:{key}"


def to_team_member(
    user: User | None,
    template: str,
    key: str,
    now: datetime,
    *,
    application: Application | None = None,
    attachments: list[dict[str, str]] | None = None,
    **context: Any,
) -> OutboxEmail | None:
    """Queue a team email. Team emails are in English: users have no language setting."""
    if user is None or not user.active:
        return None
    return queue_email(
        template=template,
        recipient=user.email,
        idempotency_key=key,
        context={"user": user, "application_link": application_url(application) if application else None,
                 **context},
        lang="en",
        application=application,
        recipient_user=user,
        attachments=attachments,
        now=now,
    )


def to_panel(
    interview: Interview,
    users: Sequence[User],
    template: str,
    event_id: int,
    now: datetime,
    *,
    cancelled: bool = False,
    attendees: Sequence[User] | None = None,
    **context: Any,
) -> list[OutboxEmail]:
    """Queue ``template`` to each of ``users`` about their place on ``interview``'s panel,
    with the panel's calendar entry (a CANCEL with ``cancelled``). ``attendees`` are the
    people the entry lists, ``users`` by default. One email per interview, event and
    recipient: the key names all three."""
    if not users:
        return []
    attachments = panel_attachment(interview, attendees if attendees is not None else users,
                                   cancelled=cancelled)
    emails = []
    for user in users:
        email = to_team_member(user, template, f"panel:{interview.id}:{event_id}:{user.id}", now,
                               application=interview.application, attachments=attachments,
                               interview=interview, **context)
        if email is not None:
            emails.append(email)
    return emails


def interview_attachment(interview: Interview, *, cancelled: bool = False) -> list[dict[str, str]]:
    """The candidate's calendar entry for the interview."""
    return [ical.interview_ics(interview, current_app.config["COMPANY_NAME"], cancelled=cancelled,
                               organizer=current_app.config.get("MAIL_DEFAULT_SENDER"))]


def panel_attachment(interview: Interview, attendees: Sequence[User], *,
                     cancelled: bool = False) -> list[dict[str, str]]:
    """The panel's calendar entry: the same UID and SEQUENCE as the candidate's, the
    candidate and position in its title, the application's page in its description."""
    application = interview.application
    round_name = "First" if interview.round == 1 else "Second"
    return [ical.interview_ics(
        interview, current_app.config["COMPANY_NAME"], cancelled=cancelled,
        organizer=current_app.config.get("MAIL_DEFAULT_SENDER"),
        attendees=[(user.name, user.email) for user in attendees],
        summary=f"{round_name} interview: {application.candidate.name} – {application.position.title}",
        description=f"Application: {application_url(application)}",
    )]


def responsible_user(application: Application) -> User | None:
    """Who must act (pipeline.responsible): the hiring manager decides the offer, the owner
    everything else."""
    position = application.position
    user_id = pipeline.responsible(application.stage, owner_id=application.owner_id,
                                   position_owner_id=position.owner_id,
                                   hiring_manager_id=position.hiring_manager_id)
    for user in (application.owner, position.owner, position.hiring_manager):
        if user is not None and user.id == user_id:
            return user
    return None
