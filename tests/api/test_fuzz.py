"""Schemathesis fuzzes every operation of the generated OpenAPI document, with a real token
and real data in every stage: no input may cause a 5xx, and every response must match the
document (status code, content type, body schema)."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hiring import services
from hiring.api.core import openapi_document

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def fuzz_token(app, team, factory):
    """An admin's token, and applications in every stage so that small ids exist."""
    for stage in ("applied", "first_interview", "first_decision", "second_interview", "final_decision", "offer",
                  "hired", "rejected"):
        factory.application(stage, position=team.position, panel=team.panel, recommendations=["yes", "no"])
    return team.as_("admin").token


# The document is generated from the code alone (no app or database needed), so it can be
# loaded when the module is collected.
schema = schemathesis.openapi.from_dict(openapi_document())


@schema.parametrize()
# Bounded so the whole fuzz run takes about a minute of CPU per database; derandomized, so
# a failure reproduces.
@settings(max_examples=20, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
def test_no_input_breaks_the_api(case, app, fuzz_token):
    case.call_and_validate(app=app, headers={"Authorization": f"Bearer {fuzz_token}"}, checks=CHECKS)


def test_the_fuzzed_document_covers_every_endpoint(app, client):
    from hiring.api.core import ENDPOINTS

    document = client.get("/api/v1/openapi.json").get_json()
    operations = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    assert operations == {(e.method, "/api/v1" + e.path) for e in ENDPOINTS}
    assert len(operations) >= 17
    assert services.visible_feedback  # the presenter's rule is the service's
