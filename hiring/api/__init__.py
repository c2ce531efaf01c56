"""The JSON API at /api/v1: a thin adapter over hiring.services, authenticated with bearer
tokens, described by an OpenAPI document generated from the code (GET /api/v1/openapi.json)."""

from __future__ import annotations

from flask import Flask

from . import endpoints, privacy, reports  # noqa: F401  (register the routes on the blueprint)
from .cli import tokens_cli
from .core import bp, register_error_handlers, routing_errors_as_json

register_error_handlers()


def init_app(app: Flask) -> None:
    from ..extensions import csrf

    csrf.exempt(bp)  # token-authenticated, no cookies: CSRF cannot apply
    app.register_blueprint(bp)
    app.before_request(routing_errors_as_json)
    app.cli.add_command(tokens_cli)
