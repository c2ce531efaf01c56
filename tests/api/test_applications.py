from datetime import datetime, timedelta

import pytest

from hiring.models import Application, Candidate, OutboxEmail
from hiring.pipeline import Stage

from .conftest import error_of


def _submit(api, position_id, email="ada@example.org", **extra):
    return api.post("/applications", json={"position_id": position_id,
                                           "candidate": {"name": "Ada Lovelace", "email": email, **extra}})


def test_submit_an_application(team, now):
    response = _submit(team.as_("recruiter"), team.position.id, phone="+49 89 1234", language="de")
    assert response.status_code == 201
    body = response.get_json()
    assert body["stage"] == "applied"
    assert response.headers["Location"] == f"/api/v1/applications/{body['id']}"
    assert response.headers["Cache-Control"] == "no-store"
    assert body["position_id"] == team.position.id
    assert body["candidate"] == {"id": body["candidate"]["id"], "name": "Ada Lovelace", "email": "ada@example.org",
                                 "phone": "+49 89 1234", "language": "de"}
    assert body["owner_email"] == "recruiter@team.example"
    assert body["version"] >= 1 and body["flags"] == [] and body["interviews"] == [] and body["decisions"] == []
    # Every timestamp carries its offset; the answer is due 14 days later, at the end of the day in Berlin.
    assert body["applied_at"] == "2026-11-24T08:00:00+00:00"
    assert body["promised_by"] == "2026-12-08" and body["promise_moves"] == 0 and body["days_late"] == 0
    assert body["due_at"] == "2026-12-07T22:59:59+00:00"  # the team's deadline: a working day before
    assert datetime.fromisoformat(body["stage_entered_at"]).utcoffset() == timedelta(0)
    assert [e.template for e in OutboxEmail.query.all()] == ["application_received"]


def test_candidate_is_reused_by_email(team, factory):
    other = factory.position(owner=team.recruiter, hiring_manager=team.manager)
    api = team.as_("recruiter")
    first = _submit(api, team.position.id).get_json()
    second = _submit(api, other.id, email="ADA@example.org").get_json()
    assert second["candidate"]["id"] == first["candidate"]["id"]
    assert Candidate.query.count() == 1


def test_applying_twice_for_one_position_is_409(team):
    api = team.as_("recruiter")
    _submit(api, team.position.id)
    response = _submit(api, team.position.id)
    assert response.status_code == 409
    assert error_of(response)["code"] == "conflict"


def test_the_same_application_twice_at_once_is_a_clear_409(team, race, now):
    """Two requests (a double click on the careers site) both pass the duplicate check;
    the second gets the same clear conflict as a late duplicate, and nothing twice."""
    from hiring import services
    from hiring.extensions import db
    from hiring.models import Position

    position_id = team.position.id

    def rival():
        position = db.session.get(Position, position_id)
        services.submit_application(position, name="Anna", email="anna@example.org", actor=position.owner,
                                    now=now)

    race(rival)
    response = team.as_("recruiter").post("/applications", json={
        "position_id": position_id, "candidate": {"name": "Anna", "email": "anna@example.org"}})
    assert response.status_code == 409, response.get_data(as_text=True)
    error = error_of(response)
    assert error["code"] == "conflict" and "Anna has already applied" in error["message"]
    assert Application.query.count() == 1 and Candidate.query.count() == 1
    assert OutboxEmail.query.filter_by(template="application_received").count() == 1


def test_closed_position_takes_no_applications(team):
    from hiring import services

    services.close_position(team.position, actor=team.recruiter)
    response = _submit(team.as_("recruiter"), team.position.id)
    assert response.status_code == 409
    assert error_of(response)["code"] == "illegal_transition"


def test_unknown_position_is_422(team):
    response = _submit(team.as_("recruiter"), 424242)
    assert response.status_code == 422
    assert "position_id" in error_of(response)["fields"]


def test_applied_at_in_the_past_and_not_in_the_future(team, now):
    api = team.as_("recruiter")
    body = {"position_id": team.position.id, "candidate": {"name": "Bo", "email": "bo@example.org"},
            "applied_at": "2026-11-20T09:30:00+01:00"}
    response = api.post("/applications", json=body)
    assert response.status_code == 201
    assert response.get_json()["applied_at"] == "2026-11-20T08:30:00+00:00"
    body["applied_at"] = "2026-12-20T09:30:00+01:00"
    body["candidate"]["email"] = "cy@example.org"
    response = api.post("/applications", json=body)
    assert response.status_code == 422
    assert "applied_at" in error_of(response)["fields"]


@pytest.mark.parametrize("role", ["manager", "interviewer"])
def test_only_recruiters_and_admins_submit(team, role):
    assert _submit(team.as_(role), team.position.id).status_code == 403
    assert Application.query.count() == 0


def test_overdue_list_counts_every_overdue_application_on_every_page(team, factory, now):
    """The overdue page counts them as it reads them; a page past the end counts apart."""
    overdue = [factory.application(Stage.APPLIED, position=team.position, at=now - timedelta(days=20 + i))
               for i in range(5)]
    factory.application(Stage.APPLIED, position=team.position)  # not overdue
    api = team.as_("recruiter")
    newest_first = sorted((a.id for a in overdue), reverse=True)
    for page, expected in ((1, newest_first[:2]), (2, newest_first[2:4]), (3, newest_first[4:]), (4, [])):
        listed = api.get(f"/applications?flag=overdue&per_page=2&page={page}").get_json()
        assert listed["total"] == 5, page
        assert [a["id"] for a in listed["items"]] == expected, page


def test_list_filters_and_pages(team, factory, now):
    overdue = factory.application(Stage.APPLIED, position=team.position, at=now - timedelta(days=20))
    due_soon = factory.application(Stage.FIRST_DECISION, position=team.position, at=now - timedelta(days=6))
    fresh = factory.application(Stage.APPLIED, position=team.position)
    other = factory.application(Stage.APPLIED)
    api = team.as_("recruiter")
    everything = api.get("/applications").get_json()
    assert everything["total"] == 4 and everything["page"] == 1 and everything["per_page"] == 25
    assert [a["id"] for a in everything["items"]] == [other.id, fresh.id, due_soon.id, overdue.id]
    assert [a["id"] for a in api.get("/applications?flag=overdue").get_json()["items"]] == [overdue.id]
    assert [a["id"] for a in api.get("/applications?flag=due_soon").get_json()["items"]] == [due_soon.id]
    assert api.get("/applications?flag=expedite").get_json()["total"] == 0
    staged = api.get("/applications?stage=first_decision").get_json()
    assert [a["id"] for a in staged["items"]] == [due_soon.id]
    by_position = api.get(f"/applications?position_id={team.position.id}&stage=applied").get_json()
    assert {a["id"] for a in by_position["items"]} == {overdue.id, fresh.id}
    page2 = api.get("/applications?per_page=3&page=2").get_json()
    assert page2["total"] == 4 and [a["id"] for a in page2["items"]] == [overdue.id]
    assert api.get("/applications?page=9").get_json()["items"] == []
    flags = {a["id"]: a["flags"] for a in everything["items"]}
    assert flags[overdue.id] == ["overdue"] and flags[fresh.id] == []
    assert flags[due_soon.id] == ["due_soon", "awaiting_feedback"]  # the panel has not given feedback


def test_the_unfiltered_totals_are_the_kept_stage_totals(team, factory, now):
    """Without a filter (or by stage alone) the total is what the triggers of migration
    9a3e5c7b1d24 keep per stage, open and closed stages alike; it follows the verbs and
    writes past them (a bulk change of stage, a delete), as a count would."""
    from sqlalchemy import delete, func, select, update

    from hiring import services
    from hiring.extensions import db
    from hiring.models import StageTotal

    def kept() -> dict:
        return {s: n for s, n in db.session.execute(select(StageTotal.stage, StageTotal.count)) if n}

    def counted() -> dict:
        return dict(db.session.execute(select(Application.stage, func.count()).group_by(Application.stage)).all())

    api = team.as_("recruiter")
    assert kept() == {} and api.get("/applications").get_json()["total"] == 0
    first = factory.application(Stage.APPLIED, position=team.position)
    factory.application(Stage.APPLIED, position=team.position, at=now - timedelta(days=3))
    factory.application(Stage.FIRST_DECISION, position=team.position, panel=team.panel)
    rejected = factory.application(Stage.REJECTED)
    assert kept() == counted() == {"applied": 2, "first_decision": 1, "rejected": 1}
    services.schedule_interview(first, round=1, scheduled_at=now + timedelta(days=2),
                                panel_user_ids=[team.interviewer.id], location="Room 1", actor=team.recruiter, now=now)
    db.session.commit()
    assert kept() == counted() and first.stage == Stage.FIRST_INTERVIEW
    assert api.get("/applications").get_json()["total"] == 4
    assert api.get("/applications?stage=first_interview").get_json()["total"] == 1
    assert api.get("/applications?stage=rejected").get_json()["total"] == 1
    assert api.get("/applications?stage=offer").get_json()["total"] == 0  # a stage without a row
    db.session.execute(update(Application).where(Application.stage == Stage.APPLIED).values(stage=Stage.WITHDRAWN))
    bare = Application(candidate_id=rejected.candidate_id, position_id=team.position.id, owner_id=team.recruiter.id,
                       stage="offer")  # nothing refers to it: it can be deleted
    db.session.add(bare)
    db.session.commit()
    assert kept() == counted() == {"first_interview": 1, "first_decision": 1, "withdrawn": 1, "rejected": 1,
                                   "offer": 1}
    db.session.execute(delete(Application).where(Application.id == bare.id))
    db.session.commit()
    assert kept() == counted() == {"first_interview": 1, "first_decision": 1, "withdrawn": 1, "rejected": 1}
    listed = api.get("/applications?per_page=2").get_json()
    assert listed["total"] == 4 and len(listed["items"]) == 2
    assert api.get("/applications?stage=withdrawn").get_json()["total"] == 1
    # A filter the kept totals cannot answer is still counted: the position's, the panel's.
    assert api.get(f"/applications?position_id={team.position.id}").get_json()["total"] == 3
    assert team.as_("interviewer").get("/applications").get_json()["total"] == 2  # on two panels


def test_get_one_application_in_full(team, factory):
    application = factory.application(Stage.FINAL_DECISION, position=team.position, panel=team.panel,
                                      recommendations=["yes", "strong_yes"])
    body = team.as_("manager").get(f"/applications/{application.id}").get_json()
    assert body["stage"] == "final_decision"
    assert body["verdict"] == "clear_hire"
    assert [i["round"] for i in body["interviews"]] == [1, 2]
    assert body["interviews"][1]["interviewer_emails"] == ["interviewer@team.example", "interviewer2@team.example"]
    assert {f["recommendation"] for f in body["interviews"][1]["feedback"]} == {"yes", "strong_yes"}
    assert body["decisions"] == [{"stage": "first_decision", "outcome": "advance",
                                  "decided_by": "recruiter@team.example",
                                  "decided_at": body["decisions"][0]["decided_at"], "rationale": ""}]
    assert body["due_at"].endswith("+00:00")


def test_closed_application_has_no_due_date(team, factory):
    application = factory.application(Stage.REJECTED, position=team.position)
    body = team.as_("recruiter").get(f"/applications/{application.id}").get_json()
    assert body["stage"] == "rejected" and body["due_at"] is None and body["closed_at"] is not None


def test_interviewer_sees_only_their_panels(team, factory):
    mine = factory.application(Stage.FIRST_INTERVIEW, position=team.position, panel=team.panel)
    theirs = factory.application(Stage.APPLIED, position=team.position)
    api = team.as_("interviewer")
    listed = api.get("/applications").get_json()
    assert [a["id"] for a in listed["items"]] == [mine.id] and listed["total"] == 1
    assert api.get(f"/applications/{mine.id}").status_code == 200
    response = api.get(f"/applications/{theirs.id}")
    # The same answer as for an id that does not exist: a 403 confirmed that this one does.
    assert response.status_code == 404
    assert response.get_json() == {"error": {"code": "not_found", "message": f"No application with id {theirs.id}.",
                                             "fields": {}}}
    assert "Candidate" not in response.get_data(as_text=True)
    assert api.get(f"/applications/{theirs.id}/emails").status_code == 404
    assert team.as_("outsider").get("/applications").get_json() == {"items": [], "total": 0, "page": 1,
                                                                     "per_page": 25}


def test_emails_of_an_application(team, factory):
    panel = [team.interviewer, team.interviewer2]
    application = factory.application(Stage.FIRST_INTERVIEW, position=team.position, panel=panel)
    response = team.as_("recruiter").get(f"/applications/{application.id}/emails")
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [(e["template"], e["to"], e["to_candidate"]) for e in items] == [
        ("application_received", application.candidate.email, True),
        ("interview_invitation", application.candidate.email, True),
        ("panel_invitation", team.interviewer.email, False), ("panel_invitation", team.interviewer2.email, False)]
    first = items[0]
    assert first["to"] == application.candidate.email and first["to_candidate"] is True
    assert first["status"] == "queued" and first["sent_at"] is None and first["error"] is None
    assert first["created_at"].endswith("+00:00") and first["subject"]


@pytest.mark.parametrize("role", ["manager", "interviewer"])
def test_emails_are_for_recruiters_and_admins(team, factory, role):
    application = factory.application(Stage.FIRST_INTERVIEW, position=team.position, panel=team.panel)
    assert team.as_(role).get(f"/applications/{application.id}/emails").status_code == 403
    assert team.as_("admin").get(f"/applications/{application.id}/emails").status_code == 200
    assert team.as_("admin").get("/applications/4242/emails").status_code == 404


def test_an_interviewer_sees_only_the_verdict_of_a_round_they_sat_on(team, factory, now):
    """Issue 11, item 8: `verdict` sums up the latest held round's feedback; a first-round
    interviewer who did not sit on the second round learnt it here, though the page hides it."""
    from datetime import timedelta

    from hiring import services

    first_round = [team.interviewer]
    application = factory.application(Stage.SECOND_INTERVIEW, position=team.position, panel=first_round,
                                      recommendations=["yes"], at=now - timedelta(days=1))
    recruiter = team.position.owner
    interview = services.schedule_interview(application, round=2, scheduled_at=now - timedelta(hours=2),
                                            panel_user_ids=[team.interviewer2.id], location="Room 2",
                                            actor=recruiter, now=now - timedelta(hours=3))
    services.record_interview_held(interview, held_at=now - timedelta(hours=1), actor=recruiter, now=now)
    services.submit_feedback(interview, interviewer=team.interviewer2, recommendation="strong_yes", now=now)
    assert application.verdict == "clear_hire"

    def verdict(name):
        response = team.as_(name).get(f"/applications/{application.id}")
        assert response.status_code == 200
        return response.get_json()["verdict"]

    assert verdict("interviewer") is None  # only on the first round's panel
    assert verdict("interviewer2") == "clear_hire"  # on the second round's, feedback given
    assert verdict("recruiter") == "clear_hire" and verdict("manager") == "clear_hire"
    listed = team.as_("interviewer").get("/applications").get_json()["items"]
    assert [a["verdict"] for a in listed if a["id"] == application.id] == [None]


def test_the_list_presents_each_application_as_getting_it_alone(team, factory, now):
    """The list is built from plain rows (hiring.api.listing), one application from ORM
    objects (endpoints.present_application): two writings of one answer. Every field of every
    item, for every role, must be what GET /applications/<id> says, feedback and verdicts
    hidden from the same people."""
    from hiring import services

    made = [
        factory.application(Stage.APPLIED, position=team.position, at=now - timedelta(days=20)),
        factory.application(Stage.FIRST_DECISION, position=team.position, panel=team.panel,
                            recommendations=["yes", "no"], at=now - timedelta(days=3)),
        factory.application(Stage.FINAL_DECISION, position=team.position, panel=team.panel,
                            recommendations=["yes", "strong_yes"]),
        factory.application(Stage.SECOND_INTERVIEW, position=team.position, panel=[team.interviewer],
                            recommendations=["yes"]),
        factory.application(Stage.REJECTED, position=team.position, panel=team.panel),
    ]
    services.extend_deadline(made[0], until=(now + timedelta(days=10)).date(), reason="Waiting for references",
                             actor=team.recruiter, now=now)
    for name in ("admin", "recruiter", "manager", "interviewer", "interviewer2", "outsider"):
        api = team.as_(name)
        listed = api.get("/applications?per_page=100").get_json()["items"]
        # Listed are exactly the ones this user may open (an interviewer: their panels').
        may_open = {a.id for a in made if api.get(f"/applications/{a.id}").status_code == 200}
        assert {item["id"] for item in listed} == may_open, name
        assert (not may_open) == (name == "outsider"), name
        for item in listed:
            assert item == api.get(f"/applications/{item['id']}").get_json(), (name, item["stage"])
