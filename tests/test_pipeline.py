"""The process rules, without an app or a database."""

from __future__ import annotations

import ast
import itertools
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hiring import pipeline
from hiring.pipeline import (
    CLOSED_STAGES,
    OPEN_STAGES,
    Action,
    ApplicationState,
    Event,
    Flag,
    IllegalTransition,
    InvalidInput,
    NotAllowed,
    Policy,
    Recommendation,
    Role,
    Stage,
    Verdict,
    walk,
)

BERLIN = ZoneInfo("Europe/Berlin")
POLICY = Policy()
BUSINESS_DE = Policy(business_days=True, holiday_country="DE")
BUSINESS_BY = Policy(business_days=True, holiday_country="DE", holiday_subdivision="BY")


def berlin(*args: int) -> datetime:
    """A wall-clock time in Berlin, as an aware datetime."""
    return datetime(*args, tzinfo=BERLIN)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def eod(day: date) -> datetime:
    """23:59:59 Berlin time on ``day``."""
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=BERLIN)


# --- purity --------------------------------------------------------------------------------

PIPELINE_DIR = Path(pipeline.__file__).parent


def test_pipeline_package_imports_neither_flask_nor_sqlalchemy():
    imported = set()
    for path in PIPELINE_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])
    assert "holidays" in imported  # the walk sees the lazy import, so it would see flask too
    assert not imported & {"flask", "sqlalchemy", "flask_sqlalchemy", "hiring"}


def test_pipeline_package_loads_on_its_own_without_flask_or_sqlalchemy():
    # Load the package outside hiring, so hiring/__init__ (which needs Flask) is not run.
    script = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('pipeline_alone', {str(PIPELINE_DIR / '__init__.py')!r},\n"
        f"    submodule_search_locations=[{str(PIPELINE_DIR)!r}])\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "sys.modules['pipeline_alone'] = module\n"
        "spec.loader.exec_module(module)\n"
        "from datetime import date\n"
        "module.is_business_day(date(2026, 12, 25), module.Policy(business_days=True))\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'werkzeug', 'hiring'))\n"
        "print(','.join(bad) or 'clean')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "clean"


def test_pipeline_modules_fit_on_a_screen_of_outline():
    assert {path.name: n for path in PIPELINE_DIR.glob("*.py")
            if (n := len(path.read_text().splitlines())) > 600} == {}


# --- the stage table -----------------------------------------------------------------------

# Entered Tue 24 Nov 2026, 09:00 in Berlin.
ENTERED = berlin(2026, 11, 24, 9, 0)

STAGE_TABLE = [
    (Stage.APPLIED, date(2026, 12, 8)),  # + 14 days: every application gets an answer
    (Stage.FIRST_INTERVIEW, None),  # the interview date is shown instead
    (Stage.FIRST_DECISION, date(2026, 12, 1)),  # held + 7 days
    (Stage.SECOND_INTERVIEW, date(2026, 12, 8)),  # invited + 14 days
    (Stage.FINAL_DECISION, date(2026, 12, 1)),  # held + 7 days
    (Stage.OFFER, date(2026, 12, 1)),  # offered + 7 days
    (Stage.HIRED, None),
    (Stage.REJECTED, None),
    (Stage.DECLINED, None),
    (Stage.WITHDRAWN, None),
]


def test_stage_table_covers_every_stage():
    assert [stage for stage, _ in STAGE_TABLE] == list(Stage)
    assert set(OPEN_STAGES) | set(CLOSED_STAGES) == set(Stage)
    assert not set(OPEN_STAGES) & set(CLOSED_STAGES)


@pytest.mark.parametrize(("stage", "due_day"), STAGE_TABLE)
def test_default_due_date_per_stage(stage, due_day):
    due = pipeline.base_due_at(stage, ENTERED, POLICY)
    if due_day is None:
        assert due is None
        assert POLICY.days_for(stage) is None
    else:
        assert due == eod(due_day)
        assert due.tzinfo is not None and due.utcoffset() == timedelta(0)  # returned in UTC


@pytest.mark.parametrize(
    ("stage", "field"),
    [(Stage.APPLIED, "applied_days"), (Stage.FIRST_DECISION, "first_decision_days"),
     (Stage.SECOND_INTERVIEW, "second_interview_days"), (Stage.FINAL_DECISION, "final_decision_days"),
     (Stage.OFFER, "offer_days")],
)
def test_every_stage_deadline_is_configurable(stage, field):
    policy = Policy(**{field: 3})
    assert pipeline.base_due_at(stage, ENTERED, policy) == eod(date(2026, 11, 27))


@pytest.mark.parametrize("stage", CLOSED_STAGES)
def test_no_date_at_a_closed_stage_even_with_extension_or_competing_offer(stage):
    assert pipeline.base_due_at(stage, ENTERED, POLICY) is None
    computed = pipeline.answer_date(stage, ENTERED, POLICY, extended_until=utc(2026, 12, 20))
    assert computed is None
    assert pipeline.promise_date(computed, ENTERED, POLICY, competing_offer_deadline=date(2026, 11, 27)) is None


def test_an_interview_stage_has_no_policy_date_of_its_own():
    assert pipeline.base_due_at(Stage.FIRST_INTERVIEW, ENTERED, POLICY) is None
    assert pipeline.answer_date(Stage.FIRST_INTERVIEW, ENTERED, POLICY) is None


def test_stage_helpers():
    assert Stage.OFFER.is_open and not Stage.HIRED.is_open
    assert Stage.FIRST_DECISION.label == "Debrief decision"
    assert all(stage.label for stage in Stage)


# --- transitions ---------------------------------------------------------------------------

LEGAL = [
    (Stage.APPLIED, Event.SCHEDULE_FIRST_INTERVIEW, Stage.FIRST_INTERVIEW),
    (Stage.FIRST_INTERVIEW, Event.CANCEL_FIRST_INTERVIEW, Stage.APPLIED),
    (Stage.FIRST_INTERVIEW, Event.FIRST_INTERVIEW_HELD, Stage.FIRST_DECISION),
    (Stage.FIRST_DECISION, Event.INVITE_SECOND_INTERVIEW, Stage.SECOND_INTERVIEW),
    (Stage.SECOND_INTERVIEW, Event.SECOND_INTERVIEW_HELD, Stage.FINAL_DECISION),
    (Stage.FINAL_DECISION, Event.MAKE_OFFER, Stage.OFFER),
    (Stage.OFFER, Event.OFFER_ACCEPTED, Stage.HIRED),
    (Stage.OFFER, Event.OFFER_DECLINED, Stage.DECLINED),
]


@pytest.mark.parametrize(("start", "event", "end"), LEGAL)
def test_legal_transitions(start, event, end):
    assert pipeline.next_stage(start, event) == end
    assert pipeline.next_stage(start.value, event.value) == end  # the string names work too
    assert event in pipeline.allowed_events(start)


def test_no_other_transitions_exist():
    expected = {(a, e): b for a, e, b in LEGAL}
    for stage in OPEN_STAGES:
        expected[(stage, Event.REJECT)] = Stage.REJECTED
        expected[(stage, Event.WITHDRAW)] = Stage.WITHDRAWN
    assert expected == pipeline.TRANSITIONS


@pytest.mark.parametrize(
    ("start", "event", "message"),
    [
        (Stage.APPLIED, Event.MAKE_OFFER, "“Applied”: An offer can only be made after the second interview"),
        (Stage.APPLIED, Event.FIRST_INTERVIEW_HELD, "Only a scheduled first interview can be marked as held"),
        (Stage.FIRST_INTERVIEW, Event.SCHEDULE_FIRST_INTERVIEW, "only be scheduled for a new application"),
        (Stage.FIRST_DECISION, Event.MAKE_OFFER, "“Debrief decision”: An offer can only be made"),
        (Stage.FIRST_DECISION, Event.CANCEL_FIRST_INTERVIEW, "has not been held can be cancelled"),
        (Stage.SECOND_INTERVIEW, Event.INVITE_SECOND_INTERVIEW, "only after the first interview's debrief"),
        (Stage.FINAL_DECISION, Event.OFFER_ACCEPTED, "Only an open offer can be accepted"),
        (Stage.APPLIED, Event.OFFER_DECLINED, "Only an open offer can be declined"),
        (Stage.OFFER, Event.SECOND_INTERVIEW_HELD, "Only a second interview can be marked as held"),
        (Stage.HIRED, Event.OFFER_DECLINED, "“Hired”: Only an open offer can be declined"),
        (Stage.DECLINED, Event.OFFER_ACCEPTED, "“Declined”"),
        (Stage.WITHDRAWN, Event.SCHEDULE_FIRST_INTERVIEW, "“Withdrawn”"),
    ],
)
def test_illegal_transitions_explain_why(start, event, message):
    with pytest.raises(IllegalTransition, match=message) as info:
        pipeline.next_stage(start, event)
    assert str(info.value).startswith("Not possible while the application is at")
    assert info.value.code == "illegal_transition"


def test_unknown_names_are_refused():
    with pytest.raises(ValueError):
        pipeline.next_stage("interviewing", Event.REJECT)
    with pytest.raises(ValueError):
        pipeline.next_stage(Stage.APPLIED, "hire")


@pytest.mark.parametrize("stage", OPEN_STAGES)
def test_reject_and_withdraw_from_every_open_stage(stage):
    assert pipeline.next_stage(stage, Event.REJECT) == Stage.REJECTED
    assert pipeline.next_stage(stage, Event.WITHDRAW) == Stage.WITHDRAWN


@pytest.mark.parametrize("stage", CLOSED_STAGES)
def test_closed_stages_are_final(stage):
    for event in (Event.REJECT, Event.WITHDRAW):
        with pytest.raises(IllegalTransition, match="already closed"):
            pipeline.next_stage(stage, event)
    assert pipeline.allowed_events(stage) == []


# --- decisions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "result"),
    [
        (Stage.APPLIED, "by scheduling its first interview"),
        (Stage.FIRST_INTERVIEW, "mark the interview as held first"),
        (Stage.FIRST_DECISION, Event.INVITE_SECOND_INTERVIEW),
        (Stage.SECOND_INTERVIEW, "mark the interview as held first"),
        (Stage.FINAL_DECISION, Event.MAKE_OFFER),
        (Stage.OFFER, "record the candidate's answer"),
        (Stage.HIRED, r"already closed \(Hired\)"),
        (Stage.REJECTED, r"already closed \(Rejected\)"),
        (Stage.DECLINED, r"already closed \(Declined\)"),
        (Stage.WITHDRAWN, r"already closed \(Withdrawn\)"),
    ],
)
def test_decision_event_for_every_stage(stage, result):
    if isinstance(result, Event):
        assert pipeline.decision_event(stage, "advance") == result
    else:
        with pytest.raises(IllegalTransition, match=result):
            pipeline.decision_event(stage, "advance")
    # A rejection maps to the reject transition everywhere; closed stages refuse it there.
    assert pipeline.decision_event(stage, "reject") == Event.REJECT


@pytest.mark.parametrize("outcome", ["", "hire", "ADVANCE", None])
def test_decision_outcome_must_be_advance_or_reject(outcome):
    with pytest.raises(InvalidInput) as info:
        pipeline.decision_event(Stage.FIRST_DECISION, outcome)
    assert info.value.fields == {"outcome": "Choose advance or reject."}


HM, OTHER = 7, 8  # the position's hiring manager, and another manager


@pytest.mark.parametrize("outcome", ["advance", "reject"])
def test_the_offer_decision_belongs_to_the_hiring_manager(outcome):
    assert pipeline.require_decision(Role.MANAGER, Stage.FINAL_DECISION, outcome, actor_id=HM,
                                     hiring_manager_id=HM) is False
    with pytest.raises(NotAllowed, match="Only the position's hiring manager takes the offer decision"):
        pipeline.require_decision(Role.MANAGER, Stage.FINAL_DECISION, outcome, actor_id=OTHER, hiring_manager_id=HM)
    for role in (Role.RECRUITER, Role.INTERVIEWER):
        with pytest.raises(NotAllowed, match=f"Your role \\({role.value}\\) may not take the offer decision"):
            pipeline.require_decision(role, Stage.FINAL_DECISION, outcome, actor_id=OTHER, hiring_manager_id=HM)


@pytest.mark.parametrize("outcome", ["advance", "reject"])
def test_an_admin_decides_the_offer_only_for_the_hiring_manager_with_a_reason(outcome):
    for acting_for in ("", "   ", None):
        with pytest.raises(InvalidInput) as info:
            pipeline.require_decision(Role.ADMIN, Stage.FINAL_DECISION, outcome, actor_id=1, hiring_manager_id=HM,
                                      acting_for=acting_for)
        assert list(info.value.fields) == ["acting_for"]
    assert pipeline.require_decision(Role.ADMIN, Stage.FINAL_DECISION, outcome, actor_id=1, hiring_manager_id=HM,
                                     acting_for="Mona is on leave; agreed by phone.") is True


def test_without_a_hiring_manager_any_manager_decides_the_offer():
    for manager in (HM, OTHER):
        assert pipeline.require_decision(Role.MANAGER, Stage.FINAL_DECISION, "advance", actor_id=manager,
                                         hiring_manager_id=None) is False
    with pytest.raises(NotAllowed):
        pipeline.require_decision(Role.RECRUITER, Stage.FINAL_DECISION, "reject", actor_id=1, hiring_manager_id=None)
    assert pipeline.may_decide_offer(Role.ADMIN, 1, None)
    assert not pipeline.may_decide_offer(Role.INTERVIEWER, 1, None)


@pytest.mark.parametrize("outcome", ["advance", "reject"])
def test_recruiters_decide_the_debrief(outcome):
    pipeline.require_decision(Role.RECRUITER, Stage.FIRST_DECISION, outcome)
    pipeline.require_decision(Role.ADMIN, Stage.FIRST_DECISION, outcome)
    for role in (Role.MANAGER, Role.INTERVIEWER):
        with pytest.raises(NotAllowed, match=f"Your role \\({role.value}\\) may not decide on applications"):
            pipeline.require_decision(role, Stage.FIRST_DECISION, outcome)


def test_check_rejection_needs_a_rationale():
    pipeline.check_rejection("reject", "Not a fit.")
    pipeline.check_rejection("advance", "")  # advancing needs none here (the offer has its own rule)
    for blank in ("", "  \n\t", None):
        with pytest.raises(InvalidInput) as info:
            pipeline.check_rejection("reject", blank)
        assert set(info.value.fields) == {"rationale"}


def test_check_offer_decision_needs_rationale_without_clear_hire():
    pipeline.check_offer_decision(Verdict.CLEAR_HIRE, "advance", "")
    pipeline.check_offer_decision(Verdict.MIXED, "reject", "")
    pipeline.check_offer_decision(Verdict.MIXED, "advance", "Discussed with the team; strong systems skills.")
    for verdict in (Verdict.MIXED, Verdict.CLEAR_NO, Verdict.INCOMPLETE, None):
        with pytest.raises(InvalidInput) as info:
            pipeline.check_offer_decision(verdict, "advance", "  ")
        assert "rationale" in info.value.fields


# --- permissions ---------------------------------------------------------------------------

EXPECTED_PERMISSIONS = {
    Role.ADMIN: set(Action) - {Action.DECIDE_OFFER},
    Role.RECRUITER: {Action.MANAGE_POSITIONS, Action.MANAGE_APPLICATIONS, Action.DECIDE, Action.EXTEND_DEADLINE,
                     Action.VIEW_ALL, Action.VIEW_EMAILS, Action.SUBMIT_FEEDBACK},
    Role.INTERVIEWER: {Action.SUBMIT_FEEDBACK},
    Role.MANAGER: {Action.DECIDE_OFFER, Action.EXTEND_DEADLINE, Action.VIEW_ALL, Action.SUBMIT_FEEDBACK},
}


@pytest.mark.parametrize("role", list(Role))
def test_permission_table(role):
    for action in Action:
        allowed = action in EXPECTED_PERMISSIONS[role]
        assert pipeline.can(role, action) is allowed, (role, action)
        assert pipeline.can(role.value, action.value) is allowed
        if allowed:
            pipeline.require(role, action)
        else:
            with pytest.raises(NotAllowed, match=f"Your role \\({role.value}\\) may not "):
                pipeline.require(role, action)


def test_require_uses_a_custom_message():
    with pytest.raises(NotAllowed, match="^Ask an admin.$"):
        pipeline.require(Role.INTERVIEWER, Action.MANAGE_USERS, "Ask an admin.")


def test_unknown_role_is_refused():
    with pytest.raises(ValueError):
        pipeline.can("owner", Action.DECIDE)


# --- day boundaries, DST, month and year ends -----------------------------------------------


def test_day_seven_is_fine_day_eight_is_overdue():
    held = berlin(2026, 11, 24, 9, 0)
    due = pipeline.base_due_at(Stage.FIRST_DECISION, held, POLICY)
    assert due == utc(2026, 12, 1, 22, 59, 59)
    state = ApplicationState(stage=Stage.FIRST_DECISION, due_at=due)
    last_second = berlin(2026, 12, 1, 23, 59, 59)
    assert Flag.OVERDUE not in pipeline.flags(state, last_second, POLICY)
    assert Flag.DUE_SOON in pipeline.flags(state, last_second, POLICY)
    assert pipeline.flags(state, last_second + timedelta(seconds=1), POLICY)[0] == Flag.OVERDUE
    assert pipeline.days_overdue(due, berlin(2026, 12, 1, 23, 59, 59), POLICY) == 0
    assert pipeline.days_overdue(due, berlin(2026, 12, 2, 0, 0, 0), POLICY) == 1


@pytest.mark.parametrize(
    ("entered", "due"),
    [
        # Late on Monday in UTC is already Tuesday in Berlin: the day counts from Tuesday.
        (utc(2026, 11, 23, 23, 30), eod(date(2026, 12, 1))),
        (utc(2026, 11, 23, 22, 59, 59), eod(date(2026, 11, 30))),
        # Summer time: 22:30 UTC is 00:30 the next day in Berlin.
        (utc(2026, 7, 6, 22, 30), eod(date(2026, 7, 14))),
        (utc(2026, 7, 6, 21, 59), eod(date(2026, 7, 13))),
    ],
)
def test_the_day_counts_in_the_company_time_zone(entered, due):
    assert pipeline.base_due_at(Stage.FIRST_DECISION, entered, POLICY) == due


def test_spring_forward_deadline_is_midnight_summer_time():
    # 29 Mar 2026: clocks jump from 02:00 CET to 03:00 CEST.
    due = pipeline.base_due_at(Stage.FIRST_DECISION, berlin(2026, 3, 22, 10, 0), POLICY)
    assert due == utc(2026, 3, 29, 21, 59, 59)  # 23:59:59 CEST
    assert due.astimezone(BERLIN).utcoffset() == timedelta(hours=2)
    # A week spanning the change is still seven local days, not 7 × 24 hours.
    due = pipeline.base_due_at(Stage.FIRST_DECISION, berlin(2026, 3, 25, 10, 0), POLICY)
    assert due == utc(2026, 4, 1, 21, 59, 59)
    state = ApplicationState(stage=Stage.FIRST_DECISION, due_at=due)
    assert Flag.OVERDUE not in pipeline.flags(state, berlin(2026, 4, 1, 23, 59, 59), POLICY)
    assert Flag.OVERDUE in pipeline.flags(state, berlin(2026, 4, 2, 0, 0, 0), POLICY)


def test_entering_a_stage_during_the_skipped_hour_night():
    # 00:30 UTC on 29 Mar is 01:30 CET, 01:30 UTC is 03:30 CEST; both on 29 Mar locally.
    for entered in (utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1, 30)):
        assert pipeline.base_due_at(Stage.FIRST_DECISION, entered, POLICY) == utc(2026, 4, 5, 21, 59, 59)


def test_fall_back_deadline_is_midnight_winter_time():
    # 25 Oct 2026: clocks go back from 03:00 CEST to 02:00 CET.
    due = pipeline.base_due_at(Stage.FIRST_DECISION, berlin(2026, 10, 18, 10, 0), POLICY)
    assert due == utc(2026, 10, 25, 22, 59, 59)  # 23:59:59 CET
    assert due.astimezone(BERLIN).utcoffset() == timedelta(hours=1)
    # Entered in the repeated hour (02:30 CEST and 02:30 CET are both 25 Oct).
    for entered in (utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30)):
        assert pipeline.base_due_at(Stage.FIRST_DECISION, entered, POLICY) == utc(2026, 11, 1, 22, 59, 59)
    state = ApplicationState(stage=Stage.FIRST_DECISION, due_at=due)
    assert Flag.OVERDUE not in pipeline.flags(state, utc(2026, 10, 25, 22, 59, 59), POLICY)
    assert Flag.OVERDUE in pipeline.flags(state, utc(2026, 10, 25, 23, 0, 0), POLICY)


@pytest.mark.parametrize(
    ("stage", "entered", "due_day"),
    [
        (Stage.FIRST_DECISION, berlin(2026, 1, 28, 15, 0), date(2026, 2, 4)),
        (Stage.FIRST_DECISION, berlin(2026, 2, 25, 15, 0), date(2026, 3, 4)),  # February has 28 days
        (Stage.FIRST_DECISION, berlin(2028, 2, 25, 15, 0), date(2028, 3, 3)),  # leap year
        (Stage.APPLIED, berlin(2026, 1, 31, 15, 0), date(2026, 2, 14)),
        (Stage.SECOND_INTERVIEW, berlin(2026, 4, 30, 8, 0), date(2026, 5, 14)),
        (Stage.OFFER, berlin(2026, 12, 28, 15, 0), date(2027, 1, 4)),  # year end
        (Stage.APPLIED, berlin(2026, 12, 31, 23, 59), date(2027, 1, 14)),
        (Stage.APPLIED, utc(2026, 12, 31, 23, 30), date(2027, 1, 15)),  # already 1 Jan in Berlin
    ],
)
def test_month_and_year_ends(stage, entered, due_day):
    assert pipeline.base_due_at(stage, entered, POLICY) == eod(due_day)


def test_other_company_time_zone():
    policy = Policy(timezone="America/New_York")
    due = pipeline.base_due_at(Stage.FIRST_DECISION, utc(2026, 11, 24, 3, 0), policy)  # 23 Nov 22:00 in NY
    assert due == datetime(2026, 11, 30, 23, 59, 59, tzinfo=ZoneInfo("America/New_York"))


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive datetime"):
        pipeline.base_due_at(Stage.APPLIED, datetime(2026, 11, 24, 9, 0), POLICY)
    with pytest.raises(ValueError, match="naive datetime"):
        pipeline.flags(ApplicationState(stage=Stage.APPLIED), datetime(2026, 11, 24), POLICY)
    with pytest.raises(ValueError, match="naive datetime"):
        pipeline.answer_date(Stage.APPLIED, ENTERED, POLICY, extended_until=datetime(2026, 12, 24))


# --- business days and holidays -------------------------------------------------------------


def test_working_day_mode_keeps_calendar_days_and_moves_a_day_off_earlier():
    # The stage days are calendar days: "within a week" from Tue 24 Nov is Tue 1 Dec in both
    # modes (it used to become 7 working days, Thu 3 Dec).
    assert pipeline.add_days(date(2026, 11, 24), 7, BUSINESS_DE) == date(2026, 12, 1)
    assert pipeline.add_days(date(2026, 11, 24), 7, POLICY) == date(2026, 12, 1)
    due = pipeline.base_due_at(Stage.FIRST_DECISION, berlin(2026, 11, 24, 9, 0), BUSINESS_DE)
    assert due == eod(date(2026, 12, 1))
    # A Saturday moves to the Friday before it, never later.
    assert pipeline.add_days(date(2026, 11, 28), 7, BUSINESS_DE) == date(2026, 12, 4)
    assert pipeline.add_days(date(2026, 11, 28), 7, POLICY) == date(2026, 12, 5)


def test_working_day_mode_over_christmas():
    # Fri 18 Dec + 7 = Christmas Day, a holiday → Thu 24 Dec (a working day by law).
    due = pipeline.base_due_at(Stage.FIRST_DECISION, berlin(2026, 12, 18, 11, 0), BUSINESS_DE)
    assert due == eod(date(2026, 12, 24))
    # Sat 19 Dec + 7 = 26 Dec (holiday), 25 Dec (holiday) → 24 Dec.
    assert pipeline.add_days(date(2026, 12, 19), 7, BUSINESS_DE) == date(2026, 12, 24)
    assert not pipeline.is_business_day(date(2026, 12, 25), BUSINESS_DE)
    assert not pipeline.is_business_day(date(2027, 1, 1), BUSINESS_DE)
    assert pipeline.is_business_day(date(2026, 12, 24), BUSINESS_DE)


def test_subdivision_adds_its_own_holidays():
    # Epiphany (Wed 6 Jan 2027) is a holiday in Bavaria, not in Germany as a whole.
    assert pipeline.is_business_day(date(2027, 1, 6), BUSINESS_DE)
    assert not pipeline.is_business_day(date(2027, 1, 6), BUSINESS_BY)
    assert pipeline.add_days(date(2026, 12, 30), 7, BUSINESS_DE) == date(2027, 1, 6)
    assert pipeline.add_days(date(2026, 12, 30), 7, BUSINESS_BY) == date(2027, 1, 5)


def test_easter_in_working_day_mode():
    # Mon 30 Mar 2026 + 7 = Easter Monday; Sunday, Saturday and Good Friday are days off too → Thu 2 Apr.
    assert pipeline.add_days(date(2026, 3, 30), 7, BUSINESS_DE) == date(2026, 4, 2)


def test_working_day_mode_never_moves_onto_the_day_the_stage_began():
    # Fri 27 Nov + 1 day = Saturday; the working day before it is the start day itself,
    # which would leave no time at all: the calendar date stays.
    assert pipeline.add_days(date(2026, 11, 27), 1, BUSINESS_DE) == date(2026, 11, 28)
    # Thu 2 Apr 2026 + 1 = Good Friday: nothing between → stays; + 2 = Saturday → stays
    # too (Good Friday is off, Thursday is the start).
    assert pipeline.add_days(date(2026, 4, 2), 1, BUSINESS_DE) == date(2026, 4, 3)
    assert pipeline.add_days(date(2026, 4, 2), 2, BUSINESS_DE) == date(2026, 4, 4)
    # Thu + 2 = Saturday with a working Friday between → Friday.
    assert pipeline.add_days(date(2026, 11, 26), 2, BUSINESS_DE) == date(2026, 11, 27)


# --- extensions ----------------------------------------------------------------------------

NOW = berlin(2026, 11, 26, 10, 0)
CURRENT_DUE = eod(date(2026, 12, 1))


def extend(until: date, *, reason: str = "Hiring manager on leave this week.", current=CURRENT_DUE, now=NOW,
           stage=Stage.FIRST_DECISION, competing: date | None = None):
    return pipeline.check_extension(current, until, now, POLICY, stage=stage, reason=reason,
                                    competing_offer_deadline=competing)


def test_extension_sets_end_of_the_new_day():
    assert extend(date(2026, 12, 4)) == eod(date(2026, 12, 4))
    assert extend(date(2026, 12, 2)) == eod(date(2026, 12, 2))  # one day later is enough


def test_extension_at_most_a_year_ahead():
    assert extend(date(2027, 11, 26)) == eod(date(2027, 11, 26))  # today + 365 days
    for until in (date(2027, 11, 27), date(9999, 12, 31)):
        with pytest.raises(InvalidInput) as info:
            extend(until)
        assert info.value.fields == {
            "until": "The new date must be within a year (by Friday, 26 November 2027); "
                     "the candidate is told this date."}


def test_extension_must_be_later_than_the_current_date():
    for until in (date(2026, 12, 1), date(2026, 11, 30)):
        with pytest.raises(InvalidInput) as info:
            extend(until)
        assert "never shortens the promise" in info.value.fields["until"]
        assert "(Tue 1 Dec)" in info.value.fields["until"]


def test_extension_must_lie_in_the_future():
    overdue_now = berlin(2026, 12, 5, 10, 0)
    with pytest.raises(InvalidInput) as info:
        extend(date(2026, 12, 4), now=overdue_now)
    assert info.value.fields["until"] == "The new date must be in the future."
    # An overdue application can be extended to today (its end still lies ahead).
    assert extend(date(2026, 12, 5), now=overdue_now) == eod(date(2026, 12, 5))


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_extension_needs_a_reason(reason):
    with pytest.raises(InvalidInput) as info:
        extend(date(2026, 12, 4), reason=reason)
    assert set(info.value.fields) == {"reason"}


def test_extension_reports_every_problem_at_once():
    with pytest.raises(InvalidInput) as info:
        extend(date(2026, 11, 1), reason="")
    assert set(info.value.fields) == {"reason", "until"}


def test_extension_cannot_pass_a_competing_offer():
    assert extend(date(2026, 12, 3), competing=date(2026, 12, 4)) == eod(date(2026, 12, 3))
    for until in (date(2026, 12, 4), date(2026, 12, 10)):
        with pytest.raises(InvalidInput) as info:
            extend(until, competing=date(2026, 12, 4))
        assert "competing offer until Fri 4 Dec;" in info.value.fields["until"]


@pytest.mark.parametrize("stage", CLOSED_STAGES)
def test_nothing_to_extend_without_an_answer_date(stage):
    with pytest.raises(IllegalTransition, match="no answer date to extend"):
        extend(date(2026, 12, 4), stage=stage, current=None)


def test_extension_replaces_the_policy_date():
    extended = eod(date(2026, 12, 10))
    assert pipeline.answer_date(Stage.FIRST_DECISION, ENTERED, POLICY, extended_until=extended) == date(2026, 12, 10)


# --- competing offers ----------------------------------------------------------------------


def _promised(stage: Stage, deadline: date, *, extended_until: datetime | None = None) -> date | None:
    """The date told on entering ``stage`` at ENTERED with a competing offer (as keep_promise asks)."""
    computed = pipeline.answer_date(stage, ENTERED, POLICY, extended_until=extended_until)
    return pipeline.promise_date(computed, ENTERED, POLICY, answers=True, competing_offer_deadline=deadline)


def test_competing_offer_pulls_the_date_to_the_day_before():
    assert _promised(Stage.FIRST_DECISION, date(2026, 11, 28)) == date(2026, 11, 27)


def test_competing_offer_later_than_our_date_changes_nothing():
    for deadline in (date(2026, 12, 2), date(2026, 12, 20)):
        assert _promised(Stage.FIRST_DECISION, deadline) == date(2026, 12, 1)


def test_competing_offer_never_pulls_the_date_to_today_or_before():
    # Tomorrow's deadline: the day itself (the day before would be today).
    assert _promised(Stage.FIRST_DECISION, date(2026, 11, 25)) == date(2026, 11, 25)
    # A deadline today or past caps nothing any more.
    for deadline in (date(2026, 11, 24), date(2026, 11, 1)):
        assert _promised(Stage.FIRST_DECISION, deadline) == date(2026, 12, 1)


def test_competing_offer_also_caps_an_extension():
    assert _promised(Stage.FINAL_DECISION, date(2026, 12, 10), extended_until=eod(date(2026, 12, 20))) == \
        date(2026, 12, 9)


def test_competing_offer_deadline_must_be_after_today():
    pipeline.check_competing_offer(date(2026, 11, 27), NOW, POLICY)
    for deadline in (date(2026, 11, 26), date(2026, 11, 1)):
        with pytest.raises(InvalidInput) as info:
            pipeline.check_competing_offer(deadline, NOW, POLICY)
        assert info.value.fields == {"deadline": "The competing offer's deadline must be after today."}
    # "Today" is the company's: 23:30 UTC on the 26th is already the 27th in Berlin.
    with pytest.raises(InvalidInput):
        pipeline.check_competing_offer(date(2026, 11, 27), utc(2026, 11, 26, 23, 30), POLICY)


def test_competing_offer_deadline_within_a_year():
    pipeline.check_competing_offer(date(2027, 11, 26), NOW, POLICY)  # today + 365 days
    for deadline in (date(2027, 11, 27), date(9999, 12, 31)):
        with pytest.raises(InvalidInput) as info:
            pipeline.check_competing_offer(deadline, NOW, POLICY)
        assert info.value.fields == {"deadline": "The competing offer's deadline must be within a year."}


def test_competing_offer_flags_expedite():
    state = ApplicationState(stage=Stage.SECOND_INTERVIEW, due_at=eod(date(2026, 12, 20)),
                             competing_offer_deadline=date(2026, 12, 21))
    assert pipeline.flags(state, NOW, POLICY) == [Flag.EXPEDITE]


# --- the panel verdict ---------------------------------------------------------------------

Y, SY, N, SN = Recommendation.YES, Recommendation.STRONG_YES, Recommendation.NO, Recommendation.STRONG_NO


@pytest.mark.parametrize(
    ("panel", "feedback", "verdict"),
    [
        ([], {}, Verdict.INCOMPLETE),
        ([1, 2], {}, Verdict.INCOMPLETE),
        ([1, 2], {1: SY}, Verdict.INCOMPLETE),
        ([1, 2], {1: SY, 3: Y}, Verdict.INCOMPLETE),  # feedback from outside the panel does not count
        ([1, 2], {1: SY, 2: Y}, Verdict.CLEAR_HIRE),
        ([1, 2, 3], {1: "yes", 2: "yes", 3: "strong_yes"}, Verdict.CLEAR_HIRE),
        ([1, 2], {1: N, 2: SN}, Verdict.CLEAR_NO),
        ([1], {1: SN}, Verdict.CLEAR_NO),
        ([1, 2], {1: Y, 2: N}, Verdict.MIXED),
        ([1, 2, 3], {1: SY, 2: SY, 3: N}, Verdict.MIXED),
    ],
)
def test_panel_verdict(panel, feedback, verdict):
    assert pipeline.panel_verdict(panel, feedback) == verdict


def test_recommendation_helpers():
    assert [r.is_positive for r in Recommendation] == [False, False, True, True]
    assert Recommendation.STRONG_NO.label == "Strong no"


# --- flags -----------------------------------------------------------------------------------

DUE = utc(2026, 12, 1, 22, 59, 59)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (DUE - timedelta(days=2, seconds=1), []),
        (DUE - timedelta(days=2), [Flag.DUE_SOON]),  # exactly at the window's edge
        (DUE - timedelta(hours=1), [Flag.DUE_SOON]),
        (DUE, [Flag.DUE_SOON]),
        (DUE + timedelta(seconds=1), [Flag.OVERDUE]),
        (DUE + timedelta(days=30), [Flag.OVERDUE]),
    ],
)
def test_overdue_and_due_soon_edges(now, expected):
    assert pipeline.flags(ApplicationState(stage=Stage.OFFER, due_at=DUE), now, POLICY) == expected


def test_due_soon_window_follows_the_policy():
    state = ApplicationState(stage=Stage.OFFER, due_at=DUE)
    assert pipeline.flags(state, DUE - timedelta(days=4), Policy(due_soon_days=5)) == [Flag.DUE_SOON]
    assert pipeline.flags(state, DUE - timedelta(seconds=1), Policy(due_soon_days=0)) == []
    assert pipeline.due_soon_threshold(DUE, POLICY) == DUE + timedelta(days=2)


def test_no_due_date_no_deadline_flags():
    state = ApplicationState(stage=Stage.FIRST_INTERVIEW, awaiting_feedback=True)
    assert pipeline.flags(state, NOW, POLICY) == [Flag.AWAITING_FEEDBACK]


def test_offer_decision_with_a_split_panel_needs_discussion():
    state = ApplicationState(stage=Stage.FINAL_DECISION, due_at=eod(date(2026, 12, 20)), verdict=Verdict.MIXED)
    assert pipeline.flags(state, NOW, POLICY) == [Flag.NEEDS_DISCUSSION]


def test_offer_decision_with_feedback_missing_awaits_feedback_not_discussion():
    state = ApplicationState(stage=Stage.FINAL_DECISION, due_at=eod(date(2026, 12, 20)), verdict=Verdict.INCOMPLETE,
                             awaiting_feedback=True)
    assert pipeline.flags(state, NOW, POLICY) == [Flag.AWAITING_FEEDBACK]
    no_verdict = ApplicationState(stage=Stage.FINAL_DECISION, due_at=eod(date(2026, 12, 20)), verdict=None)
    assert pipeline.flags(no_verdict, NOW, POLICY) == []


def test_needs_discussion_begins_with_the_last_panel_members_feedback():
    """The boundary: a three-person panel split two ways is not yet a discussion while the
    third is missing; the third's feedback (either way, short of agreement) makes it one."""
    panel = ["ivan", "ines", "igor"]

    def flags_with(feedback):
        verdict = pipeline.panel_verdict(panel, feedback)
        state = ApplicationState(stage=Stage.FINAL_DECISION, due_at=eod(date(2026, 12, 20)), verdict=verdict,
                                 awaiting_feedback=verdict == Verdict.INCOMPLETE)
        return pipeline.flags(state, NOW, POLICY)

    assert flags_with({}) == [Flag.AWAITING_FEEDBACK]
    assert flags_with({"ivan": "yes", "ines": "no"}) == [Flag.AWAITING_FEEDBACK]
    assert flags_with({"ivan": "yes", "ines": "no", "igor": "strong_yes"}) == [Flag.NEEDS_DISCUSSION]
    assert flags_with({"ivan": "yes", "ines": "yes", "igor": "strong_yes"}) == []  # clear: approval, no discussion
    assert flags_with({"ivan": "no", "ines": "strong_no", "igor": "no"}) == []


@pytest.mark.parametrize("verdict", [Verdict.CLEAR_HIRE, Verdict.CLEAR_NO])
def test_clear_recommendation_needs_no_discussion(verdict):
    state = ApplicationState(stage=Stage.FINAL_DECISION, due_at=eod(date(2026, 12, 20)), verdict=verdict)
    assert pipeline.flags(state, NOW, POLICY) == []


def test_needs_discussion_only_at_the_offer_decision():
    state = ApplicationState(stage=Stage.FIRST_DECISION, due_at=eod(date(2026, 12, 20)), verdict=Verdict.MIXED)
    assert pipeline.flags(state, NOW, POLICY) == []


def test_every_flag_at_once_most_urgent_first():
    state = ApplicationState(stage=Stage.FINAL_DECISION, due_at=NOW - timedelta(days=1),
                             competing_offer_deadline=date(2026, 11, 28), verdict=Verdict.MIXED)
    assert pipeline.flags(state, NOW, POLICY) == [Flag.OVERDUE, Flag.EXPEDITE, Flag.NEEDS_DISCUSSION]
    # Awaiting feedback and needing discussion exclude each other: one is before the other.
    state = ApplicationState(stage=Stage.FINAL_DECISION, due_at=NOW - timedelta(days=1),
                             competing_offer_deadline=date(2026, 11, 28), verdict=Verdict.INCOMPLETE,
                             awaiting_feedback=True)
    assert pipeline.flags(state, NOW, POLICY) == [Flag.OVERDUE, Flag.EXPEDITE, Flag.AWAITING_FEEDBACK]


@pytest.mark.parametrize("stage", CLOSED_STAGES)
def test_closed_stages_have_no_flags(stage):
    state = ApplicationState(stage=stage, due_at=NOW - timedelta(days=3), competing_offer_deadline=date(2026, 11, 28),
                             verdict=Verdict.MIXED, awaiting_feedback=True)
    assert pipeline.flags(state, NOW, POLICY) == []


def test_urgency_key_orders_overdue_then_due_then_undated():
    states = [
        ApplicationState(stage=Stage.APPLIED, due_at=NOW + timedelta(days=3)),
        ApplicationState(stage=Stage.FIRST_INTERVIEW),
        ApplicationState(stage=Stage.OFFER, due_at=NOW - timedelta(days=5)),
        ApplicationState(stage=Stage.OFFER, due_at=NOW - timedelta(days=1)),
    ]
    ordered = sorted(states, key=lambda s: pipeline.urgency_key(s, NOW))
    assert [s.due_at for s in ordered] == [NOW - timedelta(days=5), NOW - timedelta(days=1),
                                           NOW + timedelta(days=3), None]


# --- the policy ----------------------------------------------------------------------------


def test_default_policy():
    assert POLICY.days_for(Stage.APPLIED) == 14
    assert POLICY.days_for("first_decision") == 7
    assert POLICY.timezone == "Europe/Berlin" and POLICY.tz == BERLIN
    assert not POLICY.business_days
    assert POLICY.due_soon_days == 2
    assert Policy.from_mapping(POLICY.to_dict()) == POLICY


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"applied_days": 0}, "applied_days"),
        ({"first_decision_days": 366}, "first_decision_days"),
        ({"offer_days": -1}, "offer_days"),
        ({"due_soon_days": 31}, "due_soon_days"),
        ({"team_lead_days": 11}, "team_lead_days"),
        ({"delay_notice_hour": 24}, "delay_notice_hour"),
        ({"max_automatic_delays": -1}, "max_automatic_delays"),
        ({"record_interview_hours": 0}, "record_interview_hours"),
        ({"delay_notice_extension_days": 0}, "delay_notice_extension_days"),
        ({"digest_weekday": 7}, "digest_weekday"),
        ({"digest_hour": 24}, "digest_hour"),
        ({"feedback_reminder_max": 21}, "feedback_reminder_max"),
        ({"email_max_attempts": 0}, "email_max_attempts"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": ""}, "timezone"),
        ({"business_days": True, "holiday_country": "XX"}, "holiday_country"),
        ({"business_days": True, "holiday_subdivision": "ZZ"}, "holiday_country"),
    ],
)
def test_policy_validation(changes, field):
    with pytest.raises(InvalidInput) as info:
        Policy(**changes)
    assert set(info.value.fields) == {field}
    assert info.value.fields[field]


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"applied_days": "14"}, "applied_days"), ({"due_soon_days": None}, "due_soon_days"),
     ({"digest_hour": 8.5}, "digest_hour"), ({"offer_days": True}, "offer_days"),
     ({"timezone": None}, "timezone"), ({"business_days": "yes"}, "business_days")],
)
def test_policy_with_wrong_types_is_invalid_input_not_a_crash(changes, field):
    with pytest.raises(InvalidInput) as info:
        Policy(**changes)
    assert field in info.value.fields


def test_unknown_holiday_calendar_is_fine_while_counting_calendar_days():
    policy = Policy(holiday_country="XX")
    assert policy.holiday_country == "XX"
    # The team's lead still counts working days: with no calendar, weekdays only.
    assert pipeline.is_business_day(date(2026, 12, 25), policy)  # a Friday, a holiday only in a calendar
    assert not pipeline.is_business_day(date(2026, 12, 26), policy)
    assert pipeline.working_days_before(date(2026, 12, 28), 1, policy) == date(2026, 12, 25)


def test_policy_from_mapping_coerces_stored_values():
    policy = Policy.from_mapping({"applied_days": "10", "business_days": "true", "holiday_subdivision": "BY",
                                  "due_soon_days": 3, "digest_hour": "7", "unknown_setting": "ignored",
                                  "timezone": "Europe/Vienna"})
    assert policy.applied_days == 10
    assert policy.business_days is True
    assert policy.holiday_subdivision == "BY"
    assert policy.due_soon_days == 3
    assert policy.digest_hour == 7
    assert policy.timezone == "Europe/Vienna"
    for raw, value in [("false", False), ("0", False), ("off", False), ("", False), ("1", True), ("on", True),
                       ("Yes", True), (1, True), (0, False), (False, False)]:
        assert Policy.from_mapping({"business_days": raw}).business_days is value, raw


@pytest.mark.parametrize(
    ("values", "field"),
    [({"applied_days": "two weeks"}, "applied_days"), ({"applied_days": True}, "applied_days"),
     ({"offer_days": "1.5"}, "offer_days"), ({"offer_days": 1.5}, "offer_days"),
     ({"business_days": "maybe"}, "business_days"), ({"applied_days": None}, "applied_days"),
     ({"applied_days": "0"}, "applied_days"), ({"timezone": "Nowhere/City"}, "timezone")],
)
def test_policy_from_mapping_refuses_bad_values_per_field(values, field):
    with pytest.raises(InvalidInput) as info:
        Policy.from_mapping(values)
    assert set(info.value.fields) == {field}


def test_policy_updated_validates():
    assert POLICY.updated(offer_days=10).offer_days == 10
    with pytest.raises(InvalidInput):
        POLICY.updated(offer_days=0)


# --- properties ------------------------------------------------------------------------------

moments = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31),
                       timezones=st.just(UTC))
stages_with_dates = st.sampled_from([s for s in OPEN_STAGES if POLICY.days_for(s) is not None])
policies = st.builds(
    Policy,
    applied_days=st.integers(1, 365),
    first_decision_days=st.integers(1, 365),
    business_days=st.booleans(),
    holiday_subdivision=st.sampled_from(["", "BY", "BE", "NW"]),
    timezone=st.sampled_from(["Europe/Berlin", "UTC", "America/New_York", "Asia/Kolkata", "Pacific/Auckland"]),
)


@settings(max_examples=300, deadline=None)
@given(stage=stages_with_dates, entered=moments, policy=policies,
       extension_days=st.none() | st.integers(-30, 400), competing_days=st.none() | st.integers(-30, 400))
def test_the_date_told_is_never_before_the_stage_started(stage, entered, policy, extension_days, competing_days):
    extended = None if extension_days is None else entered + timedelta(days=extension_days)
    if extended is not None and extended < entered:
        extended = None  # extensions are validated to lie in the future
    competing = None if competing_days is None else (entered + timedelta(days=competing_days)).date()
    computed = pipeline.answer_date(stage, entered, policy, extended_until=extended)
    day = pipeline.promise_date(computed, entered, policy, answers=True, competing_offer_deadline=competing)
    if stage == Stage.OFFER:  # the candidate answers the offer: we promise no date
        assert day is None
    else:
        assert day is not None and day > pipeline.local_date(entered, policy)
    base = pipeline.base_due_at(stage, entered, policy)
    assert base is not None and base >= entered
    assert base.astimezone(policy.tz).time().isoformat() == "23:59:59"


@settings(max_examples=300, deadline=None)
@given(current_offset=st.integers(-400, 400), until_offset=st.integers(-400, 400), now=moments,
       competing_offset=st.none() | st.integers(-30, 400), reason=st.sampled_from(["", "Manager travelling", " "]))
def test_an_extension_never_shortens_silently(current_offset, until_offset, now, competing_offset, reason):
    current = pipeline.end_of_day(pipeline.local_date(now, POLICY) + timedelta(days=current_offset), POLICY)
    until = pipeline.local_date(now, POLICY) + timedelta(days=until_offset)
    competing = None if competing_offset is None else pipeline.local_date(now, POLICY) + timedelta(
        days=competing_offset)
    try:
        new_due = pipeline.check_extension(current, until, now, POLICY, stage=Stage.FINAL_DECISION, reason=reason,
                                           competing_offer_deadline=competing)
    except InvalidInput as exc:
        assert exc.fields  # refused with a reason per field, never silently
        return
    assert reason.strip()
    assert new_due > current
    assert new_due > now
    # A live competing offer caps it; an expired one (its day has passed) no longer does.
    assert (competing is None or competing < pipeline.local_date(now, POLICY)
            or pipeline.local_date(new_due, POLICY) < competing)


@settings(max_examples=200, deadline=None)
@given(start=st.dates(min_value=date(2024, 1, 1), max_value=date(2032, 12, 31)), days=st.integers(1, 60),
       subdivision=st.sampled_from(["", "BY", "BW", "SN"]))
def test_business_day_due_dates_avoid_weekends_and_holidays(start, days, subdivision):
    import holidays

    policy = Policy(business_days=True, holiday_subdivision=subdivision)
    due = pipeline.add_days(start, days, policy)
    calendar = holidays.country_holidays("DE", subdiv=subdivision or None)
    target = start + timedelta(days=days)

    def working(day: date) -> bool:
        return day.weekday() < 5 and day not in calendar

    assert start < due <= target  # never later than promised, never on or before the start
    if due != target:
        assert working(due)
        assert not any(working(due + timedelta(days=n)) for n in range(1, (target - due).days + 1))
    else:
        # The date stays only when it is a working day or no working day lies before it.
        assert working(due) or not any(working(start + timedelta(days=n)) for n in range(1, days))


states = st.builds(
    ApplicationState,
    stage=st.sampled_from(list(Stage)),
    due_at=st.none() | moments,
    competing_offer_deadline=st.none() | st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)),
    verdict=st.none() | st.sampled_from(list(Verdict)),
    awaiting_feedback=st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(state=states, now=moments, due_soon_days=st.integers(0, 30))
def test_flag_properties(state, now, due_soon_days):
    result = pipeline.flags(state, now, Policy(due_soon_days=due_soon_days))
    if not state.stage.is_open:
        assert result == []
        return
    assert not (Flag.OVERDUE in result and Flag.DUE_SOON in result)
    assert len(result) == len(set(result))
    assert (Flag.OVERDUE in result) == (state.due_at is not None and now > state.due_at)
    # A competing offer hurries us until its deadline day has passed.
    assert (Flag.EXPEDITE in result) == (state.competing_offer_deadline is not None
                                         and state.competing_offer_deadline >= pipeline.local_date(now, POLICY))


# --- reported times (interview held, decision taken) ------------------------------------


def _report(moment: datetime, now: datetime, began: datetime) -> None:
    pipeline.check_reported_time(moment, now, stage_began=began, field="held_at", what="The time",
                                 since="the interview was scheduled", policy=POLICY)


def test_reported_time_within_the_stage_is_accepted():
    began = datetime(2026, 11, 24, 8, 0, 37, 500_000, tzinfo=UTC)
    now = began + timedelta(minutes=5)
    for moment in (began, began.replace(microsecond=0), now):  # the first second counts as the beginning
        _report(moment, now, began)


def test_reported_time_before_the_stage_is_refused_with_the_bound():
    began = datetime(2026, 11, 24, 8, 0, 37, tzinfo=UTC)
    with pytest.raises(InvalidInput) as info:
        _report(datetime(2026, 11, 24, 8, 0, tzinfo=UTC), began + timedelta(hours=1), began)  # "09:00" typed
    assert info.value.fields == {"held_at": "Not before the interview was scheduled (24 Nov 2026, 09:00:37)."}


def test_reported_time_in_the_future_is_refused():
    now = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    with pytest.raises(InvalidInput) as info:
        _report(now + timedelta(seconds=1), now, now - timedelta(days=1))
    assert info.value.fields == {"held_at": "Not in the future."}
    with pytest.raises(ValueError, match="naive"):
        _report(datetime(2026, 11, 24, 7, 0), now, now - timedelta(days=1))


# --- who may read an interview's feedback --------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_feedback_visibility_rule(role):
    assert pipeline.may_see_feedback(role, on_panel=True, gave_own=True)
    assert pipeline.may_see_feedback(role, on_panel=False, gave_own=True)
    assert not pipeline.may_see_feedback(role, on_panel=True, gave_own=False)  # even a manager on the panel
    assert pipeline.may_see_feedback(role, on_panel=False, gave_own=False) == (role != Role.INTERVIEWER)


# --- the promise (issue 10) ----------------------------------------------------------------------


def test_answer_date_of_a_scheduled_interview_is_its_day_plus_the_decisions_days():
    interview = berlin(2026, 11, 27, 10, 0)
    assert pipeline.answer_date(Stage.FIRST_INTERVIEW, ENTERED, POLICY, interview_at=interview) == date(2026, 12, 4)
    assert pipeline.answer_date(Stage.SECOND_INTERVIEW, ENTERED, POLICY, interview_at=interview) == date(2026, 12, 4)
    assert pipeline.answer_date(Stage.FIRST_INTERVIEW, ENTERED, POLICY) is None
    assert pipeline.answer_date(Stage.OFFER, ENTERED, POLICY) is None
    assert pipeline.answer_date(Stage.REJECTED, ENTERED, POLICY) is None


@pytest.mark.parametrize(("promised", "lead", "team_day"), [
    (date(2026, 12, 8), 1, date(2026, 12, 7)),    # Tuesday → Monday
    (date(2026, 12, 7), 1, date(2026, 12, 4)),    # Monday → the Friday before
    (date(2026, 12, 28), 1, date(2026, 12, 24)),  # after Christmas (DE holidays 25, 26 Dec) → Thursday 24th
    (date(2026, 12, 8), 0, date(2026, 12, 8)),    # no lead: the candidate's day itself
    (date(2026, 12, 8), 2, date(2026, 12, 4)),
])
def test_the_team_deadline_is_working_days_before_the_promise(promised, lead, team_day):
    policy = POLICY.updated(team_lead_days=lead)
    now = berlin(2026, 11, 20, 9, 0)
    assert pipeline.team_due_at(promised, now, policy) == pipeline.end_of_day(team_day, policy)


def test_the_team_deadline_is_never_already_past_nor_after_the_promise():
    now = berlin(2026, 12, 5, 10, 0)  # Saturday; promise Monday: the Friday before has passed
    assert pipeline.team_due_at(date(2026, 12, 7), now, POLICY) == pipeline.end_of_day(date(2026, 12, 5), POLICY)


@pytest.mark.parametrize(("moment", "needed"), [
    (berlin(2026, 12, 8, 8, 59, 59), False),
    (berlin(2026, 12, 8, 9, 0), True),
    (berlin(2026, 12, 8, 23, 0), True),
])
def test_the_delay_notice_is_due_on_the_promised_morning(moment, needed):
    promised = pipeline.end_of_day(date(2026, 12, 8), POLICY)
    assert pipeline.needs_delay_notice(Stage.FIRST_DECISION, promised, moment, POLICY) is needed
    assert (promised <= pipeline.delay_notice_threshold(moment, POLICY)) is needed
    assert not pipeline.needs_delay_notice(Stage.OFFER, promised, moment, POLICY)


def test_the_delay_notice_date_is_later_than_the_promise_and_never_past():
    assert pipeline.delay_notice_date(date(2026, 12, 8), berlin(2026, 12, 8, 9, 0), POLICY) == date(2026, 12, 13)
    # The job ran late (scheduler down for three days): counted from today.
    assert pipeline.delay_notice_date(date(2026, 12, 8), berlin(2026, 12, 11, 9, 0), POLICY) == date(2026, 12, 16)
    # A live competing offer caps it when that still leaves a later date...
    assert pipeline.delay_notice_date(date(2026, 12, 8), berlin(2026, 12, 8, 9, 0), POLICY,
                                      competing_offer_deadline=date(2026, 12, 11)) == date(2026, 12, 10)
    # ... not when it leaves none (never the old date, never skipped) ...
    assert pipeline.delay_notice_date(date(2026, 12, 8), berlin(2026, 12, 8, 9, 0), POLICY,
                                      competing_offer_deadline=date(2026, 12, 9)) == date(2026, 12, 9)
    # ... and an expired one caps nothing.
    assert pipeline.delay_notice_date(date(2026, 12, 8), berlin(2026, 12, 8, 9, 0), POLICY,
                                      competing_offer_deadline=date(2026, 12, 7)) == date(2026, 12, 13)


def test_a_date_told_only_moves_later_unless_answered():
    now = berlin(2026, 11, 24, 10, 0)
    assert pipeline.promise_date(date(2026, 12, 8), now, POLICY, current=date(2026, 12, 21)) == date(2026, 12, 21)
    assert pipeline.promise_date(date(2026, 12, 8), now, POLICY, current=date(2026, 12, 21),
                                 answers=True) == date(2026, 12, 8)
    assert pipeline.promise_date(date(2026, 12, 28), now, POLICY, current=date(2026, 12, 21)) == date(2026, 12, 28)
    # Never today or earlier.
    assert pipeline.promise_date(date(2026, 11, 24), now, POLICY) == date(2026, 11, 25)


def test_promise_outcomes():
    lapses = pipeline.end_of_day(date(2026, 12, 8), POLICY)
    assert pipeline.promise_outcome(lapses, lapses) == pipeline.PromiseOutcome.KEPT
    assert pipeline.promise_outcome(lapses, lapses, moved=True) == pipeline.PromiseOutcome.MOVED
    assert pipeline.promise_outcome(lapses, lapses, withdrawn=True) == pipeline.PromiseOutcome.WITHDRAWN
    assert pipeline.promise_outcome(lapses, lapses + timedelta(seconds=1), moved=True) == pipeline.PromiseOutcome.BROKEN


def test_flags_keep_the_team_late_after_an_automatic_delay_and_mark_stalls_and_unrecorded_interviews():
    now = berlin(2026, 12, 8, 10, 0)
    moved = ApplicationState(stage=Stage.FIRST_DECISION, due_at=now + timedelta(days=4),
                             overdue_since=now - timedelta(days=1), automatic_delays=1)
    assert pipeline.flags(moved, now, POLICY) == [Flag.OVERDUE]
    stalled = ApplicationState(stage=Stage.FIRST_DECISION, due_at=now + timedelta(days=4),
                               overdue_since=now - timedelta(days=10), automatic_delays=3)
    assert Flag.STALLED in pipeline.flags(stalled, now, POLICY)
    unrecorded = ApplicationState(stage=Stage.FIRST_INTERVIEW, due_at=now + timedelta(days=4),
                                  interview_ends_at=now - timedelta(hours=24, seconds=1))
    assert Flag.UNRECORDED in pipeline.flags(unrecorded, now, POLICY)
    recent = ApplicationState(stage=Stage.FIRST_INTERVIEW, due_at=now + timedelta(days=4),
                              interview_ends_at=now - timedelta(hours=23))
    assert Flag.UNRECORDED not in pipeline.flags(recent, now, POLICY)


def test_who_must_act():
    assert pipeline.responsible(Stage.FINAL_DECISION, owner_id=1, position_owner_id=2, hiring_manager_id=3) == 3
    assert pipeline.responsible(Stage.FINAL_DECISION, owner_id=1, position_owner_id=2, hiring_manager_id=None) == 2
    assert pipeline.responsible(Stage.FIRST_DECISION, owner_id=1, position_owner_id=2, hiring_manager_id=3) == 1
    assert pipeline.responsible(Stage.APPLIED, owner_id=None, position_owner_id=2, hiring_manager_id=3) == 2
# --- held before it happened ----------------------------------------------------------------


def test_an_interview_is_not_held_before_its_scheduled_start():
    start = berlin(2026, 11, 27, 14, 30)
    pipeline.check_held_time(start, start, POLICY)
    pipeline.check_held_time(start + timedelta(hours=1), start, POLICY)
    with pytest.raises(InvalidInput) as info:
        pipeline.check_held_time(start - timedelta(minutes=1), start, POLICY)
    assert info.value.fields == {"held_at": "Not before the scheduled start (27 Nov 2026, 14:30). If it really "
                                            "took place earlier, reschedule it to the real time first."}


# --- the debrief and the panel's word ----------------------------------------------------------


@pytest.mark.parametrize(("verdict", "outcome", "given", "message"), [
    (Verdict.CLEAR_NO, "advance", 2, "The whole panel recommended not to hire this candidate; write down why you "
                                     "advance."),
    (Verdict.CLEAR_HIRE, "reject", 2, "The whole panel recommended this candidate; write down why you reject."),
    (Verdict.INCOMPLETE, "advance", 0, "Nobody on the panel has given feedback yet; write down what the decision "
                                       "rests on."),
    (None, "reject", 0, "Nobody on the panel has given feedback yet; write down what the decision rests on."),
])
def test_deciding_against_the_panel_or_without_it_needs_a_rationale(verdict, outcome, given, message):
    for rationale in ("", "  ", None):
        with pytest.raises(InvalidInput) as info:
            pipeline.check_panel_decision(verdict, outcome, rationale, feedback_given=given)
        assert info.value.fields == {"rationale": message}
    pipeline.check_panel_decision(verdict, outcome, "Discussed in the debrief.", feedback_given=given)


@pytest.mark.parametrize(("verdict", "outcome", "given"), [
    (Verdict.CLEAR_HIRE, "advance", 2), (Verdict.CLEAR_NO, "reject", 2), (Verdict.MIXED, "advance", 2),
    (Verdict.MIXED, "reject", 2), (Verdict.INCOMPLETE, "advance", 1),
])
def test_following_the_panel_needs_no_rationale(verdict, outcome, given):
    pipeline.check_panel_decision(verdict, outcome, "", feedback_given=given)


# --- which actions are available ----------------------------------------------------------------

NOW_A = berlin(2026, 11, 24, 9, 0)


def steps(stage, role, *, user_id=1, hiring_manager_id=HM, interviews=(), has_due_date=True, now=NOW_A):
    return {(a.step.value, a.interview_id, a.outcomes, a.acting_for)
            for a in pipeline.available_actions(stage, role, now, POLICY, user_id=user_id,
                                                hiring_manager_id=hiring_manager_id, interviews=interviews,
                                                has_due_date=has_due_date)}


RECORDS = {("log_contact", None, (), False), ("add_reference", None, (), False), ("upload_document", None, (), False)}


def test_available_actions_for_a_new_application():
    assert steps(Stage.APPLIED, Role.RECRUITER) == RECORDS | {
        ("schedule_interview", None, (), False), ("decide", None, ("reject",), False),
        ("extend_deadline", None, (), False), ("competing_offer", None, (), False), ("withdraw", None, (), False)}
    assert steps(Stage.APPLIED, Role.INTERVIEWER) == set()
    assert steps(Stage.APPLIED, Role.MANAGER) == {("extend_deadline", None, (), False)}


def test_an_interview_can_be_marked_held_once_it_has_begun():
    upcoming = pipeline.InterviewFacts(id=5, round=1, scheduled_at=NOW_A + timedelta(hours=2))
    begun = pipeline.InterviewFacts(id=5, round=1, scheduled_at=NOW_A - timedelta(minutes=1))
    before = steps(Stage.FIRST_INTERVIEW, Role.RECRUITER, interviews=[upcoming])
    assert ("mark_held", 5, (), False) not in before
    assert {("reschedule_interview", 5, (), False), ("cancel_interview", 5, (), False)} <= before
    assert ("mark_held", 5, (), False) in steps(Stage.FIRST_INTERVIEW, Role.RECRUITER, interviews=[begun])
    # A first interview is no longer marked held once the application moved on.
    assert ("mark_held", 5, (), False) not in steps(Stage.SECOND_INTERVIEW, Role.RECRUITER, interviews=[begun])


def test_feedback_is_offered_to_the_panel_once_the_interview_has_begun():
    def facts(**kw):
        return pipeline.InterviewFacts(**{"id": 5, "round": 1, "scheduled_at": NOW_A - timedelta(hours=1),
                                          "on_panel": True, **kw})

    assert ("give_feedback", 5, (), False) in steps(Stage.FIRST_INTERVIEW, Role.INTERVIEWER, interviews=[facts()])
    for kw in ({"on_panel": False}, {"gave_feedback": True}, {"cancelled": True},
               {"scheduled_at": NOW_A + timedelta(hours=1)}):
        assert ("give_feedback", 5, (), False) not in steps(Stage.FIRST_INTERVIEW, Role.INTERVIEWER,
                                                             interviews=[facts(**kw)])


def test_the_debrief_is_the_recruiters_and_the_offer_decision_the_hiring_managers():
    assert ("decide", None, ("advance", "reject"), False) in steps(Stage.FIRST_DECISION, Role.RECRUITER)
    assert not {a for a in steps(Stage.FIRST_DECISION, Role.MANAGER, user_id=HM) if a[0] == "decide"}
    offer = ("offer_decision", None, ("advance", "reject"), False)
    assert offer in steps(Stage.FINAL_DECISION, Role.MANAGER, user_id=HM)
    assert offer not in steps(Stage.FINAL_DECISION, Role.MANAGER, user_id=OTHER)
    assert offer in steps(Stage.FINAL_DECISION, Role.MANAGER, user_id=OTHER, hiring_manager_id=None)
    assert ("offer_decision", None, ("advance", "reject"), True) in steps(Stage.FINAL_DECISION, Role.ADMIN)
    recruiter = steps(Stage.FINAL_DECISION, Role.RECRUITER)
    assert not {a for a in recruiter if a[0] in ("decide", "offer_decision")}  # no rejection at the offer decision


def test_closed_applications_offer_only_the_records():
    for stage in pipeline.CLOSED_STAGES:
        assert steps(stage, Role.ADMIN, has_due_date=False) == RECORDS
        assert steps(stage, Role.MANAGER, user_id=HM, has_due_date=False) == set()


def test_a_second_interview_is_scheduled_once_and_extensions_need_a_date():
    second = pipeline.InterviewFacts(id=6, round=2, scheduled_at=NOW_A + timedelta(days=2))
    assert ("schedule_interview", None, (), False) in steps(Stage.SECOND_INTERVIEW, Role.RECRUITER)
    assert ("schedule_interview", None, (), False) not in steps(Stage.SECOND_INTERVIEW, Role.RECRUITER,
                                                                 interviews=[second])
    assert ("extend_deadline", None, (), False) not in steps(Stage.APPLIED, Role.RECRUITER, has_due_date=False)
    assert ("extend_deadline", None, (), False) not in steps(Stage.FIRST_INTERVIEW, Role.RECRUITER)


@settings(max_examples=300, deadline=None)
@given(stage=st.sampled_from(list(Stage)), role=st.sampled_from(list(Role)), user_id=st.sampled_from([HM, OTHER]),
       hiring_manager=st.sampled_from([HM, None]))
def test_every_offered_decision_passes_the_services_own_check(stage, role, user_id, hiring_manager):
    """The page never offers a decision the service refuses (pipeline.require_decision)."""
    for available in pipeline.available_actions(stage, role, NOW_A, POLICY, user_id=user_id,
                                                hiring_manager_id=hiring_manager):
        for outcome in available.outcomes:
            pipeline.decision_event(stage, "reject" if outcome == "reject" else outcome)
            pipeline.require_decision(role, stage, outcome, actor_id=user_id, hiring_manager_id=hiring_manager,
                                      acting_for="On leave." if available.acting_for else "")


# --- what a rejected candidate is told ------------------------------------------------------------


def test_rejection_wording_follows_the_stage():
    assert pipeline.rejected_after(Stage.APPLIED) == "application"
    assert pipeline.rejected_after(Stage.FIRST_INTERVIEW) == "application"  # not yet interviewed
    assert pipeline.rejected_after(Stage.FIRST_DECISION) == "first_interview"
    assert pipeline.rejected_after(Stage.SECOND_INTERVIEW) == "first_interview"
    assert pipeline.rejected_after(Stage.FINAL_DECISION) == "second_interview"


def test_another_candidate_was_preferred_only_if_someone_got_further():
    assert not pipeline.another_preferred(Stage.FIRST_DECISION, [])
    assert not pipeline.another_preferred(Stage.FIRST_DECISION, [Stage.APPLIED, Stage.FIRST_DECISION])
    assert pipeline.another_preferred(Stage.FIRST_DECISION, [Stage.APPLIED, Stage.SECOND_INTERVIEW])
    assert pipeline.another_preferred(Stage.FINAL_DECISION, ["hired"])
    assert not pipeline.another_preferred(Stage.FINAL_DECISION, [Stage.FINAL_DECISION])


def test_the_path_to_each_stage_follows_the_transitions():
    assert pipeline.path_to(Stage.APPLIED) == []
    assert pipeline.path_to("final_decision") == [Stage.FIRST_INTERVIEW, Stage.FIRST_DECISION,
                                                  Stage.SECOND_INTERVIEW, Stage.FINAL_DECISION]
    assert pipeline.path_to(Stage.HIRED)[-2:] == [Stage.OFFER, Stage.HIRED]  # only an offer can be accepted
    assert pipeline.path_to(Stage.REJECTED) == [Stage.REJECTED]  # straight from applied by default
    assert pipeline.path_to(Stage.WITHDRAWN, closed_from=Stage.FIRST_DECISION) == [
        Stage.FIRST_INTERVIEW, Stage.FIRST_DECISION, Stage.WITHDRAWN]
    for target in Stage:  # every step of every path is a transition the process allows
        stages = [Stage.APPLIED, *pipeline.path_to(target)]
        for before, after in itertools.pairwise(stages):
            assert after in {pipeline.next_stage(before, e) for e in pipeline.allowed_events(before)}
    with pytest.raises(pipeline.IllegalTransition):
        pipeline.path_to(Stage.HIRED, closed_from=Stage.APPLIED)


# --- the walk (demo, factories, generator) ---------------------------------------------------


def test_the_walk_takes_the_transitions_events():
    hired = walk.steps_to(Stage.HIRED)
    assert [s.event for s in hired] == [Event.SCHEDULE_FIRST_INTERVIEW, Event.FIRST_INTERVIEW_HELD,
                                        Event.INVITE_SECOND_INTERVIEW, Event.SECOND_INTERVIEW_HELD,
                                        Event.MAKE_OFFER, Event.OFFER_ACCEPTED]
    assert [s.stage for s in hired] == pipeline.path_to(Stage.HIRED)
    rejected = walk.steps_to(Stage.REJECTED, closed_from=Stage.FIRST_DECISION)
    assert [s.event for s in rejected][-1] == Event.REJECT and len(rejected) == 3
    assert walk.steps_to(Stage.APPLIED) == []
    with pytest.raises(IllegalTransition):
        walk.steps_to(Stage.HIRED, closed_from=Stage.APPLIED)


def test_the_walk_arrives_at_the_last_step_at_the_time_asked():
    steps = walk.steps_to(Stage.FIRST_DECISION)
    submitted, timed = walk.timed(steps, ENTERED, [timedelta(days=3), timedelta(days=5)])
    assert submitted == ENTERED - timedelta(days=8)
    assert [s.at for s in timed] == [ENTERED - timedelta(days=5), ENTERED]
    with pytest.raises(ValueError):
        walk.timed(steps, ENTERED, [timedelta(days=1)])


def test_the_walk_remembers_the_notices_the_deadline_job_sent():
    every = timedelta(minutes=15)
    due = eod(date(2026, 12, 1))
    state = ApplicationState(stage=Stage.FIRST_DECISION, due_at=due)
    # Before the due-soon window nothing was announced; inside it, at the first run after it opened.
    assert walk.notices_sent(state, ENTERED, ENTERED + timedelta(days=1), POLICY, every=every) == walk.NoticeMemory()
    soon = due - timedelta(days=POLICY.due_soon_days)
    marks = walk.notices_sent(state, ENTERED, due, POLICY, every=every)
    assert marks.due_soon_notified_at == soon + every and marks.overdue_notified_at is None
    # Overdue, and late since an automatic delay moved the date on: announced once, at the missed deadline.
    later = walk.notices_sent(state, ENTERED, due + timedelta(hours=1), POLICY, every=every)
    assert later.overdue_notified_at == due + every
    delayed = ApplicationState(stage=Stage.FIRST_DECISION, due_at=due + timedelta(days=3), overdue_since=due)
    delayed_marks = walk.notices_sent(delayed, ENTERED, due + timedelta(days=1), POLICY, every=every)
    assert delayed_marks.overdue_notified_at == due + every
    assert delayed_marks.due_soon_notified_at is None  # the delay notice's new date cleared it, as keep_promise does
    # An interview nobody marked held: announced once the policy's hours have passed.
    ends = ENTERED + timedelta(hours=1)
    unrecorded = ApplicationState(stage=Stage.FIRST_INTERVIEW, interview_ends_at=ends)
    after = pipeline.unrecorded_after(ends, POLICY)
    assert walk.notices_sent(unrecorded, ENTERED, after, POLICY, every=every).unrecorded_notified_at is None
    assert walk.notices_sent(unrecorded, ENTERED, after + every, POLICY, every=every).unrecorded_notified_at \
        == after + every
    assert walk.notices_sent(ApplicationState(stage=Stage.HIRED), ENTERED, NOW, POLICY, every=every) \
        == walk.NoticeMemory()
