"""Writing many rows fast: executemany on SQLite, COPY on PostgreSQL, indexes built once at the end."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from psycopg.types.json import Json
from sqlalchemy import JSON, Date, insert, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ..models import (
    Application,
    AuditEvent,
    Candidate,
    CandidateContact,
    Decision,
    Feedback,
    Interview,
    OutboxEmail,
    PanelMember,
    Position,
    Promise,
    User,
    UTCDateTime,
)


class Rows:
    """The rows of one batch, per table, in foreign-key order."""

    ORDER = (Candidate, Application, Promise, Interview, PanelMember, Feedback, Decision, CandidateContact, AuditEvent,
             OutboxEmail)

    def __init__(self) -> None:
        self.by_model: dict[type, list[dict[str, Any]]] = {model: [] for model in self.ORDER}

    def add(self, model: type, row: dict[str, Any]) -> None:
        self.by_model[model].append(row)

    def write(self, connection: Connection) -> dict[str, int]:
        counts = {}
        for model in self.ORDER:
            rows = self.by_model[model]
            if rows:
                bulk_insert(connection, model, rows)
            counts[model.__tablename__] = len(rows)
        return counts


def bulk_insert(session: Session | Connection, model: type, rows: list[dict[str, Any]]) -> None:
    """One executemany INSERT of ``rows`` (dicts of Python values) into ``model``'s table.

    The statement is SQLAlchemy Core's ``insert``, compiled once per table and dialect;
    the values are converted to what the driver takes here, once, and handed to the
    driver's executemany — SQLAlchemy's per-row parameter processing would otherwise
    cost more than the database's own work.
    """
    if not rows:
        return
    connection = session if isinstance(session, Connection) else session.connection()
    dialect = connection.dialect
    table = model.__table__
    converters = _converters(table, dialect.name)
    if converters:
        for row in rows:
            for name, convert in converters:
                value = row.get(name)  # a nullable column the rows leave out stays out (NULL)
                if value is not None:
                    row[name] = convert(value)
    if dialect.name == "postgresql":
        # COPY: one stream per table instead of an INSERT per row for the server to parse and plan.
        keys = tuple(rows[0])
        columns = ", ".join(f'"{key}"' for key in keys)
        with connection.connection.cursor() as cursor, \
                cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([row[key] for key in keys])
        return
    connection.exec_driver_sql(_compiled_insert(table, tuple(rows[0]), dialect), rows)


@lru_cache(maxsize=128)
def _compiled_insert(table: Any, keys: tuple[str, ...], dialect: Any) -> str:
    """The INSERT with named parameters, so the driver binds straight from the dicts."""
    if dialect.name == "sqlite":
        dialect = sqlite.dialect(paramstyle="named")
    compiled = insert(table).compile(dialect=dialect, column_keys=list(keys))
    if compiled.positional:
        raise RuntimeError(f"{dialect.name}: expected a named parameter style")
    return str(compiled)


@lru_cache(maxsize=64)
def _converters(table: Any, dialect: str) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    result = []
    for column in table.columns:
        if isinstance(column.type, UTCDateTime):
            result.append((column.name, _sqlite_datetime if dialect == "sqlite" else _aware_utc))
        elif isinstance(column.type, Date) and dialect == "sqlite":
            result.append((column.name, date.isoformat))
        elif isinstance(column.type, JSON):
            result.append((column.name, json.dumps if dialect == "sqlite" else Json))
    return tuple(result)


def _sqlite_datetime(value: datetime) -> str:
    # The format SQLAlchemy's SQLite DATETIME writes and reads; naive UTC, as UTCDateTime stores it.
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]  # without the "+00:00"


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}")
    return value


@contextmanager
def bulk_load(session: Session) -> Iterator[None]:
    """Fill the tables without their secondary indexes, then build each index once.

    Keeping a dozen indexes (and SQLite's trigram search index) up to date row by row, in
    random key order, costs more than the inserts themselves; building them afterwards
    sorts each once. The indexes are dropped and recreated from their own definitions in
    the database catalogue (what the migrations created, partial and expression indexes
    included), and recreated also when the load fails.
    """
    tables = [model.__tablename__ for model in Rows.ORDER]
    if session.get_bind().dialect.name == "sqlite":
        deferred = session.execute(text(
            "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND tbl_name IN ({}) AND ("
            "type = 'index' OR (type = 'trigger' AND name IN ({})))".format(
                ", ".join(f"'{t}'" for t in tables), ", ".join(f"'{t}'" for t in SEARCH_INSERT_TRIGGERS))
        )).all()
        for name, sql in deferred:
            kind = "TRIGGER" if sql.upper().startswith("CREATE TRIGGER") else "INDEX"
            session.execute(text(f'DROP {kind} "{name}"'))
    else:
        deferred = session.execute(text(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "WHERE t.relname = ANY(:tables) AND t.relnamespace = current_schema()::regnamespace "
            "AND NOT x.indisprimary AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)"
        ), {"tables": tables}).all()
        for name, _sql in deferred:
            session.execute(text(f'DROP INDEX "{name}"'))
    session.commit()
    try:
        yield
    finally:
        session.rollback()
        for _name, sql in deferred:
            session.execute(text(sql))
        if any(name == "candidate_search_insert" for name, _sql in deferred):
            session.execute(text("INSERT INTO candidate_search(candidate_search) VALUES ('rebuild')"))
        if any(name == "candidate_search_order_insert" for name, _sql in deferred):
            rebuild_name_order(session)
        session.commit()


# SQLite's trigram triggers on new candidates: built once after the load instead of per row
# (the name-order one looks up each candidate's neighbours in name order).
SEARCH_INSERT_TRIGGERS = ("candidate_search_insert", "candidate_search_order_insert")


def rebuild_name_order(session: Session) -> None:
    """SQLite: every candidate's sort key and name-order trigram row anew, in (name, id)
    order and evenly spaced (the statements of migration c8e4a6f2b1d9, which a migration
    cannot import)."""
    spacing = 2 ** 24
    for statement in (
        "DELETE FROM candidate_search_order",
        "INSERT INTO candidate_search_by_name (candidate_search_by_name) VALUES ('delete-all')",
        "INSERT INTO candidate_search_order (candidate_id, sort_key) "
        f"SELECT c.id, (row_number() OVER (ORDER BY c.name, c.id) - (t.n + 1) / 2) * {spacing} "
        "FROM candidate AS c, (SELECT count(*) AS n FROM candidate) AS t",
        "INSERT INTO candidate_search_by_name (rowid, name, email) SELECT o.sort_key, c.name, c.email "
        "FROM candidate AS c JOIN candidate_search_order AS o ON o.candidate_id = c.id",
        "INSERT INTO candidate_search_by_name (candidate_search_by_name) VALUES ('optimize')",
    ):
        session.execute(text(statement))


def reset_sequences(session: Session) -> None:
    """Ids were given explicitly; PostgreSQL's sequences must continue after them."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for model in (User, Position, Candidate, Application, Promise, Interview, Feedback, Decision, CandidateContact,
                  AuditEvent, OutboxEmail):
        table = model.__tablename__
        session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM \"{table}\"), 0) + 1, false)"
        ))
