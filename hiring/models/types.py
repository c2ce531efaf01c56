"""Column types and helpers every model uses: UTC timestamps, CHECKs from enums."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
)
from sqlalchemy.types import TypeDecorator

from ..pipeline import OPEN_STAGES

UTC = UTC
_from_iso = datetime.fromisoformat


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every database.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so the value is stored
    as naive UTC and made aware again on the way out. Naive input is refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: store aware datetimes only")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def result_processor(self, dialect: Any, coltype: Any):
        """The same values as process_result_value, in one function per value instead of
        TypeDecorator's chain of the driver's conversion and process_result_value: a page
        reads hundreds of timestamps (the API's list about 600), and on SQLite the chain
        cost about 1 microsecond each, most of it datetime.replace(tzinfo=...)."""
        to_datetime = self.impl_instance.result_processor(dialect, coltype)
        if dialect.name == "sqlite" and to_datetime is not None:
            def from_sqlite(value: str | None) -> datetime | None:
                if value is None:
                    return None
                try:
                    # Naive UTC text, parsed with its zone in one step: "2026-11-30 08:00:00.000000".
                    parsed = _from_iso(value + "+00:00")
                    if parsed.tzinfo is UTC:
                        return parsed
                except (TypeError, ValueError):
                    pass
                return self.process_result_value(to_datetime(value), dialect)  # any other form
            return from_sqlite
        if to_datetime is None:  # PostgreSQL: psycopg gives aware datetimes
            def to_utc(value: datetime | None) -> datetime | None:
                if value is None or value.tzinfo is UTC:
                    return value  # the session runs in UTC: nearly every value
                return self.process_result_value(value, dialect)
            return to_utc
        return super().result_processor(dialect, coltype)


OPEN_STAGE_VALUES = [s.value for s in OPEN_STAGES]


def one_of(column: str, vocabulary: type[enum.StrEnum], name: str | None = None) -> CheckConstraint:
    """The CHECK constraint that keeps ``column`` within ``vocabulary``'s values (named
    ck_<table>_<name> by the naming convention; ``name`` defaults to the column's)."""
    values = ", ".join(f"'{member.value}'" for member in vocabulary)
    return CheckConstraint(f"{column} IN ({values})", name=name or column)
