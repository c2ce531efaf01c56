"""Interviews: schedule, reschedule, cancel, mark held; the panel's calendar emails."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import select

from .. import notifications as notify
from .. import pipeline, validation
from ..extensions import db
from ..models import (
    Application,
    Interview,
    PanelMember,
    User,
)
from ..pipeline import (
    Action,
    Event,
    IllegalTransition,
    InvalidInput,
    Role,
    Stage,
    Verdict,
)
from ..settings import (
    get_policy,
)
from ..timefmt import short_date
from .core import (
    audit,
    check_text,
    check_version,
    clean,
    email_candidate,
    enter_stage,
    refuse_control_characters,
    require,
    require_aware,
    resolve_now,
    touch,
    transaction,
    transition,
)
from .promises import keep_promise

FEEDBACK_ROLES = (Role.INTERVIEWER, Role.RECRUITER, Role.MANAGER, Role.ADMIN)


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
    require_aware(scheduled_at, "scheduled_at")
    if scheduled_at <= now:
        errors["scheduled_at"] = "Choose a time in the future."
    elif not validation.date_in_range(scheduled_at):
        errors["scheduled_at"] = validation.DATE_RANGE_MESSAGE
    if not isinstance(duration_minutes, int) or not 15 <= duration_minutes <= 480:
        errors["duration_minutes"] = "Between 15 and 480 minutes."
    if not clean(location) and not clean(video_link):
        errors["location"] = "Give a place or a video link."
    if clean(video_link) and not re.match(r"^https?://\S+$", clean(video_link)):
        errors["video_link"] = "Enter a link starting with https://"
    if len(clean(location)) > 500:
        errors["location"] = "At most 500 characters."
    check_text(errors, lines={"location": location, "video_link": video_link})
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
    refuse_control_characters("The interview could not be scheduled.", lines={"reason": reason})
    if extend_until is None:
        if day > hold_by:
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
    require(actor, Action.MANAGE_APPLICATIONS)
    now = resolve_now(now)
    check_version(application, expected_version)
    if round not in (1, 2):
        raise InvalidInput("Round must be 1 or 2.", {"round": "Choose the first or second interview."})
    if round == 1:
        next_stage = transition(application, Event.SCHEDULE_FIRST_INTERVIEW)
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
    with transaction():
        hold_by_before = application.extended_until
        if extended:
            application.extended_until = pipeline.end_of_day(extend_until, get_policy())
            application.extension_reason = clean(reason)
        interview = Interview(
            application=application, round=round, scheduled_at=scheduled_at,
            duration_minutes=duration_minutes, location=clean(location), video_link=clean(video_link),
            ical_uid=f"{uuid.uuid4()}@hiring", ical_sequence=0, created_at=now,
        )
        interview.panel = [PanelMember(user_id=u.id, reminders_sent=0) for u in panel]
        db.session.add(interview)
        if next_stage != application.stage:
            enter_stage(application, next_stage, now, now)
        touch(application, now)
        db.session.flush()
        db.session.refresh(application, ["interviews"])
        # The invitation answers what the candidate waited for (whether, and when, we meet)
        # and promises the answer after it: the interview's day plus the decision's days.
        keep_promise(application, now, told_in="interview_invitation", resolved_by="interview_scheduled",
                     answers=not extended)
        event = audit("interview_scheduled", now, actor, application, interview_id=interview.id, round=round,
                      scheduled_at=scheduled_at, panel=[u.email for u in panel],
                      promised_at=application.promised_at,
                      **({"extended_until": application.extended_until, "reason": clean(reason),
                          "before": hold_by_before} if extended else {}))
        email_candidate(application, "interview_invitation", event.id, now,
                        interview=interview, attachments=notify.interview_attachment(interview),
                        extension_reason=clean(reason) if extended else "")
        notify.to_panel(interview, panel, "panel_invitation", event.id, now, panel=panel)
    return interview


def _upcoming_application(interview: Interview, expected_version: int | None, verb: str) -> Application:
    """The interview's application, at the version the form saw, while the interview is upcoming."""
    application = interview.application
    check_version(application, expected_version)
    if interview.held_at is not None or interview.cancelled_at is not None:
        raise IllegalTransition(f"Only an upcoming interview can be {verb}.")
    return application


def reschedule_interview(interview: Interview, *, scheduled_at: datetime, panel_user_ids: Sequence[int],
                         duration_minutes: int = 60, location: str = "", video_link: str = "",
                         actor: User | None, now: datetime | None = None,
                         expected_version: int | None = None, extend_until: date | None = None,
                         reason: str = "") -> Interview:
    require(actor, Action.MANAGE_APPLICATIONS)
    now = resolve_now(now)
    application = _upcoming_application(interview, expected_version, "rescheduled")
    _check_interview_fields(scheduled_at, duration_minutes, location, video_link, now)
    extended = (_check_hold_by(application, scheduled_at, now, extend_until, reason)
                if interview.round == 2 else False)
    panel = _panel_users(panel_user_ids)
    with transaction():
        if extended:
            application.extended_until = pipeline.end_of_day(extend_until, get_policy())
            application.extension_reason = clean(reason)
        before_at = interview.scheduled_at
        before = {"scheduled_at": before_at.isoformat(), "panel": interview.panel_user_ids}
        new_ids = {u.id for u in panel}
        removed = [m.user for m in interview.panel if m.user_id not in new_ids]
        interview.scheduled_at = scheduled_at
        interview.duration_minutes = duration_minutes
        interview.location = clean(location)
        interview.video_link = clean(video_link)
        interview.ical_sequence += 1
        keep = {m.user_id: m for m in interview.panel}
        interview.panel = [keep.get(u.id) or PanelMember(user_id=u.id, reminders_sent=0) for u in panel]
        touch(application, now)
        # A later interview moves the answer date later (told in this email); an earlier one
        # keeps the date the candidate holds.
        keep_promise(application, now, told_in="interview_updated", resolved_by="interview_rescheduled")
        event = audit("interview_rescheduled", now, actor, application, interview_id=interview.id,
                      before=before, scheduled_at=scheduled_at, panel=[u.email for u in panel],
                      promised_at=application.promised_at,
                      **({"extended_until": application.extended_until, "reason": clean(reason)}
                         if extended else {}))
        email_candidate(application, "interview_updated", event.id, now,
                        interview=interview, attachments=notify.interview_attachment(interview),
                        extension_reason=clean(reason) if extended else "")
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
    require(actor, Action.MANAGE_APPLICATIONS)
    now = resolve_now(now)
    application = _upcoming_application(interview, expected_version, "cancelled")
    refuse_control_characters("The interview could not be cancelled.", lines={"reason": reason})
    with transaction():
        interview.cancelled_at = now
        interview.ical_sequence += 1
        if interview.round == 1 and application.stage == Stage.FIRST_INTERVIEW:
            enter_stage(application, transition(application, Event.CANCEL_FIRST_INTERVIEW), now, now)
        touch(application, now)
        if application.is_open:
            # The email names the date of our next word; it never comes before the date the
            # candidate already holds.
            keep_promise(application, now, told_in="interview_cancelled", resolved_by="interview_cancelled")
        event = audit("interview_cancelled", now, actor, application, interview_id=interview.id,
                      reason=clean(reason), promised_at=application.promised_at)
        if application.is_open:
            email_candidate(application, "interview_cancelled", event.id, now,
                            interview=interview, reason=clean(reason),
                            attachments=notify.interview_attachment(interview, cancelled=True))
        tell_panel_cancelled(interview, event.id, now, reason=clean(reason))
    return interview


def tell_panel_cancelled(interview: Interview, event_id: int, now: datetime, *, reason: str = "",
                         why: str = "") -> None:
    """Take a cancelled interview out of its panel's calendars."""
    notify.to_panel(interview, [m.user for m in interview.panel], "panel_cancelled", event_id, now,
                    cancelled=True, reason=reason, why=why)


def refresh_verdict(application: Application, interview: Interview) -> Verdict:
    verdict = interview.verdict()
    application.verdict = verdict.value
    application.awaiting_feedback = verdict == Verdict.INCOMPLETE
    return verdict


def record_interview_held(interview: Interview, *, held_at: datetime | None = None, actor: User | None,
                          now: datetime | None = None, expected_version: int | None = None) -> Interview:
    """The interview took place: the debrief (or the offer decision) is now due."""
    require(actor, Action.MANAGE_APPLICATIONS)
    now = resolve_now(now)
    require_aware(held_at, "held_at")
    held_at = held_at or now
    application = interview.application
    check_version(application, expected_version)
    if interview.cancelled_at is not None:
        raise IllegalTransition("This interview was cancelled.")
    if interview.held_at is not None:
        raise IllegalTransition("This interview is already marked as held.")
    pipeline.check_reported_time(held_at, now, stage_began=application.stage_entered_at, field="held_at",
                                 what="The time the interview was held", since="the interview was scheduled",
                                 policy=get_policy())
    pipeline.check_held_time(held_at, interview.scheduled_at, get_policy())
    event_type = Event.FIRST_INTERVIEW_HELD if interview.round == 1 else Event.SECOND_INTERVIEW_HELD
    next_stage = transition(application, event_type)
    with transaction():
        interview.held_at = held_at
        enter_stage(application, next_stage, held_at, now)
        verdict = refresh_verdict(application, interview)
        touch(application, now)
        # The date given with the invitation holds; an interview held later moves it later.
        keep_promise(application, now, told_in="interview_thanks", resolved_by="interview_held")
        event = audit("interview_held", now, actor, application, interview_id=interview.id,
                      round=interview.round, held_at=held_at, due_at=application.due_at,
                      promised_at=application.promised_at)
        email_candidate(application, "interview_thanks", event.id, now, interview=interview)
        if next_stage == Stage.FINAL_DECISION and verdict in (Verdict.CLEAR_HIRE, Verdict.CLEAR_NO):
            request_approval(application, event.id, now)
    return interview


def request_approval(application: Application, event_id: int, now: datetime) -> None:
    """A clear recommendation reached the offer decision: ask management."""
    position = application.position
    notify.to_team_member(position.hiring_manager, "approval_request", notify.approval_key(application.id, event_id),
                          now, application=application, verdict=application.verdict)


def cancel_upcoming_interviews(application: Application, now: datetime) -> list[Interview]:
    cancelled = [i for i in application.interviews if i.held_at is None and i.cancelled_at is None]
    for interview in cancelled:
        interview.cancelled_at = now
        interview.ical_sequence += 1
    return cancelled
