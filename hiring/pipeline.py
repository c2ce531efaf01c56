"""The hiring process rules, in pure Python.

Stages, the transitions between them, who may make each one, when an answer is
due, the clear-recommendation rule and the flags. No Flask, no SQLAlchemy, and no
clock: every function that needs the time takes ``now`` (an aware datetime).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = UTC


class DomainError(Exception):
    """A request the process rules refuse; the message is shown to the user."""

    code = "domain_error"


class IllegalTransition(DomainError):
    code = "illegal_transition"


class NotAllowed(DomainError):
    code = "forbidden"


class StaleVersion(DomainError):
    code = "stale_version"

    def __init__(self, message: str = "Someone else changed this application in the meantime. "
                 "Reload it to see their change, then try again."):
        super().__init__(message)


class InvalidInput(DomainError):
    """Bad input for one or more fields; ``fields`` maps field name to message."""

    code = "validation_error"

    def __init__(self, message: str, fields: Mapping[str, str] | None = None):
        super().__init__(message)
        self.fields = dict(fields or {})


class Stage(enum.StrEnum):
    APPLIED = "applied"
    FIRST_INTERVIEW = "first_interview"
    FIRST_DECISION = "first_decision"
    SECOND_INTERVIEW = "second_interview"
    FINAL_DECISION = "final_decision"
    OFFER = "offer"
    HIRED = "hired"
    REJECTED = "rejected"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"

    @property
    def is_open(self) -> bool:
        return self in OPEN_STAGES

    @property
    def label(self) -> str:
        return STAGE_LABELS[self]


OPEN_STAGES: tuple[Stage, ...] = (
    Stage.APPLIED,
    Stage.FIRST_INTERVIEW,
    Stage.FIRST_DECISION,
    Stage.SECOND_INTERVIEW,
    Stage.FINAL_DECISION,
    Stage.OFFER,
)
CLOSED_STAGES: tuple[Stage, ...] = (Stage.HIRED, Stage.REJECTED, Stage.DECLINED, Stage.WITHDRAWN)

STAGE_LABELS: dict[Stage, str] = {
    Stage.APPLIED: "Applied",
    Stage.FIRST_INTERVIEW: "First interview",
    Stage.FIRST_DECISION: "Debrief decision",
    Stage.SECOND_INTERVIEW: "Second interview",
    Stage.FINAL_DECISION: "Offer decision",
    Stage.OFFER: "Offer made",
    Stage.HIRED: "Hired",
    Stage.REJECTED: "Rejected",
    Stage.DECLINED: "Declined",
    Stage.WITHDRAWN: "Withdrawn",
}


class Role(enum.StrEnum):
    ADMIN = "admin"
    RECRUITER = "recruiter"
    INTERVIEWER = "interviewer"
    MANAGER = "manager"


class Recommendation(enum.StrEnum):
    STRONG_NO = "strong_no"
    NO = "no"
    YES = "yes"
    STRONG_YES = "strong_yes"

    @property
    def is_positive(self) -> bool:
        return self in (Recommendation.YES, Recommendation.STRONG_YES)

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class Verdict(enum.StrEnum):
    """What a panel's feedback adds up to."""

    INCOMPLETE = "incomplete"  # someone on the panel has not submitted feedback
    CLEAR_HIRE = "clear_hire"  # everyone said yes / strong yes
    CLEAR_NO = "clear_no"  # everyone said no / strong no
    MIXED = "mixed"  # everyone submitted, but they disagree


class Flag(enum.StrEnum):
    OVERDUE = "overdue"
    DUE_SOON = "due_soon"
    EXPEDITE = "expedite"
    NEEDS_DISCUSSION = "needs_discussion"
    AWAITING_FEEDBACK = "awaiting_feedback"
    UNRECORDED = "unrecorded"  # an interview ended a while ago and nobody marked it held or cancelled
    STALLED = "stalled"  # the candidate's date was moved automatically more often than the policy allows


class Event(enum.StrEnum):
    """The things that move an application between stages."""

    SCHEDULE_FIRST_INTERVIEW = "schedule_first_interview"
    CANCEL_FIRST_INTERVIEW = "cancel_first_interview"
    FIRST_INTERVIEW_HELD = "first_interview_held"
    INVITE_SECOND_INTERVIEW = "invite_second_interview"
    SECOND_INTERVIEW_HELD = "second_interview_held"
    MAKE_OFFER = "make_offer"
    OFFER_ACCEPTED = "offer_accepted"
    OFFER_DECLINED = "offer_declined"
    REJECT = "reject"
    WITHDRAW = "withdraw"


# (from, event) -> to. Reject and withdraw are allowed from every open stage.
TRANSITIONS: dict[tuple[Stage, Event], Stage] = {
    (Stage.APPLIED, Event.SCHEDULE_FIRST_INTERVIEW): Stage.FIRST_INTERVIEW,
    (Stage.FIRST_INTERVIEW, Event.CANCEL_FIRST_INTERVIEW): Stage.APPLIED,
    (Stage.FIRST_INTERVIEW, Event.FIRST_INTERVIEW_HELD): Stage.FIRST_DECISION,
    (Stage.FIRST_DECISION, Event.INVITE_SECOND_INTERVIEW): Stage.SECOND_INTERVIEW,
    (Stage.SECOND_INTERVIEW, Event.SECOND_INTERVIEW_HELD): Stage.FINAL_DECISION,
    (Stage.FINAL_DECISION, Event.MAKE_OFFER): Stage.OFFER,
    (Stage.OFFER, Event.OFFER_ACCEPTED): Stage.HIRED,
    (Stage.OFFER, Event.OFFER_DECLINED): Stage.DECLINED,
}
for _stage in OPEN_STAGES:
    TRANSITIONS[(_stage, Event.REJECT)] = Stage.REJECTED
    TRANSITIONS[(_stage, Event.WITHDRAW)] = Stage.WITHDRAWN

_EVENT_HINTS: dict[Event, str] = {
    Event.SCHEDULE_FIRST_INTERVIEW: "A first interview can only be scheduled for a new application.",
    Event.CANCEL_FIRST_INTERVIEW: "Only a first interview that has not been held can be cancelled.",
    Event.FIRST_INTERVIEW_HELD: "Only a scheduled first interview can be marked as held.",
    Event.INVITE_SECOND_INTERVIEW: "A candidate can be invited to the second interview only after "
    "the first interview's debrief.",
    Event.SECOND_INTERVIEW_HELD: "Only a second interview can be marked as held here.",
    Event.MAKE_OFFER: "An offer can only be made after the second interview, in the offer decision.",
    Event.OFFER_ACCEPTED: "Only an open offer can be accepted.",
    Event.OFFER_DECLINED: "Only an open offer can be declined.",
    Event.REJECT: "This application is already closed.",
    Event.WITHDRAW: "This application is already closed.",
}


def next_stage(stage: Stage | str, event: Event | str) -> Stage:
    """The stage after ``event``; raises IllegalTransition with a reason if not allowed."""
    stage, event = Stage(stage), Event(event)
    try:
        return TRANSITIONS[(stage, event)]
    except KeyError:
        raise IllegalTransition(
            f"Not possible while the application is at “{stage.label}”: {_EVENT_HINTS[event]}"
        ) from None


def allowed_events(stage: Stage | str) -> list[Event]:
    stage = Stage(stage)
    return [event for (from_stage, event) in TRANSITIONS if from_stage == stage]


# --- who may do what --------------------------------------------------------------------


class Action(enum.StrEnum):
    MANAGE_USERS = "manage_users"
    MANAGE_SETTINGS = "manage_settings"
    MANAGE_POSITIONS = "manage_positions"
    MANAGE_APPLICATIONS = "manage_applications"  # create, schedule, held, contacts, references
    DECIDE = "decide"  # advance/reject in applied and first_decision; reject anywhere
    DECIDE_OFFER = "decide_offer"  # the final decision with management
    EXTEND_DEADLINE = "extend_deadline"
    VIEW_ALL = "view_all"  # every application, not only one's panels
    VIEW_EMAILS = "view_emails"
    SUBMIT_FEEDBACK = "submit_feedback"


PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.RECRUITER: frozenset(
        {
            Action.MANAGE_POSITIONS,
            Action.MANAGE_APPLICATIONS,
            Action.DECIDE,
            Action.EXTEND_DEADLINE,
            Action.VIEW_ALL,
            Action.VIEW_EMAILS,
            Action.SUBMIT_FEEDBACK,
        }
    ),
    Role.INTERVIEWER: frozenset({Action.SUBMIT_FEEDBACK}),
    Role.MANAGER: frozenset(
        {Action.DECIDE_OFFER, Action.EXTEND_DEADLINE, Action.VIEW_ALL, Action.SUBMIT_FEEDBACK}
    ),
}
# Admins can do everything a recruiter can, plus administration. The offer decision is
# management's alone.
PERMISSIONS[Role.ADMIN] = PERMISSIONS[Role.RECRUITER] | {
    Action.MANAGE_USERS,
    Action.MANAGE_SETTINGS,
}


def can(role: Role | str, action: Action | str) -> bool:
    return Action(action) in PERMISSIONS[Role(role)]


def may_see_feedback(role: Role | str, *, on_panel: bool, gave_own: bool) -> bool:
    """Whether someone may read the feedback on an interview. Judgements stay independent:
    whoever has given their own sees everyone's; a panel member who has not yet sees none;
    someone off the panel sees it all if their role may see every application (recruiter,
    manager, admin) and none otherwise. The UI and the API both ask this."""
    if gave_own:
        return True
    if on_panel:
        return False
    return can(role, Action.VIEW_ALL)


def require(role: Role | str, action: Action | str, message: str | None = None) -> None:
    if not can(role, action):
        raise NotAllowed(message or f"Your role ({Role(role).value}) may not {_ACTION_TEXT[Action(action)]}.")


_ACTION_TEXT = {
    Action.MANAGE_USERS: "manage users",
    Action.MANAGE_SETTINGS: "change the process settings",
    Action.MANAGE_POSITIONS: "manage positions",
    Action.MANAGE_APPLICATIONS: "change applications",
    Action.DECIDE: "decide on applications",
    Action.DECIDE_OFFER: "decide on an offer; that decision is made by management",
    Action.EXTEND_DEADLINE: "change deadlines",
    Action.VIEW_ALL: "see every application",
    Action.VIEW_EMAILS: "see emails",
    Action.SUBMIT_FEEDBACK: "submit interview feedback",
}


def decision_event(stage: Stage | str, outcome: str) -> Event:
    """Map an advance/reject decision at ``stage`` to the transition it makes."""
    stage = Stage(stage)
    if outcome == "reject":
        return Event.REJECT
    if outcome != "advance":
        raise InvalidInput("Outcome must be advance or reject.", {"outcome": "Choose advance or reject."})
    if stage == Stage.FIRST_DECISION:
        return Event.INVITE_SECOND_INTERVIEW
    if stage == Stage.FINAL_DECISION:
        return Event.MAKE_OFFER
    if stage == Stage.APPLIED:
        raise IllegalTransition(
            "A new application advances by scheduling its first interview, not by a decision."
        )
    if stage in (Stage.FIRST_INTERVIEW, Stage.SECOND_INTERVIEW):
        raise IllegalTransition(
            f"Not possible while the application is at “{stage.label}”: mark the interview "
            "as held first, then decide."
        )
    if stage == Stage.OFFER:
        raise IllegalTransition("The offer is made; record the candidate's answer instead.")
    raise IllegalTransition(f"This application is already closed ({stage.label}).")


def require_decision(role: Role | str, stage: Stage | str, outcome: str, *, actor_id: int | None = None,
                     hiring_manager_id: int | None = None, acting_for: str | None = None) -> bool:
    """Who may take a decision at ``stage``. At the offer decision both outcomes belong to
    the position's hiring manager (see ``offer_decider``); every other decision is the
    recruiters'. Returns True when an admin acts for the hiring manager."""
    if Stage(stage) == Stage.FINAL_DECISION:
        return offer_decider(role, actor_id, hiring_manager_id, acting_for)
    require(role, Action.DECIDE)
    return False


def may_decide_offer(role: Role | str, actor_id: int | None, hiring_manager_id: int | None) -> bool:
    """Whether someone may take the offer decision (offer or reject) at all: the position's
    hiring manager; any manager while the position has none; an admin, acting for them."""
    role = Role(role)
    if role == Role.ADMIN:
        return True
    if role != Role.MANAGER:
        return False
    return hiring_manager_id is None or actor_id == hiring_manager_id


def offer_decider(role: Role | str, actor_id: int | None, hiring_manager_id: int | None,
                  acting_for: str | None) -> bool:
    """At ``final_decision`` both outcomes, the offer and the rejection, belong to the
    position's hiring manager. An admin may act for them and writes down why (recorded
    with the decision); a recruiter, an interviewer or another manager may not decide.
    A position without a hiring manager is decided by any manager (or an admin acting
    for management). Returns True when the decision is an admin's on someone's behalf."""
    role = Role(role)
    if not may_decide_offer(role, actor_id, hiring_manager_id):
        if role == Role.MANAGER:
            raise NotAllowed("Only the position's hiring manager takes the offer decision; ask them, or an "
                             "admin acting for them.")
        raise NotAllowed(f"Your role ({role.value}) may not take the offer decision: the offer and the "
                         "rejection at this stage belong to the position's hiring manager.")
    if role == Role.ADMIN:
        if not (acting_for or "").strip():
            raise InvalidInput(
                "An admin decides the offer only on behalf of the hiring manager.",
                {"acting_for": "Say why you decide for the hiring manager (recorded with the decision)."},
            )
        return True
    return False


# --- which actions a user may take now ---------------------------------------------------


class Step(enum.StrEnum):
    """The actions a person can take on an application (a form on its page)."""

    SCHEDULE_INTERVIEW = "schedule_interview"
    RESCHEDULE_INTERVIEW = "reschedule_interview"
    CANCEL_INTERVIEW = "cancel_interview"
    MARK_HELD = "mark_held"
    GIVE_FEEDBACK = "give_feedback"
    DECIDE = "decide"  # the debrief (advance or reject) at first_decision; reject at other stages
    OFFER_DECISION = "offer_decision"  # offer or reject at final_decision
    OFFER_RESPONSE = "offer_response"
    EXTEND_DEADLINE = "extend_deadline"
    COMPETING_OFFER = "competing_offer"
    WITHDRAW = "withdraw"
    LOG_CONTACT = "log_contact"
    ADD_REFERENCE = "add_reference"
    UPLOAD_DOCUMENT = "upload_document"


@dataclass(frozen=True)
class InterviewFacts:
    """What ``available_actions`` needs to know about one interview, as seen by one user."""

    id: int
    round: int
    scheduled_at: datetime
    held: bool = False
    cancelled: bool = False
    on_panel: bool = False  # the user sits on its panel
    gave_feedback: bool = False  # the user has given their feedback on it

    @property
    def upcoming(self) -> bool:
        return not self.held and not self.cancelled


@dataclass(frozen=True)
class Available:
    step: Step
    interview_id: int | None = None
    round: int | None = None
    outcomes: tuple[str, ...] = ()  # for DECIDE and OFFER_DECISION
    acting_for: bool = False  # an admin deciding the offer for the hiring manager says why


def available_actions(stage: Stage | str, role: Role | str, now: datetime, policy: Policy, *,
                      user_id: int | None = None, hiring_manager_id: int | None = None,
                      interviews: Iterable[InterviewFacts] = (), has_due_date: bool = True) -> list[Available]:
    """Every action ``role`` (the user ``user_id``) may take on an application at ``stage``
    at ``now``, by the same rules the services apply — the page offers these and no other.
    ``interviews`` in their order; ``has_due_date``: whether the application has an answer
    date now (only a date can be extended)."""
    _require_aware(now)
    stage, role = Stage(stage), Role(role)
    interviews = list(interviews)
    manage = can(role, Action.MANAGE_APPLICATIONS)
    found: list[Available] = []
    if manage and stage == Stage.APPLIED:
        found.append(Available(Step.SCHEDULE_INTERVIEW, round=1))
    if manage and stage == Stage.SECOND_INTERVIEW and not any(i.round == 2 and not i.cancelled for i in interviews):
        found.append(Available(Step.SCHEDULE_INTERVIEW, round=2))
    for interview in interviews:
        if manage and stage.is_open and interview.upcoming:
            found.append(Available(Step.RESCHEDULE_INTERVIEW, interview.id, interview.round))
            found.append(Available(Step.CANCEL_INTERVIEW, interview.id, interview.round))
        held_from = Stage.FIRST_INTERVIEW if interview.round == 1 else Stage.SECOND_INTERVIEW
        if manage and interview.upcoming and stage == held_from and interview.scheduled_at <= now:
            found.append(Available(Step.MARK_HELD, interview.id, interview.round))
        if (can(role, Action.SUBMIT_FEEDBACK) and interview.on_panel and not interview.cancelled
                and not interview.gave_feedback and (interview.held or interview.scheduled_at <= now)):
            found.append(Available(Step.GIVE_FEEDBACK, interview.id, interview.round))
    if stage == Stage.FIRST_DECISION and can(role, Action.DECIDE):
        found.append(Available(Step.DECIDE, outcomes=("advance", "reject")))
    elif stage.is_open and stage not in (Stage.FINAL_DECISION, Stage.OFFER) and can(role, Action.DECIDE):
        found.append(Available(Step.DECIDE, outcomes=("reject",)))
    if stage == Stage.FINAL_DECISION and may_decide_offer(role, user_id, hiring_manager_id):
        found.append(Available(Step.OFFER_DECISION, outcomes=("advance", "reject"), acting_for=role == Role.ADMIN))
    if manage and stage == Stage.OFFER:
        found.append(Available(Step.OFFER_RESPONSE))
    if can(role, Action.EXTEND_DEADLINE) and stage.is_open and policy.days_for(stage) is not None and has_due_date:
        found.append(Available(Step.EXTEND_DEADLINE))
    if manage and stage.is_open:
        found.append(Available(Step.COMPETING_OFFER))
    if manage:
        found += [Available(Step.LOG_CONTACT), Available(Step.ADD_REFERENCE), Available(Step.UPLOAD_DOCUMENT)]
    if manage and stage.is_open:
        found.append(Available(Step.WITHDRAW))
    return found


# --- what a rejected candidate is told ------------------------------------------------------

# How far an application got; a later stage means further along.
PROGRESS: dict[Stage, int] = {
    Stage.APPLIED: 0,
    Stage.FIRST_INTERVIEW: 1,
    Stage.FIRST_DECISION: 2,
    Stage.SECOND_INTERVIEW: 3,
    Stage.FINAL_DECISION: 4,
    Stage.OFFER: 5,
    Stage.HIRED: 6,
}


def rejected_after(stage: Stage | str) -> str:
    """What a rejection at ``stage`` follows, for the candidate's email: ``application``
    (no interview held yet), ``first_interview`` or ``second_interview``."""
    stage = Stage(stage)
    if stage in (Stage.APPLIED, Stage.FIRST_INTERVIEW):
        return "application"
    if stage in (Stage.FIRST_DECISION, Stage.SECOND_INTERVIEW):
        return "first_interview"
    return "second_interview"


def another_preferred(stage: Stage | str, others_reached: Iterable[Stage | str]) -> bool:
    """Whether a candidate rejected at ``stage`` may truthfully be told that someone else was
    preferred: another application for the position got further (``others_reached``: the
    furthest stage each other application reached)."""
    mine = PROGRESS[Stage(stage)]
    return any(PROGRESS.get(Stage(other), -1) > mine for other in others_reached)


# --- the process policy -------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """Deadlines and calendar; defaults follow the embeddeers process. Admin-editable."""

    applied_days: int = 14
    first_decision_days: int = 7
    second_interview_days: int = 14
    final_decision_days: int = 7
    offer_days: int = 7
    business_days: bool = False
    holiday_country: str = "DE"
    holiday_subdivision: str = ""
    timezone: str = "Europe/Berlin"
    due_soon_days: int = 2
    # The team's deadline comes this many working days before the date told to the candidate.
    team_lead_days: int = 1
    # Nothing decided or said by this hour (company time) on the promised day: the candidate
    # gets the delay notice that morning, with a new date.
    delay_notice_hour: int = 9
    delay_notice_extension_days: int = 5
    # Automatic delay notices per promise before each further one also escalates.
    max_automatic_delays: int = 2
    # An interview not marked held or cancelled this many hours after its end is flagged.
    record_interview_hours: int = 24
    digest_weekday: int = 0  # Monday
    digest_hour: int = 8
    feedback_reminder_max: int = 5
    email_max_attempts: int = 8
    # Data protection (hiring.privacy): months after the last application closed before a
    # candidate without talent-pool consent is anonymised, and how long a consent lasts.
    retention_months: int = 6
    talent_pool_months: int = 24

    STAGE_DAYS_FIELDS = {
        Stage.APPLIED: "applied_days",
        Stage.FIRST_DECISION: "first_decision_days",
        Stage.SECOND_INTERVIEW: "second_interview_days",
        Stage.FINAL_DECISION: "final_decision_days",
        Stage.OFFER: "offer_days",
    }

    def __post_init__(self) -> None:
        errors = policy_errors(self)
        if errors:
            raise InvalidInput("Invalid process settings.", errors)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def days_for(self, stage: Stage | str) -> int | None:
        name = self.STAGE_DAYS_FIELDS.get(Stage(stage))
        return None if name is None else getattr(self, name)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> Policy:
        """Build from stored/config values, ignoring unknown keys and coercing types."""
        known = {f.name: f for f in fields(cls)}
        kwargs: dict[str, object] = {}
        errors: dict[str, str] = {}
        for key, raw in values.items():
            f = known.get(key)
            if f is None:
                continue
            try:
                kwargs[key] = _coerce(f.type, raw)
            except (TypeError, ValueError):
                errors[key] = "Not a valid value."
        if errors:
            raise InvalidInput("Invalid process settings.", errors)
        return cls(**kwargs)

    def updated(self, **changes: object) -> Policy:
        return replace(self, **changes)


_TRUE_WORDS = ("1", "true", "yes", "on")
_FALSE_WORDS = ("0", "false", "no", "off", "")


def _coerce(type_name: object, raw: object) -> object:
    """Stored settings and form posts arrive as strings; anything ambiguous is refused
    rather than guessed (an unreadable "maybe" must not silently switch a rule off)."""
    if type_name in ("bool", bool):
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int) and raw in (0, 1):
            return bool(raw)
        if isinstance(raw, str) and raw.strip().lower() in _TRUE_WORDS + _FALSE_WORDS:
            return raw.strip().lower() in _TRUE_WORDS
        raise ValueError(f"not a yes/no value: {raw!r}")
    if type_name in ("int", int):
        if isinstance(raw, bool) or raw is None:
            raise ValueError("not a whole number")
        if isinstance(raw, float):
            if not raw.is_integer():
                raise ValueError("not a whole number")
            return int(raw)
        return int(raw)  # type: ignore[arg-type]
    return "" if raw is None else str(raw)


# (field, lowest, highest, message) for every whole-number setting but the stage days.
_INT_RANGES = (
    ("due_soon_days", 0, 30, "Enter a number of days between 0 and 30."),
    ("team_lead_days", 0, 10, "Enter a number of working days between 0 and 10."),
    ("delay_notice_hour", 0, 23, "Enter an hour between 0 and 23."),
    ("delay_notice_extension_days", 1, 60, "Enter a number of days between 1 and 60."),
    ("max_automatic_delays", 0, 20, "Enter a number between 0 and 20."),
    ("record_interview_hours", 1, 168, "Enter a number of hours between 1 and 168."),
    ("digest_weekday", 0, 6, "Choose a weekday (0 = Monday … 6 = Sunday)."),
    ("digest_hour", 0, 23, "Enter an hour between 0 and 23."),
    ("feedback_reminder_max", 0, 20, "Enter a number between 0 and 20."),
    ("email_max_attempts", 1, 50, "Enter a number between 1 and 50."),
    ("retention_months", 1, 120, "Enter a number of months between 1 and 120."),
    ("talent_pool_months", 1, 120, "Enter a number of months between 1 and 120."),
)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def policy_errors(policy: Policy) -> dict[str, str]:
    """Per-field messages; wrong types are errors too, never a TypeError."""
    errors: dict[str, str] = {}
    for name in Policy.STAGE_DAYS_FIELDS.values():
        value = getattr(policy, name)
        if not _is_int(value) or not 1 <= value <= 365:
            errors[name] = "Enter a number of days between 1 and 365."
    for name, lowest, highest, message in _INT_RANGES:
        value = getattr(policy, name)
        if not _is_int(value) or not lowest <= value <= highest:
            errors[name] = message
    if not isinstance(policy.business_days, bool):
        errors["business_days"] = "Choose yes or no."
    for name in ("holiday_country", "holiday_subdivision"):
        if not isinstance(getattr(policy, name), str):
            errors[name] = "Enter a code such as DE or BY."
    if not isinstance(policy.timezone, str):
        errors["timezone"] = "Enter a time zone such as Europe/Berlin."
    else:
        try:
            ZoneInfo(policy.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            errors["timezone"] = f"Unknown time zone “{policy.timezone}” (use e.g. Europe/Berlin)."
    if policy.business_days is True and not errors.keys() & {"holiday_country", "holiday_subdivision"}:
        try:
            _holiday_calendar(policy.holiday_country, policy.holiday_subdivision or None)
        except (NotImplementedError, KeyError, ValueError, AttributeError):
            errors["holiday_country"] = (
                f"No holiday calendar for “{policy.holiday_country}"
                f"{'-' + policy.holiday_subdivision if policy.holiday_subdivision else ''}”."
            )
    return errors


@lru_cache(maxsize=32)
def _holiday_calendar(country: str, subdivision: str | None):
    import holidays  # imported lazily: it is large and calendar days need none of it

    return holidays.country_holidays(country, subdiv=subdivision)


def is_business_day(day: date, policy: Policy) -> bool:
    """A weekday that is not a public holiday. Working-day mode validates its holiday
    calendar (policy_errors); the team's lead days count working days in calendar-day mode
    too, where an unknown calendar means weekdays only."""
    if day.weekday() >= 5:
        return False
    try:
        calendar = _holiday_calendar(policy.holiday_country, policy.holiday_subdivision or None)
    except (NotImplementedError, KeyError, ValueError, AttributeError):
        return True
    return day not in calendar


# --- when things happened ---------------------------------------------------------------


def check_held_time(held_at: datetime, scheduled_at: datetime, policy: Policy) -> None:
    """An interview is held at or after its scheduled start, never before: marking it held
    early would thank the candidate early and start the answer's clock early. One that
    really took place earlier is rescheduled to the real time first."""
    _require_aware(held_at)
    if held_at < scheduled_at.replace(microsecond=0):
        local = scheduled_at.astimezone(policy.tz)
        bound = f"{local.day} {local:%b %Y}, {local:%H:%M}"
        raise InvalidInput(
            "An interview cannot be marked held before its scheduled start.",
            {"held_at": f"Not before the scheduled start ({bound}). If it really took place earlier, "
                        "reschedule it to the real time first."},
        )


def check_reported_time(moment: datetime, now: datetime, *, stage_began: datetime, field: str, what: str,
                        since: str, policy: Policy) -> None:
    """A time a person reports for a step that ends the current stage (the interview was
    held, the decision was taken): not in the future, and not before the stage began,
    because the next stage's answer date counts from it. Refused with the bound named,
    never adjusted — the same for every adapter. People report times to the second at
    most, so the stage's first second counts as its beginning."""
    _require_aware(moment)
    if moment > now:
        raise InvalidInput(f"{what} cannot be in the future.", {field: "Not in the future."})
    if moment < stage_began.replace(microsecond=0):
        local = stage_began.astimezone(policy.tz)
        bound = f"{local.day} {local:%b %Y}, {local:%H:%M:%S}"
        raise InvalidInput(f"{what} cannot be before {since}.", {field: f"Not before {since} ({bound})."})


# --- deadlines ---------------------------------------------------------------------------


def local_date(moment: datetime, policy: Policy) -> date:
    _require_aware(moment)
    return moment.astimezone(policy.tz).date()


def end_of_day(day: date, policy: Policy) -> datetime:
    """The last second of ``day`` in the company's time zone, as UTC."""
    local = datetime.combine(day, time(23, 59, 59), tzinfo=policy.tz)
    return local.astimezone(UTC)


def add_days(start: date, days: int, policy: Policy) -> date:
    """``days`` calendar days after ``start`` — the stage days are calendar days, so "within
    a week" is a week in both modes. In working-day mode a date that falls on a weekend or
    a public holiday moves to the working day *before* it, so the promise still holds and
    nobody is due on a day off. It never moves onto or before ``start``: when no working
    day lies between the two (a one-day stage begun on a Friday), the calendar date stays."""
    target = start + timedelta(days=days)
    if not policy.business_days:
        return target
    day = target
    while day > start:
        if is_business_day(day, policy):
            return day
        day -= timedelta(days=1)
    return target


def base_due_at(stage: Stage | str, entered_at: datetime, policy: Policy) -> datetime | None:
    """When the answer for ``stage`` is due, counted from when the stage was entered."""
    days = policy.days_for(stage)
    if days is None:
        return None
    return end_of_day(add_days(local_date(entered_at, policy), days, policy), policy)


def due_at_for(
    stage: Stage | str,
    entered_at: datetime,
    policy: Policy,
    *,
    extended_until: datetime | None = None,
    competing_offer_deadline: date | None = None,
) -> datetime | None:
    """The due date of an application at ``stage``.

    An extension replaces the policy date; a competing-offer deadline D pulls the
    date to D − 1 day at the latest, but never before the day the stage started.
    """
    _require_aware(entered_at)
    due = base_due_at(stage, entered_at, policy)
    if due is None:
        return None
    if extended_until is not None:
        _require_aware(extended_until)
        due = extended_until
    if competing_offer_deadline is not None:
        due = min(due, competing_offer_due(competing_offer_deadline, entered_at, policy))
    return due


# A date further out than this is a typo (9999-12-31), not a plan: a candidate would be
# promised it, and a competing offer a year away is no reason to hurry.
HORIZON = timedelta(days=365)


def competing_offer_due(deadline: date, entered_at: datetime, policy: Policy) -> datetime:
    """The latest answer date a competing offer with ``deadline`` allows: the day before."""
    latest = end_of_day(deadline - timedelta(days=1), policy)
    return max(latest, end_of_day(local_date(entered_at, policy), policy))


def check_extension(
    current: datetime | None,
    new_until: date,
    now: datetime,
    policy: Policy,
    *,
    stage: Stage | str,
    reason: str,
    competing_offer_deadline: date | None = None,
    field: str = "until",
) -> datetime:
    """Validate an extension and return the new date's end (end of ``new_until``).

    ``current`` is the date the candidate holds (at the offer: the candidate's own answer
    date). An extension must name a reason, lie in the future and be later than the
    current date — it never shortens a promise — and cannot pass a live competing offer.
    """
    from .timefmt import long_date, short_date  # pure too; imported here because it imports this module

    _require_aware(now)
    stage = Stage(stage)
    if not stage.is_open:
        raise IllegalTransition(f"There is no answer date to extend at “{stage.label}”.")
    errors: dict[str, str] = {}
    if not reason or not reason.strip():
        errors["reason"] = "Give a reason; the candidate is told why they wait longer."
    new_due = end_of_day(new_until, policy)
    if new_due <= now:
        errors[field] = "The new date must be in the future."
    elif current is not None and new_due <= current:
        errors[field] = (
            f"The new date must be later than the current one ({short_date(current, policy)}); "
            "an extension never shortens the promise."
        )
    elif new_until > local_date(now, policy) + HORIZON:
        errors[field] = (
            f"The new date must be within a year (by {long_date(local_date(now, policy) + HORIZON, policy)}); "
            "the candidate is told this date."
        )
    elif (competing_offer_active(competing_offer_deadline, now, policy)
          and new_until >= competing_offer_deadline):
        errors[field] = (
            f"The candidate has a competing offer until {short_date(competing_offer_deadline, policy)}; "
            "the answer must come before then."
        )
    if errors:
        raise InvalidInput("The deadline could not be extended.", errors)
    return new_due


def check_competing_offer(deadline: date, now: datetime, policy: Policy) -> None:
    if deadline <= local_date(now, policy):
        raise InvalidInput(
            "The competing-offer deadline could not be set.",
            {"deadline": "The competing offer's deadline must be after today."},
        )
    if deadline > local_date(now, policy) + HORIZON:
        raise InvalidInput(
            "The competing-offer deadline could not be set.",
            {"deadline": "The competing offer's deadline must be within a year."},
        )


# --- the promise ---------------------------------------------------------------------------
# Every open application carries the date told to the candidate: when they will hear from us
# (at the offer it is the candidate who answers, by the offer's date, so there is none). The
# team's deadline comes ``team_lead_days`` working days before it. If the date still stands
# on its morning, the candidate gets a delay notice naming a later one. A date told only
# moves later — never silently, never earlier, except when the candidate asks for an
# earlier answer because of a competing offer, and is told.


class PromiseOutcome(enum.StrEnum):
    KEPT = "kept"  # the answer it promised came by the date
    MOVED = "moved"  # a later date was told before this one passed (delay notice, extension)
    BROKEN = "broken"  # the date passed before the candidate heard from us
    WITHDRAWN = "withdrawn"  # the candidate withdrew before the date


def answer_date(stage: Stage | str, entered_at: datetime, policy: Policy, *,
                interview_at: datetime | None = None, extended_until: datetime | None = None) -> date | None:
    """The date the candidate is told at ``stage`` by the policy: a scheduled interview's
    day plus the decision's days (the date holds whether or not anyone marks it held), else
    the stage's days from when it began. An extension of the stage (the second interview's
    hold-by date) replaces the policy's."""
    stage = Stage(stage)
    if not stage.is_open or stage == Stage.OFFER:
        return None
    if stage in (Stage.FIRST_INTERVIEW, Stage.SECOND_INTERVIEW) and interview_at is not None:
        days = policy.first_decision_days if stage == Stage.FIRST_INTERVIEW else policy.final_decision_days
        return add_days(local_date(interview_at, policy), days, policy)
    if extended_until is not None:
        return local_date(extended_until, policy)
    days = policy.days_for(stage)
    if days is None:
        return None
    return add_days(local_date(entered_at, policy), days, policy)


def hold_by_date(entered_at: datetime, policy: Policy, *, extended_until: datetime | None = None) -> date:
    """The day by which the second interview takes place (the stage's date, or as extended)."""
    if extended_until is not None:
        return local_date(extended_until, policy)
    return add_days(local_date(entered_at, policy), policy.second_interview_days, policy)


def working_days_before(day: date, count: int, policy: Policy) -> date:
    """``count`` working days (weekdays that are not holidays) before ``day``."""
    while count > 0:
        day -= timedelta(days=1)
        if is_business_day(day, policy):
            count -= 1
    return day


def team_due_at(promised: date, now: datetime, policy: Policy) -> datetime:
    """The team's deadline for a date told to the candidate: the end of the working day
    ``team_lead_days`` before it — but not already past when the promise is made."""
    due = end_of_day(working_days_before(promised, policy.team_lead_days, policy), policy)
    return min(max(due, end_of_day(local_date(now, policy), policy)), end_of_day(promised, policy))


def delay_notice_at(promised_at: datetime, policy: Policy) -> datetime:
    """The morning of the promised day (``delay_notice_hour``, company time): if the date
    still stands then, the candidate hears that we need more time, hours before it passes."""
    day = local_date(promised_at, policy)
    return datetime.combine(day, time(policy.delay_notice_hour), tzinfo=policy.tz).astimezone(UTC)


def delay_notice_threshold(now: datetime, policy: Policy) -> datetime:
    """Promises ending at or before this moment have reached their delay-notice morning
    (the delay-notice job's indexed question; ``needs_delay_notice`` decides each)."""
    today = local_date(now, policy)
    morning = datetime.combine(today, time(policy.delay_notice_hour), tzinfo=policy.tz)
    return end_of_day(today if now >= morning else today - timedelta(days=1), policy)


def needs_delay_notice(stage: Stage | str, promised_at: datetime | None, now: datetime, policy: Policy) -> bool:
    stage = Stage(stage)
    return (stage.is_open and stage != Stage.OFFER and promised_at is not None
            and now >= delay_notice_at(promised_at, policy))


def competing_offer_cap(deadline: date | None, now: datetime, policy: Policy) -> date | None:
    """The latest date a competing offer allows us to promise: the day before its deadline,
    or the deadline day itself when that is tomorrow; none once it has passed (it no longer
    caps anything) — never a date that is today or already past."""
    if deadline is None:
        return None
    today = local_date(now, policy)
    if deadline - timedelta(days=1) > today:
        return deadline - timedelta(days=1)
    if deadline > today:
        return deadline
    return None


def promise_date(computed: date | None, now: datetime, policy: Policy, *, current: date | None = None,
                 answers: bool = False, competing_offer_deadline: date | None = None) -> date | None:
    """The date to tell the candidate now. ``computed`` is the policy's (``answer_date``);
    a live competing offer pulls it earlier; it is at least tomorrow. Unless this email
    ``answers`` what the current promise was about, the current date only moves later."""
    if computed is None:
        return None
    cap = competing_offer_cap(competing_offer_deadline, now, policy)
    if cap is not None:
        computed = min(computed, cap)
    computed = max(computed, local_date(now, policy) + timedelta(days=1))
    if current is not None and not answers:
        computed = max(computed, current)
    return computed


def delay_notice_date(promised: date, now: datetime, policy: Policy, *,
                      competing_offer_deadline: date | None = None) -> date:
    """The new date a delay notice names: ``delay_notice_extension_days`` after the promised
    day (or after today, if the job runs late), within a live competing offer's deadline
    when that still leaves a later date — never the old date, never one already past."""
    base = max(promised, local_date(now, policy))
    new = add_days(base, policy.delay_notice_extension_days, policy)
    while new <= base:  # a working-day calendar may pull the date back onto the base day
        new += timedelta(days=1)
    cap = competing_offer_cap(competing_offer_deadline, now, policy)
    if cap is not None and cap > promised:
        new = min(new, cap)
    return new


def competing_offer_promise(current: date, deadline: date, now: datetime, policy: Policy) -> date:
    """The date confirmed to a candidate who told us about a competing offer: ours if it
    is early enough, else the latest the offer allows (the candidate asked for it earlier)."""
    cap = competing_offer_cap(deadline, now, policy)
    return current if cap is None else min(current, cap)


def promise_outcome(lapses_at: datetime, resolved_at: datetime, *, moved: bool = False,
                    withdrawn: bool = False) -> PromiseOutcome:
    """How a promise ended: anything after its day had passed came too late."""
    if resolved_at > lapses_at:
        return PromiseOutcome.BROKEN
    if withdrawn:
        return PromiseOutcome.WITHDRAWN
    return PromiseOutcome.MOVED if moved else PromiseOutcome.KEPT


def responsible(stage: Stage | str, *, owner_id: int | None, position_owner_id: int | None,
                hiring_manager_id: int | None) -> int | None:
    """Who must act next: the position's hiring manager decides the offer (the owner when
    there is none), the application's owner (or the position's) everything else. The
    notifications, the dashboard (in SQL, checked against this) and the digest ask this."""
    if Stage(stage) == Stage.FINAL_DECISION:
        return hiring_manager_id or position_owner_id or owner_id
    return owner_id or position_owner_id


# --- the panel and the clear-recommendation rule -------------------------------------------


def panel_verdict(panel: Iterable[object], feedback: Mapping[object, Recommendation | str]) -> Verdict:
    """Every panel member submitted and all agree → clear; otherwise incomplete or mixed."""
    members = list(panel)
    if not members or any(member not in feedback for member in members):
        return Verdict.INCOMPLETE
    positives = {Recommendation(feedback[m]).is_positive for m in members}
    if positives == {True}:
        return Verdict.CLEAR_HIRE
    if positives == {False}:
        return Verdict.CLEAR_NO
    return Verdict.MIXED


def check_rejection(outcome: str, rationale: str | None) -> None:
    """A rejection is decided with its reason written down (it stays internal)."""
    if outcome == "reject" and not (rationale or "").strip():
        raise InvalidInput(
            "A rejection needs its reason.",
            {"rationale": "Write down why the application is rejected (the candidate does not see it)."},
        )


def check_panel_decision(verdict: Verdict | str | None, outcome: str, rationale: str | None, *,
                         feedback_given: int) -> None:
    """A decision against the panel's clear word, or without any word from the panel,
    is taken with its reason written down: advancing against a unanimous no, rejecting a
    unanimous yes, or deciding before anyone on the panel gave feedback."""
    if (rationale or "").strip():
        return
    if feedback_given == 0:
        raise InvalidInput(
            "Nobody on the panel has given feedback yet.",
            {"rationale": "Nobody on the panel has given feedback yet; write down what the decision rests on."},
        )
    if outcome == "advance" and verdict == Verdict.CLEAR_NO:
        raise InvalidInput(
            "The whole panel recommended not to hire this candidate.",
            {"rationale": "The whole panel recommended not to hire this candidate; write down why you advance."},
        )
    if outcome == "reject" and verdict == Verdict.CLEAR_HIRE:
        raise InvalidInput(
            "The whole panel recommended this candidate.",
            {"rationale": "The whole panel recommended this candidate; write down why you reject."},
        )


def check_offer_decision(verdict: Verdict | str | None, outcome: str, rationale: str | None) -> None:
    """An offer against anything but a clear hire needs the discussion written down."""
    if outcome == "advance" and verdict != Verdict.CLEAR_HIRE and not (rationale or "").strip():
        raise InvalidInput(
            "The panel did not clearly recommend this candidate.",
            {"rationale": "Write down why an offer is made without a clear recommendation."},
        )


# --- flags -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApplicationState:
    """The facts about one application that the flags depend on."""

    stage: Stage
    due_at: datetime | None = None  # the team's deadline
    competing_offer_deadline: date | None = None
    verdict: Verdict | None = None  # of the latest held interview, if any
    awaiting_feedback: bool = False
    promised_at: datetime | None = None  # the end of the day last told to the candidate
    overdue_since: datetime | None = None  # the team deadline missed before an automatic delay
    automatic_delays: int = 0  # automatic delay notices of the current promise
    interview_ends_at: datetime | None = None  # the end of an interview not yet marked held


def flags(state: ApplicationState, now: datetime, policy: Policy) -> list[Flag]:
    """The flags an application carries at ``now``, most urgent first."""
    _require_aware(now)
    stage = Stage(state.stage)
    if not stage.is_open:
        return []
    result: list[Flag] = []
    if is_overdue(state, now):
        result.append(Flag.OVERDUE)
    elif state.due_at is not None and state.due_at - now <= timedelta(days=policy.due_soon_days):
        result.append(Flag.DUE_SOON)
    if competing_offer_active(state.competing_offer_deadline, now, policy):
        result.append(Flag.EXPEDITE)
    # Discussion is needed once the whole panel has spoken and disagrees; while feedback
    # is missing the application is awaiting feedback, not yet in need of a discussion.
    if stage == Stage.FINAL_DECISION and state.verdict == Verdict.MIXED:
        result.append(Flag.NEEDS_DISCUSSION)
    if state.awaiting_feedback:
        result.append(Flag.AWAITING_FEEDBACK)
    if state.interview_ends_at is not None and now > unrecorded_after(state.interview_ends_at, policy):
        result.append(Flag.UNRECORDED)
    if is_stalled(state.automatic_delays, policy):
        result.append(Flag.STALLED)
    return result


def is_overdue(state: ApplicationState, now: datetime) -> bool:
    """The team is late: past its deadline, or the candidate's date already had to be moved
    automatically because nothing happened (a delay notice does not make the team on time)."""
    if not Stage(state.stage).is_open:
        return False
    if state.overdue_since is not None:
        return True
    return state.due_at is not None and now > state.due_at


def late_since(state: ApplicationState) -> datetime | None:
    """The deadline the team is late against: the first one missed, before any automatic delay."""
    return state.overdue_since or state.due_at


def unrecorded_after(interview_ends_at: datetime, policy: Policy) -> datetime:
    return interview_ends_at + timedelta(hours=policy.record_interview_hours)


def is_stalled(automatic_delays: int, policy: Policy) -> bool:
    return automatic_delays > policy.max_automatic_delays


def competing_offer_active(deadline: date | None, now: datetime, policy: Policy) -> bool:
    """A competing offer counts until its deadline day has passed (then the candidate has
    decided on it one way or the other, and it no longer caps our dates)."""
    return deadline is not None and deadline >= local_date(now, policy)


def due_soon_threshold(now: datetime, policy: Policy) -> datetime:
    """Applications due at or before this moment are due soon (or overdue)."""
    return now + timedelta(days=policy.due_soon_days)


def days_overdue(due_at: datetime, now: datetime, policy: Policy) -> int:
    """Whole calendar days past the due date, in the company's time zone (0 = due today)."""
    return (local_date(now, policy) - local_date(due_at, policy)).days


def urgency_key(state: ApplicationState, now: datetime) -> tuple:
    """Sort key: overdue first (most overdue first), then by due date, undated last."""
    if state.due_at is None:
        return (1, datetime.max.replace(tzinfo=UTC))
    return (0, state.due_at)


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: pass an aware datetime (UTC) to the process rules")
