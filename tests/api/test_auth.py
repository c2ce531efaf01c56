from datetime import timedelta

import pytest

from hiring import services
from hiring.extensions import db
from hiring.models import ApiToken

from .conftest import Api, error_of


def test_openapi_document_needs_no_token(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.get_json()["openapi"].startswith("3.")


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer nope",
                                    "Bearer hp_" + "x" * 43, "Token abc"])
def test_missing_or_bad_token_is_401(client, team, header):
    headers = {"Authorization": header} if header is not None else {}
    response = client.get("/api/v1/applications", headers=headers)
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_non_ascii_token_is_401_not_500(client, team):
    response = client.get("/api/v1/positions", headers={"Authorization": "Bearer tökén\u00ff"})
    assert response.status_code == 401


def test_every_endpoint_refuses_anonymous_requests(client, team, app):
    from hiring.api.core import ENDPOINTS

    checked = 0
    for spec in ENDPOINTS:
        if not spec.auth:
            continue
        path = "/api/v1" + spec.path.format(**{name: 1 for name in spec.path_params})
        response = client.open(path, method=spec.method, json={} if spec.method == "POST" else None)
        assert response.status_code == 401, (spec.method, path)
        checked += 1
    assert checked >= 15


def test_revoked_token_is_401(team):
    api = team.as_("recruiter")
    assert api.get("/positions").status_code == 200
    token = db.session.scalars(db.select(ApiToken).where(ApiToken.user_id == team.recruiter.id)).one()
    services.revoke_api_token(token)
    response = api.get("/positions")
    assert response.status_code == 401
    assert "revoked" in error_of(response)["message"]


def test_token_of_a_deactivated_user_is_401(team):
    services.update_user(team.interviewer, active=False)
    assert team.as_("interviewer").get("/positions").status_code == 401


def test_last_used_is_recorded_but_not_on_every_request(team, api_clock, now):
    token = db.session.scalars(db.select(ApiToken).where(ApiToken.user_id == team.manager.id)).one()
    assert token.last_used_at is None
    api = team.as_("manager")
    api.get("/positions")
    db.session.refresh(token)
    assert token.last_used_at == now
    api_clock["now"] = now + timedelta(seconds=30)
    api.get("/positions")
    db.session.refresh(token)
    assert token.last_used_at == now  # within the resolution: no write
    api_clock["now"] = now + timedelta(minutes=2)
    api.get("/positions")
    db.session.refresh(token)
    assert token.last_used_at == now + timedelta(minutes=2)


def test_tokens_are_stored_hashed(team):
    secret = team.as_("admin").token
    hashes = db.session.scalars(db.select(ApiToken.token_hash)).all()
    assert secret not in hashes
    assert services.hash_token(secret) in hashes


def test_api_works_with_csrf_protection_on(app, team):
    app.config["WTF_CSRF_ENABLED"] = True
    api = Api(app.test_client(), team.as_("recruiter").token)
    response = api.post("/positions", json={"title": "Firmware Engineer"})
    assert response.status_code == 201, response.get_json()
    # A routing error under the prefix is JSON too, even with CSRF on.
    assert error_of(api.post("/nothing-here", json={}))["code"] == "not_found"
