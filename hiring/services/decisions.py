"""Feedback and decisions: the panel's recommendations, advance/reject, the offer and its
answer, and the answer date (extensions, delay notices, a competing offer)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from .. import notifications as notify
from .. import pipeline
from ..extensions import db
from ..models import (
    Application,
    Decision,
    Feedback,
    Interview,
    User,
)
from ..pipeline import (
    Action,
    Event,
    IllegalTransition,
    InvalidInput,
    NotAllowed,
    Recommendation,
    Role,
    Stage,
    Verdict,
)
from ..settings import (
    get_policy,
)
from .core import (
    Conflict,
    audit,
    check_lengths,
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
from .interviews import (
    cancel_upcoming_interviews,
    refresh_verdict,
    request_approval,
    tell_panel_cancelled,
)
from .promises import keep_promise


def submit_feedback(interview: Interview, *, interviewer: User, recommendation: str, notes: str = "",
                    now: datetime | None = None) -> Feedback:
    """The interviewer's own recommendation; once per interview."""
    pipeline.require(interviewer.role, Action.SUBMIT_FEEDBACK)
    now = resolve_now(now)
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
    refuse_control_characters("The feedback could not be saved.", texts={"notes": notes})
    interview_id, interviewer_id = interview.id, interviewer.id

    def duplicate() -> Conflict | None:
        # The same person submitting twice at once (a double click, two tabs).
        if db.session.scalar(select(Feedback.id).where(Feedback.interview_id == interview_id,
                                                       Feedback.interviewer_id == interviewer_id)) is not None:
            return Conflict("You have already submitted feedback for this interview.")
        return None

    with transaction(duplicate):
        feedback = Feedback(interview=interview, interviewer_id=interviewer.id, recommendation=recommendation,
                            notes=clean(notes), submitted_at=now)
        db.session.add(feedback)
        db.session.flush()
        db.session.refresh(interview, ["feedback"])
        before = application.verdict
        verdict = interview.verdict()
        current = application.current_interview()
        if interview.held_at is not None and current is not None and current.id == interview.id:
            verdict = refresh_verdict(application, interview)
        touch(application, now)
        event = audit("feedback_submitted", now, interviewer, application, interview_id=interview.id,
                      recommendation=recommendation)
        if (application.stage == Stage.FINAL_DECISION and before != verdict.value
                and verdict in (Verdict.CLEAR_HIRE, Verdict.CLEAR_NO)):
            request_approval(application, event.id, now)
    return feedback


def decide(application: Application, *, outcome: str, rationale: str = "", candidate_feedback: str = "",
           actor: User | None, decided_at: datetime | None = None, now: datetime | None = None,
           expected_version: int | None = None, acting_for: str = "") -> Application:
    """Advance or reject. Advance from the debrief invites to the second interview; from
    the offer decision it makes the offer. The offer decision, both ways, is the position's
    hiring manager's; an admin may take it for them with ``acting_for`` (why; recorded).
    ``rationale`` stays internal; ``candidate_feedback`` is passed on to a rejected candidate.
    A decision against the panel's clear word, or with no feedback at all, needs a rationale."""
    now = resolve_now(now)
    require_aware(decided_at, "decided_at")
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
    check_version(application, expected_version)
    next_stage = transition(application, event_type)
    if application.stage in (Stage.FIRST_DECISION, Stage.FINAL_DECISION):
        current = application.current_interview()
        pipeline.check_panel_decision(application.verdict, outcome, rationale,
                                      feedback_given=len(current.feedback) if current is not None else 0)
    if event_type == Event.MAKE_OFFER:
        pipeline.check_offer_decision(application.verdict, outcome, rationale)
    pipeline.check_rejection(outcome, rationale)
    if len(rationale or "") > 20000:
        raise InvalidInput("Rationale too long.", {"rationale": "At most 20,000 characters."})
    if too_long := check_lengths({}, acting_for=(acting_for, 2000)):
        raise InvalidInput("The reason for acting on behalf is too long.", too_long)
    extra = {"acting_for": clean(acting_for)} if on_behalf else {}
    rejection_context = _rejection_context(application) if next_stage == Stage.REJECTED else {}
    refuse_control_characters("The decision could not be saved.",
                              texts={"rationale": rationale, "candidate_feedback": candidate_feedback})
    with transaction():
        stage_before = application.stage
        db.session.add(Decision(application_id=application.id, stage=stage_before, outcome=outcome,
                                decided_by_id=actor.id if actor else None, decided_at=decided_at,
                                rationale=clean(rationale)))
        enter_stage(application, next_stage, decided_at, now)
        application.verdict = None if next_stage == Stage.SECOND_INTERVIEW else application.verdict
        application.awaiting_feedback = False
        touch(application, now)
        cancelled_interviews = (cancel_upcoming_interviews(application, now)
                                if next_stage == Stage.REJECTED else [])
        # The decision is the answer the candidate waited for.
        keep_promise(application, now, told_in="second_interview_invitation", resolved_by="decision",
                     answers=True)
        event = audit("decision", now, actor, application, stage=stage_before, outcome=outcome,
                      to_stage=next_stage.value, rationale=clean(rationale), promised_at=application.promised_at,
                      **extra)
        if next_stage == Stage.SECOND_INTERVIEW:
            email_candidate(application, "second_interview_invitation", event.id, now)
        elif next_stage == Stage.OFFER:
            email_candidate(application, "offer", event.id, now)
        elif next_stage == Stage.REJECTED:
            # Free the panel's and the candidate's calendars: no interview after a rejection.
            cancelled = cancelled_interviews
            attachments = [attachment for interview in cancelled
                           for attachment in notify.interview_attachment(interview, cancelled=True)]
            email_candidate(application, "rejection", event.id, now, feedback_text=clean(candidate_feedback),
                            invite_talent_pool=not application.candidate.talent_pool_consent,
                            attachments=attachments, **rejection_context)
            for interview in cancelled:
                tell_panel_cancelled(interview, event.id, now, why="rejected")
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
    require(actor, Action.MANAGE_APPLICATIONS)
    now = resolve_now(now)
    check_version(application, expected_version)
    next_stage = transition(application, Event.OFFER_ACCEPTED if accepted else Event.OFFER_DECLINED)
    refuse_control_characters("The answer could not be saved.", texts={"note": note})
    with transaction():
        db.session.add(Decision(application_id=application.id, stage=Stage.OFFER.value,
                                outcome="accepted" if accepted else "declined",
                                decided_by_id=actor.id if actor else None, decided_at=now,
                                rationale=clean(note)))
        enter_stage(application, next_stage, now, now)
        touch(application, now)
        keep_promise(application, now, told_in="offer_response", resolved_by="offer_response", answers=True)
        audit("offer_response", now, actor, application, accepted=accepted, note=clean(note))
    return application


def extend_deadline(application: Application, *, until: date, reason: str, actor: User | None,
                    now: datetime | None = None, expected_version: int | None = None) -> Application:
    """A new, later answer date with a reason; the candidate is told. At the offer it is
    the candidate's own date to answer by that moves."""
    require(actor, Action.EXTEND_DEADLINE)
    now = resolve_now(now)
    check_version(application, expected_version)
    refuse_control_characters("The answer date could not be extended.", texts={"reason": reason})
    policy = get_policy()
    at_offer = application.stage == Stage.OFFER
    new_end = pipeline.check_extension(application.due_at if at_offer else application.promised_at, until, now,
                                       policy, stage=application.stage, reason=reason,
                                       competing_offer_deadline=application.competing_offer_deadline)
    with transaction():
        before = application.due_at if at_offer else application.promised_at
        application.extended_until = new_end
        application.extension_reason = clean(reason)
        touch(application, now)
        keep_promise(application, now, told_in="deadline_extended", resolved_by="deadline_extended",
                     new_date=None if at_offer else until)
        event = audit("deadline_extended", now, actor, application, before=before, due_at=application.due_at,
                      promised_at=application.promised_at, reason=clean(reason), automatic=False)
        email_candidate(application, "deadline_extended", event.id, now, reason=clean(reason))
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
    with transaction():
        before = application.promised_at
        application.extended_until = pipeline.end_of_day(until, policy)
        application.extension_reason = reason
        touch(application, now)
        keep_promise(application, now, told_in="delay_notice", resolved_by="delay_notice", new_date=until,
                     automatic=True)
        stalled = pipeline.is_stalled(application.automatic_delays, policy)
        event = audit("deadline_extended", now, None, application, before=before, due_at=application.due_at,
                      promised_at=application.promised_at, reason=reason, automatic=True,
                      automatic_delays=application.automatic_delays, escalated=stalled)
        email_candidate(application, "delay_notice", event.id, now, reason=reason)
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
    require(actor, Action.MANAGE_APPLICATIONS)
    now = resolve_now(now)
    check_version(application, expected_version)
    if not application.is_open:
        raise IllegalTransition("This application is closed.")
    policy = get_policy()
    if deadline is not None:
        pipeline.check_competing_offer(deadline, now, policy)
    with transaction():
        before = application.promised_at
        application.competing_offer_deadline = deadline
        touch(application, now)
        confirm = deadline is not None and application.promised_at is not None
        if confirm:
            new_day = pipeline.competing_offer_promise(pipeline.local_date(application.promised_at, policy),
                                                       deadline, now, policy)
            if application.extended_until is not None and application.extended_until > pipeline.end_of_day(
                    new_day, policy):
                application.extended_until = pipeline.end_of_day(new_day, policy)
            keep_promise(application, now, told_in="competing_offer_confirmation",
                         resolved_by="competing_offer_set", new_date=new_day)
        event = audit("competing_offer_set" if deadline else "competing_offer_cleared", now, actor, application,
                      deadline=deadline, before=before, due_at=application.due_at,
                      promised_at=application.promised_at)
        if confirm:
            email_candidate(application, "competing_offer_confirmation", event.id, now,
                            deadline=deadline, moved_earlier=application.promised_at != before)
    return application
