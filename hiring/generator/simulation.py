"""The team, the positions and the stream of applications, batch by batch."""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from ..demo import DEMO_PASSWORD, FIRST_NAMES, LAST_NAMES
from ..demo import DEMO_USERS as NAMED_USERS  # the first users are the demo's: the same logins work
from ..models import (
    Application,
    AuditEvent,
    Candidate,
    Position,
    User,
)
from ..pipeline import Policy
from .bulk import Rows, bulk_insert
from .common import (
    BATCH_APPLICATIONS,
    DEPARTMENTS,
    HISTORY_DAYS,
    LEAN_CLOSED_BEFORE,
    POSITION_OPEN_DAYS,
    POSITION_TITLES,
    PositionRow,
    S,
    Team,
    source_of,
    team_size,
)
from .history import History

# Tags a team might give its talent pool.
TAGS = ["embedded", "firmware", "c", "c++", "rust", "python", "linux", "rtos", "fpga", "hardware", "testing",
        "automotive", "medical", "iot", "security", "senior", "junior", "lead", "remote", "munich", "berlin",
        "german", "english", "relocation", "referral", "silver medallist", "contractor", "part-time",
        "graduate", "returner"]


class Simulation:
    def __init__(self, applications: int, *, now: datetime, policy: Policy, seed: int, lean: bool):
        self.n = applications
        self.now = now
        self.policy = policy
        self.rng = random.Random(seed)
        # The talent pool's tags from a generator of their own: the rest of the data (names,
        # dates, stages) stays what it was for a seed.
        self.tag_rng = random.Random(f"tags-{seed}")
        self.lean = lean
        self.tz = policy.tz
        self.event_ids: Iterator[int] = itertools.count(1)
        self.email_ids: Iterator[int] = itertools.count(1)
        self.ids: dict[str, Iterator[int]] = {}
        self.pairs: set[tuple[int, int]] = set()
        self.candidates: list[tuple[int, str, str, str]] = []  # id, name, email, language
        self.positions: list[PositionRow] = []
        self.position_starts: list[datetime] = []
        self.team: Team | None = None

    def next_id(self, table: str) -> int:
        try:
            return next(self.ids[table])
        except KeyError:
            self.ids[table] = itertools.count(1)
            return next(self.ids[table])

    def _event(self, application_id: int | None, actor: int | None, kind: str, at: datetime,
               **data: Any) -> dict[str, Any]:
        """An audit event row; team-level events get their id here, an application's from History."""
        row = {"application_id": application_id, "actor_id": actor, "kind": kind, "data": data, "occurred_at": at}
        if application_id is None:
            row["id"] = next(self.event_ids)
        return row

    # --- the team and the positions ---------------------------------------------------------

    def write_team(self, session: Session) -> dict[str, int]:
        size = team_size(self.n)
        password_hash = generate_password_hash(DEMO_PASSWORD)  # one hash: every account has the demo password
        created = self.now - timedelta(days=HISTORY_DAYS + 30)
        users: list[dict[str, Any]] = []
        team = Team(admin=0, recruiters=[], interviewers=[], managers=[])

        def add_user(email: str, name: str, role: str) -> None:
            user_id = self.next_id("user")
            users.append({"id": user_id, "email": email, "name": name, "role": role, "password_hash": password_hash,
                          "active": True, "created_at": created})
            team.emails[user_id] = email
            if role == "admin":
                team.admin = user_id
            else:
                getattr(team, {"recruiter": "recruiters", "interviewer": "interviewers",
                               "manager": "managers"}[role]).append(user_id)

        for email, name, role in NAMED_USERS:
            add_user(email, name, role)
        for role, key in (("recruiter", "recruiters"), ("manager", "managers"), ("interviewer", "interviewers")):
            for i in range(len(getattr(team, key)), size[key]):
                first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
                add_user(f"{role}-{i + 1}@example.com", f"{first} {last}", role)
        self.team = team

        positions: list[dict[str, Any]] = []
        starts = sorted(self.now - timedelta(days=self.rng.uniform(10, HISTORY_DAYS + POSITION_OPEN_DAYS / 2))
                        for _ in range(size["positions"]))
        for start in starts:
            position_id = self.next_id("position")
            title = self.rng.choice(POSITION_TITLES)
            row = PositionRow(position_id, title, self.rng.choice(team.recruiters), self.rng.choice(team.managers),
                              start)
            self.positions.append(row)
            self.position_starts.append(start)
            # Still open while taking applications and a while after, to finish its interviews.
            status = "open" if start + timedelta(days=POSITION_OPEN_DAYS + 45) > self.now else "closed"
            positions.append({"id": position_id, "title": title, "department": self.rng.choice(DEPARTMENTS),
                              "status": status, "owner_id": row.owner_id, "hiring_manager_id": row.hiring_manager_id,
                              "created_at": start})
        events = [self._event(None, team.admin, "user_created", created, user_id=u["id"], email=u["email"],
                              role=u["role"]) for u in users]
        events += [self._event(None, team.admin, "position_created", p["created_at"], position_id=p["id"],
                               title=p["title"]) for p in positions]
        bulk_insert(session, User, users)
        bulk_insert(session, Position, positions)
        bulk_insert(session, AuditEvent, events)
        session.commit()
        return {"user": len(users), "position": len(positions), "audit_event": len(events)}

    def _pick_position(self, at: datetime, candidate_id: int) -> PositionRow:
        """A position that took applications at ``at`` and that this candidate has not applied to."""
        hi = bisect.bisect_right(self.position_starts, at)
        lo = bisect.bisect_left(self.position_starts, at - timedelta(days=POSITION_OPEN_DAYS))
        if hi <= lo:
            lo, hi = max(0, hi - 5), max(hi, min(len(self.positions), 5))
        for _ in range(20):
            position = self.positions[self.rng.randrange(lo, hi)]
            if (candidate_id, position.id) not in self.pairs:
                return position
        return next(p for p in self.positions if (candidate_id, p.id) not in self.pairs)

    # --- applications -----------------------------------------------------------------------

    def batches(self) -> Iterator[tuple[int, Rows]]:
        # Arrival times over two years, growing a little towards today (a growing company).
        span = HISTORY_DAYS * 86400
        offsets = sorted(span * (1 - self.rng.random() ** 1.15) for _ in range(self.n))
        start = self.now - timedelta(seconds=span)
        for first in range(0, self.n, BATCH_APPLICATIONS):
            rows = Rows()
            chunk = offsets[first:first + BATCH_APPLICATIONS]
            for offset in chunk:
                applied_at = start + timedelta(seconds=offset)
                self._application(rows, min(applied_at, self.now - timedelta(minutes=5)))
            yield len(chunk), rows

    def _candidate(self, rows: Rows, at: datetime) -> tuple[int, str, str, str]:
        # About one candidate in twelve applies again, to another position.
        if self.candidates and self.rng.random() < 0.08:
            return self.candidates[self.rng.randrange(max(0, len(self.candidates) - 20000), len(self.candidates))]
        candidate_id = self.next_id("candidate")
        first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
        name = f"{first} {last}"
        email = f"{first}.{last}.{candidate_id}@example.org".lower()
        language = "de" if self.rng.random() < 0.35 else "en"
        phone = f"+49 89 {self.rng.randint(1000000, 9999999)}"
        consent = self.rng.random() < 0.3
        # A recruiter tags some of the talent pool (the suggestions as one types read them).
        tags = sorted(self.tag_rng.sample(TAGS, self.tag_rng.randint(1, 3))) if (
            consent and self.tag_rng.random() < 0.2) else []
        rows.add(Candidate, {"id": candidate_id, "name": name, "email": email,
                             "phone": phone, "language": language, "talent_pool_consent": consent, "tags": tags,
                             "created_at": at})
        candidate = (candidate_id, name, email, language)
        self.candidates.append(candidate)
        return candidate

    def _application(self, rows: Rows, applied_at: datetime) -> None:
        candidate = self._candidate(rows, applied_at)
        position = self._pick_position(applied_at, candidate[0])
        self.pairs.add((candidate[0], position.id))
        if self.lean and applied_at < self.now - LEAN_CLOSED_BEFORE:
            self._closed_application(rows, candidate[0], position, applied_at)
            return
        history = History(self, rows, candidate, position, applied_at)
        history.run()
        history.finish()

    def _closed_application(self, rows: Rows, candidate_id: int, position: PositionRow, applied_at: datetime) -> None:
        """Lean mode, long-closed application: only its row, with the outcome's shares of the
        full simulation (its history would not be written anyway)."""
        roll = self.rng.random()
        stage = (S.REJECTED if roll < 0.8 else S.WITHDRAWN if roll < 0.87 else S.HIRED if roll < 0.97
                 else S.DECLINED)
        closed_at = applied_at + timedelta(days=3 + 60 * self.rng.random())
        application_id = self.next_id("application")
        rows.add(Application, {
            "id": application_id, "candidate_id": candidate_id, "position_id": position.id,
            "owner_id": position.owner_id, "stage": stage, "applied_at": applied_at, "stage_entered_at": closed_at,
            "source": source_of(application_id),
            "due_at": None, "promised_at": None, "last_candidate_email_at": closed_at,
            "competing_offer_deadline": None, "extended_until": None, "extension_reason": None, "verdict": None,
            "awaiting_feedback": False, "due_soon_notified_at": None, "overdue_notified_at": None,
            "expedite_notified_for": None, "needs_discussion_notified_at": None, "promise_made_at": applied_at,
            "closed_at": closed_at, "version": 3, "created_at": applied_at, "updated_at": closed_at,
            "promise_moves": 0, "automatic_delays": 0, "overdue_since": None, "interview_ends_at": None,
            "unrecorded_notified_at": None,
        })
