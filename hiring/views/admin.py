"""Admin pages: the process settings and the team's accounts."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from .. import queries, services
from ..extensions import db
from ..forms import (
    ConfirmForm,
    PolicyForm,
    SecuritySettingsForm,
    UserForm,
    UserPasswordForm,
    UserRoleForm,
)
from ..models import User
from ..pipeline import Action, InvalidInput
from ..settings import get_policy, get_security
from ..web import db_int
from . import confirm_page, confirmed, require_action, show_refusal

bp = Blueprint("admin", __name__, url_prefix="/admin")

USERS_PER_PAGE = 50  # a large employer's hiring team runs into the thousands


def _to_users(message: str, category: str = "success"):
    """Back to the team list, saying how it went."""
    flash(message, category)
    return redirect(url_for("admin.users"))


@bp.route("/settings", methods=["GET", "POST"])
@require_action(Action.MANAGE_SETTINGS)
def settings():
    policy = get_policy()
    form = PolicyForm(data=policy.to_dict()) if request.method == "GET" else PolicyForm()
    if form.validate_on_submit():
        try:
            services.update_policy(form.policy_values(), actor=current_user)
        except InvalidInput as exc:
            show_refusal(form, exc)
        else:
            flash("Settings saved. New deadlines follow them; open applications keep the dates "
                  "they were promised.", "success")
            return redirect(url_for("admin.settings"))
    return render_template("admin/settings.html", form=form, policy=policy,
                           security_form=SecuritySettingsForm(data=get_security().to_dict()))


@bp.post("/settings/security")
@require_action(Action.MANAGE_SETTINGS)
def security_settings():
    form = SecuritySettingsForm()
    if not form.validate_on_submit():
        flash("The form expired; try again.", "error")
        return redirect(url_for("admin.settings"))
    services.update_security_settings(
        {"require_two_factor_for_admins_and_managers": form.require_two_factor_for_admins_and_managers.data},
        actor=current_user)
    flash("Sign-in settings saved.", "success")
    return redirect(url_for("admin.settings"))


@bp.route("/users", methods=["GET", "POST"])
@require_action(Action.MANAGE_USERS)
def users():
    form = UserForm()
    if form.validate_on_submit():
        try:
            user = services.create_user(form.email.data, form.name.data, form.role.data, form.password.data,
                                        actor=current_user)
        except (InvalidInput, services.Conflict) as exc:
            show_refusal(form, exc, field="email")
        else:
            return _to_users(f"{user.name} can now log in as {user.role} with {user.email}.")
    q = (request.args.get("q") or "").strip()[:200]
    stmt = select(User).order_by(User.active.desc(), func.lower(User.name), User.id)
    if q:
        stmt = stmt.where(queries.contains(q, User.name, User.email))
    page = db.paginate(stmt, page=request.args.get("page", 1, type=db_int), per_page=USERS_PER_PAGE,
                       error_out=False)
    people = page.items
    role_forms = {u.id: UserRoleForm(prefix=f"u{u.id}", data={"role": u.role}) for u in people}
    password_forms = {u.id: UserPasswordForm(prefix=f"p{u.id}") for u in people}
    return render_template("admin/users.html", form=form, people=people, page=page, q=q, role_forms=role_forms,
                           password_forms=password_forms, confirm=ConfirmForm())


@bp.post("/users/<int:user_id>/role")
@require_action(Action.MANAGE_USERS)
def change_role(user_id: int):
    user = db.get_or_404(User, user_id)
    form = UserRoleForm(prefix=f"u{user.id}")
    if not form.validate_on_submit():
        return _to_users("Choose one of the roles.", "error")
    services.update_user(user, role=form.role.data, actor=current_user)  # DomainError → flash
    return _to_users(f"{user.name} is now {user.role}.")


@bp.post("/users/<int:user_id>/active")
@require_action(Action.MANAGE_USERS)
def set_active(user_id: int):
    user = db.get_or_404(User, user_id)
    ConfirmForm().validate_on_submit()
    active = request.form.get("active") == "1"
    if user.id == current_user.id and not active:
        return _to_users("You cannot deactivate your own account; ask another admin.", "error")
    if not active and user.active and not confirmed():
        return confirm_page(
            title=f"Deactivate {user.name}?",
            message=f"{user.name} can no longer log in, and is taken off the suggestions for interview panels. "
                    "Their name stays in the history. You can reactivate them later.",
            action=url_for("admin.set_active", user_id=user.id), fields={"active": "0"},
            button=f"Deactivate {user.name}", back=url_for("admin.users"))
    services.update_user(user, active=active, actor=current_user)
    return _to_users(f"{user.name} {'can log in again' if active else 'is deactivated and can no longer log in'}.")


@bp.post("/users/<int:user_id>/password")
@require_action(Action.MANAGE_USERS)
def set_password(user_id: int):
    user = db.get_or_404(User, user_id)
    form = UserPasswordForm(prefix=f"p{user.id}")
    if not form.validate_on_submit():
        errors = " ".join(form.password.errors) or "The form expired; try again."
        return _to_users(f"The password of {user.name} was not changed: {errors}", "error")
    services.update_user(user, password=form.password.data, actor=current_user)
    return _to_users(f"New password set for {user.name}; tell it to them in person.")


@bp.post("/users/<int:user_id>/two-factor/reset")
@require_action(Action.MANAGE_USERS)
def reset_two_factor(user_id: int):
    user = db.get_or_404(User, user_id)
    if not ConfirmForm().validate_on_submit():
        return _to_users("The form expired; try again.", "error")
    services.reset_two_factor(user, actor=current_user)
    return _to_users(f"Two-factor sign-in of {user.name} is reset: they sign in with their password and set it "
                     "up again.")
