"""The process policy as stored in the database, seeded from config."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from flask import current_app, g, has_app_context
from sqlalchemy import select

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
    stored = _stored(POLICY_KEY)
    if isinstance(stored, dict):
        values.update(stored)
    policy = Policy.from_mapping(values)
    g.hiring_policy = policy
    return policy


def forget_policy() -> None:
    g.pop("hiring_policy", None)
    g.get("hiring_settings_read", {}).pop(POLICY_KEY, None)


# --- the settings rows, read with the session --------------------------------------------------
# Every logged-in page needs both settings rows. The session check (security.load_user)
# reads them in its own statement, as scalar subqueries, and leaves the values here for the
# request. They come from the request's own transaction, like a get() of the row, so no
# worker ever sees settings older than its request.

def stored_values() -> list:
    """Both settings' stored values as labelled scalar subqueries, for another statement's
    columns (in the order of ``SETTING_KEYS``)."""
    return [select(Setting.value).where(Setting.key == key).scalar_subquery().label(f"setting_{key}")
            for key in SETTING_KEYS]


def remember_stored(values) -> None:
    """Keeps the values read with ``stored_values()`` for this request."""
    if has_app_context():
        g.hiring_settings_read = dict(zip(SETTING_KEYS, values, strict=True))


def _stored(key: str):
    read = g.get("hiring_settings_read") if has_app_context() else None
    if read is not None and key in read:
        return read[key]
    row = db.session.get(Setting, key)
    return row.value if row is not None else None


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
    stored = _stored(SECURITY_KEY)
    security = SecuritySettings.from_mapping(stored if isinstance(stored, dict) else {})
    g.hiring_security = security
    return security


def forget_security() -> None:
    g.pop("hiring_security", None)
    g.get("hiring_settings_read", {}).pop(SECURITY_KEY, None)


SETTING_KEYS = (POLICY_KEY, SECURITY_KEY)
