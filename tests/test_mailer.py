"""The outbox relay against a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hiring import mailer, services
from hiring.extensions import db
from hiring.models import AuditEvent, OutboxEmail, utcnow
from hiring.pipeline import OutboxStatus, Stage

from .smtp import SMTPServer, free_port

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def app_config(smtp_port):
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp_port, "MAIL_TIMEOUT": 5,
            "MAIL_DEFAULT_SENDER": "Hiring team <hiring@embeddeers.example>"}


@pytest.fixture
def smtp(smtp_port):
    server = SMTPServer(smtp_port).start()
    yield server
    server.stop()


def queued(status: str = "queued") -> list[OutboxEmail]:
    return db.session.scalars(select(OutboxEmail).where(OutboxEmail.status == status).order_by(OutboxEmail.id)).all()


def test_relay_sends_each_email_once_over_smtp(factory, now, smtp):
    panel = [factory.user("interviewer"), factory.user("interviewer")]
    application = factory.application(Stage.FIRST_DECISION, language="de", panel=panel)
    emails = queued()
    # received, invitation (+ .ics), the panel's invitations (+ .ics), thanks
    assert [(e.template, e.recipient) for e in emails] == [
        ("application_received", application.candidate.email), ("interview_invitation", application.candidate.email),
        ("panel_invitation", panel[0].email), ("panel_invitation", panel[1].email),
        ("interview_thanks", application.candidate.email)]

    before = utcnow()
    counts = mailer.relay_outbox(now)
    after = utcnow()

    assert counts == {"sent": 5, "retry": 0, "failed": 0, "not_delivered": 0}
    assert len(smtp.sink.messages) == 5
    db.session.expire_all()
    for email, message in zip(queued("sent"), smtp.sink.messages, strict=True):
        assert message["Message-ID"] == mailer.message_id(email)
        assert message["Message-ID"].startswith(f"<outbox-{email.id}.")
        assert message["Subject"] == email.subject
        assert message["To"] == email.recipient
        assert before <= email.sent_at <= after  # the real clock, not the job's
        assert email.attempts == 1
    invitation, panel_invitation = smtp.sink.messages[1], smtp.sink.messages[2]
    assert invitation["Subject"].startswith("Einladung zum ersten Vorstellungsgespräch")
    assert panel_invitation["Subject"].startswith("Interview panel: ")  # team emails are in English
    for message in (invitation, panel_invitation):
        parts = {part.get_content_type(): part for part in message.walk()}
        assert {"text/plain", "text/html", "text/calendar"} <= set(parts)
        assert "BEGIN:VCALENDAR" in parts["text/calendar"].get_content()
    # Candidate emails invite replies; team emails are marked automatic.
    assert invitation["Auto-Submitted"] is None
    assert panel_invitation["Auto-Submitted"] == "auto-generated"

    assert mailer.relay_outbox(now + timedelta(minutes=1))["sent"] == 0
    assert len(smtp.sink.messages) == 5


def test_smtp_down_then_up_delivers_every_email_once(factory, now, smtp_port):
    for _ in range(3):
        factory.application(Stage.APPLIED)
    counts = mailer.relay_outbox(now)
    assert counts["retry"] == 3 and counts["sent"] == 0
    emails = queued()
    assert all("cannot connect" in e.last_error for e in emails)
    assert all(e.next_attempt_at == now + timedelta(minutes=1) for e in emails)

    # Still down a minute later: the second attempt waits twice as long.
    assert mailer.relay_outbox(now + timedelta(minutes=1))["retry"] == 3
    assert {e.next_attempt_at for e in queued()} == {now + timedelta(minutes=3)}
    assert mailer.relay_outbox(now + timedelta(minutes=2))["retry"] == 0  # not due yet: untouched

    server = SMTPServer(smtp_port).start()
    try:
        assert mailer.relay_outbox(now + timedelta(minutes=3))["sent"] == 3
        assert mailer.relay_outbox(now + timedelta(hours=2))["sent"] == 0
        assert sorted(server.sink.recipients()) == sorted(e.recipient for e in queued("sent"))
        assert len(server.sink.messages) == 3
    finally:
        server.stop()


def test_4xx_is_retried_and_5xx_fails_at_once_visibly(factory, now, smtp):
    first = factory.application(Stage.APPLIED, email="busy@example.org")
    second = factory.application(Stage.APPLIED, email="nobody@example.org")
    smtp.sink.refuse = ["451 4.3.0 Mailbox temporarily unavailable", "550 5.1.1 No such user"]

    counts = mailer.relay_outbox(now)

    assert counts == {"sent": 0, "retry": 1, "failed": 1, "not_delivered": 0}
    busy = db.session.scalar(select(OutboxEmail).where(OutboxEmail.application_id == first.id))
    gone = db.session.scalar(select(OutboxEmail).where(OutboxEmail.application_id == second.id))
    assert busy.status == OutboxStatus.QUEUED and busy.last_error.startswith("SMTP 451")
    assert gone.status == OutboxStatus.FAILED and gone.last_error.startswith("SMTP 550 5.1.1 No such user")

    assert mailer.relay_outbox(now + timedelta(minutes=1))["sent"] == 1
    assert smtp.sink.recipients() == ["busy@example.org"]
    assert mailer.relay_outbox(now + timedelta(days=1))["sent"] == 0  # the 5xx is not retried by itself

    recruiter = first.position.owner
    services.retry_email(gone, actor=recruiter, now=now + timedelta(days=1))
    assert gone.status == OutboxStatus.QUEUED and gone.attempts == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.kind == "email_retried")) == 1
    assert mailer.relay_outbox(now + timedelta(days=1))["sent"] == 1
    assert smtp.sink.recipients() == ["busy@example.org", "nobody@example.org"]


def test_gives_up_after_the_policy_limit(factory, now, smtp):
    services.update_policy({"email_max_attempts": 3}, actor=None, now=now)
    factory.application(Stage.APPLIED)
    smtp.sink.refuse = ["421 4.7.0 Try again later"] * 10
    moment = now
    for _ in range(3):
        mailer.relay_outbox(moment)
        moment += timedelta(hours=2)
    email = queued("failed")[0]
    assert email.attempts == 3
    assert "gave up after 3 attempts" in email.last_error
    assert mailer.relay_outbox(moment)["sent"] == 0


def test_only_failed_or_undelivered_emails_can_be_retried(factory, now, smtp):
    application = factory.application(Stage.APPLIED)
    interviewer = factory.user("interviewer")
    email = queued()[0]
    with pytest.raises(services.Conflict):
        services.retry_email(email, actor=application.position.owner, now=now)
    email.status = "failed"
    db.session.commit()
    with pytest.raises(services.NotAllowed):
        services.retry_email(email, actor=interviewer, now=now)


def test_relay_sends_many_emails_over_one_connection(factory, now, smtp, monkeypatch):
    for _ in range(4):
        factory.application(Stage.APPLIED)
    connections = []
    original = mailer._TimeoutConnection.configure_host

    def counting(self):
        connections.append(1)
        return original(self)

    monkeypatch.setattr(mailer._TimeoutConnection, "configure_host", counting)
    monkeypatch.setattr(mailer, "BATCH_SIZE", 3)  # two batches, still one connection
    assert mailer.relay_outbox(now)["sent"] == 4
    assert len(connections) == 1
    assert len(smtp.sink.messages) == 4


def test_a_relay_crash_repeats_at_most_the_email_in_flight(factory, now, smtp, monkeypatch):
    for _ in range(3):
        factory.application(Stage.APPLIED)
    first, second, third = queued()
    record = mailer._Outcomes.record

    def crash_after_the_second_send(self, email_id, **values):
        if email_id == second.id:
            raise SystemExit("killed between the SMTP reply and its record")
        record(self, email_id, **values)

    monkeypatch.setattr(mailer._Outcomes, "record", crash_after_the_second_send)
    with pytest.raises(SystemExit):
        mailer.relay_outbox(now)
    monkeypatch.setattr(mailer._Outcomes, "record", record)
    db.session.expire_all()
    assert [e.status for e in (first, second, third)] == ["sent", "queued", "queued"]
    assert len(smtp.sink.messages) == 2

    # The claimed rows wait for their lease, then go out: the one in flight a second time,
    # with the same Message-ID, so the duplicate is recognisable.
    assert mailer.relay_outbox(now + timedelta(minutes=1))["sent"] == 0
    assert mailer.relay_outbox(now + mailer.LEASE)["sent"] == 2
    assert [m["To"] for m in smtp.sink.messages] == [e.recipient for e in (first, second, second, third)]
    assert smtp.sink.messages[1]["Message-ID"] == smtp.sink.messages[2]["Message-ID"] == mailer.message_id(second)
    assert len(queued("sent")) == 3 and queued() == []


@pytest.mark.postgres_only("FOR UPDATE SKIP LOCKED between concurrent relays")
def test_two_relays_against_one_database_send_nothing_twice(app, factory, now, smtp):
    position = factory.position()
    for n in range(30):
        services.submit_application(position, name=f"Candidate {n}", email=f"c{n}@example.org",
                                    actor=position.owner, now=now)
    total = len(queued())
    results: list[dict] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def relay() -> None:
        try:
            with app.app_context():  # its own session and connection
                barrier.wait()
                results.append(mailer.relay_outbox(now))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=relay) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert sum(r["sent"] for r in results) == total
    recipients = smtp.sink.recipients()
    assert len(recipients) == total == len(set(recipients))


# --- one bad email never jams the outbox (issue 11, item 1) -----------------------------------


def _store(email: OutboxEmail, **values) -> None:
    """Change an outbox row behind the services' back: data stored before the input rules."""
    db.session.execute(db.update(OutboxEmail).where(OutboxEmail.id == email.id).values(**values))
    db.session.commit()


def test_an_unsendable_email_fails_alone_and_the_rest_of_the_batch_goes_out(app, client, login, factory, now, smtp):
    recruiter = factory.user("recruiter")
    position = factory.position(owner=recruiter)
    first, second, third = (factory.application(Stage.APPLIED, position=position) for _ in range(3))
    emails = queued()
    assert len(emails) == 3
    # A non-ASCII local part (Flask-Mail: UnicodeEncodeError) and a bare CR in the subject
    # (Flask-Mail: BadHeaderError), both accepted by the UI and the API before.
    _store(emails[0], recipient="jürgen@example.com")
    _store(emails[1], subject="Your application for CR title\rInjected: yes")

    counts = mailer.relay_outbox(now)

    assert counts == {"sent": 2, "retry": 0, "failed": 1, "not_delivered": 0}
    db.session.expire_all()
    bad, cr, fine = emails
    assert bad.status == OutboxStatus.FAILED and bad.next_attempt_at is None
    assert "non-ASCII characters before the @" in bad.last_error
    assert cr.status == OutboxStatus.SENT and fine.status == OutboxStatus.SENT
    subjects = [m["Subject"] for m in smtp.sink.messages]
    assert subjects[0] == "Your application for CR title Injected: yes"  # one line: no header injected
    assert all(m["Injected"] is None for m in smtp.sink.messages)
    assert mailer.relay_outbox(now + timedelta(hours=1)) == {"sent": 0, "retry": 0, "failed": 0,
                                                            "not_delivered": 0}

    # The error is on the Emails page; after a fix "Send again" delivers it.
    login(recruiter)
    page = client.get("/emails/?status=failed").get_data(as_text=True)
    assert "non-ASCII characters before the @" in page
    _store(bad, recipient="juergen@example.com")
    assert client.post(f"/emails/{bad.id}/retry").status_code == 302
    assert mailer.relay_outbox(utcnow())["sent"] == 1  # the page queued it at the real time
    assert smtp.sink.messages[-1]["To"] == "juergen@example.com"


def test_an_exception_while_sending_one_email_is_recorded_on_it(factory, now, smtp, monkeypatch):
    from flask_mail import BadHeaderError, Connection

    for _ in range(3):
        factory.application(Stage.APPLIED)
    first, second, third = queued()
    send = Connection.send

    def flaky(self, message):
        if message.msgId == mailer.message_id(first):
            # Halfway through the SMTP transaction, as smtplib encoding a recipient does.
            self.host.mail("hiring@embeddeers.example")
            raise BadHeaderError()
        if message.msgId == mailer.message_id(second):
            raise RuntimeError("something nobody expected")
        return send(self, message)

    monkeypatch.setattr(mailer._TimeoutConnection, "send", flaky)
    counts = mailer.relay_outbox(now)
    assert counts == {"sent": 1, "retry": 1, "failed": 1, "not_delivered": 0}
    db.session.expire_all()
    assert first.status == OutboxStatus.FAILED and first.last_error == "cannot be sent: BadHeaderError"
    assert second.status == OutboxStatus.QUEUED and "RuntimeError: something nobody expected" in second.last_error
    assert second.next_attempt_at == now + timedelta(minutes=1)  # retried with backoff
    assert third.status == OutboxStatus.SENT
    assert [m["To"] for m in smtp.sink.messages] == [third.recipient]


def test_nothing_stays_queued_past_its_attempts_after_relays_that_died(factory, now, smtp, monkeypatch):
    services.update_policy({"email_max_attempts": 2}, actor=None, now=now)
    factory.application(Stage.APPLIED)
    email = queued()[0]

    def die(self, message):
        raise SystemExit("the relay process is killed while sending")

    monkeypatch.setattr(mailer._TimeoutConnection, "send", die)
    moment = now
    for _ in range(2):
        with pytest.raises(SystemExit):
            mailer.relay_outbox(moment)
        moment += mailer.LEASE
    monkeypatch.undo()
    counts = mailer.relay_outbox(moment)
    db.session.expire_all()
    assert counts["failed"] == 1 and counts["sent"] == 0
    assert email.status == OutboxStatus.FAILED and email.attempts == 2
    assert "gave up after 2 attempts" in email.last_error
    assert smtp.sink.messages == []
