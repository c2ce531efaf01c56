"""PostgreSQL connections as the engine uses them: a cursor whose description costs nothing
until read, and pooled connections the server closed replaced before use.

Imported by hiring.engine_options for a PostgreSQL URL only: an app on SQLite does not load
psycopg (about 9 MB more in every worker)."""

import select
from collections.abc import Sequence
from types import SimpleNamespace

import psycopg
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import Pool


@event.listens_for(Pool, "checkout")
def replace_closed_connection(dbapi_connection, connection_record, connection_proxy) -> None:
    """PostgreSQL: a pooled connection that the server has closed (a restart, a failover,
    pg_terminate_backend, idle_session_timeout) is replaced before a request uses it,
    instead of failing that request's first statement.

    Between requests a pooled connection has nothing to read, so a readable socket means
    the server spoke: its FATAL goodbye, or the end of the stream. That is checked without
    a round trip; SQLAlchemy's pool_pre_ping sent a SELECT 1 to the server at every
    checkout, a fifth of a page's round trips. A server that vanished without a word (a
    cut cable) is found by the first statement, as it was by the ping, which waited too.
    Raising DisconnectionError makes the pool discard this one and connect anew."""
    if not isinstance(dbapi_connection, psycopg.Connection):
        return
    if (dbapi_connection.closed or dbapi_connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
            or _readable(dbapi_connection.fileno())):
        raise DisconnectionError("the database server closed this connection")


def _readable(fd: int) -> bool:
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


class Cursor(psycopg.Cursor):
    """psycopg's cursor, whose ``description`` builds its columns when they are read.

    SQLAlchemy asks for the description after every statement but reads it only the first
    time a statement runs: it keeps the result's shape with the compiled statement, and
    afterwards only checks that there is one. psycopg built a Column object per column at
    every ask, 25-35 microseconds for the session check's 22 columns, a tenth of that
    statement's time. The engine's connections use it (hiring.engine_options)."""

    @property
    def description(self):
        result = self.pgresult
        if result is None or not result.nfields:
            return super().description  # None, or no columns: nothing to build
        return _Description(self, result)


class _Description(Sequence):
    """A result's columns, psycopg's own Column objects, built at the first read."""

    __slots__ = ("_cursor", "_result", "_columns")

    def __init__(self, cursor: psycopg.Cursor, result) -> None:
        self._cursor, self._result, self._columns = cursor, result, None

    def _built(self) -> list:
        if self._columns is None:
            # Read from the result this description belongs to, even after the cursor
            # has run another statement (Column reads these three of a cursor).
            source = SimpleNamespace(pgresult=self._result, _encoding=self._cursor._encoding,
                                     adapters=self._cursor.adapters)
            self._columns = [psycopg.Column(source, i) for i in range(self._result.nfields)]
        return self._columns

    def __len__(self) -> int:
        return self._result.nfields

    def __getitem__(self, index):
        return self._built()[index]

    def __repr__(self) -> str:
        return repr(self._built())
