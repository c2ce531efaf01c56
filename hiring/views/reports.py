"""The Reports page (/reports) and its CSV exports, for admins, recruiters and managers.

The figures come from hiring.reports (aggregated in SQL); the charts are SVG drawn by the
template from those figures (no script: the CSP allows none inline, and none is needed),
each with its numbers in a table beside it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from datetime import date, timedelta
from functools import cache

from flask import Blueprint, Response, abort, current_app, render_template, request, stream_with_context, url_for
from markupsafe import Markup
from sqlalchemy import Select, func, select
from werkzeug.exceptions import ServiceUnavailable

from .. import reports
from ..extensions import db
from ..models import Position, User, utcnow
from ..pipeline import Action, PositionStatus
from ..queries import constant, constants
from ..settings import get_policy
from ..web import db_int, option_tags
from . import read_only, require_action
from .filters import (
    OWNER_ROLES,
    FilterProblem,
    filter_problem,
    matching_owners,
    matching_positions,
    owner_label,
    owner_names,
    position_label,
    position_names,
    resolve,
)

bp = Blueprint("reports", __name__, url_prefix="/reports")

MAX_PERIOD_DAYS = 3 * 366
BOM = "\ufeff"  # Excel reads a CSV as UTF-8 only with it


def _parse_day(name: str, errors: dict[str, str]) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        errors[name] = f"“{raw}” is not a date: use YYYY-MM-DD."
        return None
    if not 1970 <= day.year <= 2099:
        errors[name] = "Choose a date between 1970 and 2099."
        return None
    return day


def parse_filters() -> tuple[reports.Filters, dict[str, str], dict[str, FilterProblem]]:
    """The filters of the query string, an error per bad one (the default stands in for
    it), and per filter whose typed text named no one position or owner, what to say and
    choose from."""
    policy = get_policy()
    errors: dict[str, str] = {}
    default = reports.default_filters(utcnow(), policy)
    start, end = _parse_day("from", errors), _parse_day("to", errors)
    end = end or default.end
    start = start or end - timedelta(days=reports.DEFAULT_DAYS - 1)
    if start > end:
        errors["from"] = "The first day must not be after the last day."
        start, end = default.start, default.end
    elif (end - start).days >= MAX_PERIOD_DAYS:
        errors["from"] = f"Choose a period of at most {MAX_PERIOD_DAYS} days."
        start, end = default.start, default.end
    chosen: dict[str, int | None] = {"position": None, "owner": None}
    unresolved: dict[str, tuple[str, list]] = {}
    for name in chosen:
        model = Position if name == "position" else User
        raw, search = request.args.get(name, "").strip(), request.args.get(f"{name}_q", "").strip()
        try:
            value = db_int(raw) if raw else None
        except ValueError:
            value = None
        current = db.session.get(model, value) if value is not None else None
        if f"{name}_q" in request.args:  # the search field, offered where a list would be too long
            if not search:
                continue  # emptied: no filter
            if current is not None and _label(current).casefold() == search.casefold():
                chosen[name] = value  # the chosen one's name, unchanged (names repeat: keep the id)
                continue
            # Any position, closed too (a past role can be reported on); the owners.
            rows = matching_positions(search, open_only=False) if name == "position" else matching_owners(search)
            row, choices = resolve(search, rows, position_names if name == "position" else owner_names)
            if row is not None:
                chosen[name] = row.id
            else:
                unresolved[name] = (search, choices)
        elif raw and current is None:
            errors[name] = f"No such {name}."
        elif current is not None:
            chosen[name] = value
    filters = reports.Filters(start=start, end=end, position_id=chosen["position"], owner_id=chosen["owner"])
    problems = {}
    for name, (search, choices) in unresolved.items():
        problems[name] = filter_problem(
            name, search, choices, position_label if name == "position" else owner_label,
            lambda row, name=name: url_for("reports.index", **{**filter_args(filters), name: row.id}),
            otherwise=f"the report is of {'every position' if name == 'position' else 'everyone'}")
        errors[name] = problems[name].message
    return filters, errors, problems


# A filter offers its choices as a list up to this many; past it (a big company's open
# positions and recruiters run to thousands: a list that long is unusable and weighs
# hundreds of kB on every visit) a text field with suggestions (hiring.views.filters).
LIST_LIMIT = 200


def _choices(name: str) -> Select:
    """(id, label) of what the filter ``name`` offers, in label order: the open positions,
    or the owners. The constants are written into the SQL: so both databases see that the
    condition is the owners' partial index's (migration f3b7d2c9a1e5), and read the first
    rows of that index or of the positions' (status, title) one instead of sorting them all."""
    if name == "position":
        return (select(Position.id, Position.title).where(Position.status == constant(PositionStatus.OPEN.value))
                .order_by(Position.title, Position.id))
    return (select(User.id, User.name)
            .where(User.role.in_(constants(OWNER_ROLES)))
            .order_by(User.name, User.id))


@cache
def _short_list(name: str) -> Select:
    """The choices of ``name`` in order, with their number up to LIST_LIMIT + 1 on every row,
    when there are at most LIST_LIMIT of them; else that number alone, in one row (one
    statement either way; a big company's 201 rows were read only to be dropped)."""
    choices = _choices(name)
    key, label = choices.selected_columns[0], choices.selected_columns[1]
    counted = select(func.count().label("count")).select_from(
        choices.with_only_columns(key).order_by(None).limit(constant(LIST_LIMIT + 1)).subquery()).subquery()
    listed = choices.with_only_columns(key.label("id"), label.label("label")).limit(constant(LIST_LIMIT)).subquery()
    return (select(counted.c.count, listed.c.id, listed.c.label)
            .select_from(counted.outerjoin(listed, counted.c.count <= constant(LIST_LIMIT)))
            .order_by(listed.c.label, listed.c.id))


def _offer(name: str, chosen: int | None) -> dict[str, object]:
    """How the page offers the filter ``name``: a list of every choice when they are few
    (``options``), else a search field (``search``: the chosen one's name, to edit)."""
    rows = db.session.execute(_short_list(name)).all()
    few = rows[0].count <= LIST_LIMIT
    rows = [(row.id, row.label) for row in rows if row.id is not None]
    model = Position if name == "position" else User
    current = db.session.get(model, chosen) if chosen is not None else None
    if few:
        # The chosen one may be outside the choices (a closed position, a former recruiter):
        # it is listed too, in its place, so the page says what the report is of.
        if current is not None and all(row[0] != chosen for row in rows):
            rows = sorted([*rows, (current.id, _label(current))], key=lambda row: (row[1], row[0]))
        return {"options": option_tags(rows, chosen), "search": None,
                "label": _label(current) if current is not None else None}
    label = _label(current) if current is not None else None
    return {"options": None, "search": label or "", "label": label}


def _label(chosen: Position | User) -> str:
    return chosen.title if isinstance(chosen, Position) else chosen.name


def filter_args(filters: reports.Filters) -> dict[str, str]:
    args = {"from": filters.start.isoformat(), "to": filters.end.isoformat()}
    if filters.position_id:
        args["position"] = str(filters.position_id)
    if filters.owner_id:
        args["owner"] = str(filters.owner_id)
    return args


REPORT_CACHE_SIZE = 32  # filter combinations kept per worker


# The page's tables per owner and per position show this many rows (the most told, the
# most overdue): a big company has thousands; the CSV exports have every row.
TABLE_ROWS = 25


def _figures(report: reports.Report, filters: reports.Filters, policy) -> Markup:
    return Markup(render_template("reports/_figures.html", report=report, filters=filters, policy=policy,
                                  table_rows=TABLE_ROWS, args=filter_args(filters)))


def _build(filters: reports.Filters, now, policy) -> reports.Report:
    return reports.rollup.build(filters, now, policy, live_limit=current_app.config.get("REPORTS_LIVE_LIMIT"))


def cached_report(filters: reports.Filters, now, policy) -> tuple[reports.Report, Markup]:
    """The report (from the rollup when there is one: hiring.reports.rollup) and its
    figures as HTML: this worker's copy
    for these filters and this policy while nothing has changed since and it is younger
    than REPORTS_CACHE_SECONDS; computed afresh otherwise. The figures' HTML is kept with
    the report: drawing its charts and tables cost more than a visit's other work."""
    seconds = current_app.config.get("REPORTS_CACHE_SECONDS", 0)
    if not seconds:
        report = _build(filters, now, policy)
        return report, _figures(report, filters, policy)
    cache = current_app.extensions.setdefault("hiring_report_cache", {})
    key, changes = (filters, policy), reports.changes.mark()  # the mark the rollup's refresh reads too
    hit = cache.get(key)
    if hit is not None and hit[0] == changes and timedelta(0) <= now - hit[1] < timedelta(seconds=seconds):
        return hit[2], hit[3]
    report = _build(filters, now, policy)
    figures = _figures(report, filters, policy)
    if len(cache) >= REPORT_CACHE_SIZE:
        cache.clear()
    cache[key] = (changes, now, report, figures)
    return report, figures


@bp.get("")
@read_only
@require_action(Action.VIEW_ALL)
def index():
    filters, errors, problems = parse_filters()
    now, policy = utcnow(), get_policy()
    try:
        report, figures = cached_report(filters, now, policy)
        preparing = None
    except reports.rollup.NotReady as exc:  # only overdue now, which is read live anyway
        report, preparing = None, str(exc)
        figures = Markup(render_template("reports/_overdue.html", overdue=reports.overdue_now(filters, now, policy),
                                         table_rows=TABLE_ROWS, args=filter_args(filters)))
    offers = {name: _offer(name, chosen) for name, chosen in
              (("position", filters.position_id), ("owner", filters.owner_id))}
    return render_template("reports/index.html", report=report, figures=figures, filters=filters, errors=errors,
                           offers=offers, problems=problems, args=filter_args(filters), exports=EXPORT_TITLES,
                           policy=policy, as_of=report.as_of if report else None, preparing=preparing), 200


# --- CSV ---------------------------------------------------------------------------------------


def _cell(value: object) -> str:
    """A CSV cell; text a spreadsheet would run as a formula is quoted with a leading '."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def csv_lines(header: Iterable[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """The CSV text, a line at a time, beginning with the byte-order mark."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(list(header))
    yield BOM + buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([_cell(value) for value in row])
        yield buffer.getvalue()


def _csv_response(name: str, filters: reports.Filters, lines: Iterator[str]) -> Response:
    filename = f"{name}_{filters.start.isoformat()}_{filters.end.isoformat()}.csv"
    return Response(lines, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "X-Content-Type-Options": "nosniff"})


def _counts(c: reports.PromiseCounts) -> list[object]:
    return [c.told, c.kept, c.moved, c.broken, c.withdrawn, c.open, c.kept_rate]


PROMISE_HEADER = ["told", "kept", "moved", "broken", "withdrawn", "open", "kept_rate"]
STAGE_HEADER = ["count", "median_days", "p90_days", "within_policy", "within_policy_rate", "policy_days"]


def _stage_cells(t: reports.StageTime) -> list[object]:
    return [t.count, t.median_days, t.p90_days, t.within_policy, t.within_policy_rate, t.policy_days]


EXPORTS: dict[str, Callable[[reports.Report], tuple[list[str], list[list[object]]]]] = {
    "promises-by-week": lambda r: (["week_from", "week_to", *PROMISE_HEADER],
                                   [[s.isoformat(), e.isoformat(), *_counts(c)] for s, e, c in r.promises.weeks]),
    "promises-by-stage": lambda r: (["stage", *PROMISE_HEADER], [[s, *_counts(c)] for s, c in r.promises.stages]),
    "promises-by-owner": lambda r: (["owner", *PROMISE_HEADER], [[n, *_counts(c)] for _, n, c in r.promises.owners]),
    "stage-times": lambda r: (["stage", *STAGE_HEADER],
                              [[s, *_stage_cells(t)] for s, t in r.stage_times.stages.items()]),
    "stage-times-by-week": lambda r: (["week_from", "week_to", "stage", *STAGE_HEADER],
                                      [[s.isoformat(), e.isoformat(), stage, *_stage_cells(t)]
                                       for s, e, stages in r.stage_times.weeks for stage, t in stages.items()]),
    "funnel": lambda r: (["stage", "count", "conversion_from_previous"],
                         [[s.stage, s.count, s.conversion] for s in r.funnel]),
    "time-to-hire": lambda r: (["measure", "count", "median_days", "p90_days"],
                               [["application_to_hire", r.time_to_hire.hire.count, r.time_to_hire.hire.median,
                                 r.time_to_hire.hire.p90],
                                ["application_to_offer", r.time_to_hire.offer.count, r.time_to_hire.offer.median,
                                 r.time_to_hire.offer.p90]]),
    "sources": lambda r: (["source", "applications", "first_interviews", "hires"],
                          [[s.source, s.applications, s.interviews, s.hires] for s in r.sources]),
    "overdue-by-owner": lambda r: (["owner", "overdue"], [[o.name, o.count] for o in r.overdue.owners]),
    "overdue-by-position": lambda r: (["position", "overdue"], [[o.name, o.count] for o in r.overdue.positions]),
}
EXPORT_TITLES = {
    "promises-by-week": "Promises by week", "promises-by-stage": "Promises by stage",
    "promises-by-owner": "Promises by owner", "stage-times": "Time per stage",
    "stage-times-by-week": "Time per stage by week", "funnel": "Funnel", "time-to-hire": "Time to hire",
    "sources": "Sources", "overdue-by-owner": "Overdue by owner", "overdue-by-position": "Overdue by position",
    "applications": "One row per application",
}


@bp.get("/<name>.csv")
@require_action(Action.VIEW_ALL)
def export(name: str):
    filters, errors, _ = parse_filters()
    if errors:
        abort(400, description="; ".join(f"{field}: {message}" for field, message in errors.items()))
    now, policy = utcnow(), get_policy()
    if name == "applications":
        lines = csv_lines(reports.APPLICATION_COLUMNS, reports.application_rows(filters, now, policy))
        return _csv_response(name, filters, stream_with_context(lines))
    if name not in EXPORTS:
        abort(404)
    try:
        report = _build(filters, now, policy)
    except reports.rollup.NotReady as exc:
        raise ServiceUnavailable(str(exc), retry_after=reports.rollup.RETRY_SECONDS) from None
    header, rows = EXPORTS[name](report)
    return _csv_response(name, filters, csv_lines(header, rows))


def board_url(*, owner: int | None = None, position: int | None = None) -> str:
    return url_for("dashboard.board", owner=owner, position=position)
