"""The SQLite connection: one file, safe for several processes at once.

Writes go through :meth:`Connection.transaction` (``BEGIN IMMEDIATE``: a writer
waits for the lock up front instead of failing half-way), WAL lets readers go
on during a write, and a busy timeout makes concurrent runs queue rather than
fail with "database is locked". The file is probed read-only before anything
is written (``uetf_core.ledger.sqlite_file``).
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from pathlib import Path

from uetf_core.errors import LedgerCorruptError, LedgerError
from uetf_core.ledger import sqlite_file
from uetf_core.ledger.connection import (
    Connection,
    Constant,
    Cursor,
    Params,
    Row,
    encodable,
    literal,
)
from uetf_core.ledger.migrations import AFTER, MIGRATIONS, SCHEMA_VERSION
from uetf_core.ledger.sqlite_file import (
    APPLICATION_ID,
    connect_read_only,
    create_folder,
    damaged_message,
    ledger_error,
    probe,
    problems,
)
from uetf_core.timeutil import iso

# A multi-row insert: table, columns, constants, whether it ignores conflicts, rows.
Shape = tuple[str, Sequence[str], Sequence[Constant], bool, int]


class SqliteDb(Connection):
    """A connection to one SQLite ledger file, opened, checked and migrated."""

    ENGINE = "sqlite"

    def __init__(self, path: Path, *, read_only: bool = False, check: str = "run") -> None:
        """Open the ledger at ``path``, creating or migrating it unless ``read_only``.

        ``check`` is how much of an existing file is checked for damage before
        anything is written (see :func:`sqlite_file.probe`); ``read_only`` opens a
        connection that cannot write, for commands that only read (read-only media too).
        """
        super().__init__(str(path))
        self.path = path
        # Multi-row inserts, by shape: a run sends the same few again and again.
        self._statements: dict[Shape, str] = {}
        if read_only:
            self.raw = connect_read_only(path)
            try:
                self.version = probe(path, check, self.raw)
            except LedgerError:
                self.raw.close()
                raise
            self._max_parameters = _max_parameters(self.raw)
            return
        self.version = -1  # a new file: created below
        if path.exists():
            self.version = probe(path, check)
        elif not path.parent.exists():
            create_folder(path.parent)
        try:
            self.raw = sqlite3.connect(
                str(path),
                timeout=sqlite_file.BUSY_TIMEOUT_S,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise ledger_error(path, exc) from None
        self._max_parameters = _max_parameters(self.raw)
        with self.guard():
            self.raw.execute("PRAGMA foreign_keys = ON")
            # Pages are checked as they are read, so damage the open check did not
            # reach is met before a write builds on it.
            self.raw.execute("PRAGMA cell_size_check = ON")
            # WAL: readers never block the writer; NORMAL is crash-safe in WAL mode
            # (a killed process loses nothing committed), only power loss can.
            _wal(self.raw)
            self.raw.execute("PRAGMA synchronous = NORMAL")
        if self.version != SCHEMA_VERSION:
            # A current ledger takes no write lock to open: commands that read go on
            # while a run writes, and a read-only command never waits for one.
            self._migrate()
            self.version = SCHEMA_VERSION

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        """Turn SQLite's errors into one-line ledger errors naming the file and the cause.

        Damage met here is remembered: every later write is refused with its line.
        """
        try:
            yield
        except sqlite3.Error as exc:
            error = ledger_error(self.path, exc)
            if isinstance(error, LedgerCorruptError):
                self.damage = str(error.args[0])
            raise error from None

    def begin(self) -> None:
        """IMMEDIATE takes the write lock now."""
        with self.guard():
            self.raw.execute("BEGIN IMMEDIATE")

    # Text UTF-8 cannot encode fails as it is bound, before the statement runs: the
    # statement is run again with it escaped (connection.encodable), at no cost to
    # the statements that bind none.

    def execute(self, sql: str, params: Params = ()) -> sqlite3.Cursor:
        try:
            return self.raw.execute(sql, params)
        except UnicodeEncodeError:
            return self.raw.execute(sql, encodable(params))

    def executemany(self, sql: str, rows: Iterable[Params]) -> Cursor:
        rows = rows if isinstance(rows, list) else list(rows)
        try:
            return self.raw.executemany(sql, rows)
        except UnicodeEncodeError:
            # The rows before the first that failed to bind were written: go on from it.
            first = next(i for i, row in enumerate(rows) if encodable(row) is not row)
            return self.raw.executemany(sql, [encodable(row) for row in rows[first:]])

    def query(self, sql: str, params: Params = ()) -> list[Row]:
        with self.guard():
            cursor = self.execute(sql, params)  # a name asked for in such text, as stored
            cursor.row_factory = sqlite3.Row
            rows: list[Row] = cursor.fetchall()
            return rows

    def insert_rows(
        self,
        table: str,
        columns: Sequence[str],
        rows: Iterable[Params],
        constants: Sequence[Constant] = (),
        *,
        ignore: bool = False,
    ) -> None:
        """``INSERT ... VALUES row, row, ...`` for all ``rows``, up to 100 rows per statement.

        A statement of many rows does the engine's work in one step; executemany
        binds and steps a statement per row. But the engine parses a statement
        once per connection, and a long statement costs much to parse: 100 rows
        a statement measured cheapest, below both 500 rows a statement and
        executemany (docs/performance.md). Within the engine's parameter limit.
        Constants are written into the statement's row, so fewer values are bound.
        """
        width = len(columns)
        per = max(1, min(100, self._max_parameters // width))
        pending = list(rows)
        execute = self.execute
        for start in range(0, len(pending), per):
            chunk = pending[start : start + per]
            shape: Shape = (table, columns, constants, ignore, len(chunk))
            sql = self._statements.get(shape)
            if sql is None:
                sql = self._statements[shape] = self._multi_row(shape)
            execute(sql, list(chain.from_iterable(chunk)))

    @staticmethod
    def _multi_row(shape: Shape) -> str:
        table, columns, constants, ignore, count = shape
        names = ", ".join([*columns, *(name for name, _ in constants)])
        row = "(" + ", ".join(["?"] * len(columns) + [literal(v) for _, v in constants]) + ")"
        verb = "INSERT OR IGNORE" if ignore else "INSERT"
        return f"{verb} INTO {table} ({names}) VALUES {', '.join([row] * count)}"

    def insert_ignore(self, table: str, columns: Sequence[str]) -> str:
        marks = ", ".join("?" * len(columns))
        return f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) VALUES ({marks})"

    def upsert(self, table: str, columns: Sequence[str], keys: Sequence[str]) -> str:
        marks = ", ".join("?" * len(columns))
        return f"INSERT OR REPLACE INTO {table} ({', '.join(columns)}) VALUES ({marks})"

    def _migrate(self) -> None:
        with self.transaction() as db:
            # Read the version inside the lock: another process may have just migrated.
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                message = (
                    f"{self.path}: the ledger has schema version {version}, newer than this "
                    f"UETF understands ({SCHEMA_VERSION}); upgrade uetf"
                )
                raise LedgerError(message)
            for number in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        db.execute(statement)
                if number + 1 in AFTER:
                    AFTER[number + 1](db)
                db.execute(f"PRAGMA user_version = {number + 1}")
            if version == 0:
                db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                db.execute(
                    "INSERT INTO meta (key, value) VALUES ('created_at', ?)", (iso(time.time()),)
                )

    def close(self) -> None:
        self.raw.close()

    def schema_version(self) -> int:
        return int(self.query("PRAGMA user_version")[0][0])

    def run_tables(self) -> list[str]:
        return [
            row[0]
            for row in self.query(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'runs'"
            )
            if any(col[1] == "run_pk" for col in self.query(f"PRAGMA table_info({row[0]})"))
        ]

    def columns(self, table: str) -> list[str]:
        return [row[1] for row in self.query(f"PRAGMA table_info({table})") if row[1] != "pk"]

    def size(self) -> tuple[int, int]:
        page_size = self.query("PRAGMA page_size")[0][0]
        pages = self.query("PRAGMA page_count")[0][0]
        free = self.query("PRAGMA freelist_count")[0][0]
        return pages * page_size, free * page_size

    def vacuum(self) -> None:
        """SQLite rewrites the file (which needs free disk as large as the ledger, and
        excludes its writers meanwhile)."""
        with self.guard():
            self.raw.execute("VACUUM")

    def check_whole(self) -> None:
        """quick_check over every page (3.5 s for the 776 MB of 5 million records)."""
        with self.guard():
            found = problems(self.raw, whole=True)
        if found:
            self.damage = damaged_message(self.path, found[0])
            raise LedgerCorruptError(self.damage)

    def integrity_problems(self) -> list[str]:
        rows = self.query("PRAGMA integrity_check")
        found = [row[0] for row in rows if row[0] != "ok"]
        found += [
            f"foreign key violation in {row[0]} (row {row[1]})"
            for row in self.query("PRAGMA foreign_key_check")
        ]
        return found

    @contextlib.contextmanager
    def attached(self, path: Path, name: str) -> Iterator[None]:
        """Another ledger file readable as schema ``name`` while the ``with`` lasts."""
        with self.guard():
            self.raw.execute("ATTACH DATABASE ? AS " + name, (str(path),))
        try:
            yield
        finally:
            with self.guard():
                self.raw.execute("DETACH DATABASE " + name)


def _wal(raw: sqlite3.Connection) -> None:
    """Put the file in WAL mode, waiting for other processes as any statement does.

    Turning a new file to WAL needs its exclusive lock, and SQLite answers "locked"
    at once, without its busy handler, while another process is creating the same
    ledger (jobs starting together on a fresh ledger). A file already in WAL mode
    answers at once.
    """
    deadline = time.monotonic() + sqlite_file.BUSY_TIMEOUT_S
    pause = 0.005
    while True:
        try:
            raw.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.25)


def _max_parameters(db: sqlite3.Connection) -> int:
    """How many parameters one statement may have on this SQLite build."""
    limit = getattr(db, "getlimit", None)  # Python 3.11 and later
    which = getattr(sqlite3, "SQLITE_LIMIT_VARIABLE_NUMBER", None)
    if limit is not None and which is not None:
        return int(limit(which))
    return 32766 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999
