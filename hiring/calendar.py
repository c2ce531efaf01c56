"""Interview invitations as iCalendar (.ics) attachments."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from email.utils import parseaddr

from icalendar import Calendar, Event, vCalAddress, vText

from .models import Interview, utcnow


def interview_ics(interview: Interview, company: str, *, cancelled: bool = False,
                  organizer: str | None = None, attendees: Iterable[tuple[str, str]] | None = None,
                  summary: str | None = None, description: str | None = None) -> dict[str, str]:
    """An attachment dict for the outbox: REQUEST for new/updated, CANCEL for cancelled.

    The UID stays the same across reschedules and SEQUENCE grows, so calendar clients
    update the existing entry instead of adding a second one. ``attendees`` are
    (name, email) pairs, the candidate by default (the panel's copy lists the panel);
    ``summary`` and ``description`` replace the candidate's wording.
    """
    cal = Calendar()
    cal.add("prodid", "-//hiring pipeline//EN")
    cal.add("version", "2.0")
    cal.add("method", "CANCEL" if cancelled else "REQUEST")
    event = Event()
    event.add("uid", interview.ical_uid)
    event.add("sequence", interview.ical_sequence)
    event.add("dtstamp", utcnow())
    event.add("dtstart", interview.scheduled_at)
    event.add("dtend", interview.scheduled_at + timedelta(minutes=interview.duration_minutes))
    round_name = "First" if interview.round == 1 else "Second"
    event.add("summary", summary or f"{round_name} interview – {company}")
    if description:
        event.add("description", description)
    place = interview.location or interview.video_link
    if place:
        event.add("location", place)
    if interview.video_link:
        event.add("url", interview.video_link)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    if organizer:
        # REQUEST and CANCEL need an ORGANIZER (RFC 5546); Outlook ignores invitations without one.
        name, address = parseaddr(organizer)
        if address:
            who = vCalAddress(f"mailto:{address}")
            who.params["cn"] = vText(name or company)
            event.add("organizer", who, encode=0)
    if attendees is None:
        candidate = interview.application.candidate
        attendees = [(candidate.name, candidate.email)]
    for name, email in attendees:
        attendee = vCalAddress(f"mailto:{email}")
        attendee.params["cn"] = vText(name)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        event.add("attendee", attendee, encode=0)
    cal.add_component(event)
    return {
        "filename": "cancelled-interview.ics" if cancelled else "interview.ics",
        "content_type": "text/calendar; method=" + ("CANCEL" if cancelled else "REQUEST"),
        "data": cal.to_ical().decode("utf-8"),
    }
