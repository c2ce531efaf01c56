"""The synthetic dataset's vocabulary: names, titles, sizes and the stage names in the hot loop."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .. import pipeline
from ..pipeline import OPEN_STAGES

POSITION_TITLES = ["Embedded Software Engineer", "FPGA Developer", "Hardware Test Engineer",
                   "Technical Project Manager", "Firmware Engineer", "Electronics Designer", "DevOps Engineer",
                   "Functional Safety Engineer", "Systems Architect", "Embedded Linux Developer",
                   "Verification Engineer", "Product Owner", "Quality Engineer", "Technical Writer"]
DEPARTMENTS = ["Engineering", "Quality", "Projects", "Operations", "Product"]
FEEDBACK_NOTES = [
    "Solid on C and RTOS basics; good questions about the team.",
    "Strong debugging story; less depth in hardware bring-up.",
    "Clear communicator, thought aloud well through the design exercise.",
    "Struggled with concurrency questions; friendly and motivated.",
    "Great fit for the team; wants to grow into architecture.",
]
REJECTION_RATIONALES = ["Another candidate fits the team better.", "Experience too far from the role.",
                        "Panel not convinced on the technical depth.", "Salary expectations far apart."]

POSITION_OPEN_DAYS = 120
# Lean mode: an application this old is closed in every simulated history (the longest path,
# with late answers and delay notices, takes about four months).
LEAN_CLOSED_BEFORE = timedelta(days=180)  # how long a position takes applications
HISTORY_DAYS = 730  # two years of history
BATCH_APPLICATIONS = 2000  # applications simulated and written per batch
OPEN_STAGE_VALUES = frozenset(s.value for s in OPEN_STAGES)


class S:
    """The stage names as plain strings (enum lookups are measurable in the hot loop)."""

    APPLIED, FIRST_INTERVIEW, FIRST_DECISION, SECOND_INTERVIEW, FINAL_DECISION, OFFER = (
        s.value for s in OPEN_STAGES)
    HIRED, REJECTED, DECLINED, WITHDRAWN = (s.value for s in pipeline.CLOSED_STAGES)


JOB_INTERVAL = timedelta(minutes=15)  # how often the deadline job runs, for the notices' timestamps
RELAY_DELAY = timedelta(seconds=45)  # the outbox relay runs every minute
# Where applications come from, in percent (the sources report).
SOURCE_SHARES = (("careers_site", 35), ("job_board", 25), ("referral", 12), ("direct", 10), ("agency", 8),
                 ("talent_pool", 5), ("other", 5))
_SOURCE_BY_PERCENT = [name for name, share in SOURCE_SHARES for _ in range(share)]


def source_of(application_id: int) -> str:
    """An application's source, spread by SOURCE_SHARES and fixed by its id (a hash, so the
    seeded random sequence of the rest of the simulation stays as it was)."""
    return _SOURCE_BY_PERCENT[(application_id * 2654435761) % 2**32 % 100]




@dataclass
class Team:
    admin: int
    recruiters: list[int]
    interviewers: list[int]
    managers: list[int]
    emails: dict[int, str] = field(default_factory=dict)


@dataclass
class PositionRow:
    id: int
    title: str
    owner_id: int
    hiring_manager_id: int
    start: datetime


def team_size(applications: int) -> dict[str, int]:
    """A team that grows with the volume: ~500 applications a recruiter over two years."""
    return {
        "recruiters": max(2, applications // 500),
        "managers": max(1, applications // 1000),
        "interviewers": max(3, applications // 100),
        "positions": max(4, applications // 50),
    }
