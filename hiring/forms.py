"""WTForms for the hiring team's pages. The services validate the domain rules; these
forms check the shape of the input and carry the services' field errors back to the page."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import (
    URL,
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from . import validation
from .pipeline import ContactChannel, ContactKind, Language, Policy, Recommendation, ReferenceStatus, Role, Source
from .pipeline.policy import INT_RANGES


def _single_line(form, field) -> None:
    if message := validation.single_line_error(field.data):
        raise ValidationError(message)


def _multi_line(form, field) -> None:
    if message := validation.multi_line_error(field.data):
        raise ValidationError(message)


def _date_in_range(form, field) -> None:
    if field.data is not None and not validation.date_in_range(field.data):
        raise ValidationError(validation.DATE_RANGE_MESSAGE)


def _implicit_validator(field):
    """The check every field of its kind gets (hiring.validation), so no form can forget it."""
    if isinstance(field, PasswordField):
        return None  # a password is compared, never shown or sent
    if isinstance(field, TextAreaField):
        return _multi_line
    if isinstance(field, StringField):  # also EmailField and HiddenField
        return _single_line
    if isinstance(field, DateField):
        return _date_in_range
    return None


class Form(FlaskForm):
    """Every form of the app: single-line fields refuse control characters (CR, LF, tab and
    the other C0 characters, DEL), text areas all but line breaks and tabs, and dates stay in
    the window the API allows (1970–2099), on top of each field's own validators."""

    def validate(self, extra_validators=None) -> bool:
        extra = {name: list(checks) for name, checks in (extra_validators or {}).items()}
        for name, field in self._fields.items():
            if (check := _implicit_validator(field)) is not None:
                extra.setdefault(name, []).append(check)
        return super().validate(extra_validators=extra)


class ValidEmail:
    """An address the relay can send to (hiring.validation.normalise_email); the reason is
    given when it is one a person would not guess (a non-ASCII local part)."""

    def __init__(self, message: str = "Enter a valid email address.") -> None:
        self.message = message

    def __call__(self, form, field) -> None:
        try:
            validation.normalise_email(field.data)
        except validation.BadAddress as exc:
            specific = str(exc) == validation.NON_ASCII_LOCAL_PART
            raise ValidationError(str(exc) if specific else self.message) from None


def db_id(value) -> int:
    """An id a form sends (a ticked person): a number no row can have is refused (ValueError)
    before it reaches the database (PostgreSQL integer columns)."""
    number = int(value)
    if not 1 <= number <= validation.DB_INT_MAX:
        raise ValueError(f"{value!r} is out of range")
    return number


def _password_rules(form, field) -> None:
    if message := validation.password_error(field.data):
        raise ValidationError(message)


def valid_timezone(form, field) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from wtforms.validators import ValidationError

    try:
        ZoneInfo((field.data or "").strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"Unknown time zone “{field.data}” (use e.g. Europe/Berlin).") from None


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms 3.3 select choices."""
    return [SelectChoice(value, label) for value, label in pairs]


ROLE_CHOICES = choices([
    (Role.RECRUITER.value, "Recruiter"),
    (Role.INTERVIEWER.value, "Interviewer"),
    (Role.MANAGER.value, "Manager"),
    (Role.ADMIN.value, "Admin"),
])
LANGUAGE_CHOICES = choices(Language.choices())
WEEKDAY_CHOICES = choices(enumerate(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]))
HOUR_CHOICES = choices((h, f"{h:02d}:00") for h in range(24))


def apply_field_errors(form: FlaskForm, fields: Mapping[str, str],
                       aliases: Mapping[str, str] | None = None) -> list[str]:
    """Put a service's per-field messages (InvalidInput.fields) next to the matching form
    fields; ``aliases`` maps a service's field name to the form's. Returns the messages
    that belong to no field, for the caller to flash (empty: every message was placed)."""
    rest = []
    for name, message in fields.items():
        field = getattr(form, (aliases or {}).get(name, name), None)
        if field is None or not hasattr(field, "errors"):
            rest.append(message)
            continue
        field.errors = [*list(field.errors or []), message]
    return rest


class LoginForm(Form):
    email = EmailField("Email", validators=[DataRequired("Enter your email address."), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])
    submit = SubmitField("Log in")


class SetupForm(Form):
    name = StringField("Your name", validators=[DataRequired("Enter your name."), Length(max=200)])
    email = EmailField("Email", validators=[DataRequired("Enter your email address."),
                                            ValidEmail(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired("Choose a password."),
                                                     _password_rules])
    confirm = PasswordField("Repeat the password",
                            validators=[DataRequired("Repeat the password."),
                                        EqualTo("password", "The two passwords differ.")])
    submit = SubmitField("Create the admin account")


class UserForm(Form):
    name = StringField("Name", validators=[DataRequired("Enter the person's name."), Length(max=200)])
    email = EmailField("Email", validators=[DataRequired("Enter an email address."),
                                            ValidEmail(), Length(max=254)])
    role = SelectField("Role", choices=ROLE_CHOICES)
    password = PasswordField("Initial password", validators=[
        DataRequired("Choose an initial password; the person can be told it in person."),
        _password_rules])
    submit = SubmitField("Create user")


class UserRoleForm(Form):
    role = SelectField("Role", choices=ROLE_CHOICES)
    submit = SubmitField("Change role")


class UserPasswordForm(Form):
    """An admin sets a new password for someone who forgot theirs (the login page sends them here)."""
    password = PasswordField("New password", validators=[
        DataRequired("Type the new password."), _password_rules])
    submit = SubmitField("Set the password")


class TwoFactorCodeForm(Form):
    """The second step of a sign-in, and the confirmations on the two-factor page."""
    code = StringField("Code", validators=[DataRequired("Enter the 6-digit code from your app."), Length(max=40)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "text", "autocapitalize": "off",
                                  "spellcheck": "false"})
    submit = SubmitField("Confirm")


class SecuritySettingsForm(Form):
    require_two_factor_for_admins_and_managers = BooleanField(
        "Require two-factor sign-in for admins and managers")
    submit = SubmitField("Save sign-in settings")


class PositionForm(Form):
    title = StringField("Title", validators=[DataRequired("Enter a title."), Length(max=200)])
    department = StringField("Department", validators=[Optional(), Length(max=200)])
    owner_id = SelectField("Owner recruiter", coerce=int, validate_choice=True)
    hiring_manager_id = SelectField("Hiring manager", coerce=int, validate_choice=True)
    submit = SubmitField("Save position")


class NewApplicationForm(Form):
    position_id = SelectField("Position", coerce=int, validators=[InputRequired("Choose a position.")])
    name = StringField("Candidate name", validators=[DataRequired("Enter the candidate's name."), Length(max=200)])
    email = EmailField("Email", validators=[DataRequired("Enter an email address."),
                                            ValidEmail(), Length(max=254)])
    phone = StringField("Phone (optional)", validators=[Optional(), Length(max=50)])
    language = SelectField("Language for emails", choices=LANGUAGE_CHOICES)
    source = SelectField("Source", choices=choices(Source.choices()), default=Source.DIRECT.value)
    talent_pool_consent = BooleanField("The candidate agreed to stay in our talent pool")
    document = FileField("CV or other document (optional; PDF, DOC, DOCX or ODT, up to 10 MB)",
                         render_kw={"accept": ".pdf,.doc,.docx,.odt"})
    submit = SubmitField("Save application")


def _days(label: str) -> IntegerField:
    return IntegerField(label, validators=[InputRequired("Enter a number of days."),
                                           NumberRange(1, 365, "Enter a number of days between 1 and 365.")])


_SETTING_BOUNDS = {name: (lowest, highest) for name, lowest, highest, _ in INT_RANGES}


def _whole(name: str, label: str, *, missing: str | None,
           out_of_range: str = "Enter a number between {} and {}.") -> IntegerField:
    """The whole-number setting ``name``, within the bounds the policy itself checks
    (``missing``: the message when it is left empty; None: it may be, the value stays)."""
    lowest, highest = _SETTING_BOUNDS[name]
    presence = InputRequired(missing) if missing else Optional()
    return IntegerField(label, validators=[presence, NumberRange(lowest, highest,
                                                                 out_of_range.format(lowest, highest))])


class PolicyForm(Form):
    applied_days = _days("New application → answer within (days)")
    first_decision_days = _days("After the first interview → answer within (days)")
    second_interview_days = _days("Invited → second interview held within (days)")
    final_decision_days = _days("After the second interview → offer decision within (days)")
    offer_days = _days("Offer made → candidate's answer expected within (days)")
    business_days = BooleanField("Working-day mode: an answer date on a weekend or public holiday moves to the "
                                 "working day before it")
    holiday_country = StringField("Holiday country (ISO code)", validators=[
        DataRequired("Enter a country code such as DE."), Length(min=2, max=3)])
    holiday_subdivision = StringField("Holiday region (optional, e.g. BY)", validators=[Optional(), Length(max=10)])
    timezone = StringField("Company time zone", validators=[
        DataRequired("Enter a time zone such as Europe/Berlin."), valid_timezone])
    due_soon_days = _whole("due_soon_days", "“Due soon” window (days)", missing="Enter a number of days.",
                           out_of_range="Enter a number of days between {} and {}.")
    team_lead_days = _whole("team_lead_days", "Team deadline: working days before the date told to the candidate",
                            missing="Enter a number of working days.")
    delay_notice_hour = SelectField("Delay notice: sent at this hour on the promised day if nothing was decided",
                                    coerce=int, choices=HOUR_CHOICES)
    delay_notice_extension_days = _whole("delay_notice_extension_days",
                                         "Delay notice: the new date is this many days later",
                                         missing="Enter a number of days.")
    max_automatic_delays = _whole("max_automatic_delays",
                                  "Automatic delay notices before escalating to the hiring manager and admins",
                                  missing="Enter a number.")
    record_interview_hours = _whole("record_interview_hours",
                                    "Flag an interview not marked held or cancelled this many hours after it",
                                    missing="Enter a number of hours.")
    digest_weekday = SelectField("Weekly overdue digest: weekday", coerce=int, choices=WEEKDAY_CHOICES)
    digest_hour = SelectField("Weekly overdue digest: hour", coerce=int, choices=HOUR_CHOICES)
    retention_months = _whole("retention_months", "Anonymise a candidate this many months after "
                              "their last application closed (unless they consented to the talent pool)", missing=None)
    talent_pool_months = _whole("talent_pool_months", "A talent-pool consent lasts this many months",
                                missing=None)
    submit = SubmitField("Save settings")

    POLICY_FIELDS = (
        "applied_days", "first_decision_days", "second_interview_days", "final_decision_days", "offer_days",
        "business_days", "holiday_country", "holiday_subdivision", "timezone", "due_soon_days",
        "team_lead_days", "delay_notice_hour", "delay_notice_extension_days", "max_automatic_delays",
        "record_interview_hours", "digest_weekday", "digest_hour", "retention_months", "talent_pool_months",
    )

    def policy_values(self) -> dict:
        values = {name: getattr(self, name).data for name in self.POLICY_FIELDS}
        values["holiday_country"] = (values["holiday_country"] or "").strip().upper()
        values["holiday_subdivision"] = (values["holiday_subdivision"] or "").strip().upper()
        values["timezone"] = (values["timezone"] or "").strip()
        # Left empty (or a client that predates them): keep the current value.
        for name in ("retention_months", "talent_pool_months"):
            if values.get(name) is None:
                values.pop(name, None)
        return values


class ConfirmForm(Form):
    """A bare POST with CSRF (close a position, deactivate a user, log out)."""

    submit = SubmitField("Confirm")


# --- the application page's actions -----------------------------------------------------
# Each form that changes an application carries the application's ``version`` it was
# rendered from, so a change made meanwhile by someone else is detected, not overwritten.

RECOMMENDATION_CHOICES = [(r.value, r.label) for r in reversed(list(Recommendation))]
CONTACT_KIND_CHOICES = ContactKind.choices()
CONTACT_CHANNEL_CHOICES = ContactChannel.choices()
REFERENCE_STATUS_CHOICES = ReferenceStatus.choices()


def local_datetime(day: date, clock: time, policy: Policy) -> datetime:
    """A wall-clock date and time in the company's time zone, as an aware datetime."""
    return datetime.combine(day, clock.replace(tzinfo=None), tzinfo=policy.tz)


class MultiCheckboxField(SelectMultipleField):
    """A multi-select shown as checkboxes: usable on a phone and with a keyboard."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class VersionedForm(Form):
    version = HiddenField(validators=[InputRequired("Reload the page and try again.")])

    def expected_version(self) -> int | None:
        try:
            return int(self.version.data)
        except (TypeError, ValueError):
            return None

    def validate_version(self, field) -> None:
        if self.expected_version() is None:
            raise ValidationError("Reload the page and try again.")


class InterviewForm(VersionedForm):
    """Schedule or reschedule: the time is entered in the company's time zone."""

    day = DateField("Date", validators=[InputRequired("Choose a date.")])
    start = TimeField("Time", validators=[InputRequired("Choose a time.")])
    duration_minutes = IntegerField(
        "Duration (minutes)", default=60,
        validators=[InputRequired("Give the duration."), NumberRange(15, 480, "Between 15 and 480 minutes.")])
    location = StringField("Place", validators=[Optional(), Length(max=500)])
    video_link = StringField("Video link", validators=[Optional(), URL(message="Enter a link starting with https://"),
                                                       Length(max=500)])
    # The checkboxes list the likely interviewers only (a large team has thousands of people):
    # anyone else is added by name or email in ``panel_more`` (with suggestions as one types,
    # see static/panel-picker.js). The service checks that every id is an active team member,
    # so the boxes are not limited to the listed choices (the script adds boxes for people found).
    panel = MultiCheckboxField("Panel", coerce=db_id, validate_choice=False)
    panel_more = StringField("Add someone else", validators=[Optional(), Length(max=2000)])
    # A second interview after the date the candidate was given for it moves that date, with
    # a reason, in the same request (the invitation tells the candidate why).
    extend_until = DateField("Move the date given to the candidate to", validators=[Optional()])
    extension_reason = StringField("Reason (the candidate reads it)", validators=[Optional(), Length(max=1000)])

    def validate_panel(self, field) -> None:
        if not field.data and not (self.panel_more.data or "").strip():
            raise ValidationError("Choose at least one interviewer.")

    def validate_location(self, field) -> None:
        if not (field.data or "").strip() and not (self.video_link.data or "").strip():
            raise ValidationError("Give a place or a video link.")


class CancelInterviewForm(VersionedForm):
    reason = StringField("Reason (told to the candidate)", validators=[Optional(), Length(max=2000)])


class HeldForm(VersionedForm):
    day = DateField("Held on", validators=[InputRequired("Choose a date.")])
    # To the second: not before the interview was scheduled, which may be the same minute.
    start = TimeField("at", format=["%H:%M:%S", "%H:%M"], render_kw={"step": 1},
                      validators=[InputRequired("Choose a time.")])


class FeedbackForm(VersionedForm):
    recommendation = RadioField("Recommendation", choices=choices(RECOMMENDATION_CHOICES),
                                validators=[InputRequired("Choose a recommendation.")])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=20000)])


CONFIRM_MESSAGE = "Tick this box to confirm: the candidate is told at once and it cannot be undone."


class ConfirmedForm(VersionedForm):
    """An irreversible step: sent only with its confirmation box ticked (static/confirm.js
    asks with a dialog and ticks it; without the script the box itself is the question).
    ``confirm_outcomes``: the outcomes that need it (None: every submission)."""

    confirm = BooleanField("I am sure: the candidate is told at once, and this cannot be undone.",
                           render_kw={"data-confirm-box": ""})
    confirm_outcomes: tuple[str, ...] | None = None

    def validate_confirm(self, field) -> None:
        outcome = getattr(getattr(self, "outcome", None), "data", None)
        if not field.data and (self.confirm_outcomes is None or outcome in self.confirm_outcomes):
            raise ValidationError(CONFIRM_MESSAGE)


class DecisionForm(ConfirmedForm):
    outcome = RadioField("Decision", choices=choices([("advance", "Invite to the second interview"),
                                                          ("reject", "Reject")]),
                         validators=[InputRequired("Choose a decision.")])
    rationale = TextAreaField("Rationale (internal)", validators=[Optional(), Length(max=20000)])
    candidate_feedback = TextAreaField("Feedback for the candidate (sent with a rejection)",
                                       validators=[Optional(), Length(max=5000)])
    confirm_outcomes = ("reject",)


class OfferDecisionForm(ConfirmedForm):
    outcome = RadioField("Offer decision", choices=choices([("advance", "Make the offer"), ("reject", "Reject")]),
                         validators=[InputRequired("Choose a decision.")])
    rationale = TextAreaField("Rationale", validators=[Optional(), Length(max=20000)])
    acting_for = TextAreaField("Deciding for the hiring manager because (admins; recorded)",
                               validators=[Optional(), Length(max=2000)])


class OfferResponseForm(VersionedForm):
    response = RadioField("The candidate", choices=choices([("accepted", "Accepted the offer"),
                                                                ("declined", "Declined the offer")]),
                          validators=[InputRequired("Choose the candidate's answer.")])
    note = TextAreaField("Note", validators=[Optional(), Length(max=5000)])


class ExtendDeadlineForm(VersionedForm):
    until = DateField("New answer date", validators=[InputRequired("Choose the new date.")])
    reason = TextAreaField("Reason (told to the candidate)",
                           validators=[InputRequired("Give a reason; the candidate is told why they wait longer."),
                                       Length(max=2000)])


class CompetingOfferForm(VersionedForm):
    deadline = DateField("Their other offer expires on", validators=[Optional()])


class ContactForm(VersionedForm):
    kind = SelectField("Kind", choices=choices(CONTACT_KIND_CHOICES), default=ContactKind.THANK_YOU.value)
    channel = SelectField("Channel", choices=choices(CONTACT_CHANNEL_CHOICES), default=ContactChannel.EMAIL.value)
    day = DateField("On", validators=[Optional()])
    start = TimeField("at", validators=[Optional()])
    summary = TextAreaField("Summary", validators=[Optional(), Length(max=5000)])


class ReferenceForm(VersionedForm):
    name = StringField("Name", validators=[InputRequired("Enter the reference's name."), Length(max=200)])
    contact = StringField("Contact (email or phone)", validators=[Optional(), Length(max=300)])
    status = SelectField("Status", choices=choices(REFERENCE_STATUS_CHOICES), default=ReferenceStatus.REQUESTED.value)
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=5000)])


class ReferenceOutcomeForm(VersionedForm):
    status = SelectField("Outcome", choices=choices(REFERENCE_STATUS_CHOICES))
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=5000)])


class WithdrawForm(ConfirmedForm):
    reason = StringField("Reason", validators=[Optional(), Length(max=2000)])


class DocumentForm(VersionedForm):
    document = FileField("Document (PDF, DOC, DOCX or ODT, at most 10 MB)",
                         validators=[FileRequired("Choose a file.")])
