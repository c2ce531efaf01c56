"""Data protection pages: a candidate's data (consent, tags, export, erasure), the talent
pool, the privacy notice, and the candidate's own no-login page to leave the talent pool.
The verbs are in hiring.privacy."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import BigInteger, Integer, Row, Select, bindparam, select
from sqlalchemy.orm import aliased
from wtforms import IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from .. import privacy, services, timefmt
from ..extensions import db
from ..forms import Form, apply_field_errors, choices
from ..models import Application, Candidate, Position, utcnow
from ..models.types import UTCDateTime
from ..pipeline import Action, DomainError, InvalidInput, PositionStatus, Role
from ..settings import get_policy
from ..web import DB_INT_MAX, db_int, moment
from . import application_url, filters, forbid_unless, id_url_prefix, public, read_only, require_action

bp = Blueprint("privacy", __name__)


class ConsentForm(Form):
    source = SelectField("How did the candidate agree?", choices=choices(privacy.CONSENT_SOURCES.items()))
    submit = SubmitField("Record consent")


class TagsForm(Form):
    tags = StringField("Tags (comma-separated)", validators=[Length(max=1000)], render_kw={"list": "known-tags"})
    submit = SubmitField("Save tags")


class EraseForm(Form):
    reason = TextAreaField("Reason (kept in the audit log — do not name the candidate)", validators=[
        DataRequired("Give the reason, e.g. “request by email of 1 December”."), Length(max=500)])
    submit = SubmitField("Erase this candidate")


class InviteForm(Form):
    # Typed, with suggestions (see the talent pool below); position_id is the number as the
    # select of every open position sent it, still accepted.
    position = StringField("Invite to apply for", validators=[Length(max=300)])
    position_id = IntegerField("Position", validators=[Optional()])
    submit = SubmitField("Invite to apply")


class PlainForm(Form):
    submit = SubmitField("Confirm")


def _candidate(candidate_id: int) -> Candidate:
    candidate = db.session.get(Candidate, candidate_id) if 1 <= candidate_id <= 2**31 - 1 else None
    if candidate is None:
        abort(404)
    return candidate


def _may_manage() -> bool:
    return current_user.role in (Role.ADMIN.value, Role.RECRUITER.value)


def _page(candidate: Candidate, **forms):
    defaults = {"consent_form": ConsentForm(prefix="consent"), "tags_form": TagsForm(prefix="tags"),
                "erase_form": EraseForm(prefix="erase"), "plain_form": PlainForm(prefix="plain")}
    if "tags_form" not in forms:
        defaults["tags_form"].tags.data = ", ".join(candidate.tags or [])
    defaults.update(forms)
    applications = db.session.scalars(select(Application).where(Application.candidate_id == candidate.id)
                                      .order_by(Application.id)).all()
    return render_template("privacy/candidate.html", candidate=candidate, applications=applications,
                           consent_valid=privacy.consent_valid(candidate, utcnow()), known_tags=privacy.known_tags(),
                           application_url=application_url, is_admin=current_user.role == Role.ADMIN.value,
                           may_manage=_may_manage(), retention_months=get_policy().retention_months, **defaults)


@bp.get("/candidates/<int:candidate_id>")
@require_action(Action.VIEW_ALL)
def candidate(candidate_id: int):
    return _page(_candidate(candidate_id))


def _submit(candidate: Candidate, slot: str, form: Form, change: Callable[[Form], Any],
            success: str | Callable[[], str], *, done: str | None = None, refusals_here: bool = False):
    """Run ``change`` with the valid ``form``: then flash ``success`` (a callable: worded after
    the change) and go to ``done`` (default: the candidate's page). Bad input shows the page
    again with the form, its errors by its fields, in ``slot`` (422); so does any other refusal
    when ``refusals_here``, else the pages' handler answers it with its own status."""
    if form.validate_on_submit():
        try:
            change(form)
        except InvalidInput as exc:
            apply_field_errors(form, exc.fields)
        except DomainError as exc:
            if not refusals_here:
                raise
            flash(str(exc), "error")
        else:
            flash(success() if callable(success) else success, "success")
            return redirect(done or url_for("privacy.candidate", candidate_id=candidate.id))
    return _page(candidate, **{slot: form}), 422


@bp.post("/candidates/<int:candidate_id>/consent")
@require_action(Action.MANAGE_APPLICATIONS)
def give_consent(candidate_id: int):
    candidate = _candidate(candidate_id)
    return _submit(candidate, "consent_form", ConsentForm(prefix="consent"),
                   lambda f: privacy.give_consent(candidate, source=f.source.data, actor=current_user),
                   lambda: f"Talent-pool consent recorded until {candidate.talent_pool_expires_at:%d %b %Y}.")


@bp.post("/candidates/<int:candidate_id>/consent/withdraw")
@require_action(Action.MANAGE_APPLICATIONS)
def withdraw_consent(candidate_id: int):
    candidate = _candidate(candidate_id)
    if PlainForm(prefix="plain").validate_on_submit():
        privacy.withdraw_consent(candidate, via="team", actor=current_user)
        flash("Talent-pool consent withdrawn.", "success")
    return redirect(url_for("privacy.candidate", candidate_id=candidate.id))


@bp.post("/candidates/<int:candidate_id>/tags")
@require_action(Action.MANAGE_APPLICATIONS)
def tags(candidate_id: int):
    candidate = _candidate(candidate_id)
    return _submit(candidate, "tags_form", TagsForm(prefix="tags"),
                   lambda f: privacy.set_tags(candidate, f.tags.data or "", actor=current_user), "Tags saved.")


@bp.get("/candidates/<int:candidate_id>/export")
@require_action(Action.MANAGE_APPLICATIONS)
def export(candidate_id: int):
    candidate = _candidate(candidate_id)
    forbid_unless(_may_manage(), "Only admins and recruiters may export a candidate's data.")
    try:
        data = privacy.export_candidate(candidate, actor=current_user)
    except DomainError as exc:
        flash(str(exc), "error")
        return redirect(url_for("privacy.candidate", candidate_id=candidate.id))
    return Response(data, mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="candidate-{candidate.id}-data.zip"'})


@bp.post("/candidates/<int:candidate_id>/erase")
@require_action(Action.MANAGE_APPLICATIONS)
def erase(candidate_id: int):
    candidate = _candidate(candidate_id)
    forbid_unless(current_user.role == Role.ADMIN.value, "Only admins may erase a candidate.")
    # A refusal (already erased: a second click) is said on the page, beside the form.
    return _submit(candidate, "erase_form", EraseForm(prefix="erase"),
                   lambda f: privacy.erase_candidate(candidate, reason=f.reason.data, actor=current_user),
                   f"Candidate #{candidate_id} erased. Their applications stay as anonymous counts.",
                   done=url_for("candidates.index"), refusals_here=True)


# --- the talent pool -------------------------------------------------------------------------


# A page of the pool, like the boards' 60 cards: the whole pool (it was up to 500 rows) made
# every visit render and send hundreds of rows nobody reads before searching.
TALENT_POOL_PER_PAGE = 50

# The position fields: typed, with suggestions (hiring.views.filters). A suggestion is a
# position's reference ("Embedded Engineer #123"): many positions share a title.


def _resolve_position(text: str, *, open_only: bool) -> tuple[Row | None, list[Row]]:
    """The one position ``text`` means (by number, the only match, or the only exact title),
    else None and the positions to choose from."""
    return filters.resolve(text, filters.matching_positions(text, open_only=open_only), filters.position_names)


def _suggestions(open_only: bool):
    q = request.args.get("q", "").strip()[:200]
    rows = filters.matching_positions(q, open_only=open_only) if len(q) >= 2 else []
    return jsonify(filters.suggestions(
        rows, lambda r: filters.position_reference(r.id, r.title),
        lambda r: " · ".join(x for x in (r.department, "" if open_only else r.status) if x)))


@bp.get("/talent-pool/suggest/positions")
@require_action(Action.MANAGE_APPLICATIONS)
def suggest_positions():
    """Positions (any status) whose title contains ``q``: the "Applied for" suggestions."""
    return _suggestions(open_only=False)


@bp.get("/talent-pool/suggest/open-positions")
@require_action(Action.MANAGE_APPLICATIONS)
def suggest_open_positions():
    """Open positions whose title contains ``q``: the invite's suggestions."""
    return _suggestions(open_only=True)


# Whether a position is open: the newest one, looked for from the newest (positions open
# recently; an EXISTS read them in stored order on PostgreSQL, the 16,000 closed ones first at
# 1M applications, 0.8 ms). SQLite reads ix_position_status either way. Built once.
_OPEN_POSITION = aliased(Position)
_ANY_OPEN = (select(_OPEN_POSITION.id).where(_OPEN_POSITION.status == PositionStatus.OPEN.value)
             .order_by(_OPEN_POSITION.id.desc()).limit(1).correlate(None).scalar_subquery().is_not(None)
             .label("any_open"))


@bp.get("/talent-pool")
@read_only
@require_action(Action.MANAGE_APPLICATIONS)
def talent_pool():
    q = (request.args.get("q") or "").strip()[:200]
    tag = (request.args.get("tag") or "").strip()[:40]
    position_id = request.args.get("position", type=db_int)
    position_q = (request.args.get("position_q") or "").strip()[:200]
    page = max(1, request.args.get("page", 1, type=db_int) or 1)
    position_text, problem = position_q, None
    if position_id:
        title = db.session.scalar(select(Position.title).where(Position.id == position_id))
        position_text = filters.position_reference(position_id, title) if title is not None else ""
    elif position_q:
        position, others = _resolve_position(position_q, open_only=False)
        if position is not None:
            position_id, position_text = position.id, filters.position_reference(position.id, position.title)
        else:
            problem = _position_problem(position_q, others, q, tag)
    # One statement: the page of the pool (one more than a page tells whether a next page
    # exists, without counting the pool), each one's positions applied for, and whether any
    # position is open (to invite to); as plain rows of what the list shows. It was three
    # statements, the first building an ORM object with every column per candidate.
    statement = _pool_statement(q, tag, position_id) if q or tag or position_id else _unfiltered_pool_statement()
    rows = db.session.execute(statement, {"now": utcnow(), "pool_limit": TALENT_POOL_PER_PAGE + 1,
                                          "pool_offset": (page - 1) * TALENT_POOL_PER_PAGE}).all()
    candidates: list[Row] = []
    applied: dict[int, list[str]] = {}
    for row in rows:
        if not candidates or candidates[-1].id != row.id:
            candidates.append(row)
        if row.title is not None:
            applied.setdefault(row.id, []).append(row.title)
    has_next = len(candidates) > TALENT_POOL_PER_PAGE
    candidates = candidates[:TALENT_POOL_PER_PAGE]
    any_open = bool(candidates) and bool(candidates[0].any_open)
    return render_template("privacy/talent_pool.html", candidates=candidates, q=q, tag=tag,
                           rows=_talent_pool_rows(candidates, applied, any_open=any_open),
                           position_id=position_id, position_text=position_text, problem=problem,
                           any_open=any_open, known_tags=privacy.known_tags(),
                           invite_form=InviteForm(prefix="invite"), page=page, has_next=has_next,
                           args={k: v for k, v in (("q", q), ("tag", tag), ("position", position_id)) if v})


def _pool_statement(q: str, tag: str, position_id: int | None) -> Select:
    """The talent pool page's statement; the moment and the page's window are bound when it
    runs (``now``, ``pool_limit``, ``pool_offset``), the filters written in."""
    pool = privacy.talent_pool_query(bindparam("now", type_=UTCDateTime), search=q, tag=tag, position_id=position_id,
                                     limit=bindparam("pool_limit", type_=Integer),
                                     offset=bindparam("pool_offset", type_=BigInteger),
                                     columns=(Candidate.id, Candidate.name, Candidate.tags,
                                              Candidate.talent_pool_expires_at)).subquery()
    return (select(pool, Position.title, _ANY_OPEN)
            .outerjoin(Application, Application.candidate_id == pool.c.id)
            .outerjoin(Position, Position.id == Application.position_id)
            .order_by(pool.c.name, pool.c.id, Application.id))


@functools.cache
def _unfiltered_pool_statement() -> Select:
    """The page as it opens, without filters: built once per worker (building the statement
    and its cache key cost about 0.15 ms a request)."""
    return _pool_statement("", "", None)


def _talent_pool_rows(candidates: list[Row], applied: dict[int, list[str]], *, any_open: bool) -> Markup:
    """The talent pool's table rows, written here as the template wrote them (same bytes):
    a Jinja loop escaped and joined some twenty values per row one by one, and built two
    URLs per row; here the links' patterns and the date format are worked out once."""
    m = moment()
    date_time = timefmt.date_time_formatter(m.policy, today=m.today)
    candidate_url = id_url_prefix("privacy.candidate", "candidate_id")
    invite_prefix, invite_suffix = url_for("privacy.invite", candidate_id=0).rsplit("/0/", 1)
    out = []
    for c in candidates:
        name = escape(c.name)
        if any_open:
            invite = (f'\n      <button type="submit" form="invite" class="secondary" formaction="{invite_prefix}/'
                      f'{c.id}/{invite_suffix}" aria-label="Invite {name} to apply">Invite to apply</button>\n      ')
        else:
            invite = '<span class="muted">no open position</span>'
        until = date_time(c.talent_pool_expires_at) if c.talent_pool_expires_at else "—"
        out.append(
            f'\n  <tr>\n    <td data-label="Name"><a href="{candidate_url}{c.id}">{name}</a></td>'
            f'\n    <td data-label="Tags">{escape(", ".join(map(str, c.tags or [])))}</td>'
            f'\n    <td data-label="Applied for">{escape(", ".join(map(str, applied.get(c.id, []))))}</td>'
            f'\n    <td data-label="Consent until">{escape(until)}</td>'
            f'\n    <td data-label="Invite">\n      {invite}\n    </td>\n  </tr>\n  ')
    return Markup("".join(out))


def _position_problem(text: str, rows: list[Row], q: str, tag: str) -> filters.FilterProblem:
    """What the page says when "Applied for" names no one position: the list is not
    filtered by position, and (if any) the positions to choose from, as links."""
    args = {k: v for k, v in (("q", q), ("tag", tag)) if v}
    return filters.filter_problem("position", text, rows, lambda r: filters.position_label(r, numbered=True),
                                  lambda r: url_for("privacy.talent_pool", position=r.id, **args),
                                  otherwise="the list is not filtered by position")


@bp.post("/talent-pool/<int:candidate_id>/invite")
@require_action(Action.MANAGE_APPLICATIONS)
def invite(candidate_id: int):
    candidate = _candidate(candidate_id)
    form = InviteForm(prefix="invite")
    if form.validate_on_submit():
        position = _invited_position(form)
        if position is not None:
            try:
                application = privacy.invite_to_apply(candidate, position, actor=current_user)
            except InvalidInput as exc:
                flash(" ".join([str(exc), *exc.fields.values()]), "error")
            except (services.Conflict, DomainError) as exc:
                flash(str(exc), "error")
            else:
                flash(f"{candidate.name} invited to apply for “{position.title}”; they get an email with the date "
                      "they will hear from us by.", "success")
                return redirect(application_url(application.id))
    return redirect(url_for("privacy.talent_pool"))


def _invited_position(form: InviteForm) -> Position | None:
    """The position the invite names: its number (``position_id``, as the select of every
    open position sent it), or the text typed into the field; else None, said in a flash."""
    if form.position_id.data:
        position = db.session.get(Position, form.position_id.data) if form.position_id.data <= DB_INT_MAX else None
        if position is None:
            flash("Choose an open position.", "error")
        return position
    text = (form.position.data or "").strip()
    if not text:
        flash("Choose an open position: type part of its title.", "error")
        return None
    row, others = _resolve_position(text, open_only=True)
    if row is not None:
        return db.session.get(Position, row.id)
    if not others:
        flash(f"No open position matches “{text}”.", "error")
    else:
        example = filters.position_reference(others[0].id, others[0].title)
        many = f"More than {filters.SUGGESTIONS}" if len(others) > filters.SUGGESTIONS else str(len(others))
        flash(f"{many} open positions match “{text}”: choose one of the suggestions as you type, or add its "
              f"number, e.g. “{example}”.", "error")
    return None


# --- public: the privacy notice and leaving the talent pool ---------------------------------------


@bp.get("/privacy")
@public
def notice():
    return render_template("privacy/notice.html", retention_months=get_policy().retention_months)


@bp.route("/privacy/talent-pool/<token>", methods=["GET", "POST"])
@public
def leave_talent_pool(token: str):
    """The link in every candidate email: no login; signed and expiring; one click (a POST
    with this page's CSRF token) withdraws the consent, and the page confirms it."""
    candidate = privacy.candidate_from_token(token)
    if candidate is None:
        return render_template("privacy/leave.html", state="invalid"), 404
    lang = candidate.language if candidate.language in ("en", "de") else "en"
    form = PlainForm(prefix="leave")
    if request.method == "POST" and form.validate_on_submit():
        privacy.withdraw_consent(candidate, via="email link")
        return render_template("privacy/leave.html", state="done", lang=lang)
    state = "confirm" if candidate.talent_pool_consent else "not_in_pool"
    return render_template("privacy/leave.html", state=state, lang=lang, form=form)
