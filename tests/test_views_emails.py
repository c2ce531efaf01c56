"""The Emails page: every email with its status, rendered safely, retry for failures."""

from __future__ import annotations

from sqlalchemy import select

from hiring import mailer
from hiring.extensions import db
from hiring.models import OutboxEmail
from hiring.pipeline import Stage


def test_admin_and_recruiters_see_every_email_with_status_and_error(factory, login, now):
    application = factory.application(Stage.FIRST_INTERVIEW)
    mailer.relay_outbox(now)  # no SMTP server in tests: kept as not delivered
    recruiter = application.position.owner
    client = login(recruiter)

    page = client.get("/emails/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "No SMTP server is configured" in html
    assert "Your application for Embedded Software Engineer" in html
    assert "Invitation to your first interview" in html
    assert "not delivered: no SMTP server configured" in html
    assert "Interview panel: Candidate" in html  # and the panel's calendar invitations
    assert "Not delivered (4)" in html

    assert "Invitation" not in client.get("/emails/?status=sent").get_data(as_text=True)
    assert "Not delivered (4)" in client.get("/emails/?status=bogus").get_data(as_text=True)  # ignored, not a 500

    admin = factory.user("admin")
    assert login(admin).get("/emails/").status_code == 200


def test_pages_newest_first_with_totals_per_status(factory, login, now, monkeypatch):
    from hiring.views import emails as emails_view

    monkeypatch.setattr(emails_view, "PER_PAGE", 3)
    application = factory.application(Stage.FIRST_INTERVIEW)  # 4 emails, all queued
    mailer.relay_outbox(now)
    factory.application(Stage.APPLIED)  # 1 more, queued and newest
    client = login(application.position.owner)

    first = client.get("/emails/").get_data(as_text=True)
    assert "All (5)" in first and "Page 1 of 2" in first
    links = [f'href="/emails/{e.id}"' for e in db.session.scalars(
        select(OutboxEmail).order_by(OutboxEmail.created_at.desc(), OutboxEmail.id.desc()))]
    assert first.index(links[0]) < first.index(links[1]) < first.index(links[2])
    assert links[3] not in first
    assert links[3] in client.get("/emails/?page=2").get_data(as_text=True)
    one_page = client.get("/emails/?status=queued").get_data(as_text=True)
    assert "Queued (1)" in one_page and "Page 1 of" not in one_page  # the total of the status shown
    assert "Page 1 of 2" in client.get("/emails/?status=not_delivered").get_data(as_text=True)


def test_interviewers_and_managers_may_not_see_emails(factory, login):
    factory.application(Stage.APPLIED)
    email = db.session.scalar(select(OutboxEmail))
    for role in ("interviewer", "manager"):
        client = login(factory.user(role))
        for url in ("/emails/", f"/emails/{email.id}", f"/emails/{email.id}/preview"):
            response = client.get(url)
            assert response.status_code == 403, (role, url)
            assert email.subject not in response.get_data(as_text=True)
        assert client.post(f"/emails/{email.id}/retry").status_code == 403


def test_detail_shows_the_email_rendered_in_a_sandboxed_frame(factory, login, now):
    application = factory.application(Stage.FIRST_INTERVIEW, language="de")
    invitation = db.session.scalar(select(OutboxEmail).where(OutboxEmail.template == "interview_invitation"))
    client = login(application.position.owner)

    detail = client.get(f"/emails/{invitation.id}").get_data(as_text=True)
    assert invitation.subject in detail
    assert f'src="/emails/{invitation.id}/preview" sandbox=""' in detail
    assert "Guten Tag" in detail  # the plain text, too
    assert "interview.ics" in detail

    preview = client.get(f"/emails/{invitation.id}/preview")
    assert preview.status_code == 200
    assert preview.headers["Content-Security-Policy"].startswith("sandbox; default-src 'none'")
    assert "script-src" not in preview.headers["Content-Security-Policy"]
    assert preview.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert preview.get_data(as_text=True) == invitation.body_html

    ics = client.get(f"/emails/{invitation.id}/attachments/0")
    assert ics.status_code == 200 and ics.headers["Content-Type"].startswith("text/calendar")
    assert "BEGIN:VCALENDAR" in ics.get_data(as_text=True)
    assert client.get(f"/emails/{invitation.id}/attachments/5").status_code == 404
    assert client.get("/emails/99999").status_code == 404


def test_retry_button_queues_a_failed_email_again(factory, login, now):
    application = factory.application(Stage.APPLIED)
    email = db.session.scalar(select(OutboxEmail))
    email.status, email.last_error, email.attempts = "failed", "SMTP 550 5.1.1 No such user", 1
    db.session.commit()
    client = login(application.position.owner)
    assert "Send again" in client.get(f"/emails/{email.id}").get_data(as_text=True)

    response = client.post(f"/emails/{email.id}/retry", follow_redirects=True)
    assert response.status_code == 200
    assert "is queued again" in response.get_data(as_text=True)
    # Without a mail server the flash does not promise a delivery that cannot happen.
    assert "no mail server is configured" in response.get_data(as_text=True)
    assert "sends it within a minute" not in response.get_data(as_text=True)
    db.session.refresh(email)
    assert (email.status, email.attempts, email.last_error) == ("queued", 0, None)

    again = client.post(f"/emails/{email.id}/retry", follow_redirects=True)
    assert "Only a failed or undelivered email can be sent again." in again.get_data(as_text=True)
    assert "Send again" not in again.get_data(as_text=True)


def test_retry_with_a_mail_server_says_when_it_goes_out(app, factory, login, now):
    application = factory.application(Stage.APPLIED)
    email = db.session.scalar(select(OutboxEmail))
    email.status, email.last_error, email.attempts = "failed", "SMTP 421 try later", 5
    db.session.commit()
    client = login(application.position.owner)
    app.config["MAIL_SERVER"] = "mail.example.com"
    response = client.post(f"/emails/{email.id}/retry", follow_redirects=True)
    assert "is queued again; the outbox sends it within a minute." in response.get_data(as_text=True)


def test_the_status_counts_follow_every_insert_change_and_delete(factory, now):
    """The triggers of migration e2b9c4d71f06 keep outbox_status_count equal to a count."""
    from sqlalchemy import delete, func, update

    from hiring.models import OutboxStatusCount

    def kept() -> dict[str, int]:
        return {s: n for s, n in db.session.execute(select(OutboxStatusCount.status, OutboxStatusCount.count)) if n}

    def counted() -> dict[str, int]:
        return dict(db.session.execute(select(OutboxEmail.status, func.count()).group_by(OutboxEmail.status)).all())

    factory.application(Stage.FIRST_INTERVIEW)
    factory.application(Stage.APPLIED)
    assert kept() == counted() and sum(kept().values()) >= 2
    mailer.relay_outbox(now)  # queued → sending → sent (or not_delivered without a server)
    assert kept() == counted()
    first = db.session.scalars(select(OutboxEmail.id).order_by(OutboxEmail.id)).first()
    db.session.execute(update(OutboxEmail).where(OutboxEmail.id == first).values(status="failed"))
    db.session.execute(update(OutboxEmail).where(OutboxEmail.id == first).values(subject="no status change"))
    assert kept() == counted()
    db.session.execute(delete(OutboxEmail).where(OutboxEmail.id == first))
    db.session.commit()
    assert kept() == counted()
