"""Decisions: which transition a decision makes, who may take it, and the
clear-recommendation rule (a decision against the panel's word says why)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .access import Action, require
from .errors import IllegalTransition, InvalidInput, NotAllowed
from .stages import Event, Recommendation, Role, Stage, Verdict


def decision_event(stage: Stage | str, outcome: str) -> Event:
    """Map an advance/reject decision at ``stage`` to the transition it makes."""
    stage = Stage(stage)
    if outcome == "reject":
        return Event.REJECT
    if outcome != "advance":
        raise InvalidInput("Outcome must be advance or reject.", {"outcome": "Choose advance or reject."})
    if stage == Stage.FIRST_DECISION:
        return Event.INVITE_SECOND_INTERVIEW
    if stage == Stage.FINAL_DECISION:
        return Event.MAKE_OFFER
    if stage == Stage.APPLIED:
        raise IllegalTransition(
            "A new application advances by scheduling its first interview, not by a decision."
        )
    if stage in (Stage.FIRST_INTERVIEW, Stage.SECOND_INTERVIEW):
        raise IllegalTransition(
            f"Not possible while the application is at “{stage.label}”: mark the interview "
            "as held first, then decide."
        )
    if stage == Stage.OFFER:
        raise IllegalTransition("The offer is made; record the candidate's answer instead.")
    raise IllegalTransition(f"This application is already closed ({stage.label}).")


def require_decision(role: Role | str, stage: Stage | str, outcome: str, *, actor_id: int | None = None,
                     hiring_manager_id: int | None = None, acting_for: str | None = None) -> bool:
    """Who may take a decision at ``stage``. At the offer decision both outcomes belong to
    the position's hiring manager (see ``offer_decider``); every other decision is the
    recruiters'. Returns True when an admin acts for the hiring manager."""
    if Stage(stage) == Stage.FINAL_DECISION:
        return offer_decider(role, actor_id, hiring_manager_id, acting_for)
    require(role, Action.DECIDE)
    return False


def may_decide_offer(role: Role | str, actor_id: int | None, hiring_manager_id: int | None) -> bool:
    """Whether someone may take the offer decision (offer or reject) at all: the position's
    hiring manager; any manager while the position has none; an admin, acting for them."""
    role = Role(role)
    if role == Role.ADMIN:
        return True
    if role != Role.MANAGER:
        return False
    return hiring_manager_id is None or actor_id == hiring_manager_id


def offer_decider(role: Role | str, actor_id: int | None, hiring_manager_id: int | None,
                  acting_for: str | None) -> bool:
    """At ``final_decision`` both outcomes, the offer and the rejection, belong to the
    position's hiring manager. An admin may act for them and writes down why (recorded
    with the decision); a recruiter, an interviewer or another manager may not decide.
    A position without a hiring manager is decided by any manager (or an admin acting
    for management). Returns True when the decision is an admin's on someone's behalf."""
    role = Role(role)
    if not may_decide_offer(role, actor_id, hiring_manager_id):
        if role == Role.MANAGER:
            raise NotAllowed("Only the position's hiring manager takes the offer decision; ask them, or an "
                             "admin acting for them.")
        raise NotAllowed(f"Your role ({role.value}) may not take the offer decision: the offer and the "
                         "rejection at this stage belong to the position's hiring manager.")
    if role == Role.ADMIN:
        if not (acting_for or "").strip():
            raise InvalidInput(
                "An admin decides the offer only on behalf of the hiring manager.",
                {"acting_for": "Say why you decide for the hiring manager (recorded with the decision)."},
            )
        return True
    return False


# --- the panel and the clear-recommendation rule -------------------------------------------


def panel_verdict(panel: Iterable[object], feedback: Mapping[object, Recommendation | str]) -> Verdict:
    """Every panel member submitted and all agree → clear; otherwise incomplete or mixed."""
    members = list(panel)
    if not members or any(member not in feedback for member in members):
        return Verdict.INCOMPLETE
    positives = {Recommendation(feedback[m]).is_positive for m in members}
    if positives == {True}:
        return Verdict.CLEAR_HIRE
    if positives == {False}:
        return Verdict.CLEAR_NO
    return Verdict.MIXED


def check_rejection(outcome: str, rationale: str | None) -> None:
    """A rejection is decided with its reason written down (it stays internal)."""
    if outcome == "reject" and not (rationale or "").strip():
        raise InvalidInput(
            "A rejection needs its reason.",
            {"rationale": "Write down why the application is rejected (the candidate does not see it)."},
        )


def check_panel_decision(verdict: Verdict | str | None, outcome: str, rationale: str | None, *,
                         feedback_given: int) -> None:
    """A decision against the panel's clear word, or without any word from the panel,
    is taken with its reason written down: advancing against a unanimous no, rejecting a
    unanimous yes, or deciding before anyone on the panel gave feedback."""
    if (rationale or "").strip():
        return
    if feedback_given == 0:
        raise InvalidInput(
            "Nobody on the panel has given feedback yet.",
            {"rationale": "Nobody on the panel has given feedback yet; write down what the decision rests on."},
        )
    if outcome == "advance" and verdict == Verdict.CLEAR_NO:
        raise InvalidInput(
            "The whole panel recommended not to hire this candidate.",
            {"rationale": "The whole panel recommended not to hire this candidate; write down why you advance."},
        )
    if outcome == "reject" and verdict == Verdict.CLEAR_HIRE:
        raise InvalidInput(
            "The whole panel recommended this candidate.",
            {"rationale": "The whole panel recommended this candidate; write down why you reject."},
        )


def check_offer_decision(verdict: Verdict | str | None, outcome: str, rationale: str | None) -> None:
    """An offer against anything but a clear hire needs the discussion written down."""
    if outcome == "advance" and verdict != Verdict.CLEAR_HIRE and not (rationale or "").strip():
        raise InvalidInput(
            "The panel did not clearly recommend this candidate.",
            {"rationale": "Write down why an offer is made without a clear recommendation."},
        )
