"""Fixtures for the JSON API: a team with a token per role, and a frozen API clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from hiring import services
from hiring.api import core
from hiring.models import Position, User


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """The factory gives every user a password; scrypt would dominate these tests' time."""
    from werkzeug.security import generate_password_hash

    from hiring import models

    monkeypatch.setattr(models.accounts, "generate_password_hash",
                        lambda password: generate_password_hash(password, method="pbkdf2:sha256:1"))


@pytest.fixture(autouse=True)
def api_clock(monkeypatch, now):
    """The API's clock, frozen at the `now` fixture; tests move it with clock["now"] = …"""
    clock = {"now": now}
    monkeypatch.setattr(core, "now", lambda: clock["now"])
    return clock


class Api:
    """A test client speaking JSON with one user's bearer token."""

    def __init__(self, client, token: str | None):
        self.client = client
        self.token = token

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        headers.update(extra or {})
        return headers

    def get(self, path: str, **kwargs: Any):
        return self.client.get("/api/v1" + path, headers=self.headers(kwargs.pop("headers", None)), **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any):
        if json is not None:
            kwargs["json"] = json
        return self.client.post("/api/v1" + path, headers=self.headers(kwargs.pop("headers", None)), **kwargs)


@dataclass
class Team:
    admin: User
    recruiter: User
    manager: User
    interviewer: User
    interviewer2: User
    outsider: User  # an interviewer on no panel
    position: Position
    apis: dict[str, Api]

    def as_(self, name: str) -> Api:
        return self.apis[name]

    @property
    def panel(self) -> list[User]:
        return [self.interviewer, self.interviewer2]


@pytest.fixture
def team(factory, client) -> Team:
    # Without passwords: hashing them would dominate the suite's time, and tokens need none.
    roles = {"admin": "admin", "recruiter": "recruiter", "manager": "manager", "interviewer": "interviewer",
             "interviewer2": "interviewer", "outsider": "interviewer"}
    joined = factory.now - timedelta(days=400)
    users = {name: services.create_user(f"{name}@team.example", name.title(), role, now=joined)
             for name, role in roles.items()}
    apis = {name: Api(client, services.create_api_token(user, f"{name} test")[1]) for name, user in users.items()}
    apis["anonymous"] = Api(client, None)
    position = factory.position(owner=users["recruiter"], hiring_manager=users["manager"])
    return Team(position=position, apis=apis, **users)


def error_of(response) -> dict:
    """The error object, after checking the common error shape."""
    body = response.get_json()
    assert response.mimetype == "application/json", response.data[:200]
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    assert body["error"]["message"]
    return body["error"]
