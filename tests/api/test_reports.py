"""GET /api/v1/reports/summary, and the application's source in the API."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hiring import reports, services
from hiring.settings import get_policy
from tests.test_reports import NOVEMBER_SUMMARY, REPORT_NOW, history  # noqa: F401  (the known history)

from .conftest import Api, error_of

NOVEMBER = "?from=2026-11-01&to=2026-11-30"


@pytest.fixture
def apis(history, factory, client, api_clock):  # noqa: F811
    api_clock["now"] = REPORT_NOW
    users = {"recruiter": history["recruiter"], "manager": history["manager"], "admin": factory.user("admin"),
             "interviewer": factory.user("interviewer")}
    result = {name: Api(client, services.create_api_token(user, "reports test")[1]) for name, user in users.items()}
    result["anonymous"] = Api(client, None)
    return result


@pytest.mark.parametrize("role", ["recruiter", "manager", "admin"])
def test_the_summary_of_a_known_history(apis, role):
    response = apis[role].get("/reports/summary" + NOVEMBER)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {**NOVEMBER_SUMMARY, "as_of": "2026-11-25T11:00:00+00:00"}  # no rollup: now


def test_the_summary_from_the_rollup_says_as_of_when(apis):
    """Built on the 24th (C's date, the 19th, already broken), read on the 25th: the same
    figures, as of the 24th."""
    built = REPORT_NOW - timedelta(days=1)
    reports.rollup.refresh(built, get_policy())
    body = apis["manager"].get("/reports/summary" + NOVEMBER).get_json()
    assert body == {**NOVEMBER_SUMMARY, "as_of": built.isoformat()}


def test_past_the_live_limit_without_a_rollup_the_summary_is_not_ready(apis, app):
    """7 applications, a limit of 6: computed live they would take a request too long
    (config REPORTS_LIVE_LIMIT); 503 with Retry-After until the job has built the rollup."""
    app.config["REPORTS_LIVE_LIMIT"] = 6
    response = apis["manager"].get("/reports/summary" + NOVEMBER)
    assert response.status_code == 503 and response.headers["Retry-After"] == "300"
    assert error_of(response)["code"] == "not_ready"
    assert "being prepared" in error_of(response)["message"]
    built = REPORT_NOW - timedelta(days=1)
    reports.rollup.refresh(built, get_policy())
    assert apis["manager"].get("/reports/summary" + NOVEMBER).get_json() == {**NOVEMBER_SUMMARY,
                                                                           "as_of": built.isoformat()}


def test_interviewers_may_not_read_the_reports(apis):
    response = apis["interviewer"].get("/reports/summary" + NOVEMBER)
    assert response.status_code == 403
    assert error_of(response)["code"]
    assert apis["anonymous"].get("/reports/summary" + NOVEMBER).status_code == 401


def test_one_position_and_one_owner(apis, history):  # noqa: F811
    body = apis["manager"].get(f"/reports/summary{NOVEMBER}&position_id={history['p2'].id}").get_json()
    assert body["promises"] == {"told": 2, "kept": 0, "moved": 0, "broken": 1, "kept_rate": 0.0}
    assert body["funnel"][0] == {"stage": "applied", "count": 2}
    owner = history["recruiter"].email.upper()
    body = apis["manager"].get(f"/reports/summary{NOVEMBER}&owner_email={owner}").get_json()
    assert body["promises"] == {"told": 9, "kept": 7, "moved": 1, "broken": 1, "kept_rate": 0.7778}


def test_the_default_period_is_the_last_90_days(apis):
    """Up to 25 Nov (the clock): G's October date, passed in silence, is in; D's 3 Dec is not."""
    body = apis["recruiter"].get("/reports/summary").get_json()
    assert body["promises"] == {"told": 12, "kept": 7, "moved": 1, "broken": 3, "kept_rate": 0.6364}
    assert body["funnel"][0] == {"stage": "applied", "count": 7}


@pytest.mark.parametrize("query, field", [
    ("?from=2026-13-01", "from"), ("?from=yesterday", "from"), ("?to=2026-02-30", "to"),
    ("?from=2026-11-30&to=2026-11-01", "from"), ("?from=2020-01-01&to=2026-11-30", "from"),
    ("?position_id=abc", "position_id"), ("?position_id=999999", "position_id"),
    ("?owner_email=nobody@example.org", "owner_email"), ("?owner_email=not-an-address", "owner_email"),
])
def test_bad_parameters_are_422_naming_the_field(apis, query, field):
    response = apis["recruiter"].get("/reports/summary" + query)
    assert response.status_code == 422, response.get_json()
    assert list(error_of(response)["fields"]) == [field]


def test_the_summary_is_in_the_openapi_document(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/reports/summary"]["get"]
    assert [p["name"] for p in operation["parameters"]] == ["from", "to", "position_id", "owner_email"]
    assert {"200", "401", "403", "422", "503"} <= set(operation["responses"])
    schemas = document["components"]["schemas"]
    assert set(schemas["ReportSummary"]["properties"]) == {"promises", "stages", "funnel", "time_to_hire_days",
                                                          "sources", "as_of"}
    assert schemas["ReportSummary"]["properties"]["as_of"]["format"] == "date-time"
    assert "source" in schemas["ApplicationOut"]["required"]
    assert "source" in schemas["ApplicationCreate"]["properties"]


def test_an_application_carries_its_source(factory, client):
    recruiter = factory.user("recruiter")
    position = factory.position(owner=recruiter)
    api = Api(client, services.create_api_token(recruiter, "careers site")[1])
    candidate = {"name": "Ada", "email": "ada@example.org"}
    created = api.post("/applications", json={"position_id": position.id, "candidate": candidate,
                                              "source": "referral"})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["source"] == "referral"
    assert api.get(f"/applications/{created.get_json()['id']}").get_json()["source"] == "referral"
    plain = api.post("/applications", json={"position_id": position.id,
                                            "candidate": {"name": "Bo", "email": "bo@example.org"}})
    assert plain.get_json()["source"] == "direct"
    bad = api.post("/applications", json={"position_id": position.id, "source": "newspaper",
                                          "candidate": {"name": "Cy", "email": "cy@example.org"}})
    assert bad.status_code == 422
    assert list(error_of(bad)["fields"]) == ["source"]
