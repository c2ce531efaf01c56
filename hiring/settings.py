"""The process policy as stored in the database, seeded from config."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from flask import current_app, g, has_app_context

from .extensions import db
from .models import Setting
from .pipeline import Policy, Role

POLICY_KEY = "policy"


def get_policy() -> Policy:
    """The current policy: config defaults overlaid with what an admin saved.

    Cached for the request (or app context) so a page asks the database once.
    """
    if has_app_context():
        cached = g.get("hiring_policy")
        if cached is not None:
            return cached
    values = dict(current_app.config.get("POLICY") or {})
    stored = db.session.get(Setting, POLICY_KEY)
    if stored is not None and isinstance(stored.value, dict):
        values.update(stored.value)
    policy = Policy.from_mapping(values)
    g.hiring_policy = policy
    return policy


def forget_policy() -> None:
    g.pop("hiring_policy", None)


# --- sign-in security -----------------------------------------------------------------------

SECURITY_KEY = "security"


@dataclass(frozen=True)
class SecuritySettings:
    """Sign-in rules an admin sets under Settings (a Setting row of their own, apart from
    the process policy)."""

    require_two_factor_for_admins_and_managers: bool = False

    @classmethod
    def from_mapping(cls, values: dict) -> SecuritySettings:
        known = {f.name for f in fields(cls)}
        return cls(**{k: bool(v) for k, v in values.items() if k in known})

    def to_dict(self) -> dict:
        return asdict(self)

    def requires_two_factor(self, role: str) -> bool:
        return self.require_two_factor_for_admins_and_managers and role in (Role.ADMIN.value, Role.MANAGER.value)


def get_security() -> SecuritySettings:
    if has_app_context():
        cached = g.get("hiring_security")
        if cached is not None:
            return cached
    stored = db.session.get(Setting, SECURITY_KEY)
    security = SecuritySettings.from_mapping(stored.value if stored is not None and isinstance(stored.value, dict)
                                             else {})
    g.hiring_security = security
    return security


def forget_security() -> None:
    g.pop("hiring_security", None)
