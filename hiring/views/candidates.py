"""Candidates: search, and the new-application form (new or existing candidate)."""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import BigInteger, Integer, Row, Select, bindparam, select

from .. import queries, services
from ..extensions import db
from ..forms import NewApplicationForm, choices
from ..models import Application, Candidate, Position
from ..pipeline import Action, InvalidInput, PositionStatus
from ..web import DB_INT_MAX, db_int, stage_badge
from . import ListPage, application_url, application_url_prefix, id_url_prefix, read_only, require_action, show_refusal

bp = Blueprint("candidates", __name__, url_prefix="/candidates")

PER_PAGE = 25


@dataclass
class SearchPage(ListPage):
    """A page of the list. ``total`` is exact up to ``queries.SEARCH_COUNT_LIMIT``; beyond,
    ``more`` is set, ``total`` is the limit and ``pages`` is None ("Page 3", no "of N").
    ``has_next`` comes from one row more than a page."""

    total: int
    more: bool
    has_next: bool

    @property
    def pages(self) -> int | None:
        return None if self.more else max(1, -(-self.total // PER_PAGE))


@bp.get("/")
@read_only
@require_action(Action.VIEW_ALL)
def index():
    q = (request.args.get("q") or "").strip()[:200]
    number = max(1, request.args.get("page", 1, type=db_int) or 1)
    # The count stops at the limit: a common name matches tens of thousands at 1M
    # applications, and all of them were counted (and sorted) for every page.
    limit = queries.SEARCH_COUNT_LIMIT + 1
    total = queries.count_candidate_matches(q, limit=limit) if q else queries.count_candidates(limit=limit)
    more = total >= limit
    offset = (number - 1) * PER_PAGE
    # One row more than a page tells whether there is a next page.
    params = {"page_limit": PER_PAGE + 1, "page_offset": offset, **(queries.search_params(q) if q else {})}
    items: list[Row] = []
    applications: dict[int, list[Row]] = defaultdict(list)
    search = ("fts" if queries.is_fts(q) else "like") if q else ""
    stmt = _page_statement(search, more and bool(search))
    for row in db.session.execute(stmt, params).all() if offset <= DB_INT_MAX else []:
        if not items or items[-1].id != row.id:
            items.append(row)
        if row.application_id is not None:
            applications[row.id].append(row)
    page = SearchPage(items[:PER_PAGE], number, min(total, queries.SEARCH_COUNT_LIMIT), more, len(items) > PER_PAGE)
    may_manage = current_user.can(Action.MANAGE_APPLICATIONS)
    return render_template("candidates/index.html", page=page, q=q, may_manage=may_manage,
                           rows=_rows(page.items, applications, may_manage=may_manage))


@functools.cache
def _page_statement(search: str, many: bool) -> Select:
    """The page's candidates with their applications (id, stage, position title), in one
    statement, as plain rows of what the list shows (ORM objects carried every column,
    built per row, and the applications were a second statement). Built once per kind of
    search (``search``: "", "fts" or "like"; ``many``: see ``queries.candidate_matches``),
    its values bound when it runs (``page_limit``, ``page_offset``, ``queries.search_params``).

    The page's ids first, then their rows: finding the ids can then read an index alone
    (PostgreSQL's ix_candidate_name_id_email, which holds the email; SQLite's name index
    for a short search, its trigram index in name order from three characters on)."""
    ids = (select(Candidate.id).order_by(Candidate.name, Candidate.id)
           .limit(bindparam("page_limit", type_=Integer)).offset(bindparam("page_offset", type_=BigInteger)))
    if search == "fts":
        # The matches in name order up to the page's end (not every match of a common name).
        first = bindparam("page_limit", type_=Integer) + bindparam("page_offset", type_=BigInteger)
        ids = ids.where(Candidate.id.in_(queries.name_order_matches(first)))
    elif search:
        ids = ids.where(queries.search_condition(False, many=many))
    return (select(Candidate.id, Candidate.name, Candidate.email, Candidate.anonymised_at,
                   Application.id.label("application_id"), Application.stage, Position.title)
            .outerjoin(Application, Application.candidate_id == Candidate.id)
            .outerjoin(Position, Position.id == Application.position_id)
            .where(Candidate.id.in_(ids)).order_by(Candidate.name, Candidate.id, Application.id))


def _rows(candidates: list[Row], applications: dict[int, list[Row]], *, may_manage: bool) -> Markup:
    """The table's rows, written here as the template wrote them (same bytes): a Jinja loop
    escaped and joined each value one by one and built each link with url_for. Here the
    links' patterns are worked out once per request; a stage's badge is built once per
    worker (web.stage_badge)."""
    candidate_url = id_url_prefix("privacy.candidate", "candidate_id")
    app_url = application_url_prefix()
    apply_url = url_for("candidates.new_application")
    out = []
    for c in candidates:
        name = escape(c.name)
        apps = "".join(f'\n      <div><a href="{app_url}{a.application_id}">{escape(a.title)}</a> '
                       f'{stage_badge(a.stage)}</div>\n      '
                       for a in applications.get(c.id, ())) or '<span class="muted">none</span>'
        manage = ""
        if may_manage:
            apply = "" if c.anonymised_at else (f'<a href="{apply_url}?candidate={c.id}">Apply for another position'
                                                f'<span class="visually-hidden"> ({name})</span></a>')
            manage = f'\n    <td data-label="">{apply}</td>\n    '
        out.append(f'\n  <tr>\n    <td data-label="Name"><a href="{candidate_url}{c.id}">{name}</a></td>'
                   f'\n    <td data-label="Email">{escape(c.email)}</td>'
                   f'\n    <td data-label="Applications">\n      {apps}\n    </td>\n    {manage}\n  </tr>\n  ')
    return Markup("".join(out))


@bp.route("/new-application", methods=["GET", "POST"])
@require_action(Action.MANAGE_APPLICATIONS)
def new_application():
    form = NewApplicationForm()
    positions = db.session.scalars(
        select(Position).where(Position.status == PositionStatus.OPEN.value).order_by(Position.title)).all()
    form.position_id.choices = choices((p.id, p.title) for p in positions)
    candidate = None
    if request.method == "GET":
        candidate_id = request.args.get("candidate", type=db_int)
        candidate = db.session.get(Candidate, candidate_id) if candidate_id else None
        if candidate is not None:
            form.name.data, form.email.data = candidate.name, candidate.email
            form.phone.data, form.language.data = candidate.phone, candidate.language
            form.talent_pool_consent.data = candidate.talent_pool_consent
        position_id = request.args.get("position", type=db_int)
        if position_id:
            form.position_id.data = position_id
    if not positions:
        flash("There is no open position yet. Create one under Positions first.", "info")
    if form.validate_on_submit():
        position = db.session.get(Position, form.position_id.data)
        upload = form.document.data
        data = upload.read() if upload and getattr(upload, "filename", "") else b""
        if upload and getattr(upload, "filename", "") and data:
            # Check the document before anything is saved, so a bad file loses nothing.
            if len(data) > services.MAX_DOCUMENT_BYTES:
                form.document.errors = ["At most 10 MB."]
            elif services.sniff_document_type(data) is None:
                form.document.errors = ["Upload a PDF, DOC, DOCX or ODT document."]
        if position is None:
            form.position_id.errors = ["Choose an open position."]
        if not form.errors:
            try:
                application = services.submit_application(
                    position, name=form.name.data, email=form.email.data, phone=form.phone.data or "",
                    language=form.language.data, talent_pool_consent=bool(form.talent_pool_consent.data),
                    source=form.source.data, actor=current_user)
            except (InvalidInput, services.Conflict) as exc:
                show_refusal(form, exc, field="email")
            else:
                if data:
                    try:
                        services.add_document(application, filename=upload.filename, data=data, actor=current_user)
                    except InvalidInput as exc:
                        flash(f"The application is saved, but the document was not: {exc}", "error")
                flash(f"Application of {application.candidate.name} for “{position.title}” saved; "
                      "the candidate gets a confirmation email.", "success")
                return redirect(application_url(application.id))
    document_hint = None
    sent = request.files.get(form.document.name)
    if form.errors and sent is not None and sent.filename and not form.document.errors:
        # A browser never refills a file input: say so, or the application is saved without it.
        document_hint = f"Choose “{sent.filename}” again before saving: a browser cannot keep a file after an error."
    return render_template("candidates/new_application.html", form=form, candidate=candidate, positions=positions,
                           document_hint=document_hint)
