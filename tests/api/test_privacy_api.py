"""DELETE /api/v1/candidates/{id} (erasure) and GET /api/v1/candidates/{id}/export."""

from __future__ import annotations

import io
import json
import zipfile

from hiring import services
from hiring.extensions import db
from hiring.models import AuditEvent, Candidate, OutboxEmail
from hiring.pipeline import Stage

from .conftest import error_of


def _erase(api, candidate_id, body):
    return api.client.delete(f"/api/v1/candidates/{candidate_id}", json=body, headers=api.headers())


def test_erase_is_for_admins_and_needs_a_reason(team, now):
    application = services.submit_application(team.position, name="Erin Erase", email="erin@example.org",
                                              actor=team.recruiter, now=now)
    candidate_id = application.candidate_id
    assert _erase(team.as_("recruiter"), candidate_id, {"reason": "Request by email"}).status_code == 403
    assert _erase(team.as_("manager"), candidate_id, {"reason": "Request by email"}).status_code == 403
    assert _erase(team.as_("anonymous"), candidate_id, {"reason": "Request by email"}).status_code == 401
    missing = _erase(team.as_("admin"), candidate_id, {})
    assert missing.status_code == 422 and "reason" in error_of(missing)["fields"]
    blank = _erase(team.as_("admin"), candidate_id, {"reason": ""})
    assert blank.status_code == 422 and "reason" in error_of(blank)["fields"]
    naming = _erase(team.as_("admin"), candidate_id, {"reason": "Erin Erase asked"})
    assert naming.status_code == 422 and "reason" in error_of(naming)["fields"]
    assert _erase(team.as_("admin"), 999999, {"reason": "Request by email"}).status_code == 404

    response = _erase(team.as_("admin"), candidate_id, {"reason": "Request by email"})
    assert response.status_code == 204 and response.data == b""
    candidate = db.session.get(Candidate, candidate_id)
    assert candidate.anonymised_at is not None and "erin" not in candidate.email
    # The open application was withdrawn, and the candidate's confirmation is still to be sent.
    assert application.stage == Stage.WITHDRAWN
    confirmation = db.session.query(OutboxEmail).filter_by(template="withdrawal_confirmation").one()
    assert confirmation.recipient == "erin@example.org" and confirmation.status == "queued"
    event = db.session.query(AuditEvent).filter_by(kind="candidate_erased").one()
    assert event.actor_id == team.admin.id and event.data["reason"] == "Request by email"
    # Gone: a second request finds nobody.
    assert _erase(team.as_("admin"), candidate_id, {"reason": "Request by email"}).status_code == 404


def test_export_is_a_zip_for_admins_and_recruiters(team, now):
    application = services.submit_application(team.position, name="Ola Export", email="ola@example.org",
                                              language="de", actor=team.recruiter, now=now)
    path = f"/candidates/{application.candidate_id}/export"
    for role in ("admin", "recruiter"):
        response = team.as_(role).get(path)
        assert response.status_code == 200 and response.mimetype == "application/zip"
        archive = zipfile.ZipFile(io.BytesIO(response.data))
        data = json.loads(archive.read("data.json"))
        assert data["candidate"]["email"] == "ola@example.org"
        assert "Welche Daten" in archive.read("summary.txt").decode()
    for role in ("manager", "interviewer"):
        assert team.as_(role).get(path).status_code == 403
    assert team.as_("admin").get("/candidates/424242/export").status_code == 404


def test_the_openapi_document_describes_both(team):
    document = team.as_("anonymous").get("/openapi.json").get_json()
    erase = document["paths"]["/api/v1/candidates/{candidate_id}"]["delete"]
    assert erase["responses"]["204"]["description"] == "No content"
    assert "reason" in document["components"]["schemas"]["CandidateErase"]["required"]
    export = document["paths"]["/api/v1/candidates/{candidate_id}/export"]["get"]
    assert "application/zip" in export["responses"]["200"]["content"]
