"""The PostgreSQL connection: one ledger that many CI machines write to and read from.

A connection lost mid-run is opened again with back-off and the batch is
retried; writes stay batched, one transaction per batch. The URL's password
never leaves this module: ``location`` is the redacted URL. The schema comes
from the same numbered migrations as SQLite's (``postgres_schema``).
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from uetf_core.errors import ConfigError, LedgerError, LedgerUnreachableError
from uetf_core.ledger.connection import (
    Connection,
    Constant,
    Cursor,
    Params,
    Row,
    encodable,
    literal,
)
from uetf_core.ledger.postgres_schema import migrate
from uetf_core.redact import redact, scrub

# Seconds between attempts to reach the server again; UETF_PG_RETRIES=N keeps the first N.
RETRIES = (0.5, 1.0, 2.0, 4.0)


def _import_psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise ConfigError(
            "a postgresql:// ledger needs psycopg: pip install 'uetf[postgres]'"
        ) from None
    return psycopg


@functools.lru_cache(maxsize=1024)
def marked(sql: str) -> str:
    """A statement with psycopg's parameter marker for each ``?`` (and ``%`` escaped,
    which psycopg would read as one); kept: a run sends the same few dozen again."""
    return sql.replace("%", "%%").replace("?", "%s")


class PgRow(tuple):  # type: ignore[type-arg]
    """A result row read by position or by column name, as ``sqlite3.Row`` is."""

    __slots__ = ()  # a plain tuple underneath: no dict per row
    names: tuple[str, ...] = ()

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self.names.index(key))
        return tuple.__getitem__(self, key)

    def keys(self) -> tuple[str, ...]:
        return self.names


# A row class for each shape of result: a class made per query cost more than its rows.
_ROW_KINDS: dict[tuple[str, ...], type[PgRow]] = {}


def _row_factory(cursor: Any) -> Any:
    names = tuple(column.name for column in cursor.description or ())
    kind = _ROW_KINDS.get(names)
    if kind is None:
        kind = _ROW_KINDS[names] = type("Row", (PgRow,), {"names": names, "__slots__": ()})
    return kind


class _Cursor:
    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor
        self.rowcount: int = cursor.rowcount

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return list(self._cursor.fetchall())

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor)


class PostgresDb(Connection):
    """A connection to the ledger in a PostgreSQL database, by URL."""

    ENGINE = "postgresql"
    IS = "IS NOT DISTINCT FROM"
    FIND = "strpos"

    def __init__(self, url: str) -> None:
        super().__init__(redact(url))
        self.url = url
        self._staged: set[str] = set()  # temporary tables made on this connection
        self._types: dict[str, dict[str, int]] = {}  # table: column: type OID
        self._psycopg = _import_psycopg()
        self.raw: Any = self._connect()
        migrate(self)

    # -- the connection, with back-off ----------------------------------------

    def _connect(self) -> Any:
        last: Exception | None = None
        retries = RETRIES[: int(os.environ.get("UETF_PG_RETRIES", len(RETRIES)))]
        for pause in (0.0, *retries):
            time.sleep(pause)
            try:
                # TLS and every other libpq option pass through the URL's query.
                return self._psycopg.connect(self.url, autocommit=True)
            except self._psycopg.OperationalError as exc:
                last = exc
                if _refused(exc):
                    break
            except self._psycopg.ProgrammingError as exc:  # libpq could not parse the URL
                raise ConfigError(
                    f"{self.location}: not a valid PostgreSQL connection string"
                    f" ({self._first_line(exc)})"
                ) from None
        if last is not None and _refused(last):
            # Waiting does not change the server's answer; and a spool would hide a
            # setting to fix: say it now, once.
            raise LedgerError(
                f"{self.location}: the PostgreSQL server refused the connection"
                f" ({self._first_line(last)}); check the user, password and database"
                " of the ledger URL"
            )
        raise LedgerUnreachableError(
            f"{self.location}: cannot reach the PostgreSQL ledger ({self._first_line(last)})"
        )

    def _first_line(self, error: Exception | None) -> str:
        """The first line of a driver's message, with every secret of the URL masked
        (libpq quotes a malformed part of the URL back, which may be the password)."""
        return scrub(_first_line(error), self.url)

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        try:
            yield
        except self._psycopg.Error as exc:
            message = f"{self.location}: ledger operation failed: {self._first_line(exc)}"
            raise LedgerError(message) from None

    def _reconnect(self) -> None:
        with contextlib.suppress(Exception):
            self.raw.close()
        self._staged.clear()  # temporary tables end with their connection
        self.raw = self._connect()

    def rolled_back(self) -> None:
        self._staged.clear()  # a temporary table made in the transaction went with it

    def begin(self) -> None:
        """A lost connection is opened again first, so a batch is never half-written."""
        try:
            self.execute("BEGIN")
        except self._psycopg.OperationalError:
            self._reconnect()
            with self.guard():
                self.execute("BEGIN")

    def _lost(self) -> bool:
        return bool(self.raw.closed or self.raw.broken)

    # -- statements -----------------------------------------------------------

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        cursor = self.raw.cursor(row_factory=_row_factory)
        # psycopg may have sent part of a statement when text fails to encode: escape
        # such text first (connection.encodable), as SQLite's connection does on failure.
        params = tuple(encodable(params))
        cursor.execute(marked(sql) if params else sql, params or None)
        return _Cursor(cursor)

    def executemany(self, sql: str, rows: Iterable[Params]) -> Cursor:
        cursor = self.raw.cursor()
        rows = [encodable(row) for row in rows]
        if rows:
            cursor.executemany(marked(sql), rows)
        return _Cursor(cursor)

    def query(self, sql: str, params: Params = ()) -> list[Row]:
        for attempt in range(2):
            try:
                with self.guard():
                    rows: list[Row] = self.execute(sql, params).fetchall()
                    return rows
            except LedgerError:
                if attempt or self.in_transaction or not self._lost():
                    raise
                self._reconnect()  # reads are safe to repeat on a new connection
        raise AssertionError("unreachable")  # pragma: no cover

    def insert_ignore(self, table: str, columns: Sequence[str]) -> str:
        marks = ", ".join("?" * len(columns))
        return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) ON CONFLICT DO NOTHING"

    def upsert(self, table: str, columns: Sequence[str], keys: Sequence[str]) -> str:
        marks = ", ".join("?" * len(columns))
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c not in keys)
        return (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
            f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
        )

    def insert_rows(
        self,
        table: str,
        columns: Sequence[str],
        rows: Iterable[Params],
        constants: Sequence[Constant] = (),
        *,
        ignore: bool = False,
    ) -> None:
        """Rows into a table by COPY, PostgreSQL's own bulk path.

        A statement of thousands of parameters costs psycopg more than the
        server's work on them, and executemany twice COPY (measured). Rows that
        may already be there (``ignore``) are copied into a temporary table of
        this connection first, then inserted from it with ON CONFLICT DO NOTHING.
        """
        rows = [encodable(row) for row in rows]
        if not rows:  # four round trips for nothing, on every batch of known tests
            return
        types = self._column_types(table)
        if not ignore:
            if constants:
                values = tuple(value for _, value in constants)
                rows = [(*row, *values) for row in rows]
            self._copy(table, [*columns, *(name for name, _ in constants)], types, rows)
            return
        stage = f"uetf_stage_{table}"
        if stage not in self._staged:  # "IF NOT EXISTS" costs a catalog lookup each time
            self.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {stage} AS"
                f" SELECT {', '.join(columns)} FROM {table} WITH NO DATA"
            )
            self._staged.add(stage)
        self._copy(stage, columns, types, rows)
        names = [*columns, *(name for name, _ in constants)]
        chosen = [*columns, *(literal(value) for _, value in constants)]
        self.execute(
            f"INSERT INTO {table} ({', '.join(names)}) SELECT {', '.join(chosen)}"
            f" FROM {stage} ON CONFLICT DO NOTHING"
        )
        self.execute(f"DELETE FROM {stage}")

    def _copy(
        self,
        table: str,
        columns: Sequence[str],
        types: dict[str, int],
        rows: Iterable[Params],
    ) -> None:
        """COPY in PostgreSQL's binary format: a number is sent as its bytes. The text
        format wrote each float as its shortest decimal, seven floats a record (the
        largest part of the client's work for a large run), and the server parsed
        it back."""
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
        with self.raw.cursor().copy(sql) as copy:
            copy.set_types([types[column] for column in columns])
            for values in rows:
                copy.write_row(values)

    def _column_types(self, table: str) -> dict[str, int]:
        """Each column's type (its OID), which a binary COPY names; read once a table."""
        types = self._types.get(table)
        if types is None:
            rows = self.execute(
                "SELECT attname, atttypid FROM pg_attribute"
                " WHERE attrelid = ?::regclass AND attnum > 0 AND NOT attisdropped",
                (table,),
            ).fetchall()
            types = self._types[table] = {name: int(oid) for name, oid in rows}
        return types

    # -- the database as a whole ----------------------------------------------

    def close(self) -> None:
        self.raw.close()

    def schema_version(self) -> int:
        row = self.query("SELECT value FROM meta WHERE key = 'schema_version'")
        return int(row[0][0]) if row else 0

    def run_tables(self) -> list[str]:
        return [
            row[0]
            for row in self.query(
                "SELECT table_name FROM information_schema.columns"
                " WHERE column_name = 'run_pk' AND table_schema = current_schema()"
                " ORDER BY table_name"
            )
        ]

    def columns(self, table: str) -> list[str]:
        return [
            row[0]
            for row in self.query(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ?"
                " AND table_schema = current_schema() AND column_name NOT IN ('pk', 'rowid')"
                " ORDER BY ordinal_position",
                (table,),
            )
        ]

    def size(self) -> tuple[int, int]:
        size = self.query("SELECT pg_database_size(current_database())")[0][0]
        return int(size), 0

    def vacuum(self) -> None:
        """VACUUM (ANALYZE) of the ledger's tables: the space of deleted rows is made
        reusable now, not when autovacuum comes, and the planner's statistics are
        renewed. The database's files keep their size (only VACUUM FULL, which locks
        every writer out, would shrink them)."""
        tables = self.query(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            " ORDER BY table_name"
        )
        with self.guard():
            for (table,) in tables:  # VACUUM runs outside a transaction: autocommit
                self.execute(f'VACUUM (ANALYZE) "{table}"')


# What a server says when it will never accept this URL, however long one waits:
# a wrong password or user, a missing database, no pg_hba.conf entry.
_REFUSALS = (
    "password authentication failed",
    "no password supplied",
    "authentication failed for user",
    "does not exist",
    "no pg_hba.conf entry",
    "permission denied for database",
)


def _refused(error: Exception) -> bool:
    text = str(error)
    return any(refusal in text for refusal in _REFUSALS)


def _first_line(error: Exception | None) -> str:
    text = str(error or "unknown error").strip()
    return text.splitlines()[0] if text else type(error).__name__
