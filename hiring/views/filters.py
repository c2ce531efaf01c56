"""Positions and owners typed into a filter or a form field, in one place: the board's
filters, the Reports page's and the talent pool's.

A big company has thousands of open positions and recruiters: a list of every one is
unusable and weighs hundreds of kB on every visit. So these are text fields with
suggestions from the server as one types (static/suggest.js fills their <datalist>),
and what was typed is resolved here, so they work without the script too: the one
position or person it names, else the ones to choose from.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row, case, func, select

from .. import queries
from ..extensions import db
from ..models import Position, User
from ..pipeline import PositionStatus, Role
from ..web import DB_INT_MAX

SUGGESTIONS = 20  # suggestions, and choices offered when a text names several
OWNER_ROLES = (Role.RECRUITER.value, Role.ADMIN.value)  # who owns applications
# Many positions share a title: a suggestion may end in the position's number
# ("Embedded Engineer #123"), which then names that one.
_POSITION_NUMBER = re.compile(r"#\s*(\d{1,10})\s*$")


def position_reference(position_id: int, title: str) -> str:
    return f"{title} #{position_id}"


@dataclass
class FilterProblem:
    """What a page says when a typed text names no one thing: why, and what to choose from."""

    message: str
    options: list[tuple[str, str]] = field(default_factory=list)  # (label, url)


def matching_positions(text: str, *, open_only: bool = True) -> list[Row]:
    """(id, title, department, status) of the positions whose title contains ``text``: an
    exact title first (a common title has more matches than are shown), open ones before
    closed, then by title; one more than SUGGESTIONS, to tell that there are more."""
    stmt = select(Position.id, Position.title, Position.department, Position.status)
    if open_only:
        stmt = stmt.where(Position.status == PositionStatus.OPEN.value)
    number = _POSITION_NUMBER.search(text)
    if number:  # a reference: that position (if it may be chosen here)
        position_id = int(number.group(1))
        return db.session.execute(stmt.where(Position.id == position_id)).all() if position_id <= DB_INT_MAX else []
    stmt = stmt.where(queries.contains(text, Position.title))
    exact = case((func.lower(Position.title) == text.casefold(), 0), else_=1)
    still_open = case((Position.status == PositionStatus.OPEN.value, 0), else_=1)
    return db.session.execute(stmt.order_by(exact, still_open, Position.title, Position.id)
                              .limit(SUGGESTIONS + 1)).all()


def matching_owners(text: str) -> list[Row]:
    """(id, name, email) of the recruiters and admins whose name or email contains ``text``,
    an exact name or email first."""
    exact = case((func.lower(User.name) == text.casefold(), 0), (func.lower(User.email) == text.casefold(), 0),
                 else_=1)
    return db.session.execute(
        select(User.id, User.name, User.email)
        .where(User.role.in_(OWNER_ROLES), queries.contains(text, User.name, User.email))
        .order_by(exact, User.name, User.id).limit(SUGGESTIONS + 1)).all()


def position_names(row: Any) -> list[str]:
    return [row.title]


def owner_names(row: Any) -> list[str]:
    return [row.name, row.email]


def resolve(text: str, rows: list[Row], names: Callable[[Any], Iterable[str]]) -> tuple[Row | None, list[Row]]:
    """The one row ``text`` means: the only exact match of one of ``names(row)`` (ignoring
    case), or the only match; otherwise None and the rows to choose from."""
    exact = [row for row in rows if text.casefold() in {name.casefold() for name in names(row)}]
    if len(exact) == 1:
        return exact[0], []
    if len(rows) == 1:
        return rows[0], []
    return None, exact or rows


def position_label(row: Any, *, numbered: bool = False) -> str:
    """A position as a choice: what tells equal titles apart (department, a closed status;
    ``numbered``: its reference, for a field that takes one)."""
    status = "" if row.status == PositionStatus.OPEN.value else row.status
    title = position_reference(row.id, row.title) if numbered else row.title
    return " · ".join(part for part in (title, row.department, status) if part)


def owner_label(row: Any) -> str:
    return f"{row.name} · {row.email}"


def filter_problem(kind: str, text: str, rows: list[Row], label: Callable[[Any], str],
                   url: Callable[[Any], str], *, otherwise: str) -> FilterProblem:
    """``text`` named none (``otherwise``: what the page shows instead) or several of ``kind``."""
    if not rows:
        return FilterProblem(f"No {kind} matches “{text}”; {otherwise}.")
    message = (f"More than {SUGGESTIONS} {kind}s match “{text}”; type more of it, or choose:"
               if len(rows) > SUGGESTIONS else f"{len(rows)} {kind}s match “{text}”; choose one:")
    return FilterProblem(message, [(label(row), url(row)) for row in rows[:SUGGESTIONS]])


def suggestions(rows: list[Row], value: Callable[[Any], str], label: Callable[[Any], str]) -> dict[str, Any]:
    """The JSON static/suggest.js reads: ``options`` of ``value`` and ``label``."""
    return {"options": [{"value": value(row), "label": label(row)} for row in rows[:SUGGESTIONS]]}
