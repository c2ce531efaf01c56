import pytest

from hiring.models import AuditEvent, Position

from .conftest import error_of


def test_recruiter_opens_a_position(team):
    response = team.as_("recruiter").post("/positions", json={
        "title": "  FPGA Developer ", "department": "Engineering", "hiring_manager_email": "Manager@Team.Example"})
    assert response.status_code == 201
    body = response.get_json()
    assert body == {"id": body["id"], "title": "FPGA Developer", "department": "Engineering", "status": "open",
                    "owner_email": "recruiter@team.example", "hiring_manager_email": "manager@team.example",
                    "created_at": "2026-11-24T08:00:00+00:00"}
    assert response.headers["Location"] == f"/api/v1/positions/{body['id']}"
    assert team.as_("recruiter").get(f"/positions/{body['id']}").get_json() == body
    events = AuditEvent.query.filter_by(kind="position_created", actor_id=team.recruiter.id).all()
    assert any(e.data["position_id"] == body["id"] for e in events)


def test_admin_names_the_owner(team):
    response = team.as_("admin").post("/positions", json={"title": "Tester", "owner_email": "recruiter@team.example"})
    assert response.status_code == 201
    assert response.get_json()["owner_email"] == "recruiter@team.example"


@pytest.mark.parametrize("role", ["manager", "interviewer"])
def test_other_roles_may_not_open_positions(team, role):
    count = Position.query.count()
    response = team.as_(role).post("/positions", json={"title": "Nope"})
    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"
    assert Position.query.count() == count


def test_unknown_or_unfit_people_are_422(team):
    api = team.as_("recruiter")
    response = api.post("/positions", json={"title": "X", "owner_email": "ghost@example.com"})
    assert response.status_code == 422
    assert "ghost@example.com" in error_of(response)["fields"]["owner_email"]
    response = api.post("/positions", json={"title": "X", "hiring_manager_email": "interviewer@team.example"})
    assert response.status_code == 422
    assert "manager" in error_of(response)["fields"]["hiring_manager_email"]
    assert Position.query.count() == 1


def test_blank_title_is_422(team):
    response = team.as_("recruiter").post("/positions", json={"title": "   "})
    assert response.status_code == 422
    assert "title" in error_of(response)["fields"]


@pytest.mark.parametrize("role", ["admin", "recruiter", "manager", "interviewer"])
def test_every_role_lists_positions(team, role):
    response = team.as_(role).get("/positions")
    assert response.status_code == 200
    body = response.get_json()
    assert body["total"] == 1 and body["page"] == 1
    assert body["items"][0]["title"] == "Embedded Software Engineer"


def test_positions_filter_and_page(team, factory):
    from hiring import services

    for n in range(3):
        services.create_position(f"Role {n}", actor=team.recruiter)
    services.close_position(team.position, actor=team.recruiter)
    api = team.as_("recruiter")
    assert api.get("/positions?status=closed").get_json()["total"] == 1
    page = api.get("/positions?status=open&per_page=2&page=2").get_json()
    assert page["total"] == 3 and [p["title"] for p in page["items"]] == ["Role 2"]
    assert api.get("/positions?status=archived").status_code == 422


def test_one_position(team):
    api = team.as_("interviewer")
    assert api.get(f"/positions/{team.position.id}").get_json()["id"] == team.position.id
    assert api.get("/positions/999999").status_code == 404
