"""Company-local days in SQL: the day an instant falls on in the company's time zone, and
the number of days between two instants counted as the policy counts them (between
company-local dates, so a decision at 23:30 local on the seventh day is within a 7-day
policy, and one at 00:30 on the eighth is not, whatever the hours elapsed).

PostgreSQL converts with ``timezone(zone, instant)``. SQLite has no time zones and stores
naive UTC text: the instant is shifted by the zone's UTC offset at that instant, found by
a binary tree of comparisons (depth ~7) over the zone's offset changes, computed once per
zone from the system's tz database for the years the data can lie in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Date, Integer, case, cast, func, literal_column

from ..extensions import db

# The offset changes looked up for SQLite: an instant outside takes the nearest offset.
FIRST_YEAR, LAST_YEAR = 1990, 2070


def on_sqlite() -> bool:
    """SQLite (no time zones, dates as text) rather than PostgreSQL: the reports' SQL differs."""
    return db.engine.dialect.name == "sqlite"


@lru_cache(maxsize=8)
def utc_offsets(zone: str) -> tuple[int, tuple[tuple[str, int], ...]]:
    """The zone's offset (seconds) at the start, and each change: (UTC instant as SQLite
    stores it, the offset from then on)."""
    tz = ZoneInfo(zone)

    def offset(seconds: int) -> int:
        moment = datetime.fromtimestamp(seconds, UTC).astimezone(tz)
        return int(moment.utcoffset().total_seconds())  # type: ignore[union-attr]

    start = int(datetime(FIRST_YEAR, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime(LAST_YEAR, 1, 1, tzinfo=UTC).timestamp())
    day = 86400
    first = current = offset(start)
    changes = []
    for t in range(start, end, day):
        following = offset(t + day)
        if following == current:
            continue
        low, high = t, t + day  # offset(low) == current, offset(high) == following
        while high - low > 1:
            middle = (low + high) // 2
            if offset(middle) == current:
                low = middle
            else:
                high = middle
        changes.append((datetime.fromtimestamp(high, UTC).strftime("%Y-%m-%d %H:%M:%S"), following))
        current = following
    return first, tuple(changes)


def _sqlite_shift(moment: Any, zone: str) -> ColumnElement[str]:
    """The date() modifier ('+3600 seconds') of the zone's offset at ``moment``."""
    first, changes = utc_offsets(zone)

    def modifier(seconds: int) -> Any:
        return literal_column(f"'{seconds:+d} seconds'")

    def tree(low: int, high: int, before: int) -> Any:
        """The offset for the changes[low:high], ``before`` being the offset before changes[low]."""
        if low >= high:
            return modifier(before)
        middle = (low + high) // 2
        instant, after = changes[middle]
        return case((moment >= literal_column(f"'{instant}'"), tree(middle + 1, high, after)),
                    else_=tree(low, middle, before))

    return tree(0, len(changes), first)


def local_day(moment: Any, zone: str) -> ColumnElement[Any]:
    """The company-local day of the instant ``moment`` (text 'YYYY-MM-DD' on SQLite, a date on PostgreSQL)."""
    if on_sqlite():
        return func.date(moment, _sqlite_shift(moment, zone))
    return cast(func.timezone(zone, moment), Date)


def local_days_between(start: Any, end: Any, zone: str) -> ColumnElement[int]:
    """Company-local days from instant ``start`` to instant ``end``: the difference of their dates."""
    if on_sqlite():
        return cast(func.julianday(local_day(end, zone)) - func.julianday(local_day(start, zone)), Integer)
    return cast(local_day(end, zone) - local_day(start, zone), Integer)


def days_from(day: Any, first: Any) -> ColumnElement[int]:
    """Days from the date ``first`` (a Python date) to the day column ``day``."""
    if on_sqlite():
        return cast(func.julianday(day) - func.julianday(literal_column(f"'{first.isoformat()}'")), Integer)
    return cast(day - literal_column(f"DATE '{first.isoformat()}'"), Integer)
