"""Data protection (issue 14): retention, erasure, the audit log's one redaction path,
access export, consent. The centre: candidates with a marker in every field, a document
and emails; after retention (or erasure) no marker of theirs is left anywhere in the
database (every table, read raw) or under instance/, while the consented one is intact."""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from hiring import mailer, privacy, services
from hiring.extensions import db
from hiring.jobs import run_job
from hiring.models import (
    Application,
    AuditEvent,
    AuditRedaction,
    Candidate,
    Document,
    OutboxEmail,
    Promise,
    TagCount,
)
from hiring.pipeline import InvalidInput, NotAllowed, OutboxStatus, Stage

PDF = b"%PDF-1.4\n%% a test document\n"


def build(factory, position, tag: str, start, *, interviewer, close: bool = True):
    """An application with marker ``zq<tag>…`` in every free-text field; returns it."""
    m = f"zq{tag}"
    recruiter = position.owner
    application = services.submit_application(
        position, name=f"Anna {m}name Muster", email=f"{m}mail@example.org", phone=f"+49 30 {m}phone",
        actor=recruiter, applied_at=start, now=start)
    interview = services.schedule_interview(
        application, round=1, scheduled_at=start + timedelta(days=2), panel_user_ids=[interviewer.id],
        location=f"Home of {m}location", video_link=f"https://meet.example/{m}video", actor=recruiter,
        now=start + timedelta(days=1))
    services.record_interview_held(interview, held_at=start + timedelta(days=2, hours=1), actor=recruiter,
                                   now=start + timedelta(days=2, hours=2))
    services.submit_feedback(interview, interviewer=interviewer, recommendation="no", notes=f"{m}feedbacknotes",
                             now=start + timedelta(days=2, hours=3))
    services.extend_deadline(application, until=(start + timedelta(days=12)).date(), reason=f"{m}extension",
                             actor=recruiter, now=start + timedelta(days=3))
    services.record_candidate_contact(application, kind="enquiry", channel="email", summary=f"{m}contact",
                                      actor=recruiter, now=start + timedelta(days=3, hours=1))
    services.add_reference(application, name=f"{m}refname", contact=f"{m}refcontact@example.org",
                           notes=f"{m}refnotes", actor=recruiter, now=start + timedelta(days=3, hours=2))
    services.add_document(application, filename=f"{m}cv.pdf", data=PDF + f"{m}document".encode(),
                          actor=recruiter, now=start + timedelta(days=3, hours=3))
    privacy.set_tags(application.candidate, [f"{m}tag", "embedded"], actor=recruiter,
                     now=start + timedelta(days=3, hours=4))
    if close:
        services.decide(application, outcome="reject", rationale=f"{m}rationale",
                        candidate_feedback=f"{m}candidatefeedback", actor=recruiter, now=start + timedelta(days=4))
    mailer.relay_outbox(start + timedelta(days=4, minutes=1))  # no SMTP server in tests: "not delivered"
    return application


def report(position_id: int) -> dict:
    """What a hiring report counts: applications per stage, promises by outcome."""
    stages = dict(db.session.execute(select(Application.stage, func.count()).where(
        Application.position_id == position_id).group_by(Application.stage)).all())
    promises = dict(db.session.execute(select(Promise.outcome, func.count()).join(
        Application, Application.id == Promise.application_id).where(Application.position_id == position_id)
        .group_by(Promise.outcome)).all())
    return {"stages": stages, "promises": promises}


def dump() -> str:
    """Every row of every table, as text; on SQLite also the raw database file and its
    write-ahead log (old page images and free space included)."""
    parts: list[str] = []
    with db.engine.connect() as connection:
        if db.engine.dialect.name == "sqlite":
            tables = connection.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'table'").all()
            # A contentless FTS5 table cannot be read row by row; what it holds is in its
            # shadow tables (candidate_search_by_name_data, ...), read here like any table.
            names = [name for name, sql in tables
                     if not (sql.startswith("CREATE VIRTUAL TABLE") and "content=''" in sql)]
            for name in names:
                parts += [repr(row) for row in connection.exec_driver_sql(f'SELECT * FROM "{name}"')]
            database = Path(db.engine.url.database)
            for path in (database, Path(f"{database}-wal")):
                if path.exists():
                    parts.append(path.read_bytes().decode("latin-1"))
        else:
            names = connection.execute(text(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")).scalars().all()
            for name in names:
                parts += [row[0] for row in connection.execute(text(f'SELECT t::text FROM "{name}" t'))]
    return "\n".join(parts).lower()


def instance_files() -> str:
    parts = []
    for path in Path(current_app.instance_path).rglob("*"):
        if path.is_file():
            parts.append(path.read_bytes().decode("latin-1"))
    return "\n".join(parts).lower()


@pytest.fixture
def team(factory):
    recruiter = factory.user("recruiter")
    position = factory.position(owner=recruiter)
    return {"recruiter": recruiter, "position": position, "interviewer": factory.user("interviewer"),
            "admin": factory.user("admin")}


def test_retention_leaves_no_trace_of_the_anonymised_candidate(app, factory, team, now):
    start = now - timedelta(days=30)
    gone = build(factory, team["position"], "a", start, interviewer=team["interviewer"])
    kept = build(factory, team["position"], "b", start, interviewer=team["interviewer"])
    privacy.give_consent(kept.candidate, source="email", actor=team["recruiter"], now=start + timedelta(days=5))
    gone_id, kept_id = gone.candidate_id, kept.candidate_id
    # A team email about many (the weekly digest) that names both.
    with services.transaction():
        db.session.add(OutboxEmail(template="digest", recipient=team["recruiter"].email, subject="Your week",
                                   body_text="Overdue: Anna zqaname Muster; Anna zqbname Muster. Act today.",
                                   body_html="<p>Anna zqaname Muster</p>", idempotency_key="digest:test",
                                   status="sent", created_at=start, next_attempt_at=start))
    before = dump()
    assert "zqaname" in before and "zqarationale" in before and "zqa" in instance_files()
    counted = report(team["position"].id)
    assert counted["stages"] == {"rejected": 2}

    # Six months after the rejection nothing happens yet (a claim could still come).
    assert run_job("retention", start + timedelta(days=4 + 150))["anonymised"] == 0

    later = now + timedelta(days=7 * 31)
    result = run_job("retention", later)
    assert result["anonymised"] == 1
    after, files = dump(), instance_files()
    assert "zqa" not in after
    assert "zqa" not in files
    for marker in ("name", "mail", "phone", "location", "video", "feedbacknotes", "extension", "contact",
                   "refname", "refcontact", "refnotes", "cv", "tag", "rationale", "candidatefeedback"):
        assert f"zqb{marker}" in after, marker
    assert "zqbdocument" in files  # the consented candidate's file is still on disk
    digest = db.session.query(OutboxEmail).filter_by(idempotency_key="digest:test").one()
    assert digest.body_text == f"Overdue: Candidate #{gone_id}; Anna zqbname Muster. Act today."

    db.session.expire_all()
    anonymised = db.session.get(Candidate, gone_id)
    assert anonymised.anonymised_at == later and anonymised.name == f"Anonymised candidate #{gone_id}"
    assert db.session.get(Candidate, kept_id).name == "Anna zqbname Muster"
    # Counts and dates stay: reports still count both.
    assert report(team["position"].id) == counted
    assert len(gone.interviews) == 1 and len(gone.decisions) == 1
    assert db.session.query(Document).filter_by(application_id=gone.id).count() == 1
    event = db.session.query(AuditEvent).filter_by(kind="candidate_anonymised").one()
    assert event.data["candidate_id"] == gone_id and event.data["reason"] == "retention"
    # The decision's audit event kept its outcome and lost its rationale.
    decision = db.session.query(AuditEvent).filter_by(kind="decision", application_id=gone.id).one()
    assert decision.data["outcome"] == "reject" and "rationale" not in decision.data
    assert decision.redacted_at == later

    assert db.session.query(AuditRedaction).count() == 0  # the guard never outlives its transaction
    # Idempotent: a second run finds nobody.
    assert run_job("retention", later + timedelta(days=1))["anonymised"] == 0


def test_an_expired_consent_no_longer_protects(app, factory, team, now):
    start = now - timedelta(days=30)
    application = build(factory, team["position"], "c", start, interviewer=team["interviewer"])
    privacy.give_consent(application.candidate, source="phone", actor=team["recruiter"], now=start)
    assert run_job("retention", now + timedelta(days=200))["anonymised"] == 0
    result = run_job("retention", now + timedelta(days=25 * 31))
    assert result["anonymised"] == 1 and result["consents_expired"] == 1
    assert "zqc" not in dump()


def test_erasure_withdraws_sends_the_confirmation_then_leaves_no_trace(app, factory, team, now):
    start = now - timedelta(days=5)
    application = build(factory, team["position"], "d", start, interviewer=team["interviewer"], close=False)
    kept = build(factory, team["position"], "e", start, interviewer=team["interviewer"])
    candidate = application.candidate
    with pytest.raises(InvalidInput) as refused:
        privacy.erase_candidate(candidate, reason="  ", actor=team["admin"], now=now)
    assert "reason" in refused.value.fields
    with pytest.raises(InvalidInput) as named:
        privacy.erase_candidate(candidate, reason="asked by zqdmail@example.org", actor=team["admin"], now=now)
    assert "reason" in named.value.fields
    with pytest.raises(NotAllowed):
        privacy.erase_candidate(candidate, reason="Request by email", actor=team["recruiter"], now=now)

    privacy.erase_candidate(candidate, reason="Request by email of 24 Nov", actor=team["admin"], now=now)
    db.session.expire_all()
    assert application.stage == Stage.WITHDRAWN
    confirmation = db.session.query(OutboxEmail).filter_by(application_id=application.id,
                                                            template="withdrawal_confirmation").one()
    # Still sendable: the confirmation keeps its address and text until the relay handled it.
    assert confirmation.status == OutboxStatus.QUEUED and confirmation.recipient == "zqdmail@example.org"
    assert "zqdname" in confirmation.body_text
    result = run_job("outbox", now + timedelta(minutes=1))
    assert result["redacted"] >= 1
    assert "zqd" not in dump() and "zqd" not in instance_files()
    assert "zqename" in dump() and "zqedocument" in instance_files()
    event = db.session.query(AuditEvent).filter_by(kind="candidate_erased").one()
    assert event.actor_id == team["admin"].id and event.occurred_at == now
    assert event.data["reason"] == "Request by email of 24 Nov" and event.data["candidate_id"] == candidate.id
    assert kept.candidate.anonymised_at is None
    with pytest.raises(services.Conflict):
        privacy.erase_candidate(db.session.get(Candidate, candidate.id), reason="again", actor=team["admin"], now=now)


# --- the audit log: append-only but for the one controlled redaction ------------------------


def _event():
    with services.transaction():
        event = services.audit("decision", services.resolve_now(None), None, outcome="reject", rationale="secret")
    return event.id


def _raw(statement: str, **params) -> None:
    with db.engine.begin() as connection:
        connection.execute(text(statement), params)


def test_the_audit_log_refuses_every_change_outside_the_redaction(app):
    event_id = _event()
    for statement in ("UPDATE audit_event SET data = '{}' WHERE id = :id",
                      "UPDATE audit_event SET data = '{}', redacted_at = occurred_at WHERE id = :id",
                      "DELETE FROM audit_event WHERE id = :id"):
        with pytest.raises(DBAPIError, match="append-only"):
            _raw(statement, id=event_id)
    assert db.session.get(AuditEvent, event_id).data["rationale"] == "secret"


def test_the_redaction_guard_allows_only_blanking_data(app):
    event_id = _event()
    with db.engine.begin() as connection:
        connection.execute(text("INSERT INTO audit_redaction (id, started_at) VALUES (1, CURRENT_TIMESTAMP)"))
        for statement in ("UPDATE audit_event SET kind = 'other', redacted_at = occurred_at WHERE id = :id",
                          "UPDATE audit_event SET occurred_at = CURRENT_TIMESTAMP, redacted_at = occurred_at "
                          "WHERE id = :id",
                          "UPDATE audit_event SET data = '{}' WHERE id = :id",  # without redacted_at
                          "DELETE FROM audit_event WHERE id = :id"):
            savepoint = connection.begin_nested()
            with pytest.raises(DBAPIError, match="append-only"):
                connection.execute(text(statement), {"id": event_id})
            savepoint.rollback()
        connection.execute(text("UPDATE audit_event SET data = '{}', redacted_at = occurred_at WHERE id = :id"),
                           {"id": event_id})
        savepoint = connection.begin_nested()
        with pytest.raises(DBAPIError, match="append-only"):  # redacted once: never changed again
            connection.execute(text("UPDATE audit_event SET data = '{\"x\": 1}', redacted_at = occurred_at "
                                    "WHERE id = :id"), {"id": event_id})
        savepoint.rollback()
        connection.execute(text("DELETE FROM audit_redaction"))
    db.session.expire_all()
    event = db.session.get(AuditEvent, event_id)
    assert event.data == {} and event.redacted_at is not None
    assert db.session.query(AuditRedaction).count() == 0


# --- access export ----------------------------------------------------------------------------


def test_export_holds_their_data_and_documents_but_not_internal_notes(app, factory, team, now):
    application = build(factory, team["position"], "f", now - timedelta(days=10), interviewer=team["interviewer"])
    candidate = application.candidate
    data = privacy.export_candidate(candidate, actor=team["recruiter"], now=now)
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = archive.namelist()
    assert "data.json" in names and "summary.txt" in names
    document = [n for n in names if n.startswith("documents/")]
    assert len(document) == 1 and archive.read(document[0]).endswith(b"zqfdocument")
    exported = json.loads(archive.read("data.json"))
    assert exported["candidate"]["email"] == "zqfmail@example.org"
    [entry] = exported["applications"]
    assert entry["interviews"][0]["recommendations"] == ["no"]
    assert entry["contacts"][0]["summary"] == "zqfcontact"
    assert any("zqfcandidatefeedback" in e["body"] for e in entry["emails"])
    raw = archive.read("data.json").decode()
    assert "zqffeedbacknotes" not in raw and "zqfrationale" not in raw and "zqfrefnotes" not in raw
    assert "What embeddeers holds about you" in archive.read("summary.txt").decode()
    assert "and documents/ (the files you sent us)" in archive.read("summary.txt").decode()
    with pytest.raises(NotAllowed):
        privacy.export_candidate(candidate, actor=team["interviewer"], now=now)
    assert db.session.query(AuditEvent).filter_by(kind="candidate_exported").count() == 1


def test_export_summary_in_german(app, factory, team, now):
    application = services.submit_application(team["position"], name="Jörg Beispiel", email="joerg@example.org",
                                              language="de", actor=team["recruiter"], now=now)
    archive = zipfile.ZipFile(io.BytesIO(privacy.export_candidate(application.candidate, actor=team["admin"],
                                                                  now=now)))
    summary = archive.read("summary.txt").decode()
    assert "Welche Daten" in summary and "Bewerbungen" in summary and "„Bewerbung eingegangen“" in summary


# --- consent -----------------------------------------------------------------------------------


def test_consent_dates_renewal_and_the_withdrawal_link(app, factory, team, now):
    application = services.submit_application(team["position"], name="Pia Pool", email="pia@example.org",
                                              actor=team["recruiter"], now=now)
    candidate = application.candidate
    received = db.session.query(OutboxEmail).filter_by(application_id=application.id).one()
    assert "/privacy/talent-pool/" in received.body_text and "/privacy" in received.body_html
    assert "You are not in our talent pool" in received.body_text  # no "withdraw" of a consent never given
    assert "Withdraw your consent" not in received.body_html
    with pytest.raises(InvalidInput):
        privacy.give_consent(candidate, source="telepathy", actor=team["recruiter"], now=now)
    privacy.give_consent(candidate, source="email", actor=team["recruiter"], now=now)
    assert candidate.talent_pool_expires_at == now.replace(year=now.year + 2)
    assert privacy.send_consent_renewals(now + timedelta(days=600)) == {"renewal_requests": 0}
    due = candidate.talent_pool_expires_at - timedelta(days=20)
    assert privacy.send_consent_renewals(due) == {"renewal_requests": 1}
    assert privacy.send_consent_renewals(due + timedelta(days=1)) == {"renewal_requests": 0}
    renewal = db.session.query(OutboxEmail).filter_by(template="talent_pool_renewal").one()
    assert renewal.recipient == "pia@example.org" and "/privacy/talent-pool/" in renewal.body_text

    token = privacy.withdrawal_token(candidate)
    assert privacy.candidate_from_token(token).id == candidate.id
    assert privacy.candidate_from_token(token + "x") is None
    assert privacy.withdraw_consent(candidate, via="link", now=now) is True
    assert privacy.withdraw_consent(candidate, via="link", now=now) is False
    assert not privacy.consent_valid(candidate, now)


def test_consent_from_the_application_form_is_dated(app, factory, team, now):
    application = services.submit_application(team["position"], name="Tom Tick", email="tom@example.org",
                                              talent_pool_consent=True, actor=team["recruiter"], now=now)
    candidate = application.candidate
    assert candidate.talent_pool_consent_at == now
    assert candidate.talent_pool_consent_source == "Ticked on the application form"
    assert candidate.talent_pool_expires_at == now.replace(year=now.year + 2)


# --- the UI, the CLI ----------------------------------------------------------------------------


def test_candidate_page_erase_is_admins_only_and_needs_a_reason(app, factory, team, login, now):
    application = services.submit_application(team["position"], name="Uma Ui", email="uma@example.org",
                                              actor=team["recruiter"], now=now)
    candidate_id = application.candidate_id
    client = login(team["recruiter"])
    page = client.get(f"/candidates/{candidate_id}").get_data(as_text=True)
    assert "Download everything we hold" in page and "Erase this candidate" not in page
    assert client.post(f"/candidates/{candidate_id}/erase", data={"erase-reason": "asked"}).status_code == 403
    client = app.test_client()
    assert client.post("/login", data={"email": team["admin"].email, "password": "correct horse battery"}
                       ).status_code == 302
    assert "Erase this candidate" in client.get(f"/candidates/{candidate_id}").get_data(as_text=True)
    refused = client.post(f"/candidates/{candidate_id}/erase", data={"erase-reason": ""})
    assert refused.status_code == 422 and "Give the reason" in refused.get_data(as_text=True)
    assert db.session.get(Candidate, candidate_id).anonymised_at is None
    done = client.post(f"/candidates/{candidate_id}/erase", data={"erase-reason": "Request by phone"})
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(Candidate, candidate_id).anonymised_at is not None
    page = client.get(f"/candidates/{candidate_id}").get_data(as_text=True)
    assert "Anonymised on" in page and "Erase this candidate" not in page and "uma@example.org" not in page


def test_export_download_consent_tags_and_the_talent_pool(app, factory, team, login, now):
    application = services.submit_application(team["position"], name="Paul Pool", email="paul@example.org",
                                              actor=team["recruiter"], now=now - timedelta(days=1))
    candidate_id = application.candidate_id
    client = login(team["recruiter"])
    download = client.get(f"/candidates/{candidate_id}/export")
    assert download.status_code == 200 and download.mimetype == "application/zip"
    assert "data.json" in zipfile.ZipFile(io.BytesIO(download.data)).namelist()
    assert "Paul Pool" not in client.get("/talent-pool").get_data(as_text=True)
    bad = client.post(f"/candidates/{candidate_id}/consent", data={"consent-source": "telepathy"})
    assert bad.status_code == 422
    assert client.post(f"/candidates/{candidate_id}/consent", data={"consent-source": "email"}).status_code == 302
    assert client.post(f"/candidates/{candidate_id}/tags", data={"tags-tags": "Embedded, rust,embedded"}
                       ).status_code == 302
    db.session.expire_all()
    assert db.session.get(Candidate, candidate_id).tags == ["embedded", "rust"]
    assert "Paul Pool" in client.get("/talent-pool?tag=rust").get_data(as_text=True)
    assert "Paul Pool" not in client.get("/talent-pool?tag=java").get_data(as_text=True)
    assert "Paul Pool" in client.get(f"/talent-pool?position={team['position'].id}&q=paul").get_data(as_text=True)
    assert '<option value="rust">' in client.get("/talent-pool").get_data(as_text=True)  # suggestions
    other = factory.position(title="Firmware Lead", owner=team["recruiter"])
    invited = client.post(f"/talent-pool/{candidate_id}/invite", data={"invite-position_id": str(other.id)})
    assert invited.status_code == 302
    new = db.session.query(Application).filter_by(candidate_id=candidate_id, position_id=other.id).one()
    assert db.session.query(OutboxEmail).filter_by(application_id=new.id, template="application_received").count() == 1
    assert new.source == "talent_pool"  # the sources report counts the pool
    # Twice for the same position: refused with a message, nothing lost.
    again = client.post(f"/talent-pool/{candidate_id}/invite", data={"invite-position_id": str(other.id)},
                        follow_redirects=True)
    assert "already applied" in again.get_data(as_text=True)


def test_the_withdrawal_link_needs_no_login_and_one_click(app, factory, team, client, now):
    application = services.submit_application(team["position"], name="Lea Link", email="lea@example.org",
                                              language="de", talent_pool_consent=True, actor=team["recruiter"],
                                              now=now)
    token = privacy.withdrawal_token(application.candidate)
    page = client.get(f"/privacy/talent-pool/{token}")
    assert page.status_code == 200 and "Zustimmung widerrufen" in page.get_data(as_text=True)
    assert '<html lang="de">' in page.get_data(as_text=True)  # the candidate's language, footer too
    assert "Datum und Uhrzeit" in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Candidate, application.candidate_id).talent_pool_consent  # a GET changes nothing
    done = client.post(f"/privacy/talent-pool/{token}")
    assert done.status_code == 200 and "nicht mehr in unserem Talentpool" in done.get_data(as_text=True)
    db.session.expire_all()
    assert not db.session.get(Candidate, application.candidate_id).talent_pool_consent
    assert client.get(f"/privacy/talent-pool/{token}x").status_code == 404
    notice = client.get("/privacy").get_data(as_text=True)
    assert "6 months after your last application" in notice and "6 Monate nach der Entscheidung" in notice


def test_the_withdrawal_link_expires(app, factory, team, client, now):
    application = services.submit_application(team["position"], name="Max Old", email="max@example.org",
                                              talent_pool_consent=True, actor=team["recruiter"], now=now)
    app.config["PRIVACY_LINK_MAX_AGE"] = -1
    assert client.get(f"/privacy/talent-pool/{privacy.withdrawal_token(application.candidate)}").status_code == 404


def test_cli_erase_and_export(app, factory, team, runner, now, tmp_path):
    application = services.submit_application(team["position"], name="Cleo Cli", email="cleo@example.org",
                                              actor=team["recruiter"], now=now)
    output = tmp_path / "export.zip"
    result = runner.invoke(args=["candidates", "export", "CLEO@example.org", "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert json.loads(zipfile.ZipFile(output).read("data.json"))["candidate"]["name"] == "Cleo Cli"
    assert "You sent us no documents." in zipfile.ZipFile(output).read("summary.txt").decode()
    missing = runner.invoke(args=["candidates", "erase", "cleo@example.org"])
    assert missing.exit_code != 0 and "--reason" in missing.output
    unknown = runner.invoke(args=["candidates", "erase", "nobody@example.org", "--reason", "x"])
    assert unknown.exit_code != 0 and "No candidate" in unknown.output
    result = runner.invoke(args=["candidates", "erase", "cleo@example.org", "--reason", "Request by letter",
                                 "--by", team["admin"].email])
    assert result.exit_code == 0, result.output
    assert "still queued" in result.output  # the withdrawal confirmation goes out first
    db.session.expire_all()
    assert db.session.get(Candidate, application.candidate_id).anonymised_at is not None
    event = db.session.query(AuditEvent).filter_by(kind="candidate_erased").one()
    assert event.actor_id == team["admin"].id


def test_retention_months_is_an_admin_setting(app, team, login, now):
    client = login(team["admin"])
    from hiring.settings import get_policy

    data = {k: str(v) for k, v in get_policy().to_dict().items() if not isinstance(v, bool)}
    bad = client.post("/admin/settings", data={**data, "retention_months": "0"})
    assert bad.status_code in (200, 422) and "between 1 and 120" in bad.get_data(as_text=True)
    assert client.post("/admin/settings", data={**data, "retention_months": "3"}).status_code == 302
    db.session.expire_all()
    from hiring.settings import forget_policy

    forget_policy()
    assert get_policy().retention_months == 3


def test_erasure_sends_the_panel_its_cancellation_first(app, factory, team, now):
    application = services.submit_application(team["position"], name="Ivo Zqivo", email="zqivo@example.org",
                                              actor=team["recruiter"], now=now - timedelta(days=2))
    services.schedule_interview(application, round=1, scheduled_at=now + timedelta(days=3),
                                panel_user_ids=[team["interviewer"].id], location="Room 1", actor=team["recruiter"],
                                now=now - timedelta(days=1))
    mailer.relay_outbox(now - timedelta(days=1))
    privacy.erase_candidate(application.candidate, reason="Request by email", actor=team["admin"], now=now)
    cancelled = db.session.query(OutboxEmail).filter_by(template="panel_cancelled").one()
    assert cancelled.status == OutboxStatus.QUEUED and cancelled.recipient == team["interviewer"].email
    run_job("outbox", now + timedelta(minutes=1))
    db.session.expire_all()
    assert cancelled.status == OutboxStatus.NOT_DELIVERED and cancelled.body_text == ""
    assert cancelled.recipient == team["interviewer"].email  # the team's own address stays
    with pytest.raises(services.Conflict, match="data protection"):  # a blank email is never sent again
        services.retry_email(cancelled, actor=team["admin"], now=now)
    assert "zqivo" not in dump()


def test_retention_removes_orphan_uploads_but_not_an_upload_in_flight(app, factory, team, now):
    application = services.submit_application(team["position"], name="Ora Orphan", email="ora@example.org",
                                              actor=team["recruiter"], now=now)
    document = services.add_document(application, filename="cv.pdf", data=PDF, actor=team["recruiter"], now=now)
    folder = Path(app.config["UPLOAD_FOLDER"])
    orphan, in_flight = folder / "deadbeef", folder / "cafebabe"
    orphan.write_bytes(b"left behind")
    in_flight.write_bytes(b"being uploaded")
    old = now.timestamp() - 7200  # file times are the real clock's: the fixed `now` is days ago
    os.utime(orphan, (old, old))
    os.utime(services.document_path(document), (old, old))
    assert run_job("retention", now)["orphan_files_removed"] == 1
    assert not orphan.exists() and in_flight.exists() and services.document_path(document).exists()


def test_the_footer_links_the_configured_privacy_notice(app, factory, team, now):
    app.config["PRIVACY_URL"] = "https://embeddeers.example/datenschutz"
    application = services.submit_application(team["position"], name="Nora Notice", email="nora@example.org",
                                              language="de", talent_pool_consent=True, actor=team["recruiter"],
                                              now=now)
    email = db.session.query(OutboxEmail).filter_by(application_id=application.id).one()
    assert "https://embeddeers.example/datenschutz" in email.body_text
    assert "https://embeddeers.example/datenschutz" in email.body_html
    assert "Hier widerrufen Sie Ihre Zustimmung: http://hiring.test/privacy/talent-pool/" in email.body_text


def test_consent_given_again_on_a_new_application_is_dated_again(app, factory, team, now):
    first = services.submit_application(team["position"], name="Rita Return", email="rita.r@example.org",
                                        talent_pool_consent=True, actor=team["recruiter"], now=now)
    later = now + timedelta(days=800)
    assert privacy.expire_consents(later) == 1
    other = factory.position(title="Firmware Lead", owner=team["recruiter"])
    services.submit_application(other, name="Rita Return", email="rita.r@example.org", talent_pool_consent=True,
                                actor=team["recruiter"], now=later)
    candidate = db.session.get(Candidate, first.candidate_id)
    assert candidate.talent_pool_consent_at == later and privacy.consent_valid(candidate, later)


def test_the_talent_pool_pages_by_fifty_with_one_invite_form(app, factory, team, login, now, monkeypatch):
    from hiring.views import privacy as privacy_view

    monkeypatch.setattr(privacy_view, "TALENT_POOL_PER_PAGE", 2)
    for name in ("Ada Pool", "Ben Pool", "Cy Pool"):
        services.submit_application(team["position"], name=name, email=f"{name.split()[0].lower()}@example.org",
                                    talent_pool_consent=True, actor=team["recruiter"], now=now)
    client = login(team["recruiter"])
    first = client.get("/talent-pool").get_data(as_text=True)
    assert "Ada Pool" in first and "Ben Pool" in first and "Cy Pool" not in first
    assert 'href="/talent-pool?page=2"' in first and 'rel="prev"' not in first
    second = client.get("/talent-pool?page=2").get_data(as_text=True)
    assert "Cy Pool" in second and "Ada Pool" not in second and 'href="/talent-pool?page=1"' in second
    assert 'rel="next"' not in second
    # One position field for the page (typed, with suggestions: no <option> per position);
    # each row's button posts it to its own route.
    assert first.count('name="invite-position"') == 1 and "<option value=" not in first
    ada = db.session.query(Candidate).filter_by(name="Ada Pool").one()
    assert f'form="invite" class="secondary" formaction="/talent-pool/{ada.id}/invite"' in first
    filtered = client.get("/talent-pool?q=pool&page=2").get_data(as_text=True)
    assert 'href="/talent-pool?page=1&amp;q=pool"' in filtered or 'href="/talent-pool?q=pool&amp;page=1"' in filtered


def test_the_talent_pools_position_fields_are_typed_and_resolved(app, factory, team, login, now):
    """At 1M applications a select of every position (20,000) and of every open one (4,000)
    was most of the page; the fields are typed, with suggestions, and resolved here."""
    first = factory.position(title="Firmware Lead", owner=team["recruiter"])
    second = factory.position(title="Firmware Lead", owner=team["recruiter"])
    closed = factory.position(title="Old Role", owner=team["recruiter"])
    services.close_position(closed, actor=team["recruiter"])
    ada = services.submit_application(first, name="Ada Pool", email="ada@example.org", talent_pool_consent=True,
                                      actor=team["recruiter"], now=now).candidate
    services.submit_application(team["position"], name="Ben Pool", email="ben@example.org", talent_pool_consent=True,
                                actor=team["recruiter"], now=now)
    client = login(team["recruiter"])

    def names(url):
        html = client.get(url).get_data(as_text=True)
        return [n for n in ("Ada Pool", "Ben Pool") if f">{n}</a>" in html], html

    assert names(f"/talent-pool?position={first.id}")[0] == ["Ada Pool"]
    assert names(f"/talent-pool?position_q=Firmware+Lead+%23{first.id}")[0] == ["Ada Pool"]  # a suggestion
    shown, html = names("/talent-pool?position_q=firmware")  # two of that title: choose
    assert shown == ["Ada Pool", "Ben Pool"] and "2 positions match “firmware”; choose one:" in html
    assert f'href="/talent-pool?position={first.id}"' in html and f'href="/talent-pool?position={second.id}"' in html
    shown, html = names("/talent-pool?position_q=nothing+like+it")
    assert shown == ["Ada Pool", "Ben Pool"] and "No position matches “nothing like it”" in html
    assert names(f"/talent-pool?position_q={team['position'].title}")[0] == ["Ben Pool"]  # the only one of that title
    suggestions = client.get("/talent-pool/suggest/open-positions?q=firm").get_json()["options"]
    assert [o["value"] for o in suggestions] == [f"Firmware Lead #{first.id}", f"Firmware Lead #{second.id}"]
    assert client.get("/talent-pool/suggest/positions?q=f").get_json() == {"options": []}  # two characters on
    assert [o["value"] for o in client.get("/talent-pool/suggest/positions?q=old").get_json()["options"]] == [
        f"Old Role #{closed.id}"]  # "Applied for": closed ones too
    assert client.get("/talent-pool/suggest/open-positions?q=old").get_json() == {"options": []}

    invite = f"/talent-pool/{ada.id}/invite"
    ambiguous = client.post(invite, data={"invite-position": "Firmware Lead"}, follow_redirects=True)
    assert "2 open positions match “Firmware Lead”" in ambiguous.get_data(as_text=True)
    assert client.post(invite, data={"invite-position": team["position"].title}).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Application).where(
        Application.candidate_id == ada.id, Application.position_id == team["position"].id)) == 1
    assert client.post(invite, data={"invite-position": f"Firmware Lead #{second.id}"}).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Application).where(
        Application.candidate_id == ada.id, Application.position_id == second.id)) == 1


@pytest.mark.parametrize("count_limit", [1000, 1])
def test_the_talent_pools_filters_find_what_a_plain_reading_finds(app, factory, team, now, monkeypatch,
                                                                  count_limit):
    """The filters go through indexes (the position's applicants, the tagged candidates, the
    search index): the same candidates, in the same order, as reading every candidate."""
    other = factory.position(title="Firmware Lead", owner=team["recruiter"])
    people = []
    for i, (name, tags) in enumerate([("Zed Rust", ["rust"]), ("Amy Schmidt", ["embedded", "rust"]),
                                      ("Bo Schmidt", []), ("Cy Miller", ["java"]), ("Di Schmidtke", ["rust"])]):
        position = other if i % 2 else team["position"]
        application = services.submit_application(position, name=name, email=f"p{i}@example.org",
                                                  talent_pool_consent=True, actor=team["recruiter"],
                                                  now=now)
        application.candidate.tags = tags
        people.append(application.candidate)
    services.submit_application(team["position"], name="Al Schmidt", email="out@example.org",
                                talent_pool_consent=False, actor=team["recruiter"], now=now)
    db.session.commit()
    # With a limit of 1, "schmidt" counts as many: the page walks the name index instead.
    monkeypatch.setattr("hiring.privacy.consent.SEARCH_COUNT_LIMIT", count_limit)
    pool = sorted(people, key=lambda c: (c.name, c.id))
    applied = {c.id: {a.position_id for a in c.applications} for c in pool}
    cases = [("", "", None), ("schmidt", "", None), ("SCHMIDT", "rust", None), ("", "rust", None),
             ("", "", other.id), ("schmidt", "", other.id), ("", "rust", team["position"].id), ("zz", "", None),
             ("", "java", other.id)]
    for search, tag, position_id in cases:
        expected = [c.id for c in pool
                    if (not search or search.lower() in c.name.lower() or search.lower() in c.email)
                    and (not tag or tag in c.tags) and (not position_id or position_id in applied[c.id])]
        found = privacy.talent_pool(now + timedelta(minutes=1), search=search, tag=tag, position_id=position_id)
        assert [c.id for c in found] == expected, (search, tag, position_id)


def tag_counts() -> dict[str, int]:
    return dict(db.session.execute(select(TagCount.tag, TagCount.count)).all())


def tags_recounted() -> dict[str, int]:
    """The tags in use as a plain reading of every candidate finds them."""
    counts: Counter[str] = Counter()
    for tags in db.session.scalars(select(Candidate.tags).where(Candidate.anonymised_at.is_(None))):
        counts.update(set(tags or []))
    return dict(counts)


def test_the_tags_in_use_follow_tagging_retagging_and_erasure(app, factory, team, now):
    recruiter, admin = team["recruiter"], team["admin"]
    people = [services.submit_application(team["position"], name=f"Tina Tag{i}", email=f"tina{i}@example.org",
                                          talent_pool_consent=True, actor=recruiter, now=now).candidate
              for i in range(3)]
    assert privacy.known_tags() == [] and tag_counts() == {}
    privacy.set_tags(people[0], "Embedded, rust, zqonlytina", actor=recruiter, now=now)
    privacy.set_tags(people[1], ["embedded", "c++"], actor=recruiter, now=now)
    privacy.set_tags(people[2], ["embedded"], actor=recruiter, now=now)
    assert tag_counts() == {"embedded": 3, "rust": 1, "zqonlytina": 1, "c++": 1} == tags_recounted()
    assert privacy.known_tags() == ["c++", "embedded", "rust", "zqonlytina"]

    privacy.set_tags(people[1], ["embedded", "c++"], actor=recruiter, now=now)  # the same list again
    privacy.set_tags(people[2], ["rust", "python"], actor=recruiter, now=now)  # one gone, two new
    assert tag_counts() == {"embedded": 2, "rust": 2, "zqonlytina": 1, "c++": 1, "python": 1} == tags_recounted()

    privacy.set_tags(people[1], [], actor=recruiter, now=now)  # the last to carry c++
    privacy.erase_candidate(people[0], reason="Request by email", actor=admin, now=now)
    # Gone with the last candidate who carried them: no row holds "zqonlytina" any more.
    assert tag_counts() == {"rust": 1, "python": 1} == tags_recounted()
    assert privacy.known_tags() == ["python", "rust"]
    assert "zqonlytina" not in dump()
