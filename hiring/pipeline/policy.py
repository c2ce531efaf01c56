"""The process policy: the stage days, the calendar and the promise's settings, validated."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from datetime import date
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import InvalidInput
from .stages import Stage

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


# (field, lowest, highest, message) for every whole-number setting but the stage days; the
# settings form offers the same bounds.
INT_RANGES = (
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
    for name, lowest, highest, message in INT_RANGES:
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
    if (policy.business_days is True and not errors.keys() & {"holiday_country", "holiday_subdivision"}
            and _holiday_calendar(policy.holiday_country, policy.holiday_subdivision or None) is None):
        errors["holiday_country"] = (
            f"No holiday calendar for “{policy.holiday_country}"
            f"{'-' + policy.holiday_subdivision if policy.holiday_subdivision else ''}”."
        )
    return errors


@lru_cache(maxsize=32)
def _holiday_calendar(country: str, subdivision: str | None):
    """The country's public holidays, or None when the holidays library has no such calendar
    (cached too, so an unknown calendar is looked up once, not on every day counted)."""
    import holidays  # imported lazily: it is large and calendar days need none of it

    try:
        return holidays.country_holidays(country, subdiv=subdivision)
    except (NotImplementedError, KeyError, ValueError, AttributeError):
        return None


def is_business_day(day: date, policy: Policy) -> bool:
    """A weekday that is not a public holiday. Working-day mode validates its holiday
    calendar (policy_errors); the team's lead days count working days in calendar-day mode
    too, where an unknown calendar means weekdays only."""
    if day.weekday() >= 5:
        return False
    calendar = _holiday_calendar(policy.holiday_country, policy.holiday_subdivision or None)
    return calendar is None or day not in calendar
