"""The process policy as stored in the database, seeded from config."""

from __future__ import annotations

from flask import current_app, g, has_app_context

from .extensions import db
from .models import Setting
from .pipeline import Policy

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
