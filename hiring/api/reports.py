"""GET /api/v1/reports/summary: the figures of the Reports page (hiring.reports) as JSON."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from pydantic import Field
from sqlalchemy import select

from .. import reports
from ..extensions import db
from ..models import Position, User
from ..pipeline import Action, InvalidInput, NotAllowed, Source, Stage
from ..settings import get_policy
from . import core
from .core import ApiError, endpoint
from .schemas import Day, Email, Id, Query, Response, Timestamp

# A period longer than this is refused (a typo of a year, not a report anyone reads).
MAX_PERIOD_DAYS = 3 * 366


class ReportQuery(Query):
    from_: Day | None = Field(None, alias="from", description="First day of the period (company time zone), "
                              "YYYY-MM-DD. Default: 89 days before `to`.")
    to: Day | None = Field(None, description="Last day of the period, included. Default: today.")
    position_id: Id | None = Field(None, description="Only this position's applications.")
    owner_email: Email | None = Field(None, description="Only the applications this team member owns.")


class PromiseSummary(Response):
    told: int = Field(description="Dates told to candidates that fall in the period.")
    kept: int = Field(description="Kept: the answer (or news) came by the date.")
    moved: int = Field(description="Moved to a later date, with a reason, before the date passed.")
    broken: int = Field(description="The date passed in silence (recorded, or open and past its day).")
    kept_rate: float | None = Field(description="kept / (kept + moved + broken); null when none is due yet.")


class StageSummary(Response):
    median_days: float | None
    p90_days: float | None
    within_policy_rate: float | None = Field(description="Share that took at most the policy's days.")
    count: int


class StagesSummary(Response):
    first_decision: StageSummary = Field(description="First interview → debrief decision.")
    second_interview: StageSummary = Field(description="Invited → second interview held.")
    final_decision: StageSummary = Field(description="Second interview → offer decision.")


class FunnelStep(Response):
    stage: Stage
    count: int


class TimeToHire(Response):
    median: float | None
    p90: float | None


class SourceSummary(Response):
    source: Source
    applications: int
    hires: int


class ReportSummary(Response):
    promises: PromiseSummary
    stages: StagesSummary
    funnel: list[FunnelStep] = Field(
        description="Of the applications received in the period: how many reached each step (applied = received, "
        "…, hired), then how many ended rejected, declined or withdrawn.")
    time_to_hire_days: TimeToHire = Field(description="Application → offer accepted, for hires in the period.")
    sources: list[SourceSummary]
    as_of: Timestamp = Field(description="The moment the figures are true for: the last refresh of the reports' "
                            "rollup (every 15 minutes), or now when computed from the records.")


def filters_from(query: ReportQuery) -> reports.Filters:
    policy = get_policy()
    errors: dict[str, str] = {}
    default = reports.default_filters(core.now(), policy)
    end = query.to or default.end
    start = query.from_ or end - timedelta(days=reports.DEFAULT_DAYS - 1)
    if start > end:
        errors["from"] = "The period's first day must not be after its last day (`to`)."
    elif (end - start).days >= MAX_PERIOD_DAYS:
        errors["from"] = f"A period of at most {MAX_PERIOD_DAYS} days."
    if query.position_id is not None and db.session.get(Position, query.position_id) is None:
        errors["position_id"] = f"No position with id {query.position_id}."
    owner_id = None
    if query.owner_email is not None:
        owner_id = db.session.scalar(select(User.id).where(User.email == query.owner_email.strip().lower()))
        if owner_id is None:
            errors["owner_email"] = f"No team member with the email {query.owner_email}."
    if errors:
        raise InvalidInput("Some query parameters are not valid.", errors)
    return reports.Filters(start=start, end=end, position_id=query.position_id, owner_id=owner_id)


@endpoint("GET", "/reports/summary", summary="The reports' figures for a period", tag="reports",
          response=ReportSummary, query=ReportQuery, errors=(403, 503))
def report_summary(user: User, query: ReportQuery):
    """Promises kept, time per stage against the policy, the funnel, time to hire and sources
    for the applications (and promises) of a period, optionally of one position or owner.
    Admins, recruiters and managers."""
    if not user.can(Action.VIEW_ALL):
        raise NotAllowed(f"Your role ({user.role}) may not read the reports.")
    filters = filters_from(query)
    try:
        summary = reports.rollup.summary(filters, core.now(), get_policy(),
                                         live_limit=current_app.config.get("REPORTS_LIVE_LIMIT"))
    except reports.rollup.NotReady as exc:
        raise ApiError(503, "not_ready", str(exc), headers={"Retry-After": str(reports.rollup.RETRY_SECONDS)}) from None
    return ReportSummary.model_validate(summary)
