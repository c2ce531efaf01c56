"""The reports: is the team keeping its promises, how long each stage takes against the
policy, the funnel, time to hire, sources, and what is overdue now. Read-only.

Every figure is aggregated in SQL: a report issues a fixed number of statements and
returns a number of rows bounded by its groups (weeks, stages, owners, sources), never
by the number of applications. Medians and 90th percentiles are computed the same way on
SQLite and PostgreSQL (``_distribution``: window functions pick the one or two rows each
percentile needs, linear interpolation between them as PostgreSQL's ``percentile_cont``).

The period is a range of company-local days, both ends included. What falls in it:
promises by the date told to the candidate (``promise.promised_for``); stage times by
the moment the stage ended (the decision, the second interview); the funnel and sources
by the day the application was received; time to hire by the day the offer was accepted,
time to offer by the day the offer was decided.

The figures are in ``figures`` (computed live from the records: the reference); the
pages and the API read them from the daily rollup in ``rollup`` (same figures, as of its
last refresh); the company-local days in SQL in ``days``; the CSV export's rows in ``rows``.
"""

from __future__ import annotations

from . import changes, rollup
from .figures import (
    DEFAULT_DAYS,
    Distribution,
    Filters,
    FunnelStep,
    OverdueReport,
    OverdueRow,
    PromiseCounts,
    PromiseReport,
    Report,
    SourceRow,
    StageTime,
    StageTimeReport,
    TimeToHire,
    build,
    default_filters,
    digest_line,
    funnel,
    overdue_now,
    promise_status,
    promise_weeks,
    promises,
    reached_step,
    received_in,
    sources,
    stage_times,
    summary,
    time_to_hire,
)
from .rows import (
    APPLICATION_COLUMNS,
    application_rows,
)

__all__ = [
    "APPLICATION_COLUMNS",
    "DEFAULT_DAYS",
    "Distribution",
    "Filters",
    "FunnelStep",
    "OverdueReport",
    "OverdueRow",
    "PromiseCounts",
    "PromiseReport",
    "Report",
    "SourceRow",
    "StageTime",
    "StageTimeReport",
    "TimeToHire",
    "application_rows",
    "build",
    "default_filters",
    "digest_line",
    "funnel",
    "overdue_now",
    "promise_status",
    "promise_weeks",
    "promises",
    "reached_step",
    "changes",
    "rollup",
    "received_in",
    "sources",
    "stage_times",
    "summary",
    "time_to_hire",
]
