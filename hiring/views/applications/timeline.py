"""The application's history on its page: audit events, emails and candidate contacts.

Each audit kind an application can carry has one describer in ``DESCRIBERS`` (title and
detail from the event's data); a kind without one still shows, under its name. A new
audit kind is one entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from flask import current_app

from ... import timefmt
from ...models import Application, User
from ...pipeline import (
    Action,
    ContactChannel,
    ContactKind,
    OutboxStatus,
    Recommendation,
    ReferenceStatus,
    Vocabulary,
)
from ...settings import get_policy
from .. import id_url_prefix

if TYPE_CHECKING:
    from .history import History


@dataclass
class TimelineItem:
    at: datetime
    kind: str  # event / email / contact
    title: str
    detail: str = ""
    actor: str = ""
    url: str = ""


ROUND_NAMES = {1: "First interview", 2: "Second interview"}
OUTCOME_TITLES = {
    ("advance", "second_interview"): "Invited to the second interview",
    ("advance", "offer"): "Offer made",
    ("reject", "rejected"): "Rejected",
}
EMAIL_STATUS = {OutboxStatus.QUEUED: "queued", OutboxStatus.FAILED: "failed, will retry",
                OutboxStatus.NOT_DELIVERED: "not delivered (no mail server)"}  # "sent" names its time


def _label(vocabulary: type[Vocabulary], value: str) -> str:
    try:
        return vocabulary(value).label
    except ValueError:
        return value


def when(value: Any) -> str:
    if isinstance(value, str):  # audit data keeps ISO strings: "2026-12-01" or with a time
        try:
            value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        except ValueError:
            return value
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
    if isinstance(value, datetime):
        return timefmt.date_time(value, get_policy())
    if isinstance(value, date):
        return timefmt.short_date(value, get_policy())
    return ""


# --- one describer per audit kind -------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What a describer reads: the event's data, the name of its interview's round, the
    date told to the candidate, and whether the viewer may see the interview's feedback."""

    data: dict[str, Any]
    round_name: str
    told: Any
    feedback_visible: bool


Describer = Callable[[Facts], tuple[str, str]]  # → (title, detail)


def _promised(f: Facts) -> str:
    return f"Answer promised by {when(f.told)}" if f.told else ""


def _scheduled(f: Facts) -> tuple[str, str]:
    detail = f"for {when(f.data.get('scheduled_at'))}"
    if f.data.get("promised_at"):
        detail += f"; answer promised by {when(f.data['promised_at'])}"
    if f.data.get("reason"):
        detail += f" (date moved: {f.data['reason']})"
    return f"{f.round_name} scheduled", detail


def _feedback(f: Facts) -> tuple[str, str]:
    recommendation = f.data.get("recommendation")
    detail = Recommendation(recommendation).label if f.feedback_visible and recommendation else ""
    return f"Feedback on the {f.round_name.lower()}", detail


def _extended(f: Facts) -> tuple[str, str]:
    title = "Answer date moved (automatic delay notice)" if f.data.get("automatic") else "Answer date extended"
    return title, f"to {when(f.told)} — {f.data.get('reason') or ''}"


DESCRIBERS: dict[str, Describer] = {
    "application_submitted": lambda f: ("Application received", _promised(f)),
    "interview_scheduled": _scheduled,
    "interview_rescheduled": lambda f: (f"{f.round_name} rescheduled", f"now {when(f.data.get('scheduled_at'))}"),
    "interview_cancelled": lambda f: (f"{f.round_name} cancelled", f.data.get("reason") or ""),
    "interview_held": lambda f: (f"{f.round_name} held", _promised(f)),
    "feedback_submitted": _feedback,
    "decision": lambda f: (OUTCOME_TITLES.get((f.data.get("outcome"), f.data.get("to_stage")), "Decision"),
                           f.data.get("rationale") or ""),
    "offer_response": lambda f: ("Offer accepted" if f.data.get("accepted") else "Offer declined",
                                 f.data.get("note") or ""),
    "deadline_extended": _extended,
    "competing_offer_set": lambda f: ("Competing offer noted", f"expires {when(f.data.get('deadline'))}; "
                                                               f"answer promised by {when(f.told)}"),
    "competing_offer_cleared": lambda f: ("Competing offer cleared", ""),
    "withdrawn": lambda f: ("Candidate withdrew", f.data.get("reason") or ""),
    "reference_added": lambda f: ("Reference added", ""),
    "reference_updated": lambda f: ("Reference updated", _label(ReferenceStatus, f.data.get("status") or "")),
    "document_uploaded": lambda f: ("Document uploaded", f.data.get("filename") or ""),
    "feedback_reminder": lambda f: ("Feedback reminder", ""),
    "email_retried": lambda f: ("Email retried", ""),
}
HIDDEN_KINDS = {"candidate_contact"}  # shown from the contact itself, with its summary


def describe(kind: str, data: dict[str, Any] | None, occurred_at: datetime, actor: str | None,
             rounds: dict[int, int], visible_feedback: set[int]) -> TimelineItem:
    """One audit event (its kind, data, time and the actor's name) as a timeline item."""
    data = data or {}
    round_name = ROUND_NAMES.get(rounds.get(data.get("interview_id"), data.get("round")), "Interview")
    # The date told to the candidate (events before the promise record kept it in due_at).
    told = data.get("promised_at") or data.get("due_at")
    describer = DESCRIBERS.get(kind)
    if describer is None:
        title, detail = kind.replace("_", " ").capitalize(), ""
    else:
        title, detail = describer(Facts(data, round_name, told, data.get("interview_id") in visible_feedback))
    return TimelineItem(at=occurred_at, kind="event", title=title, detail=detail, actor=actor or "System")


# --- the whole history ------------------------------------------------------------------------


def build_timeline(application: Application, user: User, visible_feedback: set[int],
                   history: History) -> list[TimelineItem]:
    """Every audit event, email and candidate contact (read by ``history``), newest first."""
    rounds = {i.id: i.round for i in application.interviews}
    items: list[TimelineItem] = [describe(kind, data, at, actor, rounds, visible_feedback)
                                 for kind, data, at, actor in history.events]
    if user.can(Action.VIEW_EMAILS):
        items += _emails(history.emails)
    for kind, channel, summary, at, recorded_by in history.contacts:
        kind = _label(ContactKind, kind)
        channel = _label(ContactChannel, channel).lower()
        items.append(TimelineItem(at=at, kind="contact", title=f"{kind} from the candidate",
                                  detail=f"by {channel}" + (f" — {summary}" if summary else ""),
                                  actor=recorded_by or ""))
    # Newest first; within one instant the later-recorded first (each list above is in
    # recording order, and sort is stable), so equal timestamps never swap places between
    # page loads.
    items.reverse()
    items.sort(key=lambda item: item.at, reverse=True)
    return items


def _emails(rows: Any) -> list[TimelineItem]:
    # One URL built, the ids formatted into it (url_for per email cost more than the rest).
    pattern = (id_url_prefix("emails.detail", "email_id") + "{}"
               if "emails.detail" in current_app.view_functions else "")
    items = []
    for id_, recipient, subject, status, created_at, sent_at in rows:
        status = f"sent {when(sent_at)}" if status == OutboxStatus.SENT else EMAIL_STATUS.get(status, status)
        items.append(TimelineItem(at=created_at, kind="email", title=subject, detail=f"to {recipient} · {status}",
                                  url=pattern.format(id_) if pattern else ""))
    return items
