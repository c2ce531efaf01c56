"""The reports (hiring.reports): a known history built through the services with chosen
clocks, and every figure asserted exactly."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import event, func, literal, select

from hiring import pipeline, reports, services
from hiring.extensions import db
from hiring.models import Application, Promise, ReportDurationDay, ReportPromiseDay
from hiring.pipeline import UTC
from hiring.reports.days import local_days_between
from hiring.settings import get_policy

NOVEMBER = dict(start=date(2026, 11, 1), end=date(2026, 11, 30))


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=pipeline.ZoneInfo("Europe/Berlin")).astimezone(UTC)


REPORT_NOW = berlin(2026, 11, 25, 12, 0)


def submit(position, name, day, *, source="direct", actor=None, month=11):
    at = berlin(2026, month, day, 10, 0)
    return services.submit_application(position, name=name, email=f"{name.lower()}@example.org", source=source,
                                       actor=actor or position.owner, applied_at=at, now=at)


def interview(application, round_, *, told, at, panel):
    return services.schedule_interview(application, round=round_, scheduled_at=at, panel_user_ids=[u.id for u in panel],
                                       location="Room 1", actor=application.position.owner, now=told)


def held(item, at):
    services.record_interview_held(item, held_at=at, actor=item.application.position.owner, now=at)


@pytest.fixture
def history(factory):
    """Seven applications in November 2026 (Berlin, CET all month), with their promises:

    A (referral, P): applied 2 Nov → interview 6 Nov 10:00 → debrief advance 9 Nov 10:00 →
      second interview 12 Nov 10:00 → offer decided 14 Nov 10:00 → accepted 16 Nov 10:00.
      Promises: 16 Nov (applied) kept, 13 Nov (first_interview) kept, 23 Nov and 19 Nov
      (second_interview) kept.
    B (careers_site, P): applied 3 Nov (promise 17 Nov), moved by a person on 15 Nov to
      22 Nov, rejected on 20 Nov: moved, kept.
    C (careers_site, P): applied 5 Nov, nobody acts: 19 Nov passed in silence (broken,
      not yet recorded), overdue now.
    D (direct, P2): applied 6 Nov (promise 20 Nov), interview scheduled on 23 Nov: broken
      (recorded); the next promise (3 Dec) lies after the period.
    E (agency, P2): applied 10 Nov (promise 24 Nov), withdrew 12 Nov: withdrawn.
    F (direct, P): applied 2 Nov, interview 3 Nov 10:00, rejected 10 Nov 22:00 (7.5 days
      elapsed, 7 company-local days: within the policy's 7, as the date told, 10 Nov, was
      kept): kept, kept.
    G (direct, P2): applied 10 Oct, outside the period, nobody acts: overdue now.
    """
    recruiter = factory.user("recruiter", name="Rita Recruiter")
    other = factory.user("recruiter", name="Robin Recruiter")
    manager = factory.user("manager", name="Mona Manager")
    panel = [factory.user("interviewer"), factory.user("interviewer")]
    p = factory.position(title="Firmware", owner=recruiter, hiring_manager=manager)
    p2 = factory.position(title="Hardware", owner=other, hiring_manager=manager)

    g = submit(p2, "G", 10, month=10)
    a = submit(p, "A", 2, source="referral")
    f = submit(p, "F", 2)
    first = interview(f, 1, told=berlin(2026, 11, 2, 11, 0), at=berlin(2026, 11, 3, 10, 0), panel=panel)
    b = submit(p, "B", 3, source="careers_site")
    held(first, berlin(2026, 11, 3, 11, 0))
    first_a = interview(a, 1, told=berlin(2026, 11, 4, 10, 0), at=berlin(2026, 11, 6, 10, 0), panel=panel)
    c = submit(p, "C", 5, source="careers_site")
    held(first_a, berlin(2026, 11, 6, 11, 0))
    d = submit(p2, "D", 6)
    services.decide(a, outcome="advance", rationale="Agreed in the debrief.", actor=recruiter,
                    now=berlin(2026, 11, 9, 10, 0))
    second_a = interview(a, 2, told=berlin(2026, 11, 10, 10, 0), at=berlin(2026, 11, 12, 10, 0), panel=panel)
    e = submit(p2, "E", 10, source="agency")
    services.decide(f, outcome="reject", rationale="Not a fit.", actor=recruiter, now=berlin(2026, 11, 10, 22, 0))
    held(second_a, berlin(2026, 11, 12, 11, 0))
    services.withdraw(e, reason="Took another job.", actor=other, now=berlin(2026, 11, 12, 12, 0))
    services.decide_offer(a, outcome="advance", rationale="Agreed with management.", actor=manager,
                          now=berlin(2026, 11, 14, 10, 0))
    services.extend_deadline(b, until=date(2026, 11, 22), reason="The team lead is away.", actor=recruiter,
                             now=berlin(2026, 11, 15, 10, 0))
    services.record_offer_response(a, accepted=True, actor=recruiter, now=berlin(2026, 11, 16, 10, 0))
    services.decide(b, outcome="reject", rationale="Not a fit.", actor=recruiter, now=berlin(2026, 11, 20, 10, 0))
    interview(d, 1, told=berlin(2026, 11, 23, 10, 0), at=berlin(2026, 11, 26, 10, 0), panel=panel)
    db.session.commit()
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "f": f, "g": g, "p": p, "p2": p2,
            "recruiter": recruiter, "other": other, "manager": manager}


def counts(c: reports.PromiseCounts) -> tuple:
    return (c.told, c.kept, c.moved, c.broken, c.withdrawn, c.open, c.kept_rate)


def test_the_history_has_the_promise_record_the_report_expects(history):
    """The premise of the figures below, straight from the promise record."""
    by_app = {}
    for row in db.session.scalars(select(Promise).order_by(Promise.id)):
        by_app.setdefault(row.application_id, []).append((row.promised_for.day, row.stage, row.outcome))
    assert by_app[history["a"].id] == [(16, "applied", "kept"), (13, "first_interview", "kept"),
                                       (23, "second_interview", "kept"), (19, "second_interview", "kept")]
    assert by_app[history["b"].id] == [(17, "applied", "moved"), (22, "applied", "kept")]
    assert by_app[history["c"].id] == [(19, "applied", None)]
    assert by_app[history["d"].id] == [(20, "applied", "broken"), (3, "first_interview", None)]
    assert by_app[history["e"].id] == [(24, "applied", "withdrawn")]
    assert by_app[history["f"].id] == [(16, "applied", "kept"), (10, "first_interview", "kept")]


def test_promises_kept(history):
    report = reports.promises(reports.Filters(**NOVEMBER), REPORT_NOW)
    # told 11: kept 7, moved 1 (B), broken 2 (C in silence, D recorded), withdrawn 1 (E).
    assert counts(report.total) == (11, 7, 1, 2, 1, 0, 0.7)
    assert [(start.day, end.day, counts(c)) for start, end, c in report.weeks] == [
        (1, 7, (0, 0, 0, 0, 0, 0, None)),
        (8, 14, (2, 2, 0, 0, 0, 0, 1.0)),
        (15, 21, (6, 3, 1, 2, 0, 0, 0.5)),
        (22, 28, (3, 2, 0, 0, 1, 0, 1.0)),
        (29, 30, (0, 0, 0, 0, 0, 0, None)),
    ]
    assert [(stage, counts(c)) for stage, c in report.stages] == [
        ("applied", (7, 3, 1, 2, 1, 0, 0.5)),
        ("first_interview", (2, 2, 0, 0, 0, 0, 1.0)),
        ("second_interview", (2, 2, 0, 0, 0, 0, 1.0)),
    ]
    assert [(owner_id, name, counts(c)) for owner_id, name, c in report.owners] == [
        (history["recruiter"].id, "Rita Recruiter", (9, 7, 1, 1, 0, 0, 0.7778)),
        (history["other"].id, "Robin Recruiter", (2, 0, 0, 1, 1, 0, 0.0)),
    ]


def test_a_silent_date_is_broken_only_once_its_day_is_over(history):
    before = reports.promises(reports.Filters(**NOVEMBER), berlin(2026, 11, 19, 23, 0))
    # At 23:00 on 19 Nov, C's date (19 Nov) has not passed yet; D's recorded outcome is
    # read as it stands now (the report reads the record, not a replay of the past).
    assert (before.total.broken, before.total.open) == (1, 1)


def test_promises_of_one_position_and_one_owner(history):
    by_position = reports.promises(reports.Filters(**NOVEMBER, position_id=history["p2"].id), REPORT_NOW)
    assert counts(by_position.total) == (2, 0, 0, 1, 1, 0, 0.0)
    by_owner = reports.promises(reports.Filters(**NOVEMBER, owner_id=history["recruiter"].id), REPORT_NOW)
    assert counts(by_owner.total) == (9, 7, 1, 1, 0, 0, 0.7778)


def test_time_per_stage_against_the_policy(history):
    report = reports.stage_times(reports.Filters(**NOVEMBER), get_policy())
    summary = {stage: (t.count, t.median_days, t.p90_days, t.within_policy, t.within_policy_rate, t.policy_days)
               for stage, t in report.stages.items()}
    assert summary == {
        # A: 3 days, F: 7 (3 Nov → 10 Nov 22:00); median 5.0, p90 3 + 0.9 × 4 = 6.6; both within 7 days.
        "first_decision": (2, 5.0, 6.6, 2, 1.0, 7),
        "second_interview": (1, 3.0, 3.0, 1, 1.0, 14),  # A: invited 9 Nov 10:00, interview 12 Nov 10:00
        "final_decision": (1, 2.0, 2.0, 1, 1.0, 7),  # A: interview 12 Nov 10:00, offer decided 14 Nov 10:00
    }
    weekly = [(start.day, {s: (t.count, t.median_days) for s, t in stages.items() if t.count})
              for start, _, stages in report.weeks]
    assert weekly == [(1, {}), (8, {"first_decision": (2, 5.0), "second_interview": (1, 3.0),
                                    "final_decision": (1, 2.0)}), (15, {}), (22, {}), (29, {})]


def test_funnel_of_the_applications_received(history):
    steps = reports.funnel(reports.Filters(**NOVEMBER), get_policy())
    assert [(s.stage, s.count, s.conversion) for s in steps] == [
        ("applied", 6, None),  # A B C D E F (G came in October)
        ("first_interview", 3, 0.5),  # A D F
        ("first_decision", 2, 0.6667),  # A F
        ("second_interview", 1, 0.5),
        ("final_decision", 1, 1.0),
        ("offer", 1, 1.0),
        ("hired", 1, 1.0),
        ("rejected", 2, None),  # B F
        ("declined", 0, None),
        ("withdrawn", 1, None),  # E
    ]


def test_time_to_hire_and_to_offer(history):
    times = reports.time_to_hire(reports.Filters(**NOVEMBER), get_policy())
    assert (times.hire.count, times.hire.median, times.hire.p90) == (1, 14.0, 14.0)
    assert (times.offer.count, times.offer.median, times.offer.p90) == (1, 12.0, 12.0)
    october = reports.time_to_hire(reports.Filters(start=date(2026, 10, 1), end=date(2026, 10, 31)), get_policy())
    assert (october.hire.count, october.hire.median, october.hire.p90) == (0, None, None)


def test_sources(history):
    rows = reports.sources(reports.Filters(**NOVEMBER), get_policy())
    assert [(r.source, r.applications, r.interviews, r.hires) for r in rows] == [
        ("careers_site", 2, 0, 0), ("referral", 1, 1, 1), ("agency", 1, 0, 0), ("job_board", 0, 0, 0),
        ("direct", 2, 2, 0), ("talent_pool", 0, 0, 0), ("other", 0, 0, 0),
    ]


def test_overdue_now_per_owner_and_position(history):
    report = reports.overdue_now(reports.Filters(**NOVEMBER), REPORT_NOW, get_policy())
    assert [(r.id, r.name, r.count) for r in report.owners] == [
        (history["recruiter"].id, "Rita Recruiter", 1), (history["other"].id, "Robin Recruiter", 1)]
    assert [(r.id, r.name, r.count) for r in report.positions] == [
        (history["p"].id, "Firmware", 1), (history["p2"].id, "Hardware", 1)]
    assert report.total == 2


def test_the_summary(history):
    assert reports.summary(reports.Filters(**NOVEMBER), REPORT_NOW, get_policy()) == NOVEMBER_SUMMARY


NOVEMBER_SUMMARY = {
    "promises": {"told": 11, "kept": 7, "moved": 1, "broken": 2, "kept_rate": 0.7},
    "stages": {
        "first_decision": {"median_days": 5.0, "p90_days": 6.6, "within_policy_rate": 1.0, "count": 2},
        "second_interview": {"median_days": 3.0, "p90_days": 3.0, "within_policy_rate": 1.0, "count": 1},
        "final_decision": {"median_days": 2.0, "p90_days": 2.0, "within_policy_rate": 1.0, "count": 1},
    },
    "funnel": [{"stage": "applied", "count": 6}, {"stage": "first_interview", "count": 3},
               {"stage": "first_decision", "count": 2}, {"stage": "second_interview", "count": 1},
               {"stage": "final_decision", "count": 1}, {"stage": "offer", "count": 1},
               {"stage": "hired", "count": 1}, {"stage": "rejected", "count": 2},
               {"stage": "declined", "count": 0}, {"stage": "withdrawn", "count": 1}],
    "time_to_hire_days": {"median": 14.0, "p90": 14.0},
    "sources": [{"source": "careers_site", "applications": 2, "hires": 0},
                {"source": "referral", "applications": 1, "hires": 1},
                {"source": "agency", "applications": 1, "hires": 0},
                {"source": "job_board", "applications": 0, "hires": 0},
                {"source": "direct", "applications": 2, "hires": 0},
                {"source": "talent_pool", "applications": 0, "hires": 0},
                {"source": "other", "applications": 0, "hires": 0}],
}


@pytest.mark.parametrize("n, expected", [
    (1, (7.0, 7.0)), (2, (7.5, 7.9)), (3, (8.0, 8.8)), (4, (8.5, 9.7)), (10, (11.5, 15.1)), (11, (12.0, 16.0)),
])
def test_median_and_p90_interpolate_like_percentile_cont(factory, n, expected):
    """Applications received 7, 8, … days before one moment: the median and p90 of
    percentile_cont, on both databases."""
    position = factory.position()
    moment = berlin(2026, 11, 20, 10, 0)
    for i in range(n):
        services.submit_application(position, name=f"N{i}", email=f"n{i}@example.org", actor=position.owner,
                                    applied_at=moment - timedelta(days=7 + i), now=moment)
    sub = select(local_days_between(Application.applied_at, literal(moment, type_=Application.applied_at.type),
                                    get_policy().timezone).label("value"), literal("x").label("kind")
                 ).where(Application.position_id == position.id).subquery()
    [(key, dist)] = reports.figures._distribution(sub, ["kind"]).items()
    assert (key, dist.count, dist.median, dist.p90) == (("x",), n, *expected)


def test_the_statements_do_not_grow_with_the_data(history, factory):
    def statements() -> int:
        seen: list[str] = []

        def count(conn, cursor, statement, *args):
            seen.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            reports.build(reports.Filters(**NOVEMBER), REPORT_NOW, get_policy())
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(seen)

    before = statements()
    for i in range(15):
        submit(history["p"], f"More{i}", 3 + i % 10, source="job_board")
    db.session.commit()
    assert statements() == before


def test_the_weekly_digest_line(history):
    """Monday 30 Nov: last week is 23–29 Nov (A's 23rd kept, E's 24th withdrawn); the weeks
    before: 2–8 Nov nothing due, 9–15 Nov A's and F's kept, 16–22 Nov 4 of 7 kept."""
    from hiring import reminders
    from hiring.models import OutboxEmail

    monday = berlin(2026, 11, 30, 9, 0)
    line = "Promises kept last week: 100% (1 of 1 due). 4-week trend: – → 100% → 57% → 100%."
    assert reports.digest_line(monday, get_policy()) == line
    assert reports.digest_line(berlin(2026, 11, 23, 9, 0), get_policy()) == (
        "Promises kept last week: 57% (4 of 7 due), 2 passed in silence. 4-week trend: – → – → 100% → 57%.")
    assert reminders.send_weekly_digest(monday)["digests"] == 2  # C's owner and G's
    digests = db.session.scalars(select(OutboxEmail).where(OutboxEmail.template == "digest")).all()
    assert all(line in d.body_text and line in d.body_html for d in digests)


def test_a_decision_late_on_the_last_day_after_summer_time_ended_stays_in_the_last_week(factory):
    """28 days from 5 Oct to 1 Nov 2026 hold 28 days and one hour (summer time ends on 25 Oct):
    a decision at 23:30 on 1 Nov is in the period's fourth week, not a fifth."""
    recruiter = factory.user("recruiter")
    position = factory.position(owner=recruiter)
    application = submit(position, "Late", 5, month=10, actor=recruiter)
    first = interview(application, 1, told=berlin(2026, 10, 20, 9, 0), at=berlin(2026, 10, 26, 10, 0),
                      panel=[factory.user("interviewer")])
    held(first, berlin(2026, 10, 26, 11, 0))
    services.decide(application, outcome="reject", rationale="Not a fit.", actor=recruiter,
                    now=berlin(2026, 11, 1, 23, 30))
    report = reports.stage_times(reports.Filters(start=date(2026, 10, 5), end=date(2026, 11, 1)), get_policy())
    assert len(report.weeks) == 4
    assert [stages["first_decision"].count for _, _, stages in report.weeks] == [0, 0, 0, 1]
    assert report.stages["first_decision"].count == 1


def test_within_policy_counts_company_local_days(factory):
    """A 7-day policy counts dates, not hours: interviewed Monday 2 Nov 10:00, a decision at
    23:30 on the seventh day (9 Nov) is within it (7 days 13.5 hours elapsed), one at 00:30
    on the eighth day (10 Nov, 7 days 14.5 hours) is not."""
    recruiter = factory.user("recruiter")
    position = factory.position(owner=recruiter)
    panel = [factory.user("interviewer")]
    for name, decided in (("Late", berlin(2026, 11, 9, 23, 30)), ("Later", berlin(2026, 11, 10, 0, 30))):
        application = submit(position, name, 1, actor=recruiter)
        first = interview(application, 1, told=berlin(2026, 11, 1, 12, 0), at=berlin(2026, 11, 2, 10, 0), panel=panel)
        held(first, berlin(2026, 11, 2, 11, 0))
        services.decide(application, outcome="reject", rationale="Not a fit.", actor=recruiter, now=decided)
    db.session.commit()
    stage = reports.stage_times(reports.Filters(**NOVEMBER), get_policy()).stages["first_decision"]
    assert (stage.count, stage.median_days, stage.p90_days, stage.within_policy, stage.policy_days) == (
        2, 7.5, 7.9, 1, 7)


# --- the rollup (hiring.reports.rollup) gives the same figures as the records ---------------------


def _figures(report: reports.Report) -> tuple:
    return (report.promises, report.stage_times, report.funnel, report.time_to_hire, report.sources, report.overdue)


def test_the_rollup_gives_the_live_figures_exactly(history):
    policy = get_policy()
    assert reports.rollup.refresh(REPORT_NOW, policy)["rebuilt"] is True
    assert reports.rollup.summary(reports.Filters(**NOVEMBER), REPORT_NOW, policy) == {
        **NOVEMBER_SUMMARY, "as_of": REPORT_NOW}
    every = [NOVEMBER, dict(start=date(2026, 10, 1), end=date(2026, 12, 31)),
             dict(start=date(2026, 11, 9), end=date(2026, 11, 16))]
    for period in every:
        for narrowed in ({}, {"position_id": history["p"].id}, {"position_id": history["p2"].id},
                         {"owner_id": history["recruiter"].id}, {"owner_id": history["other"].id}):
            filters = reports.Filters(**period, **narrowed)
            from_rollup = reports.rollup.build(filters, REPORT_NOW, policy)
            assert from_rollup.as_of == REPORT_NOW
            assert _figures(from_rollup) == _figures(reports.build(filters, REPORT_NOW, policy)), (period, narrowed)
    # Spot checks that the comparison compares something: the figures asserted above, by the rollup.
    report = reports.rollup.build(reports.Filters(**NOVEMBER), REPORT_NOW, policy)
    assert counts(report.promises.total) == (11, 7, 1, 2, 1, 0, 0.7)
    assert [(s.stage, s.count) for s in report.funnel][:3] == [("applied", 6), ("first_interview", 3),
                                                                ("first_decision", 2)]


def test_without_a_rollup_the_figures_are_live_as_of_now(history):
    report = reports.rollup.build(reports.Filters(**NOVEMBER), REPORT_NOW, get_policy())
    assert report.as_of == REPORT_NOW
    assert reports.rollup.summary(reports.Filters(**NOVEMBER), REPORT_NOW, get_policy())["promises"] == (
        NOVEMBER_SUMMARY["promises"])


def test_the_refresh_rebuilds_only_when_the_figures_moved(history):
    """Built on 18 Nov: C's date (19 Nov) is still open. Rerun: nothing to rebuild, the
    figures only get younger. On 25 Nov nothing was recorded, but C's date passed in
    silence: rebuilt, broken. A new application: rebuilt."""
    policy = get_policy()
    on_18th = berlin(2026, 11, 18, 12, 0)
    assert reports.rollup.refresh(on_18th, policy)["rebuilt"] is True
    before = reports.rollup.build(reports.Filters(**NOVEMBER), on_18th, policy).promises.total
    assert reports.rollup.refresh(on_18th + timedelta(hours=1), policy)["rebuilt"] is False
    assert reports.rollup.current(policy).as_of == on_18th + timedelta(hours=1)
    assert reports.rollup.refresh(REPORT_NOW, policy)["rebuilt"] is True
    after = reports.rollup.build(reports.Filters(**NOVEMBER), REPORT_NOW, policy).promises.total
    # The record as it stands (D's recorded broken), C's open date as at the 18th: as the live figures.
    assert (before.broken, before.open) == (1, 1)
    assert before == reports.promises(reports.Filters(**NOVEMBER), on_18th).total
    assert (after.broken, after.open) == (2, 0)
    assert reports.rollup.refresh(REPORT_NOW, policy)["rebuilt"] is False
    submit(history["p"], "H", 20)
    db.session.commit()
    assert reports.rollup.refresh(REPORT_NOW, policy)["rebuilt"] is True
    assert reports.rollup.build(reports.Filters(**NOVEMBER), REPORT_NOW, policy).funnel[0].count == 7


def test_the_refresh_is_a_scheduled_job(history):
    from hiring import jobs

    assert jobs.run_job("report-rollup", REPORT_NOW)["rebuilt"] is True
    assert jobs.run_job("report-rollup", REPORT_NOW)["rebuilt"] is False


def test_on_sqlite_the_rebuild_lets_others_write_while_it_aggregates(history, monkeypatch):
    """SQLite has one writer at a time: aggregating a million applications takes tens of
    seconds, during which every recorded change would wait (or time out). The figures are
    built into TEMP tables first; only the swap takes the write lock."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's rebuild does not stop writers (MVCC)")
    import sqlite3

    writes: list[str] = []
    fill = reports.rollup._fill

    def fill_then_write(*args, **kwargs):
        fill(*args, **kwargs)
        other = sqlite3.connect(db.engine.url.database, timeout=0.5, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # the write lock, as a recorded change takes it
            other.execute("ROLLBACK")
            writes.append("written")
        except sqlite3.OperationalError as error:
            writes.append(str(error))
        finally:
            other.close()

    monkeypatch.setattr(reports.rollup, "_fill", fill_then_write)
    assert reports.rollup.refresh(REPORT_NOW, get_policy())["rebuilt"] is True
    assert writes == ["written"]
    assert counts(reports.rollup.build(reports.Filters(**NOVEMBER), REPORT_NOW, get_policy()).promises.total) == (
        11, 7, 1, 2, 1, 0, 0.7)


def test_without_a_readable_rollup_past_the_live_limit_the_figures_are_not_ready(history):
    """7 applications. Without a rollup, live up to the limit; past it NotReady, also when
    the rollup was built in another time zone; a rollup in the zone is read whatever the size."""
    from dataclasses import replace

    policy = get_policy()
    filters = reports.Filters(**NOVEMBER)
    assert reports.rollup.build(filters, REPORT_NOW, policy, live_limit=7).as_of == REPORT_NOW  # live
    assert reports.rollup.build(filters, REPORT_NOW, policy).as_of == REPORT_NOW  # no limit
    with pytest.raises(reports.rollup.NotReady, match="being prepared"):
        reports.rollup.build(filters, REPORT_NOW, policy, live_limit=6)
    with pytest.raises(reports.rollup.NotReady):
        reports.rollup.summary(filters, REPORT_NOW, policy, live_limit=6)
    built = REPORT_NOW - timedelta(hours=2)
    reports.rollup.refresh(built, policy)
    assert reports.rollup.build(filters, REPORT_NOW, policy, live_limit=0).as_of == built
    lisbon = replace(policy, timezone="Europe/Lisbon")
    with pytest.raises(reports.rollup.NotReady):
        reports.rollup.build(filters, REPORT_NOW, lisbon, live_limit=6)


# --- the incremental refresh (hiring.reports.changes) equals a full rebuild ---------------------


def _rollup_rows() -> dict[str, list[tuple]]:
    """Every row of the three rollup tables, without their ids, in order."""
    rows = {}
    for model in reports.rollup.ROLLUP_TABLES:
        columns = [c for c in model.__table__.columns if c.name != "id"]
        rows[model.__tablename__] = sorted(
            (tuple(str(v) for v in row) for row in db.session.execute(select(*columns))), key=repr)
    return rows


def _full_rebuild_rows(now: datetime) -> dict[str, list[tuple]]:
    """What a full rebuild at ``now`` would hold, computed in a transaction then rolled back
    (the rollup's own state, and so the next incremental refresh, stays as it was)."""
    from sqlalchemy import delete

    db.session.commit()
    for model in reports.rollup.ROLLUP_TABLES:
        db.session.execute(delete(model))
    reports.rollup._fill(db.session.execute, {m: m.__table__ for m in reports.rollup.ROLLUP_TABLES}, now,
                         get_policy())
    rows = _rollup_rows()
    db.session.rollback()
    return rows


def _incremental(now: datetime, *, days: int | None = None) -> dict:
    """Refresh at ``now``: it must take the incremental path and give a full rebuild's rows."""
    result = reports.rollup.refresh(now, get_policy())
    assert result["rebuilt"] is True and result["full"] is False, result
    if days is not None:
        assert result["days"] == days, result
    assert _rollup_rows() == _full_rebuild_rows(now)
    return result


def test_the_incremental_refresh_gives_a_full_rebuilds_rows(factory):
    """A history driven through the verbs with chosen clocks, refreshed after each step:
    every refresh recomputes only the changed days, and the three tables are row for row
    what a full rebuild at the same moment holds. Between the steps nothing is rebuilt in
    full, so a day left out at any step stays wrong and fails a later comparison too."""
    from hiring import privacy
    from hiring.models import ReportApplicationDay
    from hiring.services.core import audit, transaction

    policy = get_policy()
    rita = factory.user("recruiter", name="Rita Recruiter")
    robin = factory.user("recruiter", name="Robin Recruiter")
    admin = factory.user("admin")
    manager = factory.user("manager")
    panel = [factory.user("interviewer"), factory.user("interviewer")]
    p = factory.position(title="Firmware", owner=rita, hiring_manager=manager)
    p2 = factory.position(title="Hardware", owner=robin, hiring_manager=manager)

    # 0. Two applications, built in full (there is no rollup yet).
    a = submit(p, "A", 2, source="referral")
    b = submit(p2, "B", 3)
    first = reports.rollup.refresh(berlin(2026, 11, 3, 18, 0), policy)
    assert (first["full"], first["reason"]) == (True, "no rollup yet")
    assert reports.rollup.refresh(berlin(2026, 11, 3, 19, 0), policy)["rebuilt"] is False

    # 1. New applications and a first interview: the applied days and the promised days.
    c = submit(p, "C", 4, source="careers_site")
    d = submit(p, "D", 4, source="agency")
    first_a = interview(a, 1, told=berlin(2026, 11, 4, 11, 0), at=berlin(2026, 11, 6, 10, 0), panel=panel)
    _incremental(berlin(2026, 11, 4, 18, 0))

    # 2. Held, decided (advance and reject), the second interview: duration rows appear.
    held(first_a, berlin(2026, 11, 6, 11, 0))
    first_c = interview(c, 1, told=berlin(2026, 11, 6, 12, 0), at=berlin(2026, 11, 9, 10, 0), panel=panel)
    held(first_c, berlin(2026, 11, 9, 11, 0))
    services.decide(a, outcome="advance", rationale="Agreed.", actor=rita, now=berlin(2026, 11, 10, 10, 0))
    services.decide(c, outcome="reject", rationale="Not a fit.", actor=rita, now=berlin(2026, 11, 10, 23, 30))
    second_a = interview(a, 2, told=berlin(2026, 11, 11, 10, 0), at=berlin(2026, 11, 13, 10, 0), panel=panel)
    held(second_a, berlin(2026, 11, 13, 11, 0))
    _incremental(berlin(2026, 11, 13, 18, 0))
    assert db.session.scalar(select(func.count()).select_from(ReportDurationDay)) > 0

    # 3. Nothing recorded, but the clock passes B's and D's promised days: broken, only
    # those days recomputed.
    lapsed = _incremental(berlin(2026, 11, 19, 9, 0))
    assert 1 <= lapsed["days"] <= 2
    assert db.session.scalar(select(func.count()).select_from(ReportPromiseDay).where(
        ReportPromiseDay.status == "broken")) > 0

    # 4. A withdrawal, a date moved by a person, the offer decided and accepted.
    services.withdraw(d, reason="Took another job.", actor=rita, now=berlin(2026, 11, 19, 12, 0))
    services.extend_deadline(b, until=date(2026, 11, 27), reason="Away.", actor=robin,
                             now=berlin(2026, 11, 19, 13, 0))
    services.decide_offer(a, outcome="advance", rationale="Agreed.", actor=manager, now=berlin(2026, 11, 20, 10, 0))
    services.record_offer_response(a, accepted=True, actor=rita, now=berlin(2026, 11, 21, 10, 0))
    _incremental(berlin(2026, 11, 21, 18, 0))

    # 5. A position's owner changes (its applications keep theirs): recorded, no day moves.
    services.update_position(p, owner_id=robin.id, actor=admin, now=berlin(2026, 11, 22, 9, 0))
    _incremental(berlin(2026, 11, 22, 10, 0), days=0)

    # 6. An application changes owner (no verb does yet; one that did would audit it): its
    # rows move to other keys of the same days, which are recomputed whole.
    with transaction():
        b.owner_id = rita.id
        audit("owner_changed", berlin(2026, 11, 22, 11, 0), admin, b, owner_id=rita.id)
    _incremental(berlin(2026, 11, 22, 12, 0))
    assert db.session.scalar(select(func.count()).select_from(ReportApplicationDay).where(
        ReportApplicationDay.owner_id == robin.id)) == 0

    # 7. An erasure on request: the open application is withdrawn, the text blanked.
    e = submit(p2, "E", 22)
    privacy.erase_candidate(e.candidate, reason="Request by email.", actor=admin, now=berlin(2026, 11, 23, 9, 0))
    _incremental(berlin(2026, 11, 23, 10, 0))

    # 8. A later run with a promise told in December lapsing: the figures move again.
    _incremental(berlin(2026, 12, 31, 10, 0))
    assert reports.rollup.refresh(berlin(2026, 12, 31, 11, 0), policy)["rebuilt"] is False


def test_the_refresh_falls_back_to_a_full_rebuild(history, monkeypatch):
    """Forced, another time zone, too many days, or changes it cannot attribute: every row."""
    from hiring import cli
    from hiring.models import ReportRollup

    policy = get_policy()
    assert reports.rollup.refresh(REPORT_NOW, policy, force=True)["reason"] == "forced"

    def next_refresh(**kwargs) -> dict:
        result = reports.rollup.refresh(REPORT_NOW, get_policy(), **kwargs)
        assert result["rebuilt"] is True and _rollup_rows() == _full_rebuild_rows(REPORT_NOW)
        return result

    submit(history["p"], "H", 20)
    monkeypatch.setattr(reports.rollup, "MAX_INCREMENTAL_DAYS", 1)
    assert next_refresh()["reason"] == "2 days changed (more than 1)"  # its applied day and its promised day
    monkeypatch.undo()

    submit(history["p"], "I", 21)
    state = db.session.get(ReportRollup, 1)
    state.built_from = state.built_from[:3]  # a rollup built before the mark had five parts
    db.session.commit()
    assert next_refresh()["reason"].startswith("changes that cannot be told apart")

    state = db.session.get(ReportRollup, 1)
    state.built_from = [n + 1000 for n in state.built_from]  # records deleted since the build
    db.session.commit()
    assert next_refresh()["reason"].startswith("changes that cannot be told apart")

    services.update_policy({"timezone": "America/New_York"}, actor=None, now=REPORT_NOW)
    assert next_refresh()["reason"] == "the time zone changed"

    # Undoing a demo load deletes the records and the rollup's state: the next refresh
    # builds every row (none), and the reports are live meanwhile.
    cli._empty_all_tables()
    assert reports.rollup.current(get_policy()) is None
    assert reports.rollup.refresh(REPORT_NOW, get_policy())["reason"] == "no rollup yet"
    assert _rollup_rows() == {model.__tablename__: [] for model in reports.rollup.ROLLUP_TABLES}


def test_on_postgresql_the_mark_waits_for_verbs_under_way(history, monkeypatch):
    """An audit id is taken at insert and becomes visible at commit: a mark read past a verb
    still under way would skip its change for good. The mark waits for it (here: gives up
    after the timeout and leaves the rollup to the next run)."""
    if db.engine.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer at a time: its newest ids are committed ones")
    from sqlalchemy import text

    monkeypatch.setattr(reports.changes, "MARK_LOCK_TIMEOUT", "300ms")
    assert reports.rollup.refresh(REPORT_NOW, get_policy())["full"] is True
    with db.engine.connect() as other:
        other.execute(text("INSERT INTO audit_event (application_id, kind, data, occurred_at) "
                           "VALUES (:id, 'under_way', '{}', now())"), {"id": history["c"].id})
        result = reports.rollup.refresh(REPORT_NOW, get_policy())
        other.rollback()
    assert result["rebuilt"] is False and "deferred" in result
    assert reports.rollup.refresh(REPORT_NOW, get_policy())["rebuilt"] is False


def test_the_incremental_write_holds_only_the_rows_that_changed(history):
    """A recomputed day's rows mostly come out the same: the write transaction (which keeps
    every other writer waiting on SQLite, and leaves dead rows to PostgreSQL's vacuum)
    deletes and inserts only the ones that differ."""
    assert reports.rollup.refresh(REPORT_NOW, get_policy())["full"] is True
    for name, source in (("K1", "agency"), ("K2", "referral"), ("K3", "job_board")):
        submit(history["p"], name, 5, source=source)  # C's day, other sources: rows of their own
    db.session.commit()
    assert reports.rollup.refresh(REPORT_NOW, get_policy())["full"] is False
    services.withdraw(history["c"], reason="Took another job.", actor=history["recruiter"],
                      now=REPORT_NOW + timedelta(minutes=5))
    written: dict[str, int] = {}

    def count(conn, cursor, statement, *args):
        for verb in ("INSERT", "DELETE"):
            if statement.startswith(f"{verb} {'INTO' if verb == 'INSERT' else 'FROM'} report_application_day"):
                written[verb] = written.get(verb, 0) + cursor.rowcount

    later = REPORT_NOW + timedelta(minutes=10)
    event.listen(db.engine, "after_cursor_execute", count)
    try:
        assert reports.rollup.refresh(later, get_policy())["full"] is False
    finally:
        event.remove(db.engine, "after_cursor_execute", count)
    assert _rollup_rows() == _full_rebuild_rows(later)
    from hiring.models import ReportApplicationDay

    on_the_day = db.session.scalar(select(func.count()).select_from(ReportApplicationDay).where(
        ReportApplicationDay.day == date(2026, 11, 5)))
    # C's detail row and its company row go (applied), their withdrawn ones come; the
    # three other sources' rows of that day stay.
    assert on_the_day == 8
    assert written == {"DELETE": 2, "INSERT": 2}
