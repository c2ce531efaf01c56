"""Who may do what: each role's actions."""

from __future__ import annotations

import enum

from .errors import NotAllowed
from .stages import Role

# --- who may do what --------------------------------------------------------------------


class Action(enum.StrEnum):
    MANAGE_USERS = "manage_users"
    MANAGE_SETTINGS = "manage_settings"
    MANAGE_POSITIONS = "manage_positions"
    MANAGE_APPLICATIONS = "manage_applications"  # create, schedule, held, contacts, references
    DECIDE = "decide"  # advance/reject in applied and first_decision; reject anywhere
    DECIDE_OFFER = "decide_offer"  # the final decision with management
    EXTEND_DEADLINE = "extend_deadline"
    VIEW_ALL = "view_all"  # every application, not only one's panels
    VIEW_EMAILS = "view_emails"
    SUBMIT_FEEDBACK = "submit_feedback"


PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.RECRUITER: frozenset(
        {
            Action.MANAGE_POSITIONS,
            Action.MANAGE_APPLICATIONS,
            Action.DECIDE,
            Action.EXTEND_DEADLINE,
            Action.VIEW_ALL,
            Action.VIEW_EMAILS,
            Action.SUBMIT_FEEDBACK,
        }
    ),
    Role.INTERVIEWER: frozenset({Action.SUBMIT_FEEDBACK}),
    Role.MANAGER: frozenset(
        {Action.DECIDE_OFFER, Action.EXTEND_DEADLINE, Action.VIEW_ALL, Action.SUBMIT_FEEDBACK}
    ),
}
# Admins can do everything a recruiter can, plus administration. The offer decision is
# management's alone.
PERMISSIONS[Role.ADMIN] = PERMISSIONS[Role.RECRUITER] | {
    Action.MANAGE_USERS,
    Action.MANAGE_SETTINGS,
}


def can(role: Role | str, action: Action | str) -> bool:
    return Action(action) in PERMISSIONS[Role(role)]


def may_see_feedback(role: Role | str, *, on_panel: bool, gave_own: bool) -> bool:
    """Whether someone may read the feedback on an interview. Judgements stay independent:
    whoever has given their own sees everyone's; a panel member who has not yet sees none;
    someone off the panel sees it all if their role may see every application (recruiter,
    manager, admin) and none otherwise. The UI and the API both ask this."""
    if gave_own:
        return True
    if on_panel:
        return False
    return can(role, Action.VIEW_ALL)


def require(role: Role | str, action: Action | str, message: str | None = None) -> None:
    if not can(role, action):
        raise NotAllowed(message or f"Your role ({Role(role).value}) may not {ACTION_TEXT[Action(action)]}.")


ACTION_TEXT = {
    Action.MANAGE_USERS: "manage users",
    Action.MANAGE_SETTINGS: "change the process settings",
    Action.MANAGE_POSITIONS: "manage positions",
    Action.MANAGE_APPLICATIONS: "change applications",
    Action.DECIDE: "decide on applications",
    Action.DECIDE_OFFER: "decide on an offer; that decision is made by management",
    Action.EXTEND_DEADLINE: "change deadlines",
    Action.VIEW_ALL: "see every application",
    Action.VIEW_EMAILS: "see emails",
    Action.SUBMIT_FEEDBACK: "submit interview feedback",
}
