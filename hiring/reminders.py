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

from sqlalchemy import CompoundSelect, and_, bindparam, exists, or_, select, union
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from . import notifications as notify
from . import pipeline, queries, reports, services
from .extensions import db
from .models import (
    Application,
    Feedback,
    Interview,
    OutboxEmail,
    PanelMember,
    Position,
    User,
    UTCDateTime,
)
from .pipeline import Flag, Stage
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
            for flag in services.announce_flags(application, now, policy):
                counts[flag] += 1
    return {"applications": len(ids), **counts}


# Applications loaded per SELECT when many have something to announce (after downtime).
# Each announcement commits, and a commit expires every object in the session: a small
# batch keeps that cost small (measurements: bench/RESULTS.md, "Numbers moved out of the code").
ANNOUNCE_BATCH = 100


@cache
def _unannounced() -> CompoundSelect:
    """Ids of the applications with a flag not yet announced, as a UNION of one SELECT per
    flag, each planned on its own with its own index: due soon and overdue the partial
    indexes of the due dates not yet announced, expedite the applications with a competing
    offer by stage, needs discussion the one stage, late and unrecorded their partial
    indexes. (As an OR of them, SQLite planned a scan of the whole table.)
    Built once, run with ``queries.flag_bind_values(now, policy)``."""
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
        services.remind_feedback(member, interview, application, now=now, policy=policy)
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
        item = DigestItem(application, services.days_overdue(application, now, policy),
                          notify.application_url(application))
        flags = application.flags(now, policy)
        if Flag.OVERDUE in flags:
            group.overdue.append(item)
        elif application.due_at is not None and application.due_at <= week_end:
            group.due_this_week.append(item)
        if Flag.UNRECORDED in flags:
            group.unrecorded.append(item)
    keys = {user_id: f"digest:{user_id}:{week}" for user_id in by_person}
    promises_line = reports.digest_line(now, get_policy()) if by_person else ""  # the team's, once per run
    for _attempt in range(3):
        already = set(db.session.scalars(
            select(OutboxEmail.idempotency_key).where(OutboxEmail.idempotency_key.in_(list(keys.values())))
        )) if keys else set()
        try:
            sent = services.queue_digests(by_person, keys, already, week, now, promises_line=promises_line)
        except IntegrityError:
            # Another run queued some of this week's digests between our check and our commit
            # (the job lock makes this rare): nothing of ours was written; look again.
            log.info("digest %s: written concurrently by another run; checking again", week)
            continue
        return {"week": week, "digests": sent}
    raise RuntimeError(f"digest {week}: kept colliding with another run")
