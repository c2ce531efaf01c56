"""Dates for people (hiring/timefmt.py): company zone, absolute and relative. No app needed."""

from __future__ import annotations

from datetime import UTC, datetime

from hiring import timefmt
from hiring.pipeline import Policy

POLICY = Policy.from_mapping({"timezone": "Europe/Berlin"})
NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)  # Sat 5 Dec, 10:00 in Berlin


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 12, day, hour, 0, tzinfo=UTC)


def test_due_label_is_absolute_and_relative_in_the_company_zone():
    assert timefmt.due_label(at(8, 22), NOW, POLICY) == "Tue 8 Dec · in 3 days"
    # 23:30 UTC on the 7th is already the 8th in Berlin.
    assert timefmt.due_label(at(7, 23), NOW, POLICY) == "Tue 8 Dec · in 3 days"
    assert timefmt.due_label(at(3, 22), NOW, POLICY) == "Thu 3 Dec · 2 days overdue"


def test_an_interview_in_the_past_is_ago_never_overdue():
    assert timefmt.interview_relative(at(7, 9), NOW, POLICY) == "in 2 days"
    assert timefmt.interview_relative(at(5, 13), NOW, POLICY) == "today"
    assert timefmt.interview_relative(at(5, 7), NOW, POLICY) == "earlier today"
    assert timefmt.interview_relative(at(4, 9), NOW, POLICY) == "yesterday"
    assert timefmt.interview_relative(at(2, 9), NOW, POLICY) == "3 days ago"
    assert timefmt.interview_relative(None, NOW, POLICY) == ""
