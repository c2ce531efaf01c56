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


def test_a_date_more_than_half_a_year_away_shows_its_year():
    today = NOW.date()
    assert timefmt.short_date(at(8, 9), POLICY, today=today) == "Tue 8 Dec"
    assert timefmt.short_date(datetime(2027, 1, 5, 9, 0, tzinfo=UTC), POLICY, today=today) == "Tue 5 Jan"
    assert timefmt.short_date(datetime(2025, 12, 1, 9, 0, tzinfo=UTC), POLICY, today=today) == "Mon 1 Dec 2025"
    two_years_on = datetime(2028, 12, 1, 9, 0, tzinfo=UTC)  # a talent-pool consent's end
    assert timefmt.short_date(two_years_on, POLICY, today=today) == "Fri 1 Dec 2028"
    assert timefmt.date_time(two_years_on, POLICY, "de", today=today) == "Fr., 1. Dez. 2028 10:00"
    assert timefmt.short_date(two_years_on, POLICY) == "Fri 1 Dec"  # no today given: as before


def test_times_are_hours_and_minutes_in_the_company_zone_as_strftime_writes_them():
    # 23:05 UTC on 31 Dec is 00:05 on 1 Jan in Berlin; 06:00 in July is summer time (08:00).
    assert timefmt.date_time(datetime(2026, 12, 31, 23, 5, tzinfo=UTC), POLICY) == "Fri 1 Jan 00:05"
    assert timefmt.local_time(datetime(2026, 7, 1, 6, 0, tzinfo=UTC), POLICY) == "08:00"
    moments = [datetime(2026, 3, 29, 0, 0, tzinfo=UTC) + i * (datetime(2026, 3, 29, 0, 7) - datetime(2026, 3, 29))
               for i in range(0, 600)]  # across the spring clock change, every 7 minutes
    for moment in moments:
        assert timefmt.local_time(moment, POLICY) == moment.astimezone(POLICY.tz).strftime("%H:%M")


def test_the_formatter_of_many_dates_writes_what_date_time_writes():
    from datetime import timedelta

    today = timefmt.local_date(NOW, POLICY)
    fmt = timefmt.date_time_formatter(POLICY, today=today)
    # Every 7 h 13 min over two years around now: both DST changes, New Year, the half-year
    # after which the year is shown, minutes before and after midnight in Berlin.
    moments = [NOW + timedelta(minutes=433 * i) for i in range(-2500, 2500)]
    moments += [datetime(2026, 12, 31, 22, 59, tzinfo=UTC), datetime(2026, 12, 31, 23, 0, tzinfo=UTC)]
    for moment in moments:
        assert fmt(moment) == timefmt.date_time(moment, POLICY, today=today), moment
    assert fmt(None) == "" == timefmt.date_time(None, POLICY, today=today)
    assert timefmt.date_time_formatter(POLICY)(NOW) == timefmt.date_time(NOW, POLICY)
