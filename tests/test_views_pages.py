"""What the pages show and do: dashboard, board, candidates, positions, my interviews,
settings and users. Data is built relative to the real clock, because pages use it."""

from __future__ import annotations

import io
import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import text

from hiring import services
from hiring.extensions import db
from hiring.models import (
    Application,
    AuditEvent,
    BoardStageCount,
    Candidate,
    Document,
    OutboxEmail,
    Position,
    User,
    utcnow,
)
from hiring.pipeline import Stage
from hiring.settings import get_policy


def _ago(days: float):
    return utcnow() - timedelta(days=days)


def _text(response) -> str:
    """The page's visible text, tags removed and spaces collapsed, for order checks."""
    html = response.get_data(as_text=True)
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def team(factory):
    recruiter = factory.user("recruiter", name="Rita Recruiter")
    other_recruiter = factory.user("recruiter", name="Robin Recruiter")
    manager = factory.user("manager", name="Mona Manager")
    ivan, ines = factory.user("interviewer", name="Ivan Interviewer"), factory.user("interviewer", name="Ines")
    position = factory.position(title="Firmware Engineer", owner=recruiter, hiring_manager=manager)
    other_position = factory.position(title="FPGA Developer", owner=other_recruiter)
    return {"recruiter": recruiter, "other_recruiter": other_recruiter, "manager": manager, "ivan": ivan,
            "ines": ines, "position": position, "other_position": other_position}


def _named(application: Application, name: str) -> Application:
    """Give a factory-built candidate a name we can look for on the page."""
    application.candidate.name = name
    db.session.commit()
    return application


class TestDashboard:
    def test_recruiter_sees_own_urgent_work_most_urgent_first(self, client, login, factory, team):
        pos = team["position"]
        _named(factory.application(Stage.APPLIED, position=pos, at=_ago(13)), "Due Soon Dora")
        _named(factory.application(Stage.APPLIED, position=pos, at=_ago(20)), "Overdue Olga")
        _named(factory.application(Stage.FIRST_DECISION, position=pos, at=_ago(1),
                                   panel=[team["ivan"], team["ines"]], recommendations=["yes", "yes"]),
               "Decide Dieter")
        _named(factory.application(Stage.SECOND_INTERVIEW, position=pos, at=_ago(1),
                                   panel=[team["ivan"]], recommendations=["yes"]), "Calm Carl")
        _named(factory.application(Stage.APPLIED, position=team["other_position"], at=_ago(25)), "Robins Rolf")
        login(team["recruiter"])
        page = _text(client.get("/"))
        assert page.index("Overdue Olga") < page.index("Due Soon Dora") < page.index("Decide Dieter")
        assert re.search(r"\b\d+ days overdue", page)  # against the team's deadline, before the candidate's date
        assert "tomorrow" in page or "today" in page
        assert "Awaiting my decision" in page
        assert "Calm Carl" not in page  # nothing due and nothing for me to decide
        assert "Robins Rolf" not in page  # someone else's
        everyone = _text(client.get("/?scope=all"))
        assert "Robins Rolf" in everyone
        html = client.get("/").get_data(as_text=True)
        olga = db.session.scalar(db.select(Application).join(Candidate).where(Candidate.name == "Overdue Olga"))
        assert f'href="/applications/{olga.id}"' in html

    def test_counts_per_stage_across_open_positions(self, client, login, factory, team):
        factory.application(Stage.APPLIED, position=team["position"], at=_ago(1))
        factory.application(Stage.APPLIED, position=team["other_position"], at=_ago(1))
        factory.application(Stage.REJECTED, position=team["position"], at=_ago(1))
        closed = factory.position(title="Closed Role", owner=team["recruiter"])
        factory.application(Stage.APPLIED, position=closed, at=_ago(1))
        services.close_position(closed, actor=team["recruiter"])
        login(team["recruiter"])
        page = _text(client.get("/"))
        assert re.search(r"Open applications by stage 2 Applied 0 First interview", page), page

    def test_the_kept_stage_counts_follow_every_change(self, factory, team):
        """The triggers of migration c5d8a3e1f9b2 keep stage_count and board_stage_count
        equal to a count of the applications, whatever writes them."""
        from sqlalchemy import delete, func, select, update

        from hiring.models import BoardStageCount, StageCount
        from hiring.models.types import OPEN_STAGE_VALUES

        def kept() -> tuple[dict, dict]:
            rows = db.session.execute(select(StageCount.position_id, StageCount.owner_id, StageCount.stage,
                                             StageCount.count)).all()
            board = db.session.execute(select(BoardStageCount.stage, BoardStageCount.count)).all()
            return {(p, o, s): n for p, o, s, n in rows if n}, {s: n for s, n in board if n}

        def counted() -> tuple[dict, dict]:
            owner = func.coalesce(Application.owner_id, 0)
            rows = db.session.execute(
                select(Application.position_id, owner, Application.stage, func.count())
                .where(Application.stage.in_(OPEN_STAGE_VALUES))
                .group_by(Application.position_id, owner, Application.stage)).all()
            board = db.session.execute(
                select(Application.stage, func.count()).join(Position, Position.id == Application.position_id)
                .where(Application.stage.in_(OPEN_STAGE_VALUES), Position.status == "open")
                .group_by(Application.stage)).all()
            return {(p, o, s): n for p, o, s, n in rows}, dict(board)

        pos, other = team["position"], team["other_position"]
        first = factory.application(Stage.APPLIED, position=pos, at=_ago(3))
        factory.application(Stage.FIRST_DECISION, position=pos, at=_ago(5), panel=[team["ivan"]],
                            recommendations=["yes"])
        factory.application(Stage.APPLIED, position=other, at=_ago(2))
        factory.application(Stage.REJECTED, position=pos, at=_ago(4))
        assert kept() == counted() and sum(kept()[1].values()) == 3
        services.schedule_interview(first, round=1, scheduled_at=utcnow() + timedelta(days=2),
                                    panel_user_ids=[team["ivan"].id], location="Room 1", actor=team["recruiter"])
        assert kept() == counted() and first.stage == Stage.FIRST_INTERVIEW
        services.close_position(other, actor=team["other_recruiter"])  # its application leaves the board
        assert kept() == counted() and sum(kept()[1].values()) == 2
        db.session.execute(update(Position).where(Position.id == other.id).values(status="open"))  # reopened
        assert kept() == counted() and sum(kept()[1].values()) == 3
        # Whoever writes: a bulk change of owner and position, a stage closed, a delete.
        db.session.execute(update(Application).where(Application.id == first.id)
                           .values(owner_id=None, position_id=other.id))
        db.session.execute(update(Application).where(Application.position_id == pos.id,
                                                     Application.stage == Stage.FIRST_DECISION)
                           .values(stage=Stage.WITHDRAWN))
        assert kept() == counted()
        bare = Application(candidate_id=first.candidate_id, position_id=pos.id, owner_id=team["recruiter"].id,
                           stage="offer")  # nothing refers to it: it can be deleted
        db.session.add(bare)
        db.session.flush()
        assert kept() == counted() and sum(kept()[1].values()) == 3
        db.session.execute(delete(Application).where(Application.id == bare.id))
        db.session.commit()
        assert kept() == counted() and sum(kept()[1].values()) == 2

    @pytest.mark.postgres_only("row locks between connections")
    def test_opposite_stage_moves_at_once_queue_instead_of_deadlocking(self, app, factory, team, database_url):
        """Every stage move updates shared count rows. Without one lock order, a transaction
        holding the "applied" row and waiting for "first_interview" deadlocks with one moving
        the other way (PostgreSQL then aborts one of them)."""
        import threading

        from sqlalchemy import create_engine, select, text

        pos = team["position"]
        closed = factory.application(Stage.REJECTED, position=pos, at=_ago(6))
        moving_back = factory.application(Stage.FIRST_INTERVIEW, position=pos, at=_ago(5))
        moving_on = factory.application(Stage.APPLIED, position=pos, at=_ago(4))
        db.session.commit()
        move = text("UPDATE application SET stage = :stage WHERE id = :id")
        engine = create_engine(database_url)
        errors: list[BaseException] = []
        try:
            with engine.connect() as first, engine.connect() as second:
                first.execute(text("SET lock_timeout = '20s'"))
                second.execute(text("SET lock_timeout = '20s'"))
                first.execute(move, {"stage": "applied", "id": closed.id})  # holds the "applied" rows

                def move_back() -> None:
                    try:
                        with app.app_context():
                            second.execute(move, {"stage": "applied", "id": moving_back.id})
                            second.commit()
                    except BaseException as error:  # reported below, in the test's thread
                        errors.append(error)

                thread = threading.Thread(target=move_back)
                thread.start()
                time.sleep(0.5)  # the second now waits for a row the first holds
                first.execute(move, {"stage": "first_interview", "id": moving_on.id})
                first.commit()
                thread.join(timeout=30)
                assert not thread.is_alive()
        finally:
            engine.dispose()
        assert errors == []
        db.session.expire_all()
        stages = dict(db.session.execute(select(BoardStageCount.stage, BoardStageCount.count)).all())
        assert stages.get("applied") == 2 and stages.get("first_interview") == 1

    def test_interviewer_sees_only_feedback_awaited_from_them(self, client, login, factory, team):
        mine = _named(factory.application(Stage.FIRST_DECISION, position=team["position"], at=_ago(2),
                                          panel=[team["ivan"], team["ines"]], recommendations=["", "yes"]),
                      "Feedback Fritz")
        _named(factory.application(Stage.APPLIED, position=team["position"], at=_ago(20)), "Not Mine Nora")
        login(team["ivan"])
        page = _text(client.get("/"))
        assert "Feedback Fritz" in page and "Awaiting my feedback" in page
        assert "Not Mine Nora" not in page
        assert "Open applications by stage" not in page  # interviewers see their panels only
        assert client.get("/?scope=all").status_code == 200
        assert "Not Mine Nora" not in _text(client.get("/?scope=all"))
        # Once given, the feedback no longer needs attention.
        interview = mine.current_interview()
        services.submit_feedback(interview, interviewer=team["ivan"], recommendation="yes")
        assert "Feedback Fritz" not in _text(client.get("/"))
        assert "All your feedback is in" in _text(client.get("/interviews/mine"))

    def test_manager_sees_the_offer_decisions_of_their_positions(self, client, login, factory, team):
        _named(factory.application(Stage.FINAL_DECISION, position=team["position"], at=_ago(1),
                                   panel=[team["ivan"]], recommendations=["strong_yes"]), "Offer Otto")
        _named(factory.application(Stage.FINAL_DECISION, position=team["other_position"], at=_ago(1),
                                   panel=[team["ivan"]], recommendations=["yes"]), "Elsewhere Emil")
        login(team["manager"])
        page = _text(client.get("/"))
        assert "Offer Otto" in page and "Awaiting my offer decision" in page
        assert "Elsewhere Emil" not in page

    def test_empty_state_says_what_to_do_next(self, client, login, team):
        login(team["recruiter"])
        page = _text(client.get("/"))
        assert "Nothing needs you right now" in page and "Candidates" in page
        assert "Other people's applications may: show everyone's" in page
        assert "Other people's applications may" not in _text(client.get("/?scope=all"))


class TestBoard:
    def test_columns_cards_and_filters(self, client, login, factory, team):
        _named(factory.application(Stage.APPLIED, position=team["position"], at=_ago(20)), "Late Lara")
        _named(factory.application(Stage.FIRST_DECISION, position=team["position"], at=_ago(3),
                                   panel=[team["ivan"]], recommendations=["yes"]), "Debrief Dana")
        _named(factory.application(Stage.APPLIED, position=team["other_position"], at=_ago(2)), "Other Otto")
        _named(factory.application(Stage.HIRED, position=team["position"], at=_ago(2)), "Hired Hanna")
        _named(factory.application(Stage.FIRST_INTERVIEW, position=team["position"], at=_ago(1),
                                   panel=[team["ivan"]]), "Interview Ingo")
        login(team["recruiter"])
        page = _text(client.get("/board"))
        card = r"Interview Ingo Firmware Engineer 1 day in stage Interview \w{3} \d+ \w{3} \d\d:\d\d · in 2 days"
        assert re.search(card, page), page
        assert "Applied (2)" in page and "Debrief decision (1)" in page
        assert "Late Lara" in page and "Other Otto" in page and "Hired Hanna" not in page
        assert "20 days in stage" in page and "Overdue" in page
        assert "Other Otto" not in _text(client.get(f"/board?position={team['position'].id}"))
        by_position = _text(client.get(f"/positions/{team['position'].id}/board"))
        assert "Late Lara" in by_position and "Other Otto" not in by_position
        by_owner = _text(client.get(f"/board?owner={team['other_recruiter'].id}"))
        assert "Other Otto" in by_owner and "Late Lara" not in by_owner
        assert client.get("/positions/999999/board").status_code == 404
        assert client.get("/board?position=abc&owner=;drop").status_code == 200

    def test_a_past_interview_nobody_marked_held_is_days_ago_not_overdue(self, client, login, factory, team):
        application = _named(factory.application(Stage.FIRST_INTERVIEW, position=team["position"], at=_ago(5),
                                                 panel=[team["ivan"]]), "Past Paula")
        login(team["recruiter"])
        board = _text(client.get("/board"))
        assert re.search(r"Past Paula .*? Interview \w{3} \d+ \w{3} \d\d:\d\d · 2 days ago", board), board
        assert "days overdue" not in board.split("Past Paula")[1].split("Debrief decision")[0]
        page = _text(client.get(f"/applications/{application.id}"))
        assert "Not marked held · 2 days ago" in page and "Has the first interview taken place?" in page

    def test_a_card_shows_the_interview_still_to_happen_not_held_or_cancelled_ones(self, client, login, factory,
                                                                                   team):
        """The board reads the next interview with its cards: the latest one neither held nor
        cancelled (the first round, held, and a cancelled second round do not count)."""
        from hiring import timefmt

        recruiter = team["recruiter"]
        moved = _named(factory.application(Stage.SECOND_INTERVIEW, position=team["position"], at=_ago(3),
                                           panel=[team["ivan"]]), "Moved Mia")
        dropped = _named(factory.application(Stage.SECOND_INTERVIEW, position=team["position"], at=_ago(3),
                                             panel=[team["ivan"]]), "Dropped Dirk")
        for application in (moved, dropped):
            assert any(i.held_at is not None for i in application.interviews)  # the first round
            planned = services.schedule_interview(application, round=2, scheduled_at=utcnow() + timedelta(days=2),
                                                  panel_user_ids=[team["ivan"].id], location="Room 1",
                                                  actor=recruiter)
            services.cancel_interview(planned, reason="Candidate ill", actor=recruiter)
        new_time = (utcnow() + timedelta(days=3)).replace(second=0, microsecond=0)
        services.schedule_interview(moved, round=2, scheduled_at=new_time, panel_user_ids=[team["ivan"].id],
                                    location="Room 2", actor=recruiter)
        db.session.commit()
        login(recruiter)
        board = _text(client.get("/board"))
        when = timefmt.date_time(new_time, get_policy())
        card = rf"Moved Mia Firmware Engineer \S+ (day|days) in stage Interview {when} · in \d days"
        assert re.search(card, board), board
        assert re.search(r"Dropped Dirk Firmware Engineer \S+ (day|days) in stage (Due|⚠|No answer)", board), board

    def test_an_upcoming_interview_says_when_before_offering_to_mark_it_held(self, client, login, factory, team):
        application = factory.application(Stage.FIRST_INTERVIEW, position=team["position"], at=_ago(1),
                                          panel=[team["ivan"]])
        login(team["recruiter"])
        page = _text(client.get(f"/applications/{application.id}"))
        assert "The first interview is in 2 days" in page and "Once it has taken place, mark it as held" in page
        assert "Upcoming · in 2 days" in page

    def test_the_promise_box_says_overdue_in_words_and_colour(self, client, login, factory, team):
        late = factory.application(Stage.APPLIED, position=team["position"], at=_ago(20))
        fresh = factory.application(Stage.APPLIED, position=team["position"], at=_ago(1))
        login(team["recruiter"])
        late_html = client.get(f"/applications/{late.id}").get_data(as_text=True)
        assert 'class="promise promise-overdue"' in late_html and "⚠ Team overdue" in late_html
        fresh_html = client.get(f"/applications/{fresh.id}").get_data(as_text=True)
        assert 'class="promise promise-ok"' in fresh_html and "Team overdue" not in fresh_html
        # The breadcrumb leads back to the position's board.
        assert f'<a href="/positions/{team["position"].id}/board">Firmware Engineer</a>' in fresh_html

    def test_a_long_column_shows_the_most_urgent_and_links_to_all_of_it(self, client, login, factory, team):
        from hiring.views.dashboard import BOARD_COLUMN_LIMIT, COLUMN_PAGE_SIZE

        total = COLUMN_PAGE_SIZE + 3
        applications = [_named(factory.application(Stage.APPLIED, position=team["position"], at=_ago(1 + i / 3)),
                               f"Waiting W{i:03d}") for i in range(total)]
        urgency = [a.candidate.name.removeprefix("Waiting W")
                   for a in sorted(applications, key=lambda a: (a.due_at, a.id))]
        login(team["recruiter"])
        board = client.get("/board").get_data(as_text=True)
        # The most urgent first.
        assert re.findall(r"Waiting W(\d{3})", board) == urgency[:BOARD_COLUMN_LIMIT]
        assert f'href="/board?stage=applied">Show all {total}' in board
        first = client.get("/board?stage=applied").get_data(as_text=True)
        assert len(re.findall(r"Waiting W\d{3}", first)) == COLUMN_PAGE_SIZE
        assert "Page 1 of 2" in first and 'href="/board?stage=applied&amp;page=2"' in first
        second = _text(client.get("/board?stage=applied&page=2"))
        assert re.findall(r"Waiting W(\d{3})", second) == urgency[COLUMN_PAGE_SIZE:]
        # A position's own board keeps to its URL, and the owner filter is kept.
        owned = client.get(f"/positions/{team['position'].id}/board?owner={team['recruiter'].id}").get_data(
            as_text=True)
        assert (f'href="/positions/{team["position"].id}/board?owner={team["recruiter"].id}&amp;stage=applied"'
                in owned)

    def test_filters_take_what_was_typed(self, client, login, factory, team):
        _named(factory.application(Stage.APPLIED, position=team["position"]), "Firm Fiona")
        _named(factory.application(Stage.APPLIED, position=team["other_position"]), "Gate Gina")
        factory.position(title="Firmware Tester", owner=team["recruiter"])
        login(team["recruiter"])
        exact = _text(client.get("/board?position_q=firmware+engineer"))
        assert "Firm Fiona" in exact and "Gate Gina" not in exact and "Pipeline board: Firmware Engineer" in exact
        unique = _text(client.get("/board?position_q=FPGA"))
        assert "Gate Gina" in unique and "Firm Fiona" not in unique
        ambiguous = client.get("/board?position_q=firmware").get_data(as_text=True)
        assert "2 open positions match “firmware”; choose one:" in ambiguous
        assert f'href="/board?position={team["position"].id}"' in ambiguous and "Firmware Tester" in ambiguous
        assert "No open position matches “nothing”" in _text(client.get("/board?position_q=nothing"))
        by_owner = _text(client.get("/board?owner_q=robin"))
        assert "Gate Gina" in by_owner and "Firm Fiona" not in by_owner
        by_email = _text(client.get(f"/board?owner_q={team['recruiter'].email}"))
        assert "Firm Fiona" in by_email and "Gate Gina" not in by_email
        assert "2 owners match “recruiter”" in _text(client.get("/board?owner_q=recruiter"))
        # The suggestions as one types.
        assert client.get("/board/suggest/positions?q=firm").get_json() == {"options": [
            {"value": "Firmware Engineer", "label": "Engineering"},
            {"value": "Firmware Tester", "label": "Engineering"}]}
        owners = client.get("/board/suggest/owners?q=rob").get_json()["options"]
        assert owners == [{"value": "Robin Recruiter", "label": team["other_recruiter"].email}]
        assert client.get("/board/suggest/owners?q=r").get_json() == {"options": []}

    def test_filter_suggestions_need_the_board(self, client, login, team):
        login(team["ivan"])
        assert client.get("/board/suggest/positions?q=firm").status_code == 403
        assert client.get("/board/suggest/owners?q=rob").status_code == 403

    def test_empty_board_says_what_to_do(self, client, login, team):
        login(team["recruiter"])
        assert "No open applications" in _text(client.get("/board"))


class TestCandidates:
    def test_search_by_name_or_email_and_paginate(self, client, login, factory, team):
        for n in range(27):
            factory.application(Stage.APPLIED, position=team["position"], at=_ago(1), email=f"batch{n:02d}@example.org")
        special = factory.application(Stage.APPLIED, position=team["position"], at=_ago(1), email="x_y@example.org")
        _named(special, "Zoë 100% Unique")
        login(team["recruiter"])
        first = _text(client.get("/candidates/"))
        assert "Page 1 of 2" in first and "28 candidates" in first
        assert "Page 2 of 2" in _text(client.get("/candidates/?page=2"))
        assert "Zoë 100% Unique" in _text(client.get("/candidates/?q=zoë"))
        assert "1 candidate matching" in _text(client.get("/candidates/?q=100%25"))  # % is literal
        assert "1 candidate matching" in _text(client.get("/candidates/?q=x_y"))  # _ is literal
        assert "1 candidate matching" in _text(client.get("/candidates/?q=BATCH07"))
        # The count of a search comes from the search index alone (SQLite); pages follow it.
        batch = _text(client.get("/candidates/?q=batch"))
        assert "27 candidates matching" in batch and "Page 1 of 2" in batch
        last = _text(client.get("/candidates/?q=batch&page=2"))
        assert "Page 2 of 2" in last and len(re.findall(r"batch\d\d@example\.org", last)) == 2
        assert "28 candidates matching" in _text(client.get("/candidates/?q=.o"))  # short: no index
        nobody = _text(client.get("/candidates/?q=nobody-here"))
        assert "Nobody matches" in nobody
        assert client.get("/candidates/?page=99").status_code == 200

    def test_a_common_search_says_more_than_the_limit_and_pages_as_before(self, client, login, factory, team,
                                                                         monkeypatch):
        from hiring import queries
        from hiring.views import candidates as candidates_view

        for n in range(7):
            factory.application(Stage.APPLIED, position=team["position"], at=_ago(1), email=f"many{n}@example.org")
        factory.application(Stage.APPLIED, position=team["position"], at=_ago(1), email="other@example.org")
        login(team["recruiter"])
        monkeypatch.setattr(candidates_view, "PER_PAGE", 3)

        def listed(url):
            return re.findall(r"many\d@example\.org", _text(client.get(url)))

        # Counted exactly: the pages as every search showed them before the limit.
        exact = [listed(f"/candidates/?q=many&page={n}") for n in (1, 2, 3)]
        assert "7 candidates matching" in _text(client.get("/candidates/?q=many"))
        monkeypatch.setattr(queries, "SEARCH_COUNT_LIMIT", 4)
        first = client.get("/candidates/?q=many").get_data(as_text=True)
        assert "More than 4 candidates match “many”" in first and "Page 1<" in first and "Page 1 of" not in first
        assert 'rel="next"' in first and 'rel="prev"' not in first
        # Beyond the limit (PostgreSQL walks the name index): the same rows, in the same order.
        assert [listed(f"/candidates/?q=many&page={n}") for n in (1, 2, 3)] == exact
        last = client.get("/candidates/?q=many&page=3").get_data(as_text=True)
        assert 'rel="next"' not in last and 'rel="prev"' in last
        assert "More than 4 candidates." in _text(client.get("/candidates/"))  # 8: the whole list too
        assert "1 candidate matching" in _text(client.get("/candidates/?q=other"))

    def test_a_search_counted_by_names_or_emails_stops_at_the_limit_either_way(self, client, login, factory, team,
                                                                               monkeypatch):
        from hiring import queries

        for n in range(3):  # three match by name, one by email only
            factory.application(Stage.APPLIED, position=team["position"], at=_ago(1),
                                email=f"quill{n}@example.org").candidate.name = f"Quill Namesake {n}"
        factory.application(Stage.APPLIED, position=team["position"], at=_ago(1), email="namesake@example.org")
        db.session.commit()
        login(team["recruiter"])
        # PostgreSQL counts the names first and the emails only when the names fall short.
        monkeypatch.setattr(queries, "SEARCH_COUNT_LIMIT", 2)  # the names alone reach it
        assert "More than 2 candidates match “namesake”" in client.get("/candidates/?q=namesake").get_data(as_text=True)
        monkeypatch.setattr(queries, "SEARCH_COUNT_LIMIT", 3)  # the email makes it more
        assert "More than 3 candidates match “namesake”" in client.get("/candidates/?q=namesake").get_data(as_text=True)
        monkeypatch.setattr(queries, "SEARCH_COUNT_LIMIT", 4)
        assert "4 candidates matching “namesake”" in _text(client.get("/candidates/?q=namesake"))

    def test_the_search_lists_in_name_order_when_the_name_order_has_no_room_left(self, client, login, factory, team,
                                                                                 monkeypatch):
        """SQLite keeps a second trigram index whose rowids follow name order (migration
        c8e4a6f2b1d9): a new or renamed candidate gets a key between its neighbours'. Each
        name here falls between "Quill" and the name before it, halving that gap until no key
        is left; the rest are unplaced. The pages list all of them in name order either way."""
        from hiring import queries
        from hiring.views import candidates as candidates_view

        quills = [factory.application(Stage.APPLIED, position=team["position"], at=_ago(1),
                                       email=f"q{n}@example.org") for n in range(32)]
        _named(quills[0], "Quill")
        _named(quills[1], "Quillz")
        for n, application in enumerate(quills[2:]):
            _named(application, f"Quill {999 - n}")
        _named(quills[5], "Quill 5000")  # a new name: a new place
        quills[6].candidate.email = "moved-quill@example.org"  # a new email: the same place
        db.session.commit()
        if db.engine.dialect.name == "sqlite":
            unplaced = db.session.scalar(text("SELECT count(*) FROM candidate_search_order WHERE sort_key >= :key"),
                                         {"key": queries.NAME_ORDER_UNPLACED})
            assert unplaced > 0
        candidates = sorted((a.candidate for a in quills), key=lambda c: (c.name, c.id))
        login(team["recruiter"])
        monkeypatch.setattr(candidates_view, "PER_PAGE", 5)

        def listed():
            pages = [_text(client.get(f"/candidates/?q=quill&page={n}")) for n in range(1, 8)]
            return [email for page in pages for email in re.findall(r"(?:q\d+|moved-quill)@example\.org", page)]

        assert listed() == [c.email for c in candidates]
        monkeypatch.setattr(queries, "SEARCH_COUNT_LIMIT", 10)  # "more than 10": the same pages
        assert listed() == [c.email for c in candidates]

    def test_new_application_with_document(self, client, login, team):
        login(team["recruiter"])
        form = {"position_id": team["position"].id, "name": "Nina New", "email": "Nina@Example.org",
                "phone": "+49 30 1234", "language": "de", "talent_pool_consent": "y",
                "document": (io.BytesIO(b"%PDF-1.4 cv"), "Nina CV.pdf")}
        response = client.post("/candidates/new-application", data=form, content_type="multipart/form-data")
        assert response.status_code == 302
        application = db.session.scalar(db.select(Application).join(Candidate).where(
            Candidate.email == "nina@example.org"))
        assert response.headers["Location"] == f"/applications/{application.id}"
        assert application.candidate.language == "de" and application.candidate.talent_pool_consent
        document = db.session.scalar(db.select(Document).where(Document.application_id == application.id))
        assert document.filename == "Nina CV.pdf" and document.content_type == "application/pdf"

    def test_bad_input_keeps_everything_and_saves_nothing(self, client, login, team):
        login(team["recruiter"])
        form = {"position_id": team["position"].id, "name": "Nina New", "email": "nina@example.org",
                "language": "en", "document": (io.BytesIO(b"MZ not a document"), "cv.exe")}
        response = client.post("/candidates/new-application", data=form, content_type="multipart/form-data")
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        assert 'id="document-error"' in html and "PDF, DOC, DOCX or ODT" in html
        assert 'value="Nina New"' in html and 'value="nina@example.org"' in html
        assert db.session.scalar(db.select(db.func.count()).select_from(Application)) == 0
        bad_email = client.post("/candidates/new-application", data={**form, "email": "nope", "document": None})
        assert 'id="email-error"' in bad_email.get_data(as_text=True)
        assert "again before saving" not in bad_email.get_data(as_text=True)

    def test_a_good_file_sent_with_a_bad_field_is_asked_for_again(self, client, login, team):
        login(team["recruiter"])
        form = {"position_id": team["position"].id, "name": "Nina New", "email": "not-an-email",
                "language": "en", "document": (io.BytesIO(b"%PDF-1.4 cv"), "Nina CV.pdf")}
        html = client.post("/candidates/new-application", data=form,
                           content_type="multipart/form-data").get_data(as_text=True)
        assert 'id="email-error"' in html
        assert re.search(r'id="document-hint"[^>]*>Choose “Nina CV.pdf” again before saving', html), html
        assert 'aria-describedby="document-hint"' in html

    def test_existing_candidate_and_duplicate(self, client, login, factory, team):
        existing = factory.application(Stage.APPLIED, position=team["position"], at=_ago(1))
        login(team["recruiter"])
        prefilled = client.get(f"/candidates/new-application?candidate={existing.candidate_id}")
        assert f'value="{existing.candidate.email}"' in prefilled.get_data(as_text=True)
        duplicate = client.post("/candidates/new-application", data={
            "position_id": team["position"].id, "name": existing.candidate.name,
            "email": existing.candidate.email, "language": "en"})
        assert duplicate.status_code == 200
        assert "already applied" in duplicate.get_data(as_text=True)
        again = client.post("/candidates/new-application", data={
            "position_id": team["other_position"].id, "name": existing.candidate.name,
            "email": existing.candidate.email, "language": "en"})
        assert again.status_code == 302
        assert db.session.scalar(db.select(db.func.count()).select_from(Candidate)) == 1

    def test_the_same_application_twice_at_once(self, client, login, team, race):
        """A double submit: the second request gets the duplicate message, not a 500."""
        login(team["recruiter"])
        position_id = team["position"].id

        def rival():
            position = db.session.get(Position, position_id)
            services.submit_application(position, name="Nina New", email="nina@example.org",
                                        actor=position.owner)

        race(rival)
        response = client.post("/candidates/new-application", data={
            "position_id": position_id, "name": "Nina New", "email": "nina@example.org", "language": "en"})
        html = response.get_data(as_text=True)
        assert response.status_code == 200, html[:300]
        assert 'id="email-error"' in html and "Nina New has already applied" in html
        assert 'value="Nina New"' in html
        assert db.session.scalar(db.select(db.func.count()).select_from(Application)) == 1

    def test_closed_position_cannot_be_chosen(self, client, login, team):
        services.close_position(team["other_position"], actor=team["other_recruiter"])
        login(team["recruiter"])
        response = client.post("/candidates/new-application", data={
            "position_id": team["other_position"].id, "name": "Late", "email": "late@example.org",
            "language": "en"})
        assert response.status_code == 200
        assert 'id="position_id-error"' in response.get_data(as_text=True)


class TestPositions:
    def test_create_edit_close_reopen(self, client, login, team):
        login(team["recruiter"])
        missing = client.post("/positions/new", data={"title": " ", "department": "R&D", "owner_id": "0",
                                                      "hiring_manager_id": "0"})
        assert 'id="title-error"' in missing.get_data(as_text=True)
        assert 'value="R&amp;D"' in missing.get_data(as_text=True)
        created = client.post("/positions/new", data={"title": "Test Lead", "department": "QA", "owner_id": "0",
                                                      "hiring_manager_id": str(team["manager"].id)})
        assert created.status_code == 302
        position = db.session.scalar(db.select(Position).where(Position.title == "Test Lead"))
        assert position.owner_id == team["recruiter"].id  # the creating recruiter owns it by default
        assert position.hiring_manager_id == team["manager"].id
        wrong_manager = client.post(f"/positions/{position.id}/edit", data={
            "title": "Test Lead", "owner_id": str(team["recruiter"].id), "hiring_manager_id": str(team["ivan"].id)})
        assert wrong_manager.status_code == 200  # an interviewer is not among the choices
        assert 'id="hiring_manager_id-error"' in wrong_manager.get_data(as_text=True)
        client.post(f"/positions/{position.id}/edit", data={
            "title": "Senior Test Lead", "department": "QA", "owner_id": str(team["other_recruiter"].id),
            "hiring_manager_id": str(team["manager"].id)})
        db.session.refresh(position)
        assert (position.title, position.owner_id) == ("Senior Test Lead", team["other_recruiter"].id)
        # Closing asks first (in the browser; without script on a page of its own).
        asked = client.post(f"/positions/{position.id}/close")
        assert asked.status_code == 200 and "Close “Senior Test Lead”?" in _text(asked)
        assert 'name="confirmed" value="1"' in asked.get_data(as_text=True)
        db.session.refresh(position)
        assert position.status == "open"
        client.post(f"/positions/{position.id}/close", data={"confirmed": "1"})
        db.session.refresh(position)
        assert position.status == "closed"
        client.get("/positions/")  # shows (and so consumes) the "closed" message
        assert "Senior Test Lead" not in _text(client.get("/positions/"))
        assert "Senior Test Lead" in _text(client.get("/positions/?show=all"))
        client.post(f"/positions/{position.id}/reopen")
        db.session.refresh(position)
        assert position.status == "open"


    def test_search_and_pages(self, client, login, factory, team, monkeypatch):
        from hiring.views import positions as positions_view

        monkeypatch.setattr(positions_view, "PER_PAGE", 2)
        factory.application(Stage.APPLIED, position=team["position"], at=_ago(1))
        factory.application(Stage.FIRST_DECISION, position=team["position"], at=_ago(1))
        for title in ("Test Lead", "Zynq Developer"):
            factory.position(title=title, owner=team["recruiter"])
        closed = factory.position(title="Firmware Architect", owner=team["recruiter"])
        services.close_position(closed, actor=team["recruiter"], now=utcnow())
        login(team["recruiter"])

        first = _text(client.get("/positions/"))
        assert "4 positions." in first and "Page 1 of 2" in first
        assert first.index("Firmware Engineer") < first.index("FPGA Developer")  # by title, whatever the case
        assert "Test Lead" not in first and "Firmware Architect" not in first
        second = client.get("/positions/?page=2").get_data(as_text=True)
        assert "Test Lead" in second and "Zynq Developer" in second and "Firmware Engineer" not in second
        assert 'href="/positions/?page=1" rel="prev"' in second

        found = _text(client.get("/positions/?q=FIRM"))  # title or department, any case
        assert "1 position matching “FIRM”." in found and "Firmware Engineer" in found
        assert re.search(r"Firmware Engineer .*? 2 Open", found)  # its open applications, counted
        assert "Firmware Architect" not in found
        assert "2 positions matching “FIRM”." in _text(client.get("/positions/?q=FIRM&show=all"))
        assert "Engineering" in _text(client.get("/positions/?q=engineering"))  # the department
        nothing = _text(client.get("/positions/?q=100%25"))
        assert "No open position matches “100%”." in nothing  # a LIKE wildcard is a literal
        assert client.get("/positions/?page=99").status_code == 200  # past the end: empty, not an error


class TestMyInterviews:
    def test_upcoming_and_awaiting(self, client, login, factory, team):
        application = _named(factory.application(Stage.APPLIED, position=team["position"], at=_ago(1)), "Ulla Upcoming")
        services.schedule_interview(application, round=1, scheduled_at=utcnow() + timedelta(days=3),
                                    panel_user_ids=[team["ivan"].id, team["ines"].id], location="Room 7",
                                    actor=team["recruiter"])
        _named(factory.application(Stage.FIRST_DECISION, position=team["position"], at=_ago(1),
                                   panel=[team["ivan"]], recommendations=[""]), "Held Harald")
        called_off = _named(factory.application(Stage.APPLIED, position=team["position"], at=_ago(1)),
                            "Cora Cancelled")
        cancelled = services.schedule_interview(called_off, round=1, scheduled_at=utcnow() + timedelta(days=2),
                                                panel_user_ids=[team["ivan"].id], location="Room 8",
                                                actor=team["recruiter"])
        services.cancel_interview(cancelled, reason="The candidate withdrew.", actor=team["recruiter"])
        login(team["ivan"])
        page = _text(client.get("/interviews/mine"))
        assert "Ulla Upcoming" in page and "Room 7" in page and "in 3 days" in page
        assert "Cora Cancelled" not in page and "Room 8" not in page  # neither upcoming nor awaiting feedback
        assert "Held Harald" in page and "Give feedback" in page
        assert page.index("Awaiting my feedback") < page.index("Held Harald") < page.index("Upcoming")
        assert "(yesterday)" in page
        client.post("/logout")
        login(team["ines"])
        assert "Held Harald" not in _text(client.get("/interviews/mine"))

    def test_the_empty_state_promises_the_calendar_email_that_the_panel_gets(self, client, login, factory, team):
        login(team["ivan"])
        page = _text(client.get("/interviews/mine"))
        assert "No interviews are scheduled with you" in page
        assert "you then get an email with a calendar invitation" in page
        application = factory.application(Stage.APPLIED, position=team["position"], at=_ago(1))
        services.schedule_interview(application, round=1, scheduled_at=utcnow() + timedelta(days=3),
                                    panel_user_ids=[team["ivan"].id], location="Room 7", actor=team["recruiter"])
        [email] = OutboxEmail.query.filter_by(recipient_user_id=team["ivan"].id).all()
        assert email.template == "panel_invitation"
        assert email.attachments[0]["content_type"] == "text/calendar; method=REQUEST"
        assert "No interviews are scheduled with you" not in _text(client.get("/interviews/mine"))


class TestSettings:
    def _form(self, **changes):
        policy = get_policy().to_dict()
        data = {k: str(v) for k, v in policy.items() if not isinstance(v, bool)}
        data.update({k: str(v) for k, v in changes.items()})
        return data

    def test_save_and_errors_next_to_fields(self, client, login, factory):
        admin = factory.user("admin")
        login(admin)
        page = client.get("/admin/settings").get_data(as_text=True)
        assert 'value="Europe/Berlin"' in page and 'value="14"' in page
        bad = client.post("/admin/settings", data=self._form(timezone="Mars/Olympus", applied_days="0"))
        html = bad.get_data(as_text=True)
        assert bad.status_code == 200
        assert 'id="timezone-error"' in html and "Mars/Olympus" in html
        assert 'id="applied_days-error"' in html
        good = client.post("/admin/settings", data=self._form(applied_days="10", business_days="y",
                                                                holiday_subdivision="by", digest_weekday="4"))
        assert good.status_code == 302
        from hiring.settings import forget_policy

        forget_policy()
        policy = get_policy()
        assert (policy.applied_days, policy.business_days, policy.holiday_subdivision, policy.digest_weekday) == (
            10, True, "BY", 4)
        bad_holidays = client.post("/admin/settings", data=self._form(business_days="y", holiday_country="XX"))
        assert 'id="holiday_country-error"' in bad_holidays.get_data(as_text=True)


class TestUsers:
    def test_create_change_role_deactivate_reactivate(self, client, login, factory):
        admin = factory.user("admin")
        login(admin)
        created = client.post("/admin/users", data={"name": "Ian", "email": "ian@example.com",
                                                    "role": "interviewer", "password": "long enough passphrase"})
        assert created.status_code == 302
        ian = db.session.scalar(db.select(User).where(User.email == "ian@example.com"))
        duplicate = client.post("/admin/users", data={"name": "Ian 2", "email": "IAN@example.com",
                                                      "role": "manager", "password": "long enough passphrase"})
        assert 'id="email-error"' in duplicate.get_data(as_text=True)
        assert 'value="Ian 2"' in duplicate.get_data(as_text=True)
        client.post(f"/admin/users/{ian.id}/role", data={f"u{ian.id}-role": "manager"})
        db.session.refresh(ian)
        assert ian.role == "manager"
        asked = client.post(f"/admin/users/{ian.id}/active", data={"active": "0"})
        assert asked.status_code == 200 and "Deactivate Ian?" in _text(asked)
        db.session.refresh(ian)
        assert ian.active is True
        client.post(f"/admin/users/{ian.id}/active", data={"active": "0", "confirmed": "1"})
        db.session.refresh(ian)
        assert ian.active is False
        assert "Deactivated" in _text(client.get("/admin/users"))
        client.post(f"/admin/users/{ian.id}/active", data={"active": "1"})
        db.session.refresh(ian)
        assert ian.active is True
        assert client.post("/admin/users/999999/active", data={"active": "0"}).status_code == 404

    def test_an_admin_sets_a_new_password_as_the_login_page_promises(self, client, login, factory, app):
        admin = factory.user("admin")
        ian = factory.user("interviewer", name="Ian Forgetful")
        assert "Ask an admin to set a new one" in _text(client.get("/login"))
        login(admin)
        assert f'action="/admin/users/{ian.id}/password"' in client.get("/admin/users").get_data(as_text=True)
        short = client.post(f"/admin/users/{ian.id}/password", data={f"p{ian.id}-password": "short"},
                            follow_redirects=True)
        assert "The password of Ian Forgetful was not changed: Use at least 12 characters." in _text(short)
        done = client.post(f"/admin/users/{ian.id}/password", data={f"p{ian.id}-password": "brand new secret"},
                           follow_redirects=True)
        assert "New password set for Ian Forgetful" in _text(done)
        db.session.refresh(ian)
        assert ian.check_password("brand new secret") and not ian.check_password("short")
        event = db.session.scalars(db.select(AuditEvent).where(AuditEvent.kind == "user_updated")
                                   .order_by(AuditEvent.id.desc())).first()
        assert event.data["password"] == "changed" and "brand new secret" not in str(event.data)

    def test_search_and_pages(self, client, login, factory, monkeypatch):
        from hiring.views import admin as admin_view

        monkeypatch.setattr(admin_view, "USERS_PER_PAGE", 2)
        admin = factory.user("admin", name="Ada Admin")
        factory.user("interviewer", name="bea Builder")
        factory.user("interviewer", name="Carl Coder")
        gone = factory.user("recruiter", name="Al Gone")
        services.update_user(gone, active=False, actor=admin)
        login(admin)

        first = _text(client.get("/admin/users"))
        assert "4 people." in first and "Page 1 of 2" in first
        assert first.index("Ada Admin") < first.index("bea Builder")  # active first, by name in any case
        assert "Carl Coder" not in first and "Al Gone" not in first
        second = _text(client.get("/admin/users?page=2"))
        assert second.index("Carl Coder") < second.index("Al Gone")  # the deactivated last
        found = client.get("/admin/users?q=CODER").get_data(as_text=True)
        assert "1 person matching “CODER”" in found and "Carl Coder" in found
        assert 'data-label="Name">Ada Admin' not in found and 'data-label="Name">bea Builder' not in found
        assert "Al Gone" in _text(client.get(f"/admin/users?q={gone.email}"))  # by email too
        assert "0 people matching “_”" in _text(client.get("/admin/users?q=_"))  # a literal, not a wildcard
        assert "Add a team member" in _text(client.get("/admin/users?q=nobody"))  # the form stays

    def test_last_admin_is_protected_with_a_message_not_an_error(self, client, login, factory):
        admin = factory.user("admin")
        login(admin)
        response = client.post(f"/admin/users/{admin.id}/role", data={f"u{admin.id}-role": "recruiter"},
                               headers={"Referer": "http://localhost/admin/users"})
        assert response.status_code == 302 and response.headers["Location"] == "/admin/users"
        page = _text(client.get("/admin/users"))
        assert "last active admin" in page
        db.session.refresh(admin)
        assert admin.role == "admin"
        own = client.post(f"/admin/users/{admin.id}/active", data={"active": "0"}, follow_redirects=True)
        assert "cannot deactivate your own account" in own.get_data(as_text=True)


class TestReadOnlyRequests:
    """A page that only read ends its transaction with COMMIT (psycopg keeps its prepared
    statements, which a ROLLBACK discards); a change left unsaved is never committed."""

    @staticmethod
    def _commits(app):
        from sqlalchemy import event

        commits: list[int] = []
        with app.app_context():
            engine = db.engine
        event.listen(engine, "commit", lambda conn: commits.append(1))
        return commits

    def test_a_page_that_only_read_commits(self, app, client, login, team):
        login(team["recruiter"])
        commits = self._commits(app)
        assert client.get("/").status_code == 200
        assert commits == [1]
        assert client.get("/positions/999999/board").status_code == 404
        assert commits == [1]  # an error page ends with the rollback, as before

    def test_a_change_left_unsaved_by_a_page_is_not_committed(self, app, client, login, team):
        from flask_login import current_user

        @app.before_request
        def _rename():  # a page that changes an object and does not save it
            if current_user.is_authenticated:
                current_user.name = "Renamed by accident"

        login(team["recruiter"])
        commits = self._commits(app)
        assert client.get("/").status_code == 200
        assert commits == []
        db.session.expire_all()
        assert db.session.get(User, team["recruiter"].id).name == "Rita Recruiter"


class TestReadOnlyPages:
    """Pages marked read_only read on PostgreSQL without a transaction (no BEGIN, no COMMIT);
    one that writes through the session is an error, never a write committed on its own."""

    def test_a_read_only_page_reads_without_a_transaction_on_postgresql(self, app, client, login, team):
        from sqlalchemy import event

        login(team["recruiter"])
        autocommit: list[bool] = []
        with app.app_context():
            engine = db.engine

        def record(conn, cursor, statement, parameters, context, executemany):
            autocommit.append(getattr(conn.connection.dbapi_connection, "autocommit", False) is True)

        event.listen(engine, "before_cursor_execute", record)
        try:
            assert client.get("/board").status_code == 200
            reads_of_the_board = list(autocommit)
            autocommit.clear()
            assert client.get("/candidates/new-application").status_code == 200  # not marked
        finally:
            event.remove(engine, "before_cursor_execute", record)
        assert reads_of_the_board, "the board read nothing"
        assert all(reads_of_the_board) == (engine.dialect.name == "postgresql")
        assert not any(autocommit)

    def test_a_read_only_page_that_writes_fails_and_saves_nothing(self, app, client, login, team):
        from flask_login import current_user

        @app.before_request
        def _rename():  # a page that saves a change: a bug in a page marked read_only
            if current_user.is_authenticated:
                current_user.name = "Renamed on purpose"
                db.session.flush()

        login(team["recruiter"])
        with pytest.raises(RuntimeError, match="read_only"):
            client.get("/")
        db.session.rollback()
        db.session.expire_all()
        assert db.session.get(User, team["recruiter"].id).name == "Rita Recruiter"


def test_due_badges_name_the_promised_moment_in_the_company_zone(client, login, factory, team):
    from hiring import timefmt

    late = factory.application(Stage.APPLIED, position=team["position"], at=_ago(20))
    fresh = factory.application(Stage.APPLIED, position=team["position"], at=_ago(1))
    login(team["recruiter"])
    board = client.get("/board").get_data(as_text=True)
    for application, kind in ((late, "overdue"), (fresh, "on-track")):
        when = timefmt.date_time(application.due_at, get_policy())
        assert f'<span class="badge badge-{kind}" title="Team deadline {when}">' in board
    assert f"⚠ Overdue · {timefmt.due_label(late.due_at, utcnow(), get_policy())}" in board
