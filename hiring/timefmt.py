"""Dates for people: in the company's time zone, absolute and relative."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from .pipeline import Language, Policy, local_date, require_aware

_WEEKDAYS = {
    Language.EN: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
    Language.DE: ["Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"],
}
_WEEKDAYS_LONG = {
    Language.EN: ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    Language.DE: ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"],
}
_MONTHS = {
    Language.EN: ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
    Language.DE: ["Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sep.", "Okt.", "Nov.", "Dez."],
}
_MONTHS_LONG = {
    Language.EN: ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"],
    Language.DE: ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
           "Oktober", "November", "Dezember"],
}


YEAR_SHOWN_AFTER_DAYS = 183


def _as_date(value: datetime | date, policy: Policy) -> date:
    return local_date(value, policy) if isinstance(value, datetime) else value


def short_date(value: datetime | date | None, policy: Policy, lang: str = Language.EN, *,
               today: date | None = None) -> str:
    """'Tue 8 Dec' (en) / 'Di. 8. Dez.' (de); with the year ('Fri 1 Dec 2028') when it is more
    than half a year from ``today``, so a consent that lasts two years never reads as this
    week (while next week's dates stay short across New Year)."""
    if value is None:
        return ""
    day = _as_date(value, policy)
    year = f" {day.year}" if today is not None and abs((day - today).days) > YEAR_SHOWN_AFTER_DAYS else ""
    if lang == Language.DE:
        return f"{_WEEKDAYS[Language.DE][day.weekday()]}., {day.day}. {_MONTHS[Language.DE][day.month - 1]}{year}"
    return f"{_WEEKDAYS[Language.EN][day.weekday()]} {day.day} {_MONTHS[Language.EN][day.month - 1]}{year}"


def long_date(value: datetime | date | None, policy: Policy, lang: str = Language.EN) -> str:
    """'Tuesday, 8 December 2026' / 'Dienstag, 8. Dezember 2026' — for emails."""
    if value is None:
        return ""
    day = _as_date(value, policy)
    if lang == Language.DE:
        weekday, month = _WEEKDAYS_LONG[Language.DE][day.weekday()], _MONTHS_LONG[Language.DE][day.month - 1]
        return f"{weekday}, {day.day}. {month} {day.year}"
    weekday, month = _WEEKDAYS_LONG[Language.EN][day.weekday()], _MONTHS_LONG[Language.EN][day.month - 1]
    return f"{weekday}, {day.day} {month} {day.year}"


def local_time(value: datetime | None, policy: Policy) -> str:
    if value is None:
        return ""
    return hh_mm(value.astimezone(policy.tz))


def hh_mm(local: datetime) -> str:
    """'09:05' (strftime took 2.5 us of a board card's 11)."""
    return f"{local.hour:02d}:{local.minute:02d}"


def date_time(value: datetime | None, policy: Policy, lang: str = Language.EN, *,
              today: date | None = None) -> str:
    if value is None:
        return ""
    return f"{short_date(value, policy, lang, today=today)} {local_time(value, policy)}"


def date_time_formatter(policy: Policy, *, today: date | None = None) -> Callable[[datetime | None], str]:
    """``date_time`` (English) for the many dates of one page: the zone, names and ``today``
    looked up once, and each value converted to the company's zone once instead of twice
    (``short_date`` of a date converts nothing)."""
    tz = policy.tz

    def format_date_time(value: datetime | None) -> str:
        if value is None:
            return ""
        require_aware(value)
        local = value.astimezone(tz)
        return f"{short_date(local.date(), policy, today=today)} {hh_mm(local)}"

    return format_date_time


def relative_days(value: datetime | date | None, now: datetime, policy: Policy, *, today: date | None = None) -> str:
    """'today', 'in 3 days', '2 days overdue' — counted in calendar days, company zone
    (``today``: the local date of ``now``, when the caller has it already)."""
    if value is None:
        return ""
    days = (_as_date(value, policy) - (today or local_date(now, policy))).days
    if isinstance(value, datetime) and value < now and days == 0:
        return "overdue today"
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    if days == -1:
        return "1 day overdue" if isinstance(value, datetime) else "yesterday"
    if days > 1:
        return f"in {days} days"
    return f"{-days} days overdue" if isinstance(value, datetime) else f"{-days} days ago"


def days_ago(value: datetime | date, now: datetime, policy: Policy, *, today: date | None = None,
             same_day: str = "today") -> str:
    """A past moment in calendar days, company zone: ``same_day``, 'yesterday', '3 days ago'."""
    days = ((today or local_date(now, policy)) - _as_date(value, policy)).days
    if days <= 0:
        return same_day
    return "yesterday" if days == 1 else f"{days} days ago"


def interview_relative(value: datetime | None, now: datetime, policy: Policy, *, today: date | None = None) -> str:
    """An interview's time relative to now: 'in 2 days', 'today', or — once it is past and nobody
    marked it held — 'yesterday' / '3 days ago' (an interview is never "overdue")."""
    if value is None:
        return ""
    if value >= now:
        return relative_days(value, now, policy, today=today)
    return days_ago(value, now, policy, today=today, same_day="earlier today")


def due_label(value: datetime | None, now: datetime, policy: Policy, *, today: date | None = None) -> str:
    """'Tue 8 Dec · in 3 days'."""
    if value is None:
        return ""
    return f"{short_date(value, policy)} · {relative_days(value, now, policy, today=today)}"
