"""Request and response schemas of the JSON API (pydantic v2).

They validate what comes in, shape what goes out, and are the source of the OpenAPI
document (``model_json_schema``), so the document cannot drift from the code.
Bounds mirror the database columns: a value the database would refuse is refused here
with a 422 naming the field, never passed on to become a 500.
"""

import enum
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema
from pydantic_core import PydanticCustomError

from .. import validation
from ..pipeline import Flag, Language, PositionStatus, Recommendation, Source, Stage, Verdict

ID_MAX = validation.DB_INT_MAX  # PostgreSQL integer columns
# The same window as the forms and the services (hiring.validation).
EARLIEST = validation.EARLIEST
LATEST = validation.LATEST


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL characters.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _single_line(value: str) -> str:
    if message := validation.single_line_error(value):
        raise PydanticCustomError("control_characters", message)
    return value


def _multi_line(value: str) -> str:
    if message := validation.multi_line_error(value):
        raise PydanticCustomError("control_characters", message)
    return value


def _address(value: str) -> str:
    try:
        validation.normalise_email(value)
    except validation.BadAddress as exc:
        raise PydanticCustomError("email", str(exc)) from None
    return value


def _sane_datetime(value: datetime) -> datetime:
    try:
        value = value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError("is out of range") from None
    if not validation.date_in_range(value):
        raise ValueError("must lie between 1970 and 2099") from None
    return value


def _sane_date(value: date) -> date:
    if not validation.date_in_range(value):
        raise ValueError("must lie between 1970 and 2099")
    return value


def text(max_length: int, min_length: int = 0, *, multiline: bool = False):
    """A string of at most ``max_length`` characters: one line without control characters,
    or (``multiline``) with line breaks and tabs but no other control characters."""
    return Annotated[str, Field(min_length=min_length, max_length=max_length), AfterValidator(_no_nul),
                     AfterValidator(_multi_line if multiline else _single_line)]


Id = Annotated[int, Field(ge=1, le=ID_MAX)]
Version = Annotated[int, Field(ge=1, le=ID_MAX, description="The application's version you last read; "
                                                             "a stale one is refused with 409.")]
# Incoming instants must carry their offset: a naive time is ambiguous across time zones.
Instant = Annotated[AwareDatetime, AfterValidator(_sane_datetime)]
Day = Annotated[date, AfterValidator(_sane_date)]
# Outgoing instants: ISO 8601 with an explicit offset (+00:00), as every other part of the product.
Timestamp = Annotated[
    datetime,
    PlainSerializer(lambda value: value.isoformat(), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]
# An address the relay can send to (no non-ASCII local part): refused here, not at sending.
Email = Annotated[text(254, 1), AfterValidator(_address)]


def values_of(vocabulary: type[enum.StrEnum]) -> Any:
    """A Literal of the vocabulary's values: the published schema lists them inline, as
    before there was an enum, and an unknown value is refused naming the allowed ones."""
    return Literal[tuple(member.value for member in vocabulary)]


RecommendationValue = values_of(Recommendation)


class Request(BaseModel):
    # Unknown fields are refused: a misspelt optional field would otherwise be lost silently.
    model_config = ConfigDict(extra="forbid")


class Query(BaseModel):
    # Unknown query parameters are ignored, as is customary (cache busters, tracking).
    model_config = ConfigDict(extra="ignore")


class Response(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- errors ---------------------------------------------------------------------------------


class ErrorDetail(Response):
    code: str = Field(description="Machine-readable: validation_error, stale_version, illegal_transition, …")
    message: str
    fields: dict[str, str] = Field(description="Each bad field (dotted path) and what is wrong with it.")


class ErrorResponse(Response):
    error: ErrorDetail


# --- positions ------------------------------------------------------------------------------


class PositionCreate(Request):
    title: text(200, 1)
    department: text(200) = ""
    owner_email: Email | None = Field(None, description="A recruiter or admin; default: you, if you are one.")
    hiring_manager_email: Email | None = Field(None, description="A manager.")


class PositionQuery(Query):
    status: values_of(PositionStatus) | None = None
    page: int = Field(1, ge=1, le=1_000_000)
    per_page: int = Field(100, ge=1, le=500)


class PositionOut(Response):
    id: int
    title: str
    department: str
    status: values_of(PositionStatus)
    owner_email: str | None
    hiring_manager_email: str | None
    created_at: Timestamp


class PositionList(Response):
    items: list[PositionOut]
    total: int
    page: int
    per_page: int


# --- applications ---------------------------------------------------------------------------


class CandidateIn(Request):
    name: text(200, 1)
    email: Email
    phone: text(50) = ""
    language: values_of(Language) = Language.EN.value
    talent_pool_consent: bool | None = Field(None, description="May we keep them in the talent pool?")


class ApplicationCreate(Request):
    position_id: Id
    candidate: CandidateIn = Field(description="A candidate with this email is reused (and their details updated).")
    applied_at: Instant | None = Field(None, description="Default: now. Not in the future.")
    source: Source = Field(Source.DIRECT, description="Where the application came from.")


class ApplicationQuery(Query):
    stage: Stage | None = None
    flag: Flag | None = None
    position_id: Id | None = None
    page: int = Field(1, ge=1, le=1_000_000)
    per_page: int = Field(25, ge=1, le=100)


class CandidateOut(Response):
    id: int
    name: str
    email: str
    phone: str
    language: values_of(Language)


class FeedbackOut(Response):
    interviewer_email: str
    recommendation: RecommendationValue
    notes: str
    submitted_at: Timestamp


class InterviewOut(Response):
    id: int
    application_id: int
    round: Literal[1, 2]
    scheduled_at: Timestamp
    duration_minutes: int
    location: str
    video_link: str
    held_at: Timestamp | None
    cancelled_at: Timestamp | None
    interviewer_emails: list[str]
    feedback: list[FeedbackOut] = Field(
        description="A panel member sees the others' feedback only after submitting their own.")
    feedback_hidden: bool = Field(description="True when feedback exists that you may not see yet.")


class DecisionOut(Response):
    stage: Stage
    outcome: Literal["advance", "reject", "accepted", "declined"]
    decided_by: str | None = Field(description="Email of who decided.")
    decided_at: Timestamp
    rationale: str


class ApplicationOut(Response):
    id: int
    position_id: int
    position_title: str
    candidate: CandidateOut
    stage: Stage
    source: Source
    applied_at: Timestamp
    stage_entered_at: Timestamp
    due_at: Timestamp | None = Field(
        description="The team's deadline (before the candidate's date); at `offer` the candidate's date to answer "
        "our offer; null where the stage has none.")
    promised_by: date | None = Field(
        description="The date the candidate was last told they will hear from us by (company time zone); null when "
        "closed or at `offer`.")
    promise_moves: int = Field(description="How often the candidate's current date was moved (delay notices, "
                               "extensions).")
    days_late: int = Field(description="Whole days the team is past its first missed deadline for the current "
                           "promise (0 when on time).")
    flags: list[Flag]
    version: int
    owner_email: str | None
    verdict: values_of(Verdict) | None = Field(
        description="The panel's verdict on the latest held interview; null for whoever may not read its feedback.")
    competing_offer_deadline: date | None
    extended_until: Timestamp | None
    extension_reason: str | None
    closed_at: Timestamp | None
    interviews: list[InterviewOut]
    decisions: list[DecisionOut]


class ApplicationList(Response):
    items: list[ApplicationOut]
    total: int
    page: int
    per_page: int


# --- interviews -----------------------------------------------------------------------------


class InterviewCreate(Request):
    round: Literal[1, 2]
    scheduled_at: Instant
    duration_minutes: int = Field(60, ge=15, le=480)
    location: text(500) = ""
    video_link: text(500) = ""
    interviewer_emails: list[Email] = Field(min_length=1, max_length=20)
    version: Version | None = None
    extend_until: Day | None = Field(
        None, description="Round 2 after the date the candidate was given for it: the new date (on or after the "
        "interview's day), moved in the same request; needs `reason`.")
    reason: text(1000) = Field("", description="Why the date moves; told to the candidate in the invitation.")


class InterviewHeld(Request):
    held_at: Instant | None = Field(None, description="Default: now. Not in the future.")
    version: Version | None = None


class InterviewCancel(Request):
    reason: text(2000) = Field("", description="Told to the candidate.")
    version: Version | None = None


class FeedbackCreate(Request):
    recommendation: RecommendationValue
    notes: text(20000, multiline=True) = ""


# --- decisions and the rest of the process ----------------------------------------------------


class DecisionCreate(Request):
    outcome: Literal["advance", "reject"]
    rationale: text(20000, multiline=True) = Field(
        "", description="Internal; required to reject, and for an offer without a clear recommendation.")
    candidate_feedback: text(20000, multiline=True) = Field("", description="Passed on to a rejected candidate.")
    acting_for: text(2000) = Field(
        "", description="An admin taking the offer decision for the position's hiring manager says why "
        "(required then; recorded with the decision).")
    decided_at: Instant | None = Field(None, description="Default: now. Not in the future.")
    version: Version | None = None


class OfferResponseCreate(Request):
    accepted: bool
    note: text(20000, multiline=True) = ""
    version: Version | None = None


class ExtensionCreate(Request):
    until: Day = Field(description="The new answer date (company time zone), later than the current one.")
    reason: text(2000, 1, multiline=True) = Field(description="Told to the candidate.")
    version: Version | None = None


class CompetingOfferCreate(Request):
    deadline: Day | None = Field(description="The other offer's deadline; null clears it.")
    version: Version | None = None


class WithdrawalCreate(Request):
    reason: text(20000) = ""
    version: Version | None = None


class CandidateErase(Request):
    reason: text(500, 1) = Field(description="Why (kept in the audit log; do not name the candidate).")


class EmailOut(Response):
    id: int
    template: str
    to: str
    to_candidate: bool
    subject: str
    status: Literal["queued", "sent", "failed", "not_delivered"]
    attempts: int
    created_at: Timestamp
    sent_at: Timestamp | None
    error: str | None


class EmailList(Response):
    items: list[EmailOut]
