"""Positions: create, edit, close."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ..extensions import db
from ..models import (
    Position,
    User,
)
from ..pipeline import (
    Action,
    InvalidInput,
    Role,
)
from .core import (
    audit,
    check_lengths,
    check_text,
    clean,
    require,
    resolve_now,
    transaction,
)


def _user_with_role(user_id: int | None, roles: Iterable[Role], field: str, what: str) -> User | None:
    if user_id is None:
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        raise InvalidInput(f"Unknown {what}.", {field: f"Choose an active {what}."})
    if user.role not in {r.value for r in roles}:
        raise InvalidInput(f"That person cannot be the {what}.", {field: f"The {what} must be a "
                           + " or ".join(r.value for r in roles) + "."})
    return user


def create_position(title: str, *, department: str = "", owner_id: int | None = None,
                    hiring_manager_id: int | None = None, actor: User | None,
                    now: datetime | None = None) -> Position:
    require(actor, Action.MANAGE_POSITIONS)
    now = resolve_now(now)
    if not clean(title):
        raise InvalidInput("The position needs a title.", {"title": "Enter a title."})
    if errors := check_text(check_lengths({}, title=(title, 200), department=(department, 200)),
                            lines={"title": title, "department": department}):
        raise InvalidInput("The position could not be saved.", errors)
    owner = _user_with_role(owner_id, (Role.RECRUITER, Role.ADMIN), "owner_id", "owner recruiter")
    manager = _user_with_role(hiring_manager_id, (Role.MANAGER,), "hiring_manager_id", "hiring manager")
    if owner is None and actor is not None and actor.role in (Role.RECRUITER, Role.ADMIN):
        owner = actor
    with transaction():
        position = Position(title=clean(title), department=clean(department), status="open",
                            owner_id=owner.id if owner else None,
                            hiring_manager_id=manager.id if manager else None, created_at=now)
        db.session.add(position)
        db.session.flush()
        audit("position_created", now, actor, position_id=position.id, title=position.title)
    return position


def update_position(position: Position, *, title: str | None = None, department: str | None = None,
                    owner_id: int | None = None, hiring_manager_id: int | None = None,
                    status: str | None = None, actor: User | None, now: datetime | None = None) -> Position:
    require(actor, Action.MANAGE_POSITIONS)
    now = resolve_now(now)
    changes: dict[str, Any] = {}
    if errors := check_text(check_lengths({}, title=(title, 200), department=(department, 200)),
                            lines={"title": title, "department": department}):
        raise InvalidInput("The position could not be saved.", errors)
    if title is not None:
        if not clean(title):
            raise InvalidInput("The position needs a title.", {"title": "Enter a title."})
        changes["title"] = clean(title)
    if department is not None:
        changes["department"] = clean(department)
    if owner_id is not None:
        _user_with_role(owner_id, (Role.RECRUITER, Role.ADMIN), "owner_id", "owner recruiter")
        changes["owner_id"] = owner_id
    if hiring_manager_id is not None:
        _user_with_role(hiring_manager_id, (Role.MANAGER,), "hiring_manager_id", "hiring manager")
        changes["hiring_manager_id"] = hiring_manager_id
    if status is not None:
        if status not in ("open", "closed"):
            raise InvalidInput("Unknown status.", {"status": "Choose open or closed."})
        changes["status"] = status
    changes = {k: v for k, v in changes.items() if getattr(position, k) != v}
    if not changes:
        return position
    with transaction():
        for key, value in changes.items():
            setattr(position, key, value)
        audit("position_updated", now, actor, position_id=position.id, **changes)
    return position


def close_position(position: Position, *, actor: User | None, now: datetime | None = None) -> Position:
    return update_position(position, status="closed", actor=actor, now=now)
