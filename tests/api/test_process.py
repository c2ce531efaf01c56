"""The process through the API: interviews, feedback, decisions and the rest, per role."""

from datetime import timedelta

import pytest

from hiring import services
from hiring.models import Application, AuditEvent, Decision, Feedback, Interview, OutboxEmail
from hiring.pipeline import Stage
from hiring.settings import get_policy

from .conftest import Api, error_of


def _schedule(api, application_id, round=1, when="2026-11-27T10:00:00+01:00", emails=None, **extra):
    return api.post(f"/applications/{application_id}/interviews", json={
        "round": round, "scheduled_at": when, "location": "Room Ada",
        "interviewer_emails": emails or ["interviewer@team.example", "interviewer2@team.example"], **extra})


def test_schedule_the_first_interview(team, factory):
    application = factory.application(Stage.APPLIED, position=team.position)
    response = _schedule(team.as_("recruiter"), application.id, duration_minutes=90)
    assert response.status_code == 201
    body = response.get_json()
    assert body == {"id": body["id"], "application_id": application.id, "round": 1,
                    "scheduled_at": "2026-11-27T09:00:00+00:00", "duration_minutes": 90, "location": "Room Ada",
                    "video_link": "", "held_at": None, "cancelled_at": None,
                    "interviewer_emails": ["interviewer@team.example", "interviewer2@team.example"],
                    "feedback": [], "feedback_hidden": False}
    assert response.headers["Location"] == f"/api/v1/interviews/{body['id']}"
    assert db_stage(application) == "first_interview"
    assert OutboxEmail.query.filter_by(template="interview_invitation").count() == 1


def db_stage(application):
    from hiring.extensions import db

    db.session.expire_all()
    return db.session.get(Application, application.id).stage


def test_schedule_validation(team, factory):
    application = factory.application(Stage.APPLIED, position=team.position)
    api = team.as_("recruiter")
    response = _schedule(api, application.id, emails=["ghost@example.com"])
    assert response.status_code == 422
    assert "ghost@example.com" in error_of(response)["fields"]["interviewer_emails"]
    response = _schedule(api, application.id, when="2026-11-01T10:00:00+01:00")
    assert response.status_code == 422 and "scheduled_at" in error_of(response)["fields"]
    response = _schedule(api, application.id, location="")
    assert response.status_code == 422 and "location" in error_of(response)["fields"]
    response = _schedule(api, application.id, duration_minutes=5)
    assert response.status_code == 422 and "duration_minutes" in error_of(response)["fields"]
    response = _schedule(api, application.id, round=3)
    assert response.status_code == 422 and "round" in error_of(response)["fields"]
    assert db_stage(application) == "applied"


def test_second_round_before_the_invitation_is_409(team, factory):
    application = factory.application(Stage.APPLIED, position=team.position)
    response = _schedule(team.as_("recruiter"), application.id, round=2)
    assert response.status_code == 409
    assert error_of(response)["code"] == "illegal_transition"


@pytest.mark.parametrize("role", ["manager", "interviewer"])
def test_only_recruiters_schedule(team, factory, role):
    application = factory.application(Stage.FIRST_INTERVIEW, position=team.position, panel=team.panel)
    cancelled = factory.application(Stage.APPLIED, position=team.position)
    # An interviewer on none of its panels may not even learn that it exists.
    assert _schedule(team.as_(role), cancelled.id).status_code == (404 if role == "interviewer" else 403)
    assert Interview.query.filter_by(application_id=cancelled.id).count() == 0
    assert _schedule(team.as_(role), 999999).status_code == 404
    assert application.stage == Stage.FIRST_INTERVIEW


def test_mark_held_moves_to_the_debrief(team, factory, api_clock, now):
    application = factory.application(Stage.FIRST_INTERVIEW, position=team.position, panel=team.panel)
    interview = application.interviews[0]
    api_clock["now"] = interview.scheduled_at + timedelta(hours=2)
    response = team.as_("recruiter").post(f"/interviews/{interview.id}/held", json={})
    assert response.status_code == 200
    assert response.get_json()["held_at"] == (interview.scheduled_at + timedelta(hours=2)).isoformat()
    body = team.as_("recruiter").get(f"/applications/{application.id}").get_json()
    assert body["stage"] == "first_decision"
    assert body["promised_by"] == "2026-12-04"  # one week after the interview, as told with the invitation
    assert body["due_at"] == "2026-12-03T22:59:59+00:00"
    again = team.as_("recruiter").post(f"/interviews/{interview.id}/held")
    assert again.status_code == 409


def test_held_before_the_stage_began_is_422_naming_the_bound(team, factory, api_clock, now):
    """The same rule and message as the UI's form (pipeline.check_reported_time)."""
    began = now.replace(second=37)
    application = factory.application(Stage.FIRST_INTERVIEW, position=team.position, panel=team.panel, at=began)
    interview = application.interviews[0]
    api_clock["now"] = began + timedelta(minutes=5)
    response = team.as_("recruiter").post(f"/interviews/{interview.id}/held",
                                          json={"held_at": began.replace(second=0).isoformat()})
    assert response.status_code == 422
    assert error_of(response)["fields"] == {
        "held_at": "Not before the interview was scheduled (24 Nov 2026, 09:00:37)."}
    # At the stage's first second it is no longer before the stage, but still before the
    # interview's scheduled start (the next rule).
    response = team.as_("recruiter").post(f"/interviews/{interview.id}/held", json={"held_at": began.isoformat()})
    assert response.status_code == 422
    assert list(error_of(response)["fields"]) == ["held_at"]


def test_held_before_the_scheduled_start_is_422_naming_the_field(team, factory, api_clock):
    application = factory.application(Stage.FIRST_INTERVIEW, position=team.position, panel=team.panel)
    interview = application.interviews[0]
    start = interview.scheduled_at
    api_clock["now"] = start + timedelta(hours=2)
    api = team.as_("recruiter")
    response = api.post(f"/interviews/{interview.id}/held", json={"held_at": (start - timedelta(hours=1)).isoformat()})
    assert response.status_code == 422
    local = start.astimezone(get_policy().tz)
    assert error_of(response)["fields"] == {
        "held_at": f"Not before the scheduled start ({local.day} {local:%b %Y}, {local:%H:%M}). If it really took "
                   "place earlier, reschedule it to the real time first."}
    assert api.get(f"/interviews/{interview.id}").get_json()["held_at"] is None
    # Marking it held now (the default) is before the start too while it has not begun.
    api_clock["now"] = start - timedelta(minutes=10)
    assert api.post(f"/interviews/{interview.id}/held", json={}).status_code == 422
    api_clock["now"] = start + timedelta(hours=2)
    response = api.post(f"/interviews/{interview.id}/held", json={"held_at": start.isoformat()})
    assert response.status_code == 200
    assert response.get_json()["held_at"] is not None


def test_held_with_an_explicit_time_and_stale_version(team, factory, api_clock):
    application = factory.application(Stage.FIRST_INTERVIEW, position=team.position, panel=team.panel)
    interview = application.interviews[0]
    api_clock["now"] = interview.scheduled_at + timedelta(days=1)
    api = team.as_("recruiter")
    stale = api.post(f"/interviews/{interview.id}/held", json={"version": application.version - 1})
    assert stale.status_code == 409 and error_of(stale)["code"] == "stale_version"
    future = api.post(f"/interviews/{interview.id}/held",
                      json={"held_at": (interview.scheduled_at + timedelta(days=2)).isoformat()})
    assert future.status_code == 422 and "held_at" in error_of(future)["fields"]
    held_at = interview.scheduled_at + timedelta(minutes=60)
    response = api.post(f"/interviews/{interview.id}/held", json={"held_at": held_at.isoformat()})
    assert response.status_code == 200
    assert response.get_json()["held_at"] == held_at.isoformat()


@pytest.mark.parametrize("role", ["manager", "interviewer"])
def test_only_recruiters_mark_held(team, factory, role):
    application = factory.application(Stage.FIRST_INTERVIEW, position=team.position, panel=team.panel)
    assert team.as_(role).post(f"/interviews/{application.interviews[0].id}/held").status_code == 403
    assert team.as_(role).post("/interviews/424242/held").status_code == 404


def test_cancel_an_upcoming_first_interview(team, factory):
    application = factory.application(Stage.FIRST_INTERVIEW, position=team.position, panel=team.panel)
    interview_id = application.interviews[0].id
    assert team.as_("interviewer").post(f"/interviews/{interview_id}/cancel").status_code == 403
    response = team.as_("recruiter").post(f"/interviews/{interview_id}/cancel", json={"reason": "Room flooded."})
    assert response.status_code == 200
    assert response.get_json()["cancelled_at"] == "2026-11-24T08:00:00+00:00"
    assert db_stage(application) == "applied"
    assert OutboxEmail.query.filter_by(template="interview_cancelled").count() == 1
    again = team.as_("recruiter").post(f"/interviews/{interview_id}/cancel")
    assert again.status_code == 409 and error_of(again)["code"] == "illegal_transition"


def test_feedback_is_given_by_the_panel_and_hidden_until_given(team, factory):
    application = factory.application(Stage.FIRST_DECISION, position=team.position, panel=team.panel)
    interview_id = application.interviews[0].id
    first, second = team.as_("interviewer"), team.as_("interviewer2")
    response = first.post(f"/interviews/{interview_id}/feedback",
                          json={"recommendation": "strong_yes", "notes": "Great RTOS answers."})
    assert response.status_code == 201
    assert [f["interviewer_email"] for f in response.get_json()["feedback"]] == ["interviewer@team.example"]
    # The second interviewer has not submitted: the first's feedback is hidden from them.
    hidden = second.get(f"/interviews/{interview_id}").get_json()
    assert hidden["feedback"] == [] and hidden["feedback_hidden"] is True
    listed = second.get(f"/applications/{application.id}").get_json()["interviews"][0]
    assert listed["feedback"] == [] and listed["feedback_hidden"] is True
    # The recruiter (not on the panel) sees it.
    seen = team.as_("recruiter").get(f"/interviews/{interview_id}").get_json()["feedback"]
    assert [f["notes"] for f in seen] == ["Great RTOS answers."]
    response = second.post(f"/interviews/{interview_id}/feedback", json={"recommendation": "no"})
    assert response.status_code == 201
    assert {f["recommendation"] for f in response.get_json()["feedback"]} == {"strong_yes", "no"}
    assert Feedback.query.count() == 2


def test_feedback_refusals(team, factory):
    application = factory.application(Stage.FIRST_DECISION, position=team.position, panel=team.panel)
    interview_id = application.interviews[0].id
    outsider = team.as_("outsider").post(f"/interviews/{interview_id}/feedback", json={"recommendation": "yes"})
    assert outsider.status_code == 404  # not on any of its panels: as if there were no such interview
    recruiter = team.as_("recruiter").post(f"/interviews/{interview_id}/feedback", json={"recommendation": "yes"})
    assert recruiter.status_code == 403  # not on the panel
    api = team.as_("interviewer")
    bad = api.post(f"/interviews/{interview_id}/feedback", json={"recommendation": "maybe"})
    assert bad.status_code == 422 and "recommendation" in error_of(bad)["fields"]
    assert api.post(f"/interviews/{interview_id}/feedback", json={"recommendation": "yes"}).status_code == 201
    twice = api.post(f"/interviews/{interview_id}/feedback", json={"recommendation": "no"})
    assert twice.status_code == 409 and error_of(twice)["code"] == "conflict"
    assert api.post("/interviews/4242/feedback", json={"recommendation": "yes"}).status_code == 404


def test_feedback_before_the_interview_is_409(team, factory):
    application = factory.application(Stage.FIRST_INTERVIEW, position=team.position, panel=team.panel)
    response = team.as_("interviewer").post(f"/interviews/{application.interviews[0].id}/feedback",
                                            json={"recommendation": "yes"})
    assert response.status_code == 409


# --- decisions -------------------------------------------------------------------------------


def _decide(api, application, **body):
    return api.post(f"/applications/{application.id}/decisions", json=body)


def test_advance_in_applied_is_409(team, factory):
    application = factory.application(Stage.APPLIED, position=team.position)
    response = _decide(team.as_("recruiter"), application, outcome="advance")
    assert response.status_code == 409
    assert error_of(response)["code"] == "illegal_transition"
    assert "first interview" in error_of(response)["message"]


def test_advance_from_the_debrief_invites_to_the_second_interview(team, factory):
    application = factory.application(Stage.FIRST_DECISION, position=team.position, panel=team.panel)
    version = application.version
    response = _decide(team.as_("recruiter"), application, outcome="advance", rationale="Strong.", version=version)
    assert response.status_code == 200
    body = response.get_json()
    assert body["stage"] == "second_interview" and body["version"] > version
    assert body["decisions"][-1]["outcome"] == "advance" and body["decisions"][-1]["rationale"] == "Strong."
    assert OutboxEmail.query.filter_by(template="second_interview_invitation").count() == 1
    second = _schedule(team.as_("recruiter"), application.id, round=2, when="2026-11-30T10:00:00+01:00")
    assert second.status_code == 201 and second.get_json()["round"] == 2


def test_stale_version_is_409_and_changes_nothing(team, factory):
    application = factory.application(Stage.FIRST_DECISION, position=team.position)
    response = _decide(team.as_("recruiter"), application, outcome="reject", version=application.version - 1)
    assert response.status_code == 409
    assert error_of(response)["code"] == "stale_version"
    assert db_stage(application) == "first_decision"
    assert Decision.query.filter_by(application_id=application.id).count() == 0


@pytest.mark.parametrize("outcome", ["advance", "reject"])
def test_only_the_hiring_manager_decides_the_offer(team, factory, outcome):
    application = factory.application(Stage.FINAL_DECISION, position=team.position, panel=team.panel,
                                      recommendations=["yes", "yes"])
    other_manager = factory.user("manager")
    _, secret = services.create_api_token(other_manager, "test")
    other = Api(team.as_("manager").client, secret)
    for api in (team.as_("recruiter"), team.as_("interviewer"), other):
        response = _decide(api, application, outcome=outcome, rationale="We decide.")
        assert response.status_code == 403
        assert error_of(response)["code"] == "forbidden"
    message = error_of(_decide(other, application, outcome=outcome, rationale="We decide."))["message"]
    assert message == ("Only the position's hiring manager takes the offer decision; ask them, or an admin "
                       "acting for them.")
    response = _decide(team.as_("manager"), application, outcome=outcome, rationale="Agreed.")
    assert response.status_code == 200
    assert response.get_json()["stage"] == ("offer" if outcome == "advance" else "rejected")
    assert response.get_json()["decisions"][-1]["decided_by"] == "manager@team.example"


def test_an_admin_decides_the_offer_for_the_hiring_manager_with_a_reason(team, factory):
    application = factory.application(Stage.FINAL_DECISION, position=team.position, panel=team.panel,
                                      recommendations=["yes", "yes"])
    response = _decide(team.as_("admin"), application, outcome="advance")
    assert response.status_code == 422
    assert list(error_of(response)["fields"]) == ["acting_for"]
    response = _decide(team.as_("admin"), application, outcome="advance", acting_for="Mona is on leave; agreed.")
    assert response.status_code == 200
    assert response.get_json()["stage"] == "offer"
    event = AuditEvent.query.filter_by(application_id=application.id, kind="decision").order_by(
        AuditEvent.id.desc()).first()
    assert event.data["stage"] == "final_decision"
    assert event.data["acting_for"] == "Mona is on leave; agreed."


def test_the_debrief_against_the_panel_needs_a_rationale(team, factory):
    application = factory.application(Stage.FIRST_DECISION, position=team.position, panel=team.panel,
                                      recommendations=["no", "strong_no"])
    response = _decide(team.as_("recruiter"), application, outcome="advance")
    assert response.status_code == 422
    assert error_of(response)["fields"] == {
        "rationale": "The whole panel recommended not to hire this candidate; write down why you advance."}
    response = _decide(team.as_("recruiter"), application, outcome="advance", rationale="Saw potential.")
    assert response.status_code == 200


def test_offer_without_a_clear_recommendation_needs_a_rationale(team, factory):
    application = factory.application(Stage.FINAL_DECISION, position=team.position, panel=team.panel,
                                      recommendations=["yes", "no"])
    response = _decide(team.as_("manager"), application, outcome="advance")
    assert response.status_code == 422
    assert "rationale" in error_of(response)["fields"]
    response = _decide(team.as_("manager"), application, outcome="advance", rationale="Discussed; hire.")
    assert response.status_code == 200


@pytest.mark.parametrize("stage", ["applied", "first_interview", "first_decision", "second_interview", "offer"])
def test_recruiter_rejects_from_any_open_stage(team, factory, stage):
    application = factory.application(stage, position=team.position)
    response = _decide(team.as_("recruiter"), application, outcome="reject", rationale="Not a fit.",
                       candidate_feedback="We chose someone with more FPGA experience.")
    assert response.status_code == 200
    assert response.get_json()["stage"] == "rejected"
    assert response.get_json()["due_at"] is None
    again = _decide(team.as_("recruiter"), application, outcome="reject", rationale="Again.")
    assert again.status_code == 409


def test_manager_rejects_at_the_offer_decision_but_not_earlier(team, factory):
    final = factory.application(Stage.FINAL_DECISION, position=team.position, recommendations=["no", "no"])
    assert _decide(team.as_("manager"), final, outcome="reject", rationale="Clear no.").status_code == 200
    early = factory.application(Stage.FIRST_DECISION, position=team.position)
    assert _decide(team.as_("manager"), early, outcome="reject", rationale="Not a fit.").status_code == 403


@pytest.mark.parametrize("stage", ["first_decision", "final_decision"])
def test_a_rejection_without_a_rationale_is_422_and_changes_nothing(team, factory, stage):
    application = factory.application(stage, position=team.position, panel=team.panel, recommendations=["no", "no"])
    api = team.as_("manager" if stage == "final_decision" else "recruiter")
    decisions = Decision.query.filter_by(application_id=application.id).count()
    for body in ({}, {"rationale": ""}, {"rationale": "   "}):
        response = _decide(api, application, outcome="reject", **body)
        assert response.status_code == 422, body
        error = error_of(response)
        assert error["code"] == "validation_error" and set(error["fields"]) == {"rationale"}
    assert db_stage(application) == stage
    assert Decision.query.filter_by(application_id=application.id).count() == decisions
    assert OutboxEmail.query.filter_by(template="rejection").count() == 0


def test_decision_validation(team, factory):
    application = factory.application(Stage.FIRST_DECISION, position=team.position)
    api = team.as_("recruiter")
    response = _decide(api, application, outcome="maybe")
    assert response.status_code == 422 and "outcome" in error_of(response)["fields"]
    response = _decide(api, application, outcome="reject", decided_at="2030-01-01T00:00:00+00:00")
    assert response.status_code == 422 and "decided_at" in error_of(response)["fields"]
    assert _decide(api, application).status_code == 422
    assert _decide(api, application, outcome="reject", version=0).status_code == 422
    assert team.as_("interviewer").post(f"/applications/{application.id}/decisions",
                                        json={"outcome": "reject"}).status_code == 404  # not on its panel


# --- offer response, extension, competing offer, withdrawal ---------------------------------------


@pytest.mark.parametrize(("accepted", "stage"), [(True, "hired"), (False, "declined")])
def test_offer_response(team, factory, accepted, stage):
    application = factory.application(Stage.OFFER, position=team.position)
    response = team.as_("recruiter").post(f"/applications/{application.id}/offer-response",
                                          json={"accepted": accepted, "note": "Phoned us."})
    assert response.status_code == 200
    assert response.get_json()["stage"] == stage
    assert response.get_json()["decisions"][-1]["outcome"] == ("accepted" if accepted else "declined")


def test_offer_response_refusals(team, factory):
    application = factory.application(Stage.FINAL_DECISION, position=team.position)
    api = team.as_("recruiter")
    assert api.post(f"/applications/{application.id}/offer-response", json={"accepted": True}).status_code == 409
    assert api.post(f"/applications/{application.id}/offer-response", json={"accepted": "yes"}).status_code == 422
    assert api.post(f"/applications/{application.id}/offer-response", json={}).status_code == 422
    offered = factory.application(Stage.OFFER, position=team.position)
    assert team.as_("manager").post(f"/applications/{offered.id}/offer-response",
                                    json={"accepted": True}).status_code == 403


def test_extension(team, factory):
    application = factory.application(Stage.FIRST_DECISION, position=team.position)
    api = team.as_("recruiter")
    response = api.post(f"/applications/{application.id}/extension",
                        json={"until": "2026-12-10", "reason": "The hiring manager is travelling."})
    assert response.status_code == 200
    body = response.get_json()
    assert body["promised_by"] == "2026-12-10" and body["promise_moves"] == 1
    assert body["due_at"] == "2026-12-09T22:59:59+00:00"
    assert body["extension_reason"] == "The hiring manager is travelling."
    assert OutboxEmail.query.filter_by(template="deadline_extended").count() == 1
    shorter = api.post(f"/applications/{application.id}/extension", json={"until": "2026-12-05", "reason": "x"})
    assert shorter.status_code == 422 and "until" in error_of(shorter)["fields"]
    no_reason = api.post(f"/applications/{application.id}/extension", json={"until": "2026-12-20", "reason": ""})
    assert no_reason.status_code == 422 and "reason" in error_of(no_reason)["fields"]
    bad_date = api.post(f"/applications/{application.id}/extension", json={"until": "2026-02-30", "reason": "x"})
    assert bad_date.status_code == 422 and "until" in error_of(bad_date)["fields"]
    # A manager may extend too; an interviewer may not.
    manager = team.as_("manager").post(f"/applications/{application.id}/extension",
                                       json={"until": "2026-12-12", "reason": "Budget sign-off."})
    assert manager.status_code == 200
    assert team.as_("interviewer").post(f"/applications/{application.id}/extension",
                                        json={"until": "2026-12-14", "reason": "x"}).status_code == 404


def test_extension_where_there_is_no_date_is_409(team, factory):
    application = factory.application(Stage.HIRED, position=team.position)
    response = team.as_("recruiter").post(f"/applications/{application.id}/extension",
                                          json={"until": "2026-12-10", "reason": "x"})
    assert response.status_code == 409


def test_competing_offer_pulls_the_date_and_flags_expedite(team, factory):
    application = factory.application(Stage.FIRST_DECISION, position=team.position)
    api = team.as_("recruiter")
    response = api.post(f"/applications/{application.id}/competing-offer", json={"deadline": "2026-11-28"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["competing_offer_deadline"] == "2026-11-28"
    assert body["promised_by"] == "2026-11-27"
    assert OutboxEmail.query.filter_by(template="competing_offer_confirmation").count() == 1
    assert "expedite" in body["flags"]
    assert api.get("/applications?flag=expedite").get_json()["total"] == 1
    past = api.post(f"/applications/{application.id}/competing-offer", json={"deadline": "2026-11-01"})
    assert past.status_code == 422 and "deadline" in error_of(past)["fields"]
    cleared = api.post(f"/applications/{application.id}/competing-offer", json={"deadline": None}).get_json()
    assert cleared["competing_offer_deadline"] is None and "expedite" not in cleared["flags"]
    assert api.post(f"/applications/{application.id}/competing-offer", json={}).status_code == 422
    assert team.as_("manager").post(f"/applications/{application.id}/competing-offer",
                                    json={"deadline": "2026-11-28"}).status_code == 403


def test_withdrawal(team, factory):
    application = factory.application(Stage.FIRST_INTERVIEW, position=team.position, panel=team.panel)
    api = team.as_("recruiter")
    response = api.post(f"/applications/{application.id}/withdrawal", json={"reason": "Took another job."})
    assert response.status_code == 200
    body = response.get_json()
    assert body["stage"] == "withdrawn" and body["due_at"] is None
    assert body["interviews"][0]["cancelled_at"] is not None
    assert OutboxEmail.query.filter_by(template="withdrawal_confirmation").count() == 1
    assert api.post(f"/applications/{application.id}/withdrawal").status_code == 409
    other = factory.application(Stage.APPLIED, position=team.position)
    assert team.as_("manager").post(f"/applications/{other.id}/withdrawal").status_code == 403
    assert team.as_("interviewer").post(f"/applications/{other.id}/withdrawal").status_code == 404
    assert api.post("/applications/4242/withdrawal").status_code == 404
