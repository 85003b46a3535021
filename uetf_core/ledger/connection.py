"""The connection layer: one class per back end, the only code that knows its engine.

The ledger's queries (``uetf_core.ledger.queries``) and its write path
(``uetf_core.ledger.writes``, ``layouts``) are written once, in SQL both engines run, with
``?`` for every parameter. What differs between the engines is said here, once
per dialect, as methods and constants the queries call, never by rewriting a
statement's text: how rows are inserted in bulk (SQLite: multi-row VALUES;
PostgreSQL: binary COPY), how a row that may exist is inserted or replaced, the
null-safe comparison, the name of ``instr``, and how a transaction starts.
The only rewrite left is the parameter marker itself (psycopg has no ``?``),
one ``str.replace`` per distinct statement, kept.

Like coverage.py's ``SqliteDb``, a connection also owns the transaction
discipline: a nesting ``transaction()`` whose outermost ``with`` commits.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol, TypeVar, cast

T = TypeVar("T")

# A constant column of a bulk insert: the same value in every row (a run's key, the
# outcome of a passed test), sent once in the statement rather than once per row.
Constant = tuple[str, "int | str | None"]
# The values bound to a statement's ``?`` marks, in order.
Params = Sequence[object]


def encodable(params: Params) -> Params:
    """``params`` with each text UTF-8 cannot encode shown as its escapes (``\\udce9``);
    ``params`` itself when there is none.

    Such text is a lone surrogate: what Python makes of bytes that were not UTF-8 in
    a file or folder name, a command-line argument or an environment variable (a
    project under a folder named in Latin-1, ``-k`` given such bytes). Neither back
    end can store it, and refusing it would lose a run over its name.
    """
    if all(not isinstance(value, str) or value.isascii() for value in params):
        return params
    escaped = tuple(_escaped(value) if isinstance(value, str) else value for value in params)
    return params if escaped == tuple(params) else escaped  # the same object: nothing to escape


def _escaped(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


class Row(Protocol):
    """A result row read by position or by column name (``sqlite3.Row`` is one)."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def __iter__(self) -> Iterator[Any]: ...

    def __len__(self) -> int: ...

    def keys(self) -> Sequence[str]: ...


class Cursor(Protocol):
    """What a statement gives back: its rows, and how many rows it changed."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection:
    """A ledger's connection to its engine: transactions, statements, dialect."""

    location: str
    """Where the ledger is, safe to print (no password)."""

    ENGINE = ""
    """The engine's name: ``sqlite`` or ``postgresql``."""
    # The dialect: the spellings a query composes its SQL from.
    IS = "IS"
    """Null-safe equality: ``a IS ?`` is true when both are NULL."""
    FIND = "instr"
    """``FIND(haystack, needle)``: 1-based position of needle, 0 if absent."""

    def __init__(self, location: str) -> None:
        self.location = location
        self._depth = 0
        # The line of a damage met on this connection: every later write is refused.
        self.damage: str | None = None
        # Figures of a run's results (totals, troubled tests) read since this
        # connection last wrote results: the verdict, then the summary, read
        # them at the end of a run. A write of anything else keeps them.
        self._results: dict[tuple[str, str], object] = {}

    # -- what each engine says its own way ----------------------------------

    def guard(self) -> contextlib.AbstractContextManager[None]:
        """Turn the engine's errors into one-line ``LedgerError``s."""
        raise NotImplementedError

    def begin(self) -> None:
        """Start the outermost transaction, taking the write lock if the engine can."""
        raise NotImplementedError

    def rolled_back(self) -> None:
        """Forget what this connection made in a transaction that did not commit."""

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        raise NotImplementedError

    def executemany(self, sql: str, rows: Iterable[Params]) -> Cursor:
        raise NotImplementedError

    def query(self, sql: str, params: Params = ()) -> list[Row]:
        """All rows of a read, its errors as ``LedgerError``."""
        raise NotImplementedError

    def insert_rows(
        self,
        table: str,
        columns: Sequence[str],
        rows: Iterable[Params],
        constants: Sequence[Constant] = (),
        *,
        ignore: bool = False,
    ) -> None:
        """Many rows into ``table`` the engine's fastest way, in their order.

        ``columns`` name each row's values; ``constants`` are columns with one
        value for all rows. ``ignore``: a row whose key is there already is skipped.
        """
        raise NotImplementedError

    def insert_ignore(self, table: str, columns: Sequence[str]) -> str:
        """An INSERT of one row that skips a row whose key is there already."""
        raise NotImplementedError

    def upsert(self, table: str, columns: Sequence[str], keys: Sequence[str]) -> str:
        """An INSERT of one row that replaces the row of the same ``keys``."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def schema_version(self) -> int:
        raise NotImplementedError

    def run_tables(self) -> list[str]:
        """The tables whose rows belong to one run (they have a ``run_pk``)."""
        raise NotImplementedError

    def columns(self, table: str) -> list[str]:
        """The columns of ``table``, in order, without an engine-made key (``pk``)."""
        raise NotImplementedError

    def size(self) -> tuple[int, int]:
        """The ledger's size in bytes, and how much of it is free for new rows."""
        raise NotImplementedError

    def vacuum(self) -> None:
        raise NotImplementedError

    def check_whole(self) -> None:
        """Refuse a damaged ledger before a command deletes or rewrites anything."""

    def integrity_problems(self) -> list[str]:
        return []

    # -- shared by every engine ----------------------------------------------

    @contextlib.contextmanager
    def transaction(self, keeps_results: bool = False) -> Iterator[Connection]:
        """A write transaction; nested uses join the outermost, which commits.

        ``keeps_results``: the write leaves every run's tasks, executions and
        errors as they were, so figures read from them stay valid.
        """
        if self.damage is not None:
            from uetf_core.errors import LedgerCorruptError

            raise LedgerCorruptError(self.damage)
        if not keeps_results:
            self._results.clear()
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self.begin()
        self._depth = 1
        try:
            with self.guard():
                yield self
        except BaseException:
            # The error says what went wrong; a failed rollback (the engine may
            # have rolled back already, or the connection is gone) must not hide it.
            with contextlib.suppress(Exception):
                self.execute("ROLLBACK")
            self.rolled_back()
            raise
        else:
            with self.guard():
                self.execute("COMMIT")
        finally:
            self._depth = 0

    @property
    def in_transaction(self) -> bool:
        return bool(self._depth)

    def remembered(self, kind: str, run_id: str, read: Callable[[str], T]) -> T:
        """``read(run_id)``, or what it returned since the run's results last changed."""
        key = (kind, run_id)
        if key in self._results:
            return cast(T, self._results[key])
        value = self._results[key] = read(run_id)
        return value


def in_chunks(values: Sequence[T]) -> Iterator[tuple[Sequence[T], str]]:
    """``values`` in slices an ``IN (...)`` list holds on every engine (old SQLite
    builds allow 999 parameters), each with its placeholders."""
    for start in range(0, len(values), 500):
        chunk = values[start : start + 500]
        yield chunk, ", ".join("?" * len(chunk))


def literal(value: int | str | None) -> str:
    """A constant of the ledger's own (an integer key, an outcome's name) as SQL text."""
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(int(value))
    return "'" + value.replace("'", "''") + "'"
