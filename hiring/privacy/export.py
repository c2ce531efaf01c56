"""The access export: everything held about a candidate, as JSON and their documents in a ZIP,
with a short summary in the candidate's language."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select

from .. import pipeline
from ..extensions import db
from ..models import (
    Candidate,
    CandidateContact,
    Document,
    OutboxEmail,
    Reference,
    User,
)
from ..pipeline import Role
from ..services import document_path
from ..services.core import Conflict, audit, transaction
from ..services.core import resolve_now as clock
from ..settings import get_policy
from .common import (
    consent_valid,
    require_role,
)

# --- access export ---------------------------------------------------------------------------

SUMMARY = {
    "en": {
        "title": "What {company} holds about you",
        "intro": "This archive contains every piece of personal data we hold about you, as of {date}.",
        "applications": "Applications",
        "line": "- {position}: applied on {applied}, now “{stage}”",
        "files": "Files: data.json (everything, machine-readable) and documents/ (the files you sent us).",
        "files_no_documents": "Files: data.json (everything, machine-readable). You sent us no documents.",
        "not_included": "Not included: our interviewers' internal notes and the internal reasons of our decisions "
                        "(these are the team's assessments; their outcome is included), and what referees told us "
                        "(their own data).",
        "consent": "Talent pool: you agreed on {since} ({how}); it holds until {until}.",
        "no_consent": "Talent pool: you are not in our talent pool.",
        "retention": "We keep this data for {months} months after your last application closed, unless you are in "
                     "our talent pool; then it is anonymised.",
    },
    "de": {
        "title": "Welche Daten {company} über Sie speichert",
        "intro": "Dieses Archiv enthält alle personenbezogenen Daten, die wir über Sie speichern (Stand {date}).",
        "applications": "Bewerbungen",
        "line": "- {position}: beworben am {applied}, Stand „{stage}“",
        "files": "Dateien: data.json (alles, maschinenlesbar) und documents/ (die Unterlagen, die Sie uns "
                 "geschickt haben).",
        "files_no_documents": "Dateien: data.json (alles, maschinenlesbar). Sie haben uns keine Unterlagen geschickt.",
        "not_included": "Nicht enthalten: die internen Notizen unserer Interviewer:innen und die internen Begründungen "
                        "unserer Entscheidungen (Einschätzungen des Teams; das Ergebnis ist enthalten) sowie "
                        "Auskünfte von Referenzgeber:innen (deren eigene Daten).",
        "consent": "Talentpool: Sie haben am {since} zugestimmt ({how}); die Zustimmung gilt bis {until}.",
        "no_consent": "Talentpool: Sie sind nicht in unserem Talentpool.",
        "retention": "Wir bewahren diese Daten {months} Monate nach Abschluss Ihrer letzten Bewerbung "
                     "auf, es sei denn, Sie sind in unserem Talentpool; danach werden sie anonymisiert.",
    },
}


# The summary's stage words in German (the English ones are pipeline.Stage's labels).
STAGE_DE = {
    "applied": "Bewerbung eingegangen", "first_interview": "Erstes Gespräch", "first_decision": "Entscheidung nach "
    "dem ersten Gespräch", "second_interview": "Zweites Gespräch", "final_decision": "Entscheidung über ein Angebot",
    "offer": "Angebot", "hired": "Eingestellt", "rejected": "Abgesagt", "declined": "Angebot abgelehnt",
    "withdrawn": "Zurückgezogen",
}


def _iso(value: Any) -> Any:
    return value.isoformat() if value is not None and hasattr(value, "isoformat") else value


def export_data(candidate: Candidate) -> dict[str, Any]:
    """Everything about the candidate they are entitled to see (README: data protection).
    Left out: interviewers' internal notes and names, decisions' internal rationale, and
    referees' statements — the team's and third parties' data (Art. 15(4) GDPR)."""
    applications = []
    for application in sorted(candidate.applications, key=lambda a: a.id):
        interviews = [{
            "round": i.round, "scheduled_at": _iso(i.scheduled_at), "duration_minutes": i.duration_minutes,
            "location": i.location, "video_link": i.video_link, "held_at": _iso(i.held_at),
            "cancelled_at": _iso(i.cancelled_at),
            "recommendations": sorted(f.recommendation for f in i.feedback),
        } for i in application.interviews]
        emails = db.session.scalars(
            select(OutboxEmail).where(OutboxEmail.application_id == application.id, OutboxEmail.to_candidate)
            .order_by(OutboxEmail.created_at, OutboxEmail.id)).all()
        contacts = db.session.scalars(select(CandidateContact).where(CandidateContact.application_id == application.id)
                                      .order_by(CandidateContact.occurred_at)).all()
        references = db.session.scalars(select(Reference).where(Reference.application_id == application.id)
                                        .order_by(Reference.id)).all()
        documents = db.session.scalars(select(Document).where(Document.application_id == application.id)
                                       .order_by(Document.id)).all()
        applications.append({
            "id": application.id,
            "position": application.position.title,
            "stage": pipeline.Stage(application.stage).label,
            "applied_at": _iso(application.applied_at),
            "stage_entered_at": _iso(application.stage_entered_at),
            "closed_at": _iso(application.closed_at),
            "promised_answer_by": _iso(application.promised_at),
            "competing_offer_deadline": _iso(application.competing_offer_deadline),
            "extension_reason": application.extension_reason or "",
            "interviews": interviews,
            "decisions": [{"stage": d.stage, "outcome": d.outcome, "decided_at": _iso(d.decided_at)}
                          for d in application.decisions],
            "emails": [{"sent_at": _iso(e.sent_at), "queued_at": _iso(e.created_at), "to": e.recipient,
                        "subject": e.subject, "body": e.body_text, "status": e.status} for e in emails],
            "contacts": [{"kind": c.kind, "channel": c.channel, "occurred_at": _iso(c.occurred_at),
                          "summary": c.summary} for c in contacts],
            "references": [{"name": r.name, "contact": r.contact, "status": r.status} for r in references],
            "documents": [{"file": f"documents/{d.id}-{d.filename}", "filename": d.filename,
                           "content_type": d.content_type, "size_bytes": d.size_bytes,
                           "uploaded_at": _iso(d.uploaded_at)} for d in documents],
        })
    return {
        "candidate": {
            "id": candidate.id, "name": candidate.name, "email": candidate.email, "phone": candidate.phone,
            "language": candidate.language, "created_at": _iso(candidate.created_at), "tags": candidate.tags or [],
            "talent_pool": {
                "consent": bool(candidate.talent_pool_consent),
                "given_at": _iso(candidate.talent_pool_consent_at),
                "how": candidate.talent_pool_consent_source,
                "expires_at": _iso(candidate.talent_pool_expires_at),
            },
        },
        "applications": applications,
    }


def _summary(candidate: Candidate, data: dict[str, Any], now: datetime) -> str:
    from .. import timefmt

    policy = get_policy()
    lang = candidate.language if candidate.language in SUMMARY else "en"
    words = SUMMARY[lang]

    def day(value: datetime | None) -> str:
        return timefmt.long_date(value, policy, lang) if value is not None else "—"

    company = current_app.config.get("COMPANY_NAME") or "we"
    lines = [words["title"].format(company=company), "", words["intro"].format(date=day(now)), "",
             words["applications"] + ":"]
    for application in sorted(candidate.applications, key=lambda a: a.id):
        stage = STAGE_DE.get(application.stage) if lang == "de" else None
        lines.append(words["line"].format(position=application.position.title, applied=day(application.applied_at),
                                          stage=stage or pipeline.Stage(application.stage).label))
    lines.append("")
    if consent_valid(candidate, now):
        lines.append(words["consent"].format(since=day(candidate.talent_pool_consent_at),
                                             how=candidate.talent_pool_consent_source or "—",
                                             until=day(candidate.talent_pool_expires_at)))
    else:
        lines.append(words["no_consent"])
    files = words["files"] if any(a.get("documents") for a in data.get("applications", [])) \
        else words["files_no_documents"]
    lines += [words["retention"].format(months=policy.retention_months), "", files, words["not_included"]]
    return "\n".join(lines) + "\n"


def export_candidate(candidate: Candidate, *, actor: User | None, now: datetime | None = None) -> bytes:
    """The ZIP: data.json, summary.txt (in the candidate's language) and documents/. The
    export itself is audited (who, when; no data)."""
    require_role(actor, Role.ADMIN, Role.RECRUITER)
    now = clock(now)
    if candidate.anonymised_at is not None:
        raise Conflict(f"Candidate #{candidate.id} has been anonymised: nothing personal is held any more.")
    data = export_data(candidate)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, indent=2, ensure_ascii=False))
        archive.writestr("summary.txt", _summary(candidate, data, now))
        for application in data["applications"]:
            for entry in application["documents"]:
                document_id = int(entry["file"].split("/", 1)[1].split("-", 1)[0])
                path = document_path(db.session.get(Document, document_id))
                if path.is_file():
                    archive.write(path, entry["file"])
    with transaction():
        audit("candidate_exported", now, actor, candidate_id=candidate.id)
    return buffer.getvalue()
