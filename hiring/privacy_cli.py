"""`flask --app app candidates erase EMAIL --reason TEXT` and `candidates export EMAIL --output FILE`:
the command-line adapters over hiring.privacy."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from . import privacy
from .extensions import db
from .models import User
from .pipeline import DomainError, InvalidInput, Role

candidates_cli = AppGroup("candidates", help="Answer a candidate's data-protection request.")


def _admin(email: str | None) -> User | None:
    if not email:
        return None  # the operator at the server: recorded as the system
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or user.role != Role.ADMIN.value or not user.active:
        raise click.BadParameter(f"{email} is not an active admin.", param_hint="--by")
    return user


def _candidate(email: str):
    try:
        return privacy.find_candidate(email)
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None


@candidates_cli.command("erase")
@click.argument("email")
@click.option("--reason", required=True, help="Why (kept in the audit log; do not name the candidate).")
@click.option("--by", "by_email", help="The admin on whose behalf (recorded in the audit log).")
def erase_command(email: str, reason: str, by_email: str | None) -> None:
    """Erase a candidate on their request: an open application is withdrawn (they get the
    usual confirmation), then everything identifying is removed; counts and dates stay."""
    actor = _admin(by_email)
    candidate = _candidate(email)
    candidate_id = candidate.id
    try:
        counts = privacy.erase_candidate(candidate, reason=reason, actor=actor)
    except InvalidInput as exc:
        raise click.ClickException("; ".join(f"{k}: {v}" for k, v in exc.fields.items()) or str(exc)) from None
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None
    pending = counts.get("emails_pending", 0)
    click.echo(f"Candidate #{candidate_id} erased ({counts['applications']} application(s), "
               f"{counts['documents']} document(s)).")
    if pending:
        click.echo(f"{pending} email(s) to them are still queued; they are blanked once the outbox has sent them.")


@candidates_cli.command("export")
@click.argument("email")
@click.option("--output", required=True, type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="The ZIP file to write.")
@click.option("--by", "by_email", help="The admin on whose behalf (recorded in the audit log).")
def export_command(email: str, output: Path, by_email: str | None) -> None:
    """Everything held about a candidate, for their access request: a ZIP with data.json,
    their documents and a summary in their language."""
    actor = _admin(by_email)
    candidate = _candidate(email)
    try:
        data = privacy.export_candidate(candidate, actor=actor)
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None
    output.write_bytes(data)
    output.chmod(0o600)
    click.echo(f"Wrote {output} ({len(data)} bytes).")
