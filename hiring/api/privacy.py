"""Data protection in the API: erase a candidate (admins), export everything held about
one (admins, recruiters). The verbs are in hiring.privacy."""

from __future__ import annotations

from flask import Response

from .. import privacy
from ..models import Candidate, User
from ..pipeline import NotAllowed, Role
from . import core, schemas
from .core import ApiError, endpoint
from .endpoints import _get


def _candidate(candidate_id: int) -> Candidate:
    candidate = _get(Candidate, candidate_id, "candidate")
    if candidate.anonymised_at is not None:  # nothing is held about them any more
        raise ApiError(404, "not_found", f"No candidate with id {candidate_id}.")
    return candidate


@endpoint("DELETE", "/candidates/<int:candidate_id>", summary="Erase a candidate on their request",
          tag="data protection", response=None, status=204, body=schemas.CandidateErase, errors=(403,))
def erase_candidate(user: User, candidate_id: int, body: schemas.CandidateErase):
    """Admins only. An open application is withdrawn first (the candidate gets the usual
    confirmation, sent before its text is removed); then name, contact details, documents,
    notes and emails are removed for good. Counts and dates stay. The audit log records
    that candidate #id was erased, by whom, when and why."""
    if user.role != Role.ADMIN.value:
        raise NotAllowed("Only admins may erase a candidate.")
    privacy.erase_candidate(_candidate(candidate_id), reason=body.reason, actor=user, now=core.now())
    return Response(status=204)


@endpoint("GET", "/candidates/<int:candidate_id>/export", summary="Everything held about a candidate (ZIP)",
          tag="data protection", response=None, errors=(403,), produces="application/zip",
          read_only=False)  # the export is audited
def export_candidate(user: User, candidate_id: int):
    """Admins and recruiters: a ZIP with data.json (applications, stages and dates,
    interviews, the panel's recommendations, decisions, emails sent to them, contacts,
    references, documents), their documents, and summary.txt in the candidate's language.
    Interviewers' internal notes and decisions' internal rationale are not included."""
    if user.role not in (Role.ADMIN.value, Role.RECRUITER.value):
        raise NotAllowed("Only admins and recruiters may export a candidate's data.")
    data = privacy.export_candidate(_candidate(candidate_id), actor=user, now=core.now())
    return Response(data, mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="candidate-{candidate_id}-data.zip"'})
