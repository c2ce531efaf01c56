"""`flask --app app tokens …`: API tokens for integrations and scripts."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .. import services
from ..extensions import db
from ..models import ApiToken, User

tokens_cli = AppGroup("tokens", help="Create, list and revoke API tokens.")


def _when(value) -> str:
    return value.isoformat(timespec="minutes") if value else "never"


@tokens_cli.command("create")
@click.argument("email")
@click.option("--label", default="", help="What the token is for, e.g. 'careers site'.")
def create_token_command(email: str, label: str) -> None:
    """Create a token acting as the user EMAIL (with their role). The token is printed once,
    as the last line; only its hash is stored."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"No user with the email {email}.")
    if not user.active:
        raise click.ClickException(f"{user.email} is deactivated; reactivate them first.")
    if len(label) > 200 or "\x00" in label:
        raise click.ClickException("The label must be at most 200 characters.")
    token, secret = services.create_api_token(user, label)
    click.echo(f"Created token {token.id} for {user.email} ({user.role}). Store it now, it is not shown again:")
    click.echo(secret)


@tokens_cli.command("list")
def list_tokens_command() -> None:
    """List tokens: id, user, role, label, created, last used, status."""
    tokens = db.session.scalars(select(ApiToken).options(joinedload(ApiToken.user)).order_by(ApiToken.id)).all()
    if not tokens:
        click.echo("No API tokens.")
        return
    for token in tokens:
        status = f"revoked {_when(token.revoked_at)}" if token.revoked_at else "active"
        click.echo(f"{token.id}\t{token.user.email}\t{token.user.role}\t{token.label or '-'}\t"
                   f"created {_when(token.created_at)}\tlast used {_when(token.last_used_at)}\t{status}")


@tokens_cli.command("revoke")
@click.argument("token_id", type=int)
def revoke_token_command(token_id: int) -> None:
    """Revoke token ID; requests with it are refused (401) from now on."""
    token = db.session.get(ApiToken, token_id) if 0 < token_id < 2**31 else None
    if token is None:
        raise click.ClickException(f"No token with id {token_id}.")
    if token.revoked_at is not None:
        click.echo(f"Token {token.id} was already revoked.")
        return
    services.revoke_api_token(token)
    click.echo(f"Revoked token {token.id} of {token.user.email}.")
