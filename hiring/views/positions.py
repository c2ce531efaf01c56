"""Positions: list, create, edit, close and reopen."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from .. import queries, services
from ..extensions import db
from ..forms import ConfirmForm, PositionForm, choices
from ..models import OPEN_STAGE_VALUES, Application, Position, User
from ..pipeline import Action, InvalidInput, PositionStatus, Role
from ..web import db_int
from . import confirm_page, confirmed, require_action, show_refusal

bp = Blueprint("positions", __name__, url_prefix="/positions")

PER_PAGE = 50  # a large employer has hundreds of open positions; the page stays light


def _people(roles: list[str]) -> list[User]:
    return list(db.session.scalars(
        select(User).where(User.role.in_(roles), User.active.is_(True)).order_by(User.name)))


def _with_choices(form: PositionForm) -> PositionForm:
    form.owner_id.choices = choices([(0, "— nobody yet —")] + [
        (u.id, f"{u.name} ({u.role})") for u in _people([Role.RECRUITER.value, Role.ADMIN.value])])
    form.hiring_manager_id.choices = choices([(0, "— nobody yet —")] + [
        (u.id, u.name) for u in _people([Role.MANAGER.value])])
    return form


@bp.get("/")
@require_action(Action.VIEW_ALL)
def index():
    show = "all" if request.args.get("show") == "all" else "open"
    q = (request.args.get("q") or "").strip()[:200]
    stmt = (select(Position).options(joinedload(Position.owner), joinedload(Position.hiring_manager))
            .order_by(Position.status.desc(), func.lower(Position.title), Position.id))
    if show != "all":
        stmt = stmt.where(Position.status == PositionStatus.OPEN.value)
    if q:
        stmt = stmt.where(queries.contains(q, Position.title, Position.department))
    page = db.paginate(stmt, page=request.args.get("page", 1, type=db_int), per_page=PER_PAGE, error_out=False)
    ids = [p.id for p in page.items]
    # Open applications of the listed positions only, not of every position there is.
    counts = dict(db.session.execute(
        select(Application.position_id, func.count())
        .where(Application.position_id.in_(ids), Application.stage.in_(OPEN_STAGE_VALUES))
        .group_by(Application.position_id)
    ).all()) if ids else {}
    args = {"show": "all"} if show == "all" else {}  # what the page links keep
    if q:
        args["q"] = q
    return render_template("positions/index.html", page=page, positions=page.items, counts=counts, show=show,
                           q=q, args=args, confirm=ConfirmForm())


@bp.route("/new", methods=["GET", "POST"])
@require_action(Action.MANAGE_POSITIONS)
def create():
    form = _with_choices(PositionForm())
    if request.method == "GET" and current_user.role in (Role.RECRUITER, Role.ADMIN):
        form.owner_id.data = current_user.id
    if form.validate_on_submit():
        try:
            position = services.create_position(
                form.title.data, department=form.department.data or "",
                owner_id=form.owner_id.data or None, hiring_manager_id=form.hiring_manager_id.data or None,
                actor=current_user)
        except InvalidInput as exc:
            show_refusal(form, exc)
        else:
            flash(f"Position “{position.title}” created. Next: add applications from Candidates.", "success")
            return redirect(url_for("positions.index"))
    return render_template("positions/form.html", form=form, position=None)


@bp.route("/<int:position_id>/edit", methods=["GET", "POST"])
@require_action(Action.MANAGE_POSITIONS)
def edit(position_id: int):
    position = db.get_or_404(Position, position_id)
    form = _with_choices(PositionForm(obj=position) if request.method == "GET" else PositionForm())
    if request.method == "GET":
        form.owner_id.data = position.owner_id or 0
        form.hiring_manager_id.data = position.hiring_manager_id or 0
    if form.validate_on_submit():
        try:
            services.update_position(
                position, title=form.title.data, department=form.department.data or "",
                owner_id=form.owner_id.data or None, hiring_manager_id=form.hiring_manager_id.data or None,
                actor=current_user)
        except InvalidInput as exc:
            show_refusal(form, exc)
        else:
            flash("Position saved.", "success")
            return redirect(url_for("positions.index"))
    return render_template("positions/form.html", form=form, position=position)


@bp.post("/<int:position_id>/close")
@require_action(Action.MANAGE_POSITIONS)
def close(position_id: int):
    position = db.get_or_404(Position, position_id)
    if position.status == PositionStatus.OPEN and not confirmed():
        return confirm_page(
            title=f"Close “{position.title}”?",
            message="A closed position takes no new applications; the open ones stay as they are. "
                    "You can reopen it later.",
            action=url_for("positions.close", position_id=position.id),
            button="Close the position", back=url_for("positions.index"))
    services.close_position(position, actor=current_user)
    flash(f"“{position.title}” is closed and takes no new applications. Open applications stay as they are.",
          "success")
    return redirect(url_for("positions.index"))


@bp.post("/<int:position_id>/reopen")
@require_action(Action.MANAGE_POSITIONS)
def reopen(position_id: int):
    position = db.get_or_404(Position, position_id)
    services.update_position(position, status=PositionStatus.OPEN.value, actor=current_user)
    flash(f"“{position.title}” is open again.", "success")
    return redirect(url_for("positions.index"))
