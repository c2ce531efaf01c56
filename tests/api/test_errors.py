"""Bad input of every kind gets a clear JSON error, never a 500."""

import io
import json

import pytest
from werkzeug.test import EnvironBuilder, run_wsgi_app

from hiring import validation
from hiring.models import Application, Candidate

from .conftest import error_of


def _application_body(team, **candidate):
    return {"position_id": team.position.id,
            "candidate": {"name": "Ada Lovelace", "email": "ada@example.org", **candidate}}


@pytest.mark.parametrize("data", [b"{", b"not json", b'{"title": "x",}', b"\xff\xfe", b'"\\ud800"'])
def test_malformed_json_is_400(team, data):
    response = team.as_("recruiter").post("/positions", data=data, content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_request"


@pytest.mark.parametrize("data", [b"[]", b"42", b'"title"', b"null", b"true"])
def test_body_that_is_not_an_object_is_400(team, data):
    response = team.as_("recruiter").post("/positions", data=data, content_type="application/json")
    assert response.status_code == 400
    assert "JSON object" in error_of(response)["message"]


def test_body_over_the_limit_is_413_by_content_length(team):
    big = b'{"title": "' + b"x" * (1024 * 1024) + b'"}'
    response = team.as_("recruiter").post("/positions", data=big, content_type="application/json")
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"


def test_body_over_the_limit_is_413_without_content_length(team, app):
    """A chunked body announces no length: the stream itself is cut at the limit."""

    body = b'{"title": "' + b"x" * (1100 * 1024) + b'"}'
    environ = EnvironBuilder("/api/v1/positions", method="POST", input_stream=io.BytesIO(body),
                             content_type="application/json", headers=team.as_("recruiter").headers()).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input_terminated"] = True
    app_iter, status, headers = run_wsgi_app(app, environ)
    assert status.startswith("413"), (status, b"".join(app_iter)[:300])
    assert json.loads(b"".join(app_iter))["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize("app_config", [{"API_MAX_BODY_BYTES": 100}])
def test_the_limit_is_configurable(team, app_config):
    response = team.as_("recruiter").post("/positions", json={"title": "x" * 150})
    assert response.status_code == 413


def test_form_body_is_415(team):
    response = team.as_("recruiter").post("/positions", data={"title": "x"})
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


def test_validation_errors_name_each_field(team):
    response = team.as_("recruiter").post("/applications", json={
        "position_id": "1", "candidate": {"email": 5, "language": "fr"}, "applied_at": "2026-11-01T10:00:00",
        "surprise": True})
    assert response.status_code == 422
    fields = error_of(response)["fields"]
    assert set(fields) == {"position_id", "candidate.name", "candidate.email", "candidate.language", "applied_at",
                           "surprise"}
    assert "required" in fields["candidate.name"]
    assert "timezone" in fields["applied_at"]
    assert "Unknown field" in fields["surprise"]


def test_service_validation_errors_use_the_api_field_names(team):
    response = team.as_("recruiter").post("/applications", json=_application_body(team, email="not-an-email"))
    assert response.status_code == 422
    assert "candidate.email" in error_of(response)["fields"]


@pytest.mark.parametrize("value", [10**30, -1, 0, 2**31])
def test_out_of_range_ids_are_422(team, value):
    response = team.as_("recruiter").post("/applications", json={**_application_body(team), "position_id": value})
    assert response.status_code == 422
    assert "position_id" in error_of(response)["fields"]


def test_a_gigantic_number_is_not_a_500(team):
    body = b'{"position_id": ' + b"9" * 5000 + b', "candidate": {"name": "A", "email": "a@example.org"}}'
    response = team.as_("recruiter").post("/applications", data=body, content_type="application/json")
    assert response.status_code in (400, 422)
    error_of(response)


def test_nul_bytes_are_refused_with_422(team):
    response = team.as_("recruiter").post("/applications", json=_application_body(team, name="Ada\x00Lovelace"))
    assert response.status_code == 422
    assert "candidate.name" in error_of(response)["fields"]
    assert Candidate.query.count() == 0


def test_non_ascii_text_is_kept(team):
    response = team.as_("recruiter").post("/applications", json=_application_body(
        team, name="Zoë Ñúñez 王小明 🚀", email="zoe@exämple.org"))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["candidate"]["name"] == "Zoë Ñúñez 王小明 🚀"
    assert response.get_json()["candidate"]["email"] == "zoe@exämple.org"  # sent to zoe@xn--exmple-cua.org


def test_an_address_the_relay_cannot_send_to_is_422(team):
    """A non-ASCII local part needs SMTPUTF8 end to end; it is refused where it is typed."""
    response = team.as_("recruiter").post("/applications", json=_application_body(team, email="jürgen@example.com"))
    assert response.status_code == 422
    assert "non-ASCII characters before the @" in error_of(response)["fields"]["candidate.email"]
    assert Application.query.count() == 0


def test_too_long_text_is_422_not_a_database_error(team):
    response = team.as_("recruiter").post("/positions", json={"title": "x" * 201})
    assert response.status_code == 422
    assert "title" in error_of(response)["fields"]


@pytest.mark.parametrize("value", ["2026-11-01T10:00:00", "2026-11-01", "yesterday", "9999-12-31T23:59:59-23:59",
                                   "0001-01-01T00:00:00+14:00", 1700000000])
def test_bad_datetimes_are_422(team, value):
    response = team.as_("recruiter").post("/applications", json={**_application_body(team), "applied_at": value})
    assert response.status_code == 422
    assert "applied_at" in error_of(response)["fields"]
    assert Application.query.count() == 0


def test_unknown_path_and_id_are_404(team):
    api = team.as_("recruiter")
    assert error_of(api.get("/nothing"))["code"] == "not_found"
    assert api.get("/applications/424242").status_code == 404
    assert api.get("/applications/99999999999999999999999").status_code == 404
    assert api.get("/interviews/0").status_code == 404
    assert api.post("/interviews/99999999999/held", json={}).status_code == 404


def test_wrong_method_is_405_with_allow(team):
    response = team.as_("recruiter").client.delete("/api/v1/positions", headers=team.as_("recruiter").headers())
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"] and "POST" in response.headers["Allow"]


@pytest.mark.parametrize("query", ["page=0", "page=-1", "page=abc", "per_page=0", "per_page=101", "page=1e3",
                                   "page=99999999999999999999", "stage=hired%00", "flag=late", "position_id=0",
                                   "stage=%F0%9F%9A%80"])
def test_bad_query_parameters_are_422(team, query):
    response = team.as_("recruiter").get("/applications?" + query)
    assert response.status_code == 422
    assert error_of(response)["fields"]


def test_unknown_query_parameters_are_ignored(team):
    response = team.as_("recruiter").get("/applications?utm_source=x&_=123&page=1")
    assert response.status_code == 200


def test_the_api_refuses_control_characters_field_by_field(team):
    api = team.as_("recruiter")
    response = api.post("/positions", json={"title": "LF title\nBcc: everyone@example.com", "department": "R\rD"})
    assert response.status_code == 422
    assert error_of(response)["fields"] == {"title": validation.SINGLE_LINE_MESSAGE,
                                            "department": validation.SINGLE_LINE_MESSAGE}
    response = api.post("/applications", json={"position_id": team.position.id,
                                               "candidate": {"name": "CR\rname", "email": "a@example.org"}})
    assert error_of(response)["fields"] == {"candidate.name": validation.SINGLE_LINE_MESSAGE}


@pytest.mark.parametrize("path, status", [
    ("/applications/2147483648", 404), ("/applications/2147483648/emails", 404), ("/interviews/2147483648", 404),
    ("/positions/2147483648", 404), ("/applications/99999999999999999999", 404),
    ("/applications?position_id=2147483648", 422), ("/applications?page=1000001", 422),
    ("/applications?page=1000000&per_page=100", 200), ("/positions?page=1000000&per_page=500", 200),
])
def test_numbers_past_the_integer_columns_are_404_or_422_on_every_database(app, team, path, status):
    """Issue 11, item 6: ids and pages beyond PostgreSQL's integer columns (and OFFSETs)."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    assert team.as_("recruiter").get(path).status_code == status


def test_a_version_past_the_integer_column_is_422(app, team):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    application = team.as_("recruiter").post("/applications", json=_application_body(team)).get_json()
    response = team.as_("recruiter").post(f"/applications/{application['id']}/withdrawal",
                                          json={"version": 2**31})
    assert response.status_code == 422 and "version" in error_of(response)["fields"]
