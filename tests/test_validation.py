"""Input rules shared by forms, API schemas and services (hiring.validation): control
characters, addresses the relay can send to, dates, passwords (issue 11, items 1, 7, 9)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from hiring import services, validation
from hiring.extensions import db
from hiring.models import Interview, OutboxEmail, Position
from hiring.pipeline import InvalidInput, Stage

CONTROL = ["\r", "\n", "\r\n", "\t", "\x00", "\x1b", "\x7f", "\x85", "\u2028"]


@pytest.mark.parametrize("char", CONTROL)
def test_single_line_text_refuses_every_control_character(char):
    assert validation.single_line_error(f"CR title{char}Injected: yes") == validation.SINGLE_LINE_MESSAGE


@pytest.mark.parametrize("value", ["Zoë Ñúñez 王小明 🚀", "Embedded Engineer (C/C++) – Berlin", "", None])
def test_single_line_text_keeps_ordinary_text(value):
    assert validation.single_line_error(value) is None


@pytest.mark.parametrize("value, ok", [
    ("line one\nline two", True), ("browser\r\nline breaks", True), ("a\ttab", True),
    ("a bare\rCR", False), ("escape\x1b[31m", False), ("del\x7f", False), ("nul\x00", False),
])
def test_multi_line_text_keeps_line_breaks_and_tabs_only(value, ok):
    assert (validation.multi_line_error(value) is None) is ok


def test_addresses_the_relay_cannot_send_to_are_refused_with_the_reason():
    with pytest.raises(validation.BadAddress, match="non-ASCII characters before the @"):
        validation.normalise_email("jürgen@example.com")
    with pytest.raises(validation.BadAddress):
        validation.normalise_email("a@example.com\r\nBcc: x@example.com")
    assert validation.normalise_email(" Jurgen@Exämple.com ") == "jurgen@exämple.com"
    assert validation.smtp_address("jurgen@exämple.com") == "jurgen@xn--exmple-cua.com"


# --- the UI ---------------------------------------------------------------------------------


@pytest.mark.parametrize("title", ["CR title\rInjected: yes", "LF title\nBcc: everyone@example.com", "tab\there"])
def test_the_position_form_refuses_control_characters(client, login, factory, title):
    recruiter = factory.user("recruiter")
    manager = factory.user("manager")
    login(recruiter)
    response = client.post("/positions/new", data={"title": title, "department": "",
                                                    "owner_id": recruiter.id, "hiring_manager_id": manager.id})
    assert response.status_code == 200
    assert validation.SINGLE_LINE_MESSAGE in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Position)) == 0


def test_the_application_form_refuses_a_cr_in_the_name_and_an_address_it_cannot_send_to(client, login, factory):
    recruiter = factory.user("recruiter")
    position = factory.position(owner=recruiter)
    login(recruiter)
    response = client.post("/candidates/new-application", data={
        "position_id": position.id, "name": "Anna\rBcc: x", "email": "jürgen@example.com", "language": "en"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert validation.SINGLE_LINE_MESSAGE in html
    assert "non-ASCII characters before the @" in html
    assert db.session.scalar(select(func.count()).select_from(OutboxEmail)) == 0


def test_text_areas_keep_line_breaks_but_not_other_control_characters(client, login, factory, now):
    manager = factory.user("manager")
    recruiter = factory.user("recruiter")
    application = factory.application(Stage.FIRST_DECISION, position=factory.position(owner=recruiter,
                                                                                 hiring_manager=manager))
    login(recruiter)
    url = f"/applications/{application.id}/decision"
    data = {"decision-version": application.version, "decision-outcome": "reject",
            "decision-candidate_feedback": "", "decision-confirm": "y"}
    refused = client.post(url, data={**data, "decision-rationale": "Not a fit.\x1b[2J"})
    assert refused.status_code == 422 and validation.MULTI_LINE_MESSAGE in refused.get_data(as_text=True)
    accepted = client.post(url, data={**data, "decision-rationale": "Not a fit:\r\n- C\n- Rust\tbasics"})
    assert accepted.status_code == 302
    db.session.refresh(application)
    assert application.stage == Stage.REJECTED


# --- the services (what the CLI reaches) ------------------------------------------------------


def test_the_services_refuse_control_characters_themselves(factory, now):
    recruiter = factory.user("recruiter")
    with pytest.raises(InvalidInput) as refused:
        services.create_position("CR title\rInjected: yes", actor=recruiter, now=now)
    assert refused.value.fields == {"title": validation.SINGLE_LINE_MESSAGE}
    position = factory.position(owner=recruiter)
    with pytest.raises(InvalidInput) as refused:
        services.submit_application(position, name="Ann\x7f", email="jürgen@example.com", actor=recruiter, now=now)
    assert set(refused.value.fields) == {"name", "email"}
    with pytest.raises(InvalidInput):
        services.update_position(position, title="New\ntitle", actor=recruiter, now=now)
    with pytest.raises(InvalidInput):
        services.create_user("x@example.com", "X\ny", "recruiter", "a long enough passphrase", now=now)


def test_the_cli_refuses_a_name_with_a_line_break(runner):
    result = runner.invoke(args=["users", "create", "a@example.com", "--name", "A\rB", "--role", "manager",
                                 "--password", "long enough passphrase"])
    assert result.exit_code == 1 and validation.SINGLE_LINE_MESSAGE in result.output


# --- dates (item 7) ---------------------------------------------------------------------------


def test_the_ui_refuses_an_interview_in_the_year_9999_and_emails_nothing(client, login, factory):
    recruiter = factory.user("recruiter")
    interviewer = factory.user("interviewer")
    application = factory.application(position=factory.position(owner=recruiter))
    emails = db.session.scalar(select(func.count()).select_from(OutboxEmail))
    login(recruiter)
    response = client.post(f"/applications/{application.id}/interviews", data={
        "schedule-version": application.version, "schedule-day": "9999-12-31", "schedule-start": "10:00",
        "schedule-duration_minutes": 60, "schedule-location": "Room 1", "schedule-panel": interviewer.id})
    assert response.status_code == 422
    assert validation.DATE_RANGE_MESSAGE in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Interview)) == 0
    assert db.session.scalar(select(func.count()).select_from(OutboxEmail)) == emails


@pytest.mark.parametrize("form, field", [("held", "day"), ("deadline", "until"), ("competing", "deadline"),
                                         ("contact", "day")])
def test_every_date_field_has_the_apis_bounds(app, form, field):
    from werkzeug.datastructures import MultiDict

    from hiring import forms

    classes = {"held": forms.HeldForm, "deadline": forms.ExtendDeadlineForm, "competing": forms.CompetingOfferForm,
               "contact": forms.ContactForm}
    with app.test_request_context(method="POST"):
        instance = classes[form](formdata=MultiDict({field: "9999-12-31", "version": "1"}), meta={"csrf": False})
        assert not instance.validate()
        assert instance.errors[field] == [validation.DATE_RANGE_MESSAGE]


def test_the_service_refuses_an_interview_past_the_window(factory, now):
    application = factory.application()
    with pytest.raises(InvalidInput) as refused:
        services.schedule_interview(application, round=1, scheduled_at=datetime(9999, 1, 1, 10, tzinfo=UTC),
                                    panel_user_ids=[factory.user("interviewer").id], location="Room 1",
                                    actor=application.position.owner, now=now)
    assert refused.value.fields == {"scheduled_at": validation.DATE_RANGE_MESSAGE}
    assert validation.date_in_range(now + timedelta(days=3))


# --- passwords (item 9) -----------------------------------------------------------------------


@pytest.mark.parametrize("password, message", [
    ("short", validation.PASSWORD_TOO_SHORT), ("eleven char", validation.PASSWORD_TOO_SHORT),
    ("password1234", validation.PASSWORD_TOO_COMMON), ("PASSWORD1234", validation.PASSWORD_TOO_COMMON),
    ("demo-password", None), ("correct horse battery", None),
])
def test_passwords_need_twelve_characters_and_must_not_be_common(password, message):
    assert validation.password_error(password) == message
    assert len(validation.common_passwords()) > 10000


def test_every_way_to_set_a_password_applies_the_rules(client, login, runner, factory, now):
    with pytest.raises(InvalidInput):
        services.create_user("a@example.com", "A", "recruiter", "password1234", now=now)
    admin = factory.user("admin")
    ian = factory.user("interviewer")
    with pytest.raises(InvalidInput):
        services.update_user(ian, password="password1234", actor=admin, now=now)
    result = runner.invoke(args=["users", "set-password", ian.email, "--password", "qwertyuiop123"])
    assert result.exit_code == 1 and validation.PASSWORD_TOO_COMMON in result.output
    login(admin)
    page = client.post(f"/admin/users/{ian.id}/password", data={f"p{ian.id}-password": "password1234"},
                       follow_redirects=True).get_data(as_text=True)
    assert validation.PASSWORD_TOO_COMMON in page
    db.session.refresh(ian)
    assert ian.check_password("correct horse battery")
