"""Lint, then the whole suite on SQLite and on PostgreSQL, then the migrations check.

PostgreSQL comes from TEST_DATABASE_URL; its database is created when missing. When
the server cannot be reached the PostgreSQL run is skipped with one line — except
under CI=true, where it must run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    print("$", " ".join(cmd), flush=True)
    result = subprocess.run(cmd, cwd=ROOT, env={**os.environ, **(env or {})})
    if result.returncode != 0:
        sys.exit(result.returncode)


def ensure_postgres_database(url: str) -> str | None:
    """Create the test database if missing; return None, or why PostgreSQL is unusable."""
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    params = {
        "host": parsed.host or "127.0.0.1",
        "port": parsed.port or 5432,
        "user": parsed.username or "postgres",
        "dbname": "postgres",
        "connect_timeout": 5,
    }
    if parsed.password:
        params["password"] = parsed.password
    try:
        with psycopg.connect(**params, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (parsed.database,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{parsed.database}"')
                print(f"created PostgreSQL database {parsed.database}")
    except psycopg.OperationalError as exc:
        return str(exc).strip().splitlines()[0]
    return None


def migrations_check(database_url: str) -> None:
    """`flask db upgrade` on an empty database, then `flask db check`: models == migrations."""
    with tempfile.TemporaryDirectory() as instance:
        env = {"HIRING_INSTANCE_PATH": instance, "DATABASE_URL": database_url, "HIRING_SCHEDULER_ENABLED": "false"}
        if database_url.startswith("postgresql"):
            import psycopg
            from sqlalchemy.engine import make_url

            parsed = make_url(database_url)
            with psycopg.connect(host=parsed.host, port=parsed.port or 5432, user=parsed.username or "postgres",
                                 dbname=parsed.database, autocommit=True) as conn:
                conn.execute("DROP SCHEMA public CASCADE")
                conn.execute("CREATE SCHEMA public")
        run([str(BIN / "flask"), "--app", "app", "db", "upgrade"], env)
        run([str(BIN / "flask"), "--app", "app", "db", "check"], env)


def main() -> None:
    pytest_args = sys.argv[1:]
    run([str(BIN / "ruff"), "check", "."])
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)

    print("\n=== SQLite ===", flush=True)
    run([str(BIN / "python"), "-m", "pytest", *pytest_args], {"TEST_DATABASE_URL": ""})
    with tempfile.TemporaryDirectory() as tmp:
        migrations_check("sqlite:///" + str(Path(tmp) / "check.sqlite"))

    url = os.environ.get("TEST_DATABASE_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/hiring_test"
    problem = ensure_postgres_database(url)
    if problem:
        if os.environ.get("CI") == "true":
            print(f"PostgreSQL is required under CI=true but unreachable at {url}: {problem}", file=sys.stderr)
            sys.exit(1)
        print(f"SKIPPED the PostgreSQL run: no PostgreSQL at {url} ({problem})")
        return
    print("\n=== PostgreSQL ===", flush=True)
    run([str(BIN / "python"), "-m", "pytest", *pytest_args], {"TEST_DATABASE_URL": url})
    migrations_check(url)


if __name__ == "__main__":
    main()
