"""The OpenAPI document is generated from the code and is a valid OpenAPI 3.1 document."""

import re

import jsonschema_rs

# Schemathesis ships the official OpenAPI 3.1 meta-schema; reuse it rather than vendor a copy.
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

from hiring.api import schemas
from hiring.api.core import ENDPOINTS, openapi_document


def test_document_is_valid_openapi_31(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    assert [str(error) for error in OPENAPI_31_VALIDATOR.iter_errors(document)] == []
    for name, schema in document["components"]["schemas"].items():
        assert jsonschema_rs.meta.is_valid(schema), name


def test_every_reference_resolves(client):
    document = client.get("/api/v1/openapi.json").get_json()
    text = str(document)
    refs = set(re.findall(r"#/components/schemas/(\w+)", text))
    assert refs and refs <= set(document["components"]["schemas"])


def test_document_follows_the_code():
    document = openapi_document()
    operation = document["paths"]["/api/v1/applications/{application_id}/decisions"]["post"]
    body_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    decision = document["components"]["schemas"][body_ref.rsplit("/", 1)[1]]
    assert set(decision["properties"]) == set(schemas.DecisionCreate.model_fields)
    assert decision["properties"]["outcome"]["enum"] == ["advance", "reject"]
    assert decision["additionalProperties"] is False
    assert {"200", "401", "403", "404", "409", "413", "422"} <= set(operation["responses"])
    assert operation["security"] == [{"bearerAuth": []}]
    listing = document["paths"]["/api/v1/applications"]["get"]
    params = {p["name"]: p for p in listing["parameters"]}
    assert set(params) == {"stage", "flag", "position_id", "page", "per_page"}
    assert params["page"]["schema"]["minimum"] == 1 and params["per_page"]["schema"]["maximum"] == 100
    assert document["paths"]["/api/v1/openapi.json"]["get"]["security"] == []
    assert len(ENDPOINTS) == sum(len(item) for item in document["paths"].values())


def test_timestamps_are_documented_as_date_time():
    document = openapi_document()
    application = document["components"]["schemas"]["ApplicationOut"]["properties"]
    assert application["stage_entered_at"] == {"format": "date-time", "title": "Stage Entered At",
                                               "type": "string"}
    assert {"format": "date-time", "type": "string"} in application["due_at"]["anyOf"]
    assert {"type": "null"} in application["due_at"]["anyOf"]
