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


OPEN_STAGE_VALUES = [s.value for s in OPEN_STAGES]


def one_of(column: str, vocabulary: type[enum.StrEnum], name: str | None = None) -> CheckConstraint:
    """The CHECK constraint that keeps ``column`` within ``vocabulary``'s values (named
    ck_<table>_<name> by the naming convention; ``name`` defaults to the column's)."""
    values = ", ".join(f"'{member.value}'" for member in vocabulary)
    return CheckConstraint(f"{column} IN ({values})", name=name or column)
