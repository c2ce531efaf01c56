"""Web plumbing shared by every blueprint: login loading, template filters, health."""

from __future__ import annotations

from flask import Flask, jsonify

from . import timefmt
from .extensions import db, login_manager
from .models import User, utcnow
from .settings import get_policy


def init_app(app: Flask) -> None:
    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        try:
            return db.session.get(User, int(user_id))
        except (TypeError, ValueError):
            return None

    @app.get("/healthz")
    def healthz():
        """A trivial route: liveness for operators, and the benchmark's floor."""
        return jsonify(status="ok")

    @app.template_filter("short_date")
    def short_date(value):
        return timefmt.short_date(value, get_policy())

    @app.template_filter("date_time")
    def date_time(value):
        return timefmt.date_time(value, get_policy())

    @app.template_filter("due_label")
    def due_label(value):
        return timefmt.due_label(value, utcnow(), get_policy())

    @app.template_filter("interview_relative")
    def interview_relative(value):
        return timefmt.interview_relative(value, utcnow(), get_policy())

    @app.template_filter("is_past")
    def is_past(value):
        return value is not None and value < utcnow()

    @app.template_filter("relative_days")
    def relative_days(value):
        return timefmt.relative_days(value, utcnow(), get_policy())
