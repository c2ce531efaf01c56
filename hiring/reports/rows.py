"""One row per application received in the period: the CSV export, streamed."""


from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime

from sqlalchemy import (
    select,
)

from ..extensions import db
from ..models import Application, Candidate, Decision, Interview, Position, Promise, User
from ..pipeline import Policy, Stage
from .figures import Filters, promise_status, received_in

APPLICATION_COLUMNS = (
    "application_id", "candidate", "position", "owner", "source", "stage", "outcome", "applied_on",
    "first_interview_on", "debrief_decision_on", "second_interview_on", "offer_decision_on", "offer_answer_on",
    "closed_on", "promises_told", "promises_kept", "promises_moved", "promises_broken", "promises_withdrawn",
    "promises",
)


def application_rows(filters: Filters, now: datetime, policy: Policy, *, batch: int = 1000) -> Iterator[list[str]]:
    """One row per application received in the period, streamed: the applications come
    from one server-side cursor (``yield_per``) in partitions of ``batch``; each
    partition's interviews, decisions and promises are read with one statement each, so
    memory holds one partition, never the whole result."""
    tz = policy.tz

    def day(moment: datetime | None) -> str:
        return moment.astimezone(tz).date().isoformat() if moment else ""

    result = db.session.execute(
        select(Application.id, Application.stage, Application.source, Application.applied_at,
               Application.closed_at, Candidate.name.label("candidate"), Position.title.label("position"),
               User.name.label("owner"))
        .join(Candidate, Candidate.id == Application.candidate_id)
        .join(Position, Position.id == Application.position_id)
        .outerjoin(User, User.id == Application.owner_id)
        .where(*received_in(filters, policy))
        .order_by(Application.applied_at, Application.id),
        execution_options={"yield_per": batch})
    status = promise_status(now).label("status")
    for apps in result.partitions():
        ids = [a.id for a in apps]
        interviews: dict[int, dict[int, datetime]] = defaultdict(dict)
        for r in db.session.execute(
                select(Interview.application_id, Interview.round, Interview.scheduled_at)
                .where(Interview.application_id.in_(ids), Interview.cancelled_at.is_(None)).order_by(Interview.id)):
            interviews[r.application_id][r.round] = r.scheduled_at
        decisions: dict[int, dict[str, datetime]] = defaultdict(dict)
        for r in db.session.execute(
                select(Decision.application_id, Decision.stage, Decision.decided_at)
                .where(Decision.application_id.in_(ids)).order_by(Decision.decided_at, Decision.id)):
            decisions[r.application_id][r.stage] = r.decided_at
        told: dict[int, list[tuple[date, str]]] = defaultdict(list)
        for r in db.session.execute(
                select(Promise.application_id, Promise.promised_for, status)
                .where(Promise.application_id.in_(ids)).order_by(Promise.application_id, Promise.told_at, Promise.id)):
            told[r.application_id].append((r.promised_for, r.status))
        for a in apps:
            made = decisions[a.id]
            statuses = [s for _, s in told[a.id]]
            yield [
                str(a.id), a.candidate, a.position, a.owner or "", a.source, a.stage,
                "open" if Stage(a.stage).is_open else a.stage, day(a.applied_at),
                day(interviews[a.id].get(1)), day(made.get(Stage.FIRST_DECISION.value)),
                day(interviews[a.id].get(2)), day(made.get(Stage.FINAL_DECISION.value)),
                day(made.get(Stage.OFFER.value)), day(a.closed_at),
                str(len(statuses)), *(str(statuses.count(s)) for s in ("kept", "moved", "broken", "withdrawn")),
                "; ".join(f"{d.isoformat()} {s}" for d, s in told[a.id]),
            ]
