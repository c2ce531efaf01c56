from hiring.extensions import db
from hiring.models import ApiToken

from .conftest import Api


def test_create_prints_the_token_last_and_it_works(runner, factory, client):
    user = factory.user("recruiter", email="rita@example.com")
    result = runner.invoke(args=["tokens", "create", "Rita@Example.com", "--label", "careers site"])
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    assert secret.startswith("hp_") and " " not in secret
    token = db.session.scalars(db.select(ApiToken)).one()
    assert token.user_id == user.id and token.label == "careers site"
    assert token.token_hash != secret
    assert Api(client, secret).get("/positions").status_code == 200


def test_list_and_revoke(runner, factory, client):
    factory.user("manager", email="mona@example.com")
    secret = runner.invoke(args=["tokens", "create", "mona@example.com"]).output.strip().splitlines()[-1]
    token_id = db.session.scalars(db.select(ApiToken.id)).one()
    listed = runner.invoke(args=["tokens", "list"])
    assert listed.exit_code == 0
    assert f"{token_id}\tmona@example.com\tmanager" in listed.output and "active" in listed.output

    revoked = runner.invoke(args=["tokens", "revoke", str(token_id)])
    assert revoked.exit_code == 0 and "Revoked" in revoked.output
    assert Api(client, secret).get("/positions").status_code == 401
    assert "revoked" in runner.invoke(args=["tokens", "list"]).output
    again = runner.invoke(args=["tokens", "revoke", str(token_id)])
    assert again.exit_code == 0 and "already" in again.output


def test_cli_errors_are_clear(runner, factory):
    assert "No user" in runner.invoke(args=["tokens", "create", "nobody@example.com"]).output
    assert runner.invoke(args=["tokens", "create", "nobody@example.com"]).exit_code == 1
    missing = runner.invoke(args=["tokens", "revoke", "99999999999999"])
    assert missing.exit_code == 1 and "No token" in missing.output
    assert "No API tokens" in runner.invoke(args=["tokens", "list"]).output


def test_no_token_for_a_deactivated_user(runner, factory):
    from hiring import services

    user = factory.user("recruiter", email="gone@example.com")
    services.update_user(user, active=False)
    result = runner.invoke(args=["tokens", "create", "gone@example.com"])
    assert result.exit_code == 1 and "deactivated" in result.output
