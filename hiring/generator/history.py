"""One application's life, simulated step by step: its rows, events and emails."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .. import pipeline
from ..models import (
    Application,
    AuditEvent,
    CandidateContact,
    Decision,
    Feedback,
    Interview,
    OutboxEmail,
    PanelMember,
    Promise,
)
from ..notifications import approval_key, candidate_email_key, event_key
from ..pipeline import ApplicationState, Event, walk
from .bulk import Rows

if TYPE_CHECKING:
    from .simulation import Simulation
from .common import (
    FEEDBACK_NOTES,
    JOB_INTERVAL,
    OPEN_STAGE_VALUES,
    REJECTION_RATIONALES,
    RELAY_DELAY,
    PositionRow,
    S,
    source_of,
)


@lru_cache(maxsize=4096)
def day_text(day: date) -> str:
    return f"{day:%d %b %Y}"


# Cached: the hot loop asks for the same few hundred (stage, day) pairs again and again.
base_due = lru_cache(maxsize=65536)(pipeline.base_due_on)


class History:
    """One application's life, simulated step by step until it closes or reaches ``now``."""

    def __init__(self, sim: Simulation, rows: Rows, candidate: tuple[int, str, str, str], position: PositionRow,
                 applied_at: datetime):
        self.sim, self.rng, self.now, self.policy = sim, sim.rng, sim.now, sim.policy
        self.tz = sim.tz
        self.rows = rows
        self.candidate_id, self.name, self.email, self.language = candidate
        self.position = position
        self.id = sim.next_id("application")
        self.applied_at = applied_at
        self.stage = S.APPLIED
        self.entered = applied_at
        self.due: datetime | None = None
        self.extended_until: datetime | None = None
        self.extension_reason: str | None = None
        self.promised: datetime | None = None
        self.overdue_since: datetime | None = None
        self.automatic_delays = 0
        self.promise_moves = 0
        self.promise_made: datetime | None = None
        self.promise_row: dict[str, Any] | None = None  # the open one in the promise record
        self.last_email: datetime | None = None
        self.verdict: str | None = None
        self.awaiting_feedback = False
        self.competing_offer: date | None = None
        self.closed_at: datetime | None = None
        self.updated = applied_at
        self.version = 1
        self.open_interview: dict[str, Any] | None = None
        self.last_event = 0
        self.buffer: list[tuple[type, dict[str, Any]]] = []  # related rows, kept unless lean and closed
        self.recruiter = position.owner_id
        self.manager = position.hiring_manager_id

    # --- helpers ------------------------------------------------------------------------------

    def _days(self, low: float, high: float) -> timedelta:
        return timedelta(days=self.rng.uniform(low, high))

    def _answer_delay(self, stage: str) -> timedelta:
        """How long the team takes to answer: mostly within the policy's days, sometimes late."""
        days = self.sim.policy.days_for(stage) or 7
        if self.rng.random() < 0.12:
            return self._days(days, days * 1.8)
        return self._days(0.3, days * 0.95)

    def _step(self, event: Event, at: datetime, *, interview_at: datetime | None = None) -> None:
        """The transition ``event`` (pipeline.TRANSITIONS) from the current stage, at ``at``."""
        self._enter(pipeline.next_stage(self.stage, event).value, at, interview_at=interview_at)

    def _enter(self, stage: str, at: datetime, *, interview_at: datetime | None = None) -> None:
        self.stage = stage
        self.entered = at
        self.overdue_since = None
        self.automatic_delays = self.promise_moves = 0
        self.extended_until = None
        self.extension_reason = None
        if stage != S.SECOND_INTERVIEW:
            self.competing_offer = None  # settled one way or the other by the next step
        self.verdict = None if stage in (S.APPLIED, S.FIRST_INTERVIEW) else self.verdict
        if stage not in OPEN_STAGE_VALUES:
            self.closed_at = at
            self.awaiting_feedback = False
        self._set_due(at, answers=True, interview_at=interview_at)
        self._touch(at)

    def _set_due(self, at: datetime, *, answers: bool = False, interview_at: datetime | None = None) -> None:
        """The candidate's date and the team's deadline, by the same rules as services.keep_promise."""
        if self.stage == S.OFFER:
            self._promise(at, answers=True, day=None)
            self.promised = None
            self.due = base_due(self.stage, self.entered.astimezone(self.tz).date(), self.policy)
            return
        if self.stage not in OPEN_STAGE_VALUES:
            self._promise(at, answers=True, day=None, withdrawn=self.stage == S.WITHDRAWN)
            self.promised = self.due = None
            return
        computed = pipeline.answer_date(self.stage, self.entered, self.policy, interview_at=interview_at,
                                        extended_until=self.extended_until)
        current = pipeline.local_date(self.promised, self.policy) if self.promised else None
        day = pipeline.promise_date(computed, at, self.policy, current=current, answers=answers,
                                    competing_offer_deadline=self.competing_offer)
        if day is None:
            return
        if day != current or answers:
            self._promise(at, answers=answers, day=day)
            self.promised = pipeline.end_of_day(day, self.policy)
            self.due = pipeline.team_due_at(day, at, self.policy)

    def _promise(self, at: datetime, *, answers: bool, day: date | None, automatic: bool = False,
                 withdrawn: bool = False) -> None:
        """The promise record, by the rules of services.keep_promise: the open promise ends
        (kept, moved, broken or withdrawn) and the new date, if any, gets its row. The rows
        go with the history (a lean dataset leaves them out for long-closed applications)."""
        if self.promise_row is not None:
            outcome = pipeline.promise_outcome(self.promise_row["lapses_at"], at,
                                               moved=day is not None and not answers, withdrawn=withdrawn)
            self.promise_row.update(outcome=outcome.value, resolved_at=at,
                                    resolved_by="delay_notice" if automatic else "generated")
            self.promise_row = None
        if day is not None:
            self.promise_row = {
                "id": self.sim.next_id("promise"), "application_id": self.id, "stage": self.stage,
                "promised_for": day, "lapses_at": pipeline.end_of_day(day, self.policy), "told_at": at,
                "told_in": "delay_notice" if automatic else "generated", "automatic": automatic,
                "resolved_at": None, "outcome": None, "resolved_by": None,
            }
            self._keep(Promise, self.promise_row)

    def _touch(self, at: datetime) -> None:
        self.updated = max(self.updated, at)
        self.version += 1

    def _keep(self, model: type, row: dict[str, Any]) -> None:
        self.buffer.append((model, row))

    def _event(self, kind: str, at: datetime, actor: int | None, **data: Any) -> int:
        event_id = next(self.sim.event_ids)
        self.buffer.append((AuditEvent, {"id": event_id, "application_id": self.id, "actor_id": actor,
                                         "kind": kind, "data": data, "occurred_at": at}))
        return event_id

    def _email(self, template: str, key: str, at: datetime, subject: str, body: str, *,
               to_user: int | None = None, promise: bool = False) -> None:
        if promise:
            self.promise_made = at
        to_candidate = to_user is None
        recipient = self.email if to_candidate else self.sim.team.emails[to_user]
        sent_at = at + RELAY_DELAY
        sent = sent_at <= self.now
        self.buffer.append((OutboxEmail, {
            "id": next(self.sim.email_ids), "application_id": self.id, "template": template,
            "recipient": recipient, "recipient_user_id": to_user, "to_candidate": to_candidate, "subject": subject,
            "body_text": body, "body_html": "", "attachments": [],
            "idempotency_key": key if not to_candidate else candidate_email_key(self.id, key),
            "status": "sent" if sent else "queued", "attempts": 1 if sent else 0, "next_attempt_at": at,
            "last_error": None, "created_at": at, "sent_at": sent_at if sent else None,
        }))
        if to_candidate:
            self.last_email = at

    def _candidate_email(self, template: str, event_id: int, at: datetime, subject: str, *,
                         promise: bool = False) -> None:
        if promise:
            self.promise_made = at
        when = f" You will hear from us by {day_text(self.promised.astimezone(self.tz).date())}." if (
            promise and self.promised) else ""
        body = f"Dear {self.name},\n\n{subject} — {self.position.title}.{when}\n\nKind regards\nThe hiring team\n"
        self._email(template, event_key(template, event_id), at, subject, body, promise=promise)

    def _wait(self, delay: timedelta) -> datetime | None:
        """The moment of the next step, or None when that lies after ``now`` (the
        application stays where it is). Late answers trigger the delay-notice job first."""
        at = self.entered + delay
        # The delay-notice job leaves the offer stage alone: there the candidate answers.
        while self.promised is not None and self.stage != S.OFFER:
            notice_at = pipeline.delay_notice_at(self.promised, self.policy) + timedelta(minutes=15)
            if notice_at >= min(at, self.now):
                break
            self._delay_notice(notice_at)
        return at if at <= self.now else None

    def _delay_notice(self, at: datetime) -> None:
        new_day = pipeline.delay_notice_date(pipeline.local_date(self.promised, self.policy), at, self.policy,
                                             competing_offer_deadline=self.competing_offer)
        before = self.due
        self.overdue_since = self.overdue_since or self.due
        self.automatic_delays += 1
        self.promise_moves += 1
        self._promise(at, answers=False, day=new_day, automatic=True)
        self.extended_until = pipeline.end_of_day(new_day, self.policy)
        self.extension_reason = "We need a little more time to decide carefully."
        self.promised = self.extended_until
        self.due = pipeline.team_due_at(new_day, at, self.policy)
        self._touch(at)
        event = self._event("deadline_extended", at, None, before=before.isoformat(), due_at=self.due.isoformat(),
                            reason=self.extension_reason, automatic=True)
        self._candidate_email("delay_notice", event, at, "We need a little more time", promise=True)

    # --- the process --------------------------------------------------------------------------

    def run(self) -> None:
        self._enter(S.APPLIED, self.applied_at)
        self.version = 1
        event = self._event("application_submitted", self.applied_at, self.recruiter,
                            position_id=self.position.id, candidate_id=self.candidate_id,
                            due_at=self.due.isoformat())
        self._candidate_email("application_received", event, self.applied_at,
                              "Thank you for your application", promise=True)
        at = self._wait(self._answer_delay(S.APPLIED))
        if at is None:
            return
        roll = self.rng.random()
        if roll < 0.03:
            return self._withdraw(at)
        if roll < 0.55:
            return self._reject(at, self.recruiter)
        panel = self.rng.sample(self.sim.team.interviewers, 2)
        interview = self._schedule(1, at, at + self._days(2, 9), panel, location="Munich office, room Ada")
        self._step(Event.SCHEDULE_FIRST_INTERVIEW, at, interview_at=interview["scheduled_at"])
        if interview["scheduled_at"] > self.now:
            return
        if self.rng.random() < 0.03:
            return self._withdraw(interview["scheduled_at"] - self._days(0.1, 1))
        held = interview["scheduled_at"] + timedelta(minutes=interview["duration_minutes"])
        if held > self.now:
            return
        self._held(interview, held, panel, Event.FIRST_INTERVIEW_HELD, positive_rate=0.6)
        at = self._wait(self._answer_delay(S.FIRST_DECISION))
        if at is None:
            return
        if self.rng.random() < 0.04:
            return self._withdraw(at)
        if self.rng.random() < 0.5:
            return self._reject(at, self.recruiter)
        self._decide(at, self.recruiter, "advance", "Strong fundamentals; invite to the second interview.")
        self._step(Event.INVITE_SECOND_INTERVIEW, at)
        self.verdict = None
        self.awaiting_feedback = False
        self._candidate_email("second_interview_invitation", self.last_event, at,
                              "Invitation to a second interview", promise=True)
        if self.rng.random() < 0.08:  # a competing offer makes us hurry
            deadline = pipeline.local_date(at, self.policy) + timedelta(days=self.rng.randint(4, 10))
            self.competing_offer = deadline
            self._set_due(at)
            self._event("competing_offer_set", at + timedelta(hours=2), self.recruiter, deadline=deadline.isoformat(),
                        due_at=self.due.isoformat())
        scheduled_for = at + self._answer_delay(S.SECOND_INTERVIEW)
        second_panel = [*self.rng.sample(self.sim.team.interviewers, 2), self.manager]
        booked = at + self._days(0.2, 2)
        if booked > self.now:
            return
        interview = self._schedule(2, booked, max(scheduled_for, booked + timedelta(hours=20)), second_panel,
                                   video="https://meet.example.com/interview-" + str(self.id))
        self._set_due(booked, answers=True, interview_at=interview["scheduled_at"])
        held = interview["scheduled_at"] + timedelta(minutes=interview["duration_minutes"])
        if self._wait(held - self.entered) is None:
            return
        if self.rng.random() < 0.03:
            return self._withdraw(held - self._days(0.1, 1))
        self._held(interview, held, second_panel, Event.SECOND_INTERVIEW_HELD, positive_rate=0.55)
        at = self._wait(self._answer_delay(S.FINAL_DECISION))
        if at is None:
            return
        if self.verdict == "clear_hire" or (self.verdict == "mixed" and self.rng.random() < 0.4):
            self._decide(at, self.manager, "advance", "Clear recommendation; offer agreed." if
                         self.verdict == "clear_hire" else "Discussed the mixed feedback; we make the offer.")
            self._step(Event.MAKE_OFFER, at)
            self._candidate_email("offer", self.last_event, at, "Our offer", promise=True)
            at = self._wait(self._days(1, 9))
            if at is None:
                return
            accepted = self.rng.random() < 0.8
            self._decision_row(at, self.recruiter, "accepted" if accepted else "declined",
                               "" if accepted else "Chose another offer.", S.OFFER)
            self._step(Event.OFFER_ACCEPTED if accepted else Event.OFFER_DECLINED, at)
            self._event("offer_response", at, self.recruiter, accepted=accepted, note="")
            return
        return self._reject(at, self.manager)

    def _schedule(self, round_: int, at: datetime, scheduled_at: datetime, panel: list[int], *,
                  location: str = "", video: str = "") -> dict[str, Any]:
        interview = {
            "id": self.sim.next_id("interview"), "application_id": self.id, "round": round_,
            "scheduled_at": scheduled_at, "duration_minutes": 60 if round_ == 1 else 90, "location": location,
            "video_link": video, "held_at": None, "cancelled_at": None,
            "ical_uid": f"{uuid.UUID(int=self.rng.getrandbits(128))}@hiring", "ical_sequence": 0, "created_at": at,
        }
        self._keep(Interview, interview)
        for user_id in panel:
            self._keep(PanelMember, {"interview_id": interview["id"], "user_id": user_id, "reminders_sent": 0,
                                     "last_reminded_at": None})
        self._touch(at)
        self.open_interview = interview
        event = self._event("interview_scheduled", at, self.recruiter, interview_id=interview["id"], round=round_,
                            scheduled_at=scheduled_at.isoformat(),
                            panel=[self.sim.team.emails[u] for u in panel])
        self._candidate_email("interview_invitation", event, at, "Invitation to an interview")
        return interview

    def _held(self, interview: dict[str, Any], held: datetime, panel: list[int], event: Event, *,
              positive_rate: float) -> None:
        interview["held_at"] = held
        self._step(event, held)
        event = self._event("interview_held", held, self.recruiter, interview_id=interview["id"],
                            round=interview["round"], held_at=held.isoformat(), due_at=self.due.isoformat())
        self._candidate_email("interview_thanks", event, held, "Thank you for the interview",
                              promise=True)
        positive = self.rng.random() < positive_rate
        submitted: dict[int, str] = {}
        for user_id in panel:
            at = held + timedelta(hours=self.rng.uniform(0.5, 60))
            if at > self.now or self.rng.random() < 0.03:
                continue  # still to come, or forgotten: the dashboard shows it as awaiting feedback
            if self.rng.random() < 0.85:
                recommendation = self.rng.choice(["yes", "strong_yes"] if positive else ["no", "strong_no"])
            else:
                recommendation = self.rng.choice(["strong_no", "no", "yes", "strong_yes"])
            submitted[user_id] = recommendation
            self._keep(Feedback, {"id": self.sim.next_id("feedback"), "interview_id": interview["id"],
                                  "interviewer_id": user_id, "recommendation": recommendation,
                                  "notes": self.rng.choice(FEEDBACK_NOTES), "submitted_at": at})
            self._event("feedback_submitted", at, user_id, interview_id=interview["id"],
                        recommendation=recommendation)
            self._touch(at)
        verdict = pipeline.panel_verdict(panel, submitted)
        self.verdict = verdict.value
        self.awaiting_feedback = verdict == pipeline.Verdict.INCOMPLETE
        clear = verdict in (pipeline.Verdict.CLEAR_HIRE, pipeline.Verdict.CLEAR_NO)
        asked_at = held + timedelta(hours=60)  # once the last feedback is in
        if self.stage == S.FINAL_DECISION and clear and asked_at <= self.now:
            self._email("approval_request", approval_key(self.id, event), asked_at, f"Approval needed: {self.name}",
                        f"A clear recommendation for {self.name} awaits your decision.\n", to_user=self.manager)

    def _decision_row(self, at: datetime, actor: int, outcome: str, rationale: str, stage: str) -> None:
        self._keep(Decision, {"id": self.sim.next_id("decision"), "application_id": self.id, "stage": stage,
                              "outcome": outcome, "decided_by_id": actor, "decided_at": at, "rationale": rationale})

    def _decide(self, at: datetime, actor: int, outcome: str, rationale: str) -> None:
        stage = self.stage
        self._decision_row(at, actor, outcome, rationale, stage)
        to_stage = pipeline.next_stage(stage, pipeline.decision_event(stage, outcome)).value
        self.last_event = self._event("decision", at, actor, stage=stage, outcome=outcome, to_stage=to_stage,
                                      rationale=rationale)

    def _reject(self, at: datetime, actor: int) -> None:
        self._decide(at, actor, "reject", self.rng.choice(REJECTION_RATIONALES))
        self._step(Event.REJECT, at)
        self._candidate_email("rejection", self.last_event, at, "Your application")

    def _withdraw(self, at: datetime) -> None:
        stage = self.stage
        self._step(Event.WITHDRAW, at)
        interview = self.open_interview
        if interview is not None and interview["held_at"] is None and interview["cancelled_at"] is None:
            interview["cancelled_at"] = at
            interview["ical_sequence"] += 1
        event = self._event("withdrawn", at, self.recruiter, stage=stage, reason="Accepted a position elsewhere.")
        self._candidate_email("withdrawal_confirmation", event, at, "Your withdrawal")

    def _interview_ends(self) -> datetime | None:
        interview = self.open_interview
        if (self.stage in (S.FIRST_INTERVIEW, S.SECOND_INTERVIEW) and interview is not None
                and interview["held_at"] is None and interview["cancelled_at"] is None):
            return interview["scheduled_at"] + timedelta(minutes=interview["duration_minutes"])
        return None

    def finish(self) -> None:
        """Add the application row (and its history) to the batch."""
        is_open = self.stage in OPEN_STAGE_VALUES
        interview_ends = self._interview_ends() if is_open else None
        # The deadline job has been running every quarter of an hour: its notices are out.
        notices = walk.notices_sent(
            ApplicationState(stage=self.stage, due_at=self.due, competing_offer_deadline=self.competing_offer,
                             verdict=self.verdict, awaiting_feedback=self.awaiting_feedback,
                             promised_at=self.promised, overdue_since=self.overdue_since,
                             automatic_delays=self.automatic_delays, interview_ends_at=interview_ends),
            self.entered, self.now, self.policy, every=JOB_INTERVAL)
        self.rows.add(Application, {
            "id": self.id, "candidate_id": self.candidate_id, "position_id": self.position.id,
            "owner_id": self.position.owner_id, "stage": self.stage, "applied_at": self.applied_at,
            "source": source_of(self.id), "stage_entered_at": self.entered, "due_at": self.due,
            "promised_at": self.promised if is_open else None,
            "last_candidate_email_at": self.last_email, "competing_offer_deadline": self.competing_offer,
            "extended_until": self.extended_until, "extension_reason": self.extension_reason,
            "verdict": self.verdict, "awaiting_feedback": self.awaiting_feedback,
            "due_soon_notified_at": notices.due_soon_notified_at, "overdue_notified_at": notices.overdue_notified_at,
            "expedite_notified_for": notices.expedite_notified_for,
            "needs_discussion_notified_at": notices.needs_discussion_notified_at,
            "promise_made_at": self.promise_made, "closed_at": self.closed_at, "version": self.version,
            "promise_moves": self.promise_moves, "automatic_delays": self.automatic_delays,
            "overdue_since": self.overdue_since if is_open else None,
            "interview_ends_at": interview_ends, "unrecorded_notified_at": notices.unrecorded_notified_at,
            "created_at": self.applied_at, "updated_at": self.updated,
        })
        if self.sim.lean and not is_open:
            # Keep the ids dense per application anyway: the buffer is simply not written.
            return
        for model, row in self.buffer:
            self.rows.add(model, row)
        if self.rng.random() < 0.1 and self.buffer:
            at = self.applied_at + timedelta(days=self.rng.uniform(1, 5))
            if at <= self.now:
                self.rows.add(CandidateContact, {
                    "id": self.sim.next_id("candidate_contact"), "application_id": self.id,
                    "kind": self.rng.choice(["thank_you", "enquiry"]), "channel": "email", "occurred_at": at,
                    "summary": "Asked when to expect an answer.", "recorded_by_id": self.recruiter, "created_at": at})
