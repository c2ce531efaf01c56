"""The scheduled jobs' writes (hiring.reminders selects what is due and calls these).

A job step that changes state is a verb like the others: it marks what it announced,
counts what it sent, writes its audit events and queues its emails in one transaction.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import insert, update

from .. import notifications as notify
from .. import pipeline
from ..extensions import db
from ..models import Application, AuditEvent, Interview, OutboxEmail, PanelMember, User
from ..pipeline import Flag, Stage
from .core import audit, audit_row, transaction

log = logging.getLogger("hiring.reminders")  # the jobs' log: operators follow one logger


def announce_flags(application: Application, now: datetime, policy: pipeline.Policy) -> list[str]:
    """The deadline job's step for one application: announce each of its flags not yet
    announced (an audit event and a team email each) and mark them announced, in one
    transaction. Returns the flags announced; none when the application changed meanwhile."""
    flags = application.flags(now, policy)
    marks: dict[str, object] = {}
    announce: list[Flag] = []
    if Flag.OVERDUE in flags and application.overdue_notified_at is None:
        announce.append(Flag.OVERDUE)
        # An application first seen overdue (the job was down) gets no stale due-soon notice.
        marks.update(overdue_notified_at=now, due_soon_notified_at=application.due_soon_notified_at or now)
    elif Flag.DUE_SOON in flags and application.due_soon_notified_at is None:
        announce.append(Flag.DUE_SOON)
        marks["due_soon_notified_at"] = now
    if Flag.EXPEDITE in flags and application.expedite_notified_for != application.competing_offer_deadline:
        announce.append(Flag.EXPEDITE)
        marks["expedite_notified_for"] = application.competing_offer_deadline
    if Flag.NEEDS_DISCUSSION in flags and (
        application.needs_discussion_notified_at is None
        or application.needs_discussion_notified_at < application.stage_entered_at
    ):
        announce.append(Flag.NEEDS_DISCUSSION)
        marks["needs_discussion_notified_at"] = now
    if Flag.UNRECORDED in flags and application.unrecorded_notified_at is None:
        announce.append(Flag.UNRECORDED)
        marks["unrecorded_notified_at"] = now
    if not announce:
        return []
    recipient = notify.responsible_user(application)
    try:
        _announce_in_one_transaction(application, announce, marks, recipient, now, policy)
    except _ChangedMeanwhile:
        # Someone changed the application between our read and our write (a new date, a
        # decision): what we were about to announce may be stale. The next run looks again.
        log.info("application %s changed while its notices were prepared; next run", application.id)
        return []
    return [flag.value for flag in announce]


class _ChangedMeanwhile(Exception):
    pass


def _announce_in_one_transaction(application: Application, announce: list[Flag], marks: dict[str, object],
                                 recipient: User | None, now: datetime, policy: pipeline.Policy) -> None:
    with transaction():
        # A bulk UPDATE leaves the version alone: the job's bookkeeping must not make a
        # recruiter's open form stale. It re-checks the version it read, in the same
        # statement: a change in between (an extension) is never marked as announced.
        marked = db.session.execute(
            update(Application).where(Application.id == application.id,
                                      Application.version == application.version).values(**marks),
            execution_options={"synchronize_session": False},
        )
        if marked.rowcount != 1:
            raise _ChangedMeanwhile()
        late_days = days_overdue(application, now, policy)
        missed_due = pipeline.late_since(application.state())  # a delay notice may have moved due_at on
        for flag in announce:
            audit(f"{flag.value}_notice", now, None, application, due_at=application.due_at,
                  recipient=recipient.email if recipient else None,
                  competing_offer_deadline=application.competing_offer_deadline)
            # The key names the date announced, so a new due date is announced anew.
            about = {
                Flag.EXPEDITE: str(application.competing_offer_deadline),
                Flag.NEEDS_DISCUSSION: application.stage_entered_at.isoformat(),
                Flag.UNRECORDED: application.interview_ends_at.isoformat() if application.interview_ends_at else "",
            }.get(flag, application.due_at.isoformat() if application.due_at else "")
            notify.to_team_member(
                recipient, f"{flag.value}_notice", f"application:{application.id}:{flag.value}:{about}", now,
                application=application, days_overdue=late_days, missed_due=missed_due,
                responsible_for_offer=application.stage == Stage.FINAL_DECISION.value,
                interview=application.current_interview() if flag == Flag.UNRECORDED else None,
            )


def days_overdue(application: Application, now: datetime, policy: pipeline.Policy) -> int:
    """Whole days the team is late, counted from the first deadline it missed (a delay
    notice moves the candidate's date, not the team's lateness)."""
    state = application.state()
    late = pipeline.late_since(state)
    if not pipeline.is_overdue(state, now) or late is None:
        return 0
    return max(1, pipeline.days_overdue(late, now, policy))


def remind_feedback(member: PanelMember, interview: Interview, application: Application, *, now: datetime,
                    policy: pipeline.Policy) -> None:
    """One more reminder to a panel member whose feedback is missing: count it, audit it,
    queue the email (its key carries the reminder's number, so a rerun queues nothing new)."""
    number = member.reminders_sent + 1
    with transaction():
        member.reminders_sent = number
        member.last_reminded_at = now
        audit("feedback_reminder", now, None, application, interview_id=interview.id,
              interviewer=member.user.email, reminder=number)
        notify.to_team_member(
            member.user, "feedback_reminder", f"feedback-reminder:{interview.id}:{member.user_id}:{number}",
            now, application=application, interview=interview, reminder_number=number,
            reminder_max=policy.feedback_reminder_max,
        )


def queue_digests(by_person: dict, keys: dict[int, str], already: set[str], week: str, now: datetime, *,
                  promises_line: str = "") -> int:
    """Render every digest first, then write them all, with their audit events, in one
    transaction. One commit instead of one per person: each commit is an fsync, and
    those were most of the job's time. Once per person per ISO week still holds: the idempotency key
    ``digest:<user>:<week>`` is unique, so a run that races another fails as a whole
    (IntegrityError, rolled back) instead of doubling anyone's digest."""
    events, emails = [], []
    for user_id, (person, groups) in sorted(by_person.items()):
        overdue = sum(len(g.overdue) + len(g.unrecorded) for g in groups.values())
        if overdue == 0 or keys[user_id] in already:
            continue  # nobody gets an empty digest, nobody gets two in a week
        for group in groups.values():
            group.overdue.sort(key=lambda i: -i.days_overdue)
        # The position with the longest wait first.
        ordered = sorted(groups.values(), key=lambda g: (-(g.overdue[0].days_overdue if g.overdue else -1),
                                                         g.position.title))
        due = sum(len(g.due_this_week) for g in groups.values())
        events.append(audit_row("digest_sent", now, None, None, user_id=person.id, week=week,
                                overdue=overdue, due_this_week=due))
        emails.append(notify.render_email(
            template="digest", recipient=person.email, idempotency_key=keys[user_id], lang="en",
            recipient_user=person, now=now,
            context={"user": person, "application_link": None, "groups": ordered, "week": week,
                     "overdue_count": overdue, "due_count": due, "dashboard_link": notify.absolute_url("/"),
                     "promises_line": promises_line},
        ))
    if emails:
        with transaction():  # two executemany INSERTs, one commit
            db.session.execute(insert(AuditEvent), events)
            db.session.execute(insert(OutboxEmail), emails)
    return len(emails)
