"""What the scheduled jobs do: deadline notices, feedback reminders, delay notices, the digest.

Each function takes ``now`` and is state-driven: it selects what is due and not yet done
(the ``*_notified_at`` columns, reminder counters, idempotency keys) and marks it done in
the same transaction as its audit event and outbox email. Running one twice, or hours
late, therefore does the right thing once.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from functools import cache

from sqlalchemy import CompoundSelect, and_, bindparam, exists, insert, or_, select, union, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from . import notifications as notify
from . import pipeline, queries, reports, services
from .extensions import db
from .models import (
    Application,
    AuditEvent,
    Feedback,
    Interview,
    OutboxEmail,
    PanelMember,
    Position,
    User,
    UTCDateTime,
)
from .pipeline import Flag, Stage
from .services import _audit, _transaction
from .settings import get_policy

log = logging.getLogger(__name__)

# The decision stage that follows each interview round: reminders stop once it is decided.
DECISION_STAGE_FOR_ROUND = {1: Stage.FIRST_DECISION.value, 2: Stage.FINAL_DECISION.value}
REMINDER_INTERVAL = timedelta(hours=24)
# An hourly job would drift by up to an hour a day if it waited a full 24 h between reminders.
REMINDER_SLACK = timedelta(hours=1)


def _with_people():
    return (
        selectinload(Application.candidate),
        selectinload(Application.owner),
        selectinload(Application.position).selectinload(Position.owner),
        selectinload(Application.position).selectinload(Position.hiring_manager),
    )


# --- deadlines -------------------------------------------------------------------------------


def check_deadlines(now: datetime) -> dict[str, int]:
    """Announce each flag once: due soon / overdue once per due date, expedite once per
    competing-offer deadline, needs discussion once per offer decision, an unrecorded
    interview once per interview end.

    One statement finds the applications with something to announce, one indexed SELECT
    per flag (see ``_unannounced``); applications that need nothing cost no further
    statements, and reading stays proportional to what is announced.
    """
    policy = get_policy()
    ids = sorted(set(db.session.scalars(_unannounced(), queries.flag_bind_values(now, policy))))
    counts: dict[str, int] = defaultdict(int)
    for start in range(0, len(ids), ANNOUNCE_BATCH):
        applications = db.session.scalars(
            select(Application).where(Application.id.in_(ids[start:start + ANNOUNCE_BATCH]))
            .options(*_with_people()).order_by(Application.id)
        ).all()
        for application in applications:
            for flag in _announce(application, now, policy):
                counts[flag] += 1
    return {"applications": len(ids), **counts}


# Applications loaded per SELECT when many have something to announce (after downtime).
# Each announcement commits, and a commit expires every object in the session: a small
# batch keeps that cost small (SQLite, 1M applications: 20 ms per announcement with 500,
# about 7 ms with 100).
ANNOUNCE_BATCH = 100


@cache
def _unannounced() -> CompoundSelect:
    """Ids of the applications with a flag not yet announced, as a UNION of one SELECT per
    flag, each planned on its own with its own index: due soon and overdue the partial
    indexes of the due dates not yet announced, expedite the applications with a competing
    offer by stage, needs discussion the one stage, late and unrecorded their partial
    indexes. (As an OR of them, SQLite planned a scan of the whole table: 0.25-1 s at 1M
    applications.) Built once, run with ``queries.flag_bind_values(now, policy)``."""
    at = queries.FLAG_BINDS
    due_soon = select(Application.id).where(
        queries.flag_condition(Flag.DUE_SOON, at),
        Application.due_soon_notified_at.is_(None), Application.due_at.is_not(None),
    )
    overdue = select(Application.id).where(
        queries.is_open(), queries.past_team_deadline(at.now),
        Application.overdue_notified_at.is_(None), Application.due_at.is_not(None),
    )
    late = select(Application.id).where(  # late since an automatic delay, never announced (job was down)
        queries.is_open(), Application.overdue_since.is_not(None), Application.overdue_notified_at.is_(None),
    )
    expedite = select(Application.id).where(
        queries.flag_condition(Flag.EXPEDITE, at),
        or_(Application.expedite_notified_for.is_(None),
            Application.expedite_notified_for != Application.competing_offer_deadline),
    )
    needs_discussion = select(Application.id).where(
        queries.flag_condition(Flag.NEEDS_DISCUSSION, at),
        or_(Application.needs_discussion_notified_at.is_(None),
            Application.needs_discussion_notified_at < Application.stage_entered_at),
    )
    unrecorded = select(Application.id).where(
        queries.flag_condition(Flag.UNRECORDED, at),
        Application.unrecorded_notified_at.is_(None), Application.interview_ends_at.is_not(None),
    )
    return union(due_soon, overdue, late, expedite, needs_discussion, unrecorded)


def _announce(application: Application, now: datetime, policy: pipeline.Policy) -> list[str]:
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
    with _transaction():
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
        for flag in announce:
            _audit(f"{flag.value}_notice", now, None, application, due_at=application.due_at,
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
                application=application, days_overdue=_days_overdue(application, now, policy),
                responsible_for_offer=application.stage == Stage.FINAL_DECISION.value,
                interview=application.current_interview() if flag == Flag.UNRECORDED else None,
            )


def _days_overdue(application: Application, now: datetime, policy: pipeline.Policy) -> int:
    """Whole days the team is late, counted from the first deadline it missed (a delay
    notice moves the candidate's date, not the team's lateness)."""
    state = application.state()
    late = pipeline.late_since(state)
    if not pipeline.is_overdue(state, now) or late is None:
        return 0
    return max(1, pipeline.days_overdue(late, now, policy))


# --- feedback reminders ------------------------------------------------------------------------


def send_feedback_reminders(now: datetime) -> dict[str, int]:
    """Panel members without feedback: 24 h after the interview was held, then daily, at
    most ``policy.feedback_reminder_max`` times, and only while the decision is open."""
    policy = get_policy()
    if policy.feedback_reminder_max <= 0:
        return {"reminders": 0}
    has_feedback = exists().where(Feedback.interview_id == PanelMember.interview_id,
                                  Feedback.interviewer_id == PanelMember.user_id)
    decision_open = or_(*[
        and_(Interview.round == round_, Application.stage == stage)
        for round_, stage in DECISION_STAGE_FOR_ROUND.items()
    ])
    rows = db.session.execute(
        select(PanelMember, Interview, Application)
        .join(Interview, Interview.id == PanelMember.interview_id)
        .join(Application, Application.id == Interview.application_id)
        .join(User, User.id == PanelMember.user_id)
        .where(
            Interview.held_at.is_not(None),
            Interview.held_at <= now - REMINDER_INTERVAL,
            Interview.cancelled_at.is_(None),
            decision_open,
            User.active.is_(True),
            PanelMember.reminders_sent < policy.feedback_reminder_max,
            or_(PanelMember.last_reminded_at.is_(None),
                PanelMember.last_reminded_at <= now - REMINDER_INTERVAL + REMINDER_SLACK),
            ~has_feedback,
        )
        .options(selectinload(PanelMember.user))
        .order_by(Interview.id, PanelMember.user_id)
    ).all()
    sent = 0
    for member, interview, application in rows:
        number = member.reminders_sent + 1
        with _transaction():
            member.reminders_sent = number
            member.last_reminded_at = now
            _audit("feedback_reminder", now, None, application, interview_id=interview.id,
                   interviewer=member.user.email, reminder=number)
            notify.to_team_member(
                member.user, "feedback_reminder", f"feedback-reminder:{interview.id}:{member.user_id}:{number}",
                now, application=application, interview=interview, reminder_number=number,
                reminder_max=policy.feedback_reminder_max,
            )
        sent += 1
    return {"reminders": sent}


# --- delay notices -----------------------------------------------------------------------------


def send_delay_notices(now: datetime) -> dict[str, int]:
    """Each open promise whose morning has come while it still stands gets its delay
    notice (services.send_delay_notice): the candidate hears, hours before the date passes,
    that we need a little more time, and the new date.

    The offer stage holds no promise of ours: there the date is the candidate's to answer by.
    """
    policy = get_policy()
    ids = db.session.scalars(_promises_at_their_morning(),
                             {"threshold": pipeline.delay_notice_threshold(now, policy)}).all()
    applications = db.session.scalars(
        select(Application).where(Application.id.in_(ids)).options(*_with_people())
        .order_by(Application.promised_at, Application.id)
    ).all() if ids else []
    sent = skipped = 0
    for application in applications:
        try:
            if services.send_delay_notice(application, now=now):
                sent += 1
        except pipeline.DomainError as exc:  # e.g. changed by someone in the meantime: next run retries
            log.warning("application %s: delay notice not sent: %s", application.id, exc)
            skipped += 1
    return {"delay_notices": sent, "skipped": skipped}


@cache
def _promises_at_their_morning():
    """Open promises whose delay-notice morning has come (the partial index of promises);
    built once, run with the threshold."""
    return select(Application.id).where(
        Application.promised_at.is_not(None),
        Application.promised_at <= bindparam("threshold", type_=UTCDateTime()),
        queries.is_open(),
        Application.stage != Stage.OFFER.value,
    )


# --- the weekly digest -------------------------------------------------------------------------


@dataclass
class DigestItem:
    application: Application
    days_overdue: int
    link: str


@dataclass
class DigestGroup:
    position: Position
    overdue: list[DigestItem] = field(default_factory=list)
    due_this_week: list[DigestItem] = field(default_factory=list)
    unrecorded: list[DigestItem] = field(default_factory=list)


def digest_week(now: datetime, policy: pipeline.Policy) -> tuple[str, datetime, datetime]:
    """The ISO week of ``now`` in the company's zone: its label, when this week's digest
    is due (policy weekday and hour) and the end of the week."""
    local = now.astimezone(policy.tz)
    year, week, weekday = local.isocalendar()
    monday = local.date() - timedelta(days=weekday - 1)
    due = datetime.combine(monday + timedelta(days=policy.digest_weekday), time(policy.digest_hour),
                           tzinfo=policy.tz)
    week_end = pipeline.end_of_day(monday + timedelta(days=6), policy)
    return f"{year}-W{week:02d}", due, week_end


def send_weekly_digest(now: datetime) -> dict[str, int | str]:
    """One email per team member responsible for at least one overdue decision, at most
    once per ISO week. Before this week's digest time it does nothing; any run after it
    (a late scheduler, a second run) sends what is still missing."""
    policy = get_policy()
    week, due, week_end = digest_week(now, policy)
    if now < due:
        return {"week": week, "digests": 0, "not_yet": 1}
    applications = db.session.scalars(
        select(Application)
        .where(queries.is_open(), or_(
            and_(Application.due_at.is_not(None), Application.due_at <= week_end),
            Application.overdue_since.is_not(None),
            queries.flag_condition(Flag.UNRECORDED, now, policy)))
        .options(*_with_people())
        .order_by(Application.due_at, Application.id)
    ).all()
    by_person: dict[int, tuple[User, dict[int, DigestGroup]]] = {}
    for application in applications:
        person = notify.responsible_user(application)
        if person is None or not person.active:
            continue
        _, groups = by_person.setdefault(person.id, (person, {}))
        group = groups.setdefault(application.position_id, DigestGroup(application.position))
        item = DigestItem(application, _days_overdue(application, now, policy), notify.application_url(application))
        flags = application.flags(now, policy)
        if Flag.OVERDUE in flags:
            group.overdue.append(item)
        elif application.due_at is not None and application.due_at <= week_end:
            group.due_this_week.append(item)
        if Flag.UNRECORDED in flags:
            group.unrecorded.append(item)
    keys = {user_id: f"digest:{user_id}:{week}" for user_id in by_person}
    for _attempt in range(3):
        already = set(db.session.scalars(
            select(OutboxEmail.idempotency_key).where(OutboxEmail.idempotency_key.in_(list(keys.values())))
        )) if keys else set()
        try:
            sent = _send_digests(by_person, keys, already, week, now)
        except IntegrityError:
            # Another run queued some of this week's digests between our check and our commit
            # (the job lock makes this rare): nothing of ours was written; look again.
            log.info("digest %s: written concurrently by another run; checking again", week)
            continue
        return {"week": week, "digests": sent}
    raise RuntimeError(f"digest {week}: kept colliding with another run")


def _send_digests(by_person: dict, keys: dict[int, str], already: set[str], week: str, now: datetime) -> int:
    """Render every digest first, then write them all, with their audit events, in one
    transaction. One commit instead of one per person (each an fsync: most of the job's
    time at 200 recipients). Once per person per ISO week still holds: the idempotency key
    ``digest:<user>:<week>`` is unique, so a run that races another fails as a whole
    (IntegrityError, rolled back) instead of doubling anyone's digest."""
    events, emails = [], []
    promises_line = reports.digest_line(now, get_policy()) if by_person else ""  # the team's, once per run
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
        events.append(services.audit_row("digest_sent", now, None, None, user_id=person.id, week=week,
                                         overdue=overdue, due_this_week=due))
        emails.append(notify.render_email(
            template="digest", recipient=person.email, idempotency_key=keys[user_id], lang="en",
            recipient_user=person, now=now,
            context={"user": person, "application_link": None, "groups": ordered, "week": week,
                     "overdue_count": overdue, "due_count": due, "dashboard_link": notify.absolute_url("/"),
                     "promises_line": promises_line},
        ))
    if emails:
        with _transaction():  # two executemany INSERTs, one commit
            db.session.execute(insert(AuditEvent), events)
            db.session.execute(insert(OutboxEmail), emails)
    return len(emails)
