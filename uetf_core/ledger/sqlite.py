"""The embedded ledger: one SQLite file, safe for several processes at once.

Discipline: the file is probed read-only before anything is written, so a
ledger that is corrupt, not a ledger, or newer than this UETF is refused and
left byte-identical. Writes go through :meth:`SqliteLedger.transaction`
(``BEGIN IMMEDIATE``: a writer waits for the lock up front instead of failing
half-way), WAL lets readers go on during a write, and a busy timeout makes
concurrent runs queue rather than fail with "database is locked".
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sqlite3
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from itertools import chain
from pathlib import Path
from typing import Any, TypeVar, cast

from uetf_core.errors import (
    LedgerAccessError,
    LedgerCorruptError,
    LedgerError,
    LedgerFullError,
    LedgerLockedError,
    LedgerReadOnlyError,
    LedgerSettingError,
    RunNotFoundError,
)
from uetf_core.ids import collection_digest, test_key
from uetf_core.ledger.base import Batch, NewRun
from uetf_core.ledger.migrations import AFTER, MIGRATIONS, SCHEMA_VERSION, keys_of, keys_text
from uetf_core.metrics import RunMetrics, Totals
from uetf_core.records import PASSED_NODE_ID
from uetf_core.timeutil import iso

APPLICATION_ID = 0x55455446  # "UETF": marks a SQLite file as a ledger
BUSY_TIMEOUT_S = 60.0
T = TypeVar("T")
LIVE_STATES = ("pending", "initializing", "collecting", "running", "gating")
_ABSENT = object()


# SQLite's primary result codes (sqlite3.h); an exception's ``sqlite_errorcode``
# carries one in its low byte.
_BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 5, 6, 8, 10, 11, 13, 14, 26

# How much of the file a run checks before its first write. The whole file when it
# has at most this many pages (1 MiB at 4 KiB a page, a few milliseconds: a
# quick_check measured 44 ms for 8 MB and 2.8 s for the 776 MB of 5 million records,
# and 4 MiB put the recording overhead of 5,000 quick tests at its 1.03x limit);
# beyond, every table but the two that grow with each test of each run, which a run
# only appends to and reads the newest pages of (6 ms on the 776 MB ledger). Those
# pages are checked by SQLite as they are read (cell_size_check), and damage met
# then stops the writes with the same line.
FULL_CHECK_PAGES = 256
GROWING_TABLES = ("executions", "tasks")


def damaged_message(path: Path, detail: str) -> str:
    """The one line for a damaged ledger, at open and wherever the damage is met later."""
    return (
        f"{path}: the ledger is damaged ({detail}); it was left untouched: "
        "restore it from a backup, or move it aside and point --uetf-ledger elsewhere"
    )


def _writable(path: Path) -> bool:
    """Whether this process may write the file and its folder (False on read-only media)."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def _disk_full(path: Path) -> bool:
    """Whether the disk holding ``path`` has no room left for a page of WAL."""
    try:
        stats = os.statvfs(path.parent)
    except OSError:
        return False
    return stats.f_bavail * stats.f_frsize < 64 * 1024


def ledger_error(path: Path, exc: sqlite3.Error) -> LedgerError:
    """The one-line error for a SQLite failure on ``path``: its cause, and the fix.

    A damaged file is told from a full disk, read-only media, permission denied and
    a lock held by another process: only damage calls for moving the file aside.
    """
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    if code in (_CORRUPT, _NOTADB):
        return LedgerCorruptError(damaged_message(path, str(exc)))
    # A full disk fails the shared-memory file's creation as an I/O error.
    if code == _FULL or (code in (_IOERR, _CANTOPEN) and _disk_full(path)):
        return LedgerFullError(
            f"{path}: ledger disk full ({exc}); what was recorded before is kept: "
            "free space on that disk (or point --uetf-ledger at another) and run again"
        )
    if code in (_BUSY, _LOCKED):
        return LedgerLockedError(
            f"{path}: the ledger is locked by another process (waited {BUSY_TIMEOUT_S:g} s); "
            "let that process finish ('uetf runs' shows live runs) and run again"
        )
    if path.exists() and not os.access(path, os.R_OK):
        return LedgerAccessError(
            f"{path}: permission denied reading the ledger; give this user read and write "
            "permission on the file and its folder, or point --uetf-ledger elsewhere"
        )
    if code == _READONLY or (code == _CANTOPEN and path.exists() and not _writable(path)):
        return LedgerReadOnlyError(
            f"{path}: the ledger is on read-only media or not writable by this user; "
            "commands that only read it still work: make the file and its folder writable, "
            "or point --uetf-ledger at a writable path"
        )
    if code == _IOERR:
        return LedgerError(
            f"{path}: the disk reported an input/output error on the ledger ({exc}); "
            "check the disk and run again"
        )
    return LedgerError(f"{path}: ledger operation failed: {exc}")


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """A connection that cannot write ``path``; on read-only media, an immutable one.

    A WAL ledger opened read-only needs its shared-memory file, which read-only
    media or a full disk cannot create: there the file is opened as immutable,
    exact when nothing can change it (a WAL left by a crash there is not read).
    """
    uri = path.resolve().as_uri()
    db: sqlite3.Connection | None = None
    try:
        db = sqlite3.connect(
            f"{uri}?mode=ro",
            uri=True,
            timeout=BUSY_TIMEOUT_S,
            isolation_level=None,
            check_same_thread=False,
        )
        db.execute("SELECT 1 FROM sqlite_master LIMIT 1")  # the file is opened lazily
        return db
    except sqlite3.Error as exc:
        if db is not None:
            db.close()
        # Read-only media, or a full disk, cannot take the shared-memory file.
        error = ledger_error(path, exc)
        if not isinstance(error, (LedgerReadOnlyError, LedgerFullError)):
            raise error from None
    db = sqlite3.connect(
        f"{uri}?immutable=1", uri=True, isolation_level=None, check_same_thread=False
    )
    try:
        db.execute("SELECT 1 FROM sqlite_master LIMIT 1")
    except sqlite3.Error as exc:
        db.close()
        raise ledger_error(path, exc) from None
    return db


def _problems(db: sqlite3.Connection, whole: bool) -> list[str]:
    """What SQLite's quick_check finds: over the whole file, or as a run affords it."""
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    if whole or pages <= FULL_CHECK_PAGES:
        rows = db.execute("PRAGMA quick_check").fetchall()
    else:
        tables = db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).fetchall()
        rows = []
        for (table,) in tables:
            if table not in GROWING_TABLES:
                rows += db.execute(f'PRAGMA quick_check("{table}")').fetchall()
    return [str(row[0]) for row in rows if row[0] != "ok"]


def _probe(path: Path, check: str = "none", db: sqlite3.Connection | None = None) -> int:
    """The schema version of an existing file, read without writing; 0 for an empty file.

    ``check``: ``"none"``, ``"run"`` (what a run affords) or ``"whole"`` (quick_check
    over every page, before a command that deletes or rewrites). ``db``: a read-only
    connection to use (and keep open) instead of one of its own.
    """
    if path.stat().st_size == 0:
        return 0  # an empty file is a new ledger: nothing in it to lose
    probe = db or _connect_read_only(path)
    try:
        # One read transaction: another process may be creating this ledger right
        # now, and its tables and its application id must be seen from one snapshot.
        probe.execute("BEGIN")
        app_id = probe.execute("PRAGMA application_id").fetchone()[0]
        version = probe.execute("PRAGMA user_version").fetchone()[0]
        tables = probe.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        problems = _problems(probe, check == "whole") if check != "none" else []
        probe.execute("COMMIT")
    except sqlite3.Error as exc:
        raise ledger_error(path, exc) from None
    finally:
        if db is None:
            probe.close()
    if problems:
        raise LedgerCorruptError(damaged_message(path, problems[0]))
    if app_id != APPLICATION_ID and (app_id != 0 or tables):
        message = (
            f"{path}: this SQLite file is not a UETF ledger; it was left untouched: "
            "point --uetf-ledger (or UETF_LEDGER) at another path"
        )
        raise LedgerError(message)
    if version > SCHEMA_VERSION:
        message = (
            f"{path}: the ledger has schema version {version}, newer than this UETF "
            f"understands ({SCHEMA_VERSION}); upgrade uetf (pip install -U uetf). "
            "The ledger was left untouched"
        )
        raise LedgerError(message)
    return int(version)


def _create_folder(folder: Path) -> None:
    """Create the ledger's folder with a .gitignore, so the ledger is never committed."""
    blocker = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        message = (
            f"ledger path {folder}: {blocker} is a file, not a folder; point --uetf-ledger "
            "(or ledger in [tool.uetf]) at a path inside a folder"
        )
        raise LedgerSettingError(message)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        ignore = folder / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# Created by uetf: the ledger is local data, not source.\n*\n")
    except OSError as exc:
        where = Path(exc.filename) if exc.filename else folder
        if exc.errno == errno.EROFS:
            message = (
                f"{where}: cannot create the ledger's folder on read-only media; "
                "point --uetf-ledger at a writable path"
            )
            raise LedgerReadOnlyError(message) from None
        message = (
            f"{where}: cannot create the ledger's folder ({exc.strerror}); make its parent "
            "writable or point --uetf-ledger at a writable path"
        )
        raise LedgerAccessError(message) from None


# The final attempt of each test of one run (the earlier ones were reruns); one
# parameter, the run's key. Window functions, so the same SQL runs on PostgreSQL.
FINAL_ATTEMPTS = (
    "SELECT test_key, outcome FROM (SELECT test_key, outcome, row_number() OVER"
    " (PARTITION BY test_key ORDER BY attempt DESC) AS rn FROM executions WHERE run_pk = ?)"
    " AS ranked WHERE rn = 1"
)


EXECUTION_COLUMNS = (
    "run_pk, test_key, attempt, worker, outcome, setup_outcome, setup_duration, call_outcome,"
    " call_duration, teardown_outcome, teardown_duration, duration, started_at, finished_at,"
    " skip_reason, xfail_reason, cpu_seconds"
)


def _passed_row(run_pk: int) -> str:
    """The VALUES row of a passed record in ``EXECUTION_COLUMNS``: its constants inline."""
    return (
        f"({int(run_pk)}, ?, ?, ?, 'passed', 'passed', ?, 'passed', ?, 'passed', ?,"
        " ?, ?, ?, NULL, NULL, ?)"
    )


ERROR_COLUMNS = (
    "run_pk, node_id, attempt, phase, exc_type, message, path, lineno, traceback, truncated"
)


class SqliteLedger:
    """A ledger in one SQLite file."""

    read_only = False
    # The line of a damage met on this connection: every later write is refused with it.
    # On the class too, for a back end whose opening does not run this __init__.
    _damage: str | None = None

    def __init__(self, path: Path, *, read_only: bool = False, check: str = "run") -> None:
        """Open the ledger at ``path``, creating or migrating it unless ``read_only``.

        ``check`` is how much of an existing file is checked for damage before
        anything is written (see :func:`_probe`); ``read_only`` opens a connection
        that cannot write, for commands that only read (read-only media too).
        """
        self.path = path
        self.location = str(path)
        self.dsn = str(path)  # what open_ledger takes to open this ledger again
        self.read_only = read_only
        self._depth = 0
        self._damage = None
        # The key of each node id this connection knows is in `tests`: a batch
        # then inserts only new ones, and hashes each node id once per run.
        self._known_keys: dict[str, int] = {}
        self._own_runs: dict[str, int | None] = {}  # runs created here: their keys, once read
        # Figures of a run's results (totals, troubled tests) read since this
        # connection last wrote results: the verdict, then the summary, read
        # them at the end of a run. A write of anything else keeps them.
        self._results: dict[tuple[str, str], Any] = {}
        self._statements: dict[tuple[str, str, int], str] = {}  # multi-row inserts, by shape
        if read_only:
            self._db = _connect_read_only(path)
            try:
                self.version = _probe(path, check, self._db)
            except LedgerError:
                self._db.close()
                raise
            self._max_parameters = _max_parameters(self._db)
            return
        self.version = -1  # a new file: created below
        if path.exists():
            self.version = _probe(path, check)
        elif not path.parent.exists():
            _create_folder(path.parent)
        try:
            self._db = sqlite3.connect(
                str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise ledger_error(path, exc) from None
        self._max_parameters = _max_parameters(self._db)
        with self._guard():
            self._db.execute("PRAGMA foreign_keys = ON")
            # Pages are checked as they are read, so damage the open check did not
            # reach is met before a write builds on it.
            self._db.execute("PRAGMA cell_size_check = ON")
            # WAL: readers never block the writer; NORMAL is crash-safe in WAL mode
            # (a killed process loses nothing committed), only power loss can.
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
        if self.version != SCHEMA_VERSION:
            # A current ledger takes no write lock to open: commands that read go on
            # while a run writes, and a read-only command never waits for one.
            self._migrate()
            self.version = SCHEMA_VERSION

    # -- plumbing ---------------------------------------------------------

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn SQLite's errors into one-line ledger errors naming the file and the cause.

        Damage met here is remembered: every later write is refused with its line.
        """
        try:
            yield
        except sqlite3.Error as exc:
            error = ledger_error(self.path, exc)
            if isinstance(error, LedgerCorruptError):
                self._damage = str(error.args[0])
            raise error from None

    @contextlib.contextmanager
    def transaction(self, keeps_results: bool = False) -> Iterator[sqlite3.Connection]:
        """A write transaction; nested uses join the outermost, which commits.

        ``keeps_results``: the write leaves every run's tasks, executions and
        errors as they were, so figures read from them stay valid.
        """
        if self._damage is not None:
            raise LedgerCorruptError(self._damage)
        if not keeps_results:
            self._results.clear()
        if self._depth:
            self._depth += 1
            try:
                yield self._db
            finally:
                self._depth -= 1
            return
        self._begin()
        self._depth = 1
        try:
            with self._guard():
                yield self._db
        except BaseException:
            # The error says what went wrong; a failed rollback (the engine may
            # have rolled back already, or the connection is gone) must not hide it.
            with contextlib.suppress(Exception):
                self._db.execute("ROLLBACK")
            self._rolled_back()
            raise
        else:
            with self._guard():
                self._db.execute("COMMIT")
        finally:
            self._depth = 0

    def _rolled_back(self) -> None:
        """Forget what this connection made in a transaction that did not commit."""

    def _begin(self) -> None:
        """Start the outermost transaction; IMMEDIATE takes the write lock now."""
        with self._guard():
            self._db.execute("BEGIN IMMEDIATE")

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._guard():
            cursor = self._db.execute(sql, params)
            cursor.row_factory = sqlite3.Row
            return cursor.fetchall()

    def _insert_rows(
        self, db: Any, head: str, row: str, width: int, rows: Iterable[Sequence[Any]]
    ) -> None:
        """``head VALUES row, row, ...`` for all ``rows``, up to 100 rows per statement.

        A statement of many rows does the engine's work in one step; executemany
        binds and steps a statement per row. But the engine parses a statement
        once per connection, and a 500-row statement cost 13 million instructions
        to parse: 100 rows a statement measured cheapest (5,000 passed records:
        68 million instructions, against 80 million with 500 rows a statement
        and 85 million with executemany). Within the engine's parameter limit.
        """
        per = max(1, min(100, self._max_parameters // width))
        pending = list(rows)
        for start in range(0, len(pending), per):
            chunk = pending[start : start + per]
            shape = (head, row, len(chunk))
            sql = self._statements.get(shape)
            if sql is None:
                sql = self._statements[shape] = f"{head} VALUES {', '.join([row] * len(chunk))}"
            db.execute(sql, list(chain.from_iterable(chunk)))

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
        self._db.close()

    def schema_version(self) -> int:
        return int(self._query("PRAGMA user_version")[0][0])

    def _run_pk(self, run_id: str) -> int:
        known = self._own_runs.get(run_id)
        if known is not None:
            return known
        rows = self._query("SELECT pk FROM runs WHERE run_id = ?", (run_id,))
        if not rows:
            raise RunNotFoundError(f"no run {run_id!r} in ledger {self.location}")
        pk = int(rows[0][0])
        if run_id in self._own_runs:
            # A run this connection created: nearly every write of it needs its key
            # (a round trip per transaction on a server), and a live run keeps it.
            self._own_runs[run_id] = pk
        return pk

    # -- writing ----------------------------------------------------------

    def create_run(self, run: NewRun) -> None:
        self._own_runs[run.run_id] = None
        with self.transaction() as db:
            db.execute(
                "INSERT INTO runs (run_id, state, started_at, heartbeat_at, pid, host, rootdir,"
                " uetf_version, config_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run.run_id,
                    run.state,
                    run.started_at,
                    run.started_at,
                    run.pid,
                    run.host,
                    run.rootdir,
                    run.uetf_version,
                    json.dumps(run.config, allow_nan=False),
                ),
            )

    def set_run_state(
        self,
        run_id: str,
        state: str,
        *,
        finished_at: float | None = None,
        exit_status: int | None = None,
        end_reason: str | None = None,
        verdict: str | None = None,
    ) -> None:
        with self.transaction(keeps_results=True) as db:
            db.execute(
                "UPDATE runs SET state = ?, heartbeat_at = ?,"
                " finished_at = coalesce(?, finished_at), exit_status = coalesce(?, exit_status),"
                " end_reason = coalesce(?, end_reason), verdict = coalesce(?, verdict)"
                " WHERE run_id = ?",
                (state, time.time(), finished_at, exit_status, end_reason, verdict, run_id),
            )

    def set_partial(self, run_id: str, reason: str | None) -> None:
        with self.transaction(keeps_results=True) as db:
            db.execute(
                "UPDATE runs SET partial = ?, partial_reason = ? WHERE run_id = ?",
                (int(reason is not None), reason, run_id),
            )

    def partial_reason(self, run_id: str) -> str | None:
        rows = self._query("SELECT partial_reason FROM runs WHERE run_id = ?", (run_id,))
        return rows[0][0] if rows else None

    def coverage_percent(self, run_id: str) -> float | None:
        rows = self._query(
            "SELECT c.percent FROM coverage_totals c JOIN runs r ON r.pk = c.run_pk"
            " WHERE r.run_id = ?",
            (run_id,),
        )
        return float(rows[0][0]) if rows else None

    def add_tasks(self, run_id: str, node_ids: Sequence[str]) -> None:
        known = self._known_keys
        digest = collection_digest(node_ids)
        with self.transaction() as db:
            pk = self._run_pk(run_id)
            row = db.execute(
                "SELECT test_keys, size, collection_digest FROM tasks ORDER BY run_pk DESC LIMIT 1"
            ).fetchone()
            if row is not None and row[2] == digest:
                # Collected exactly as the newest run: its list holds these tests'
                # keys in this order, and its tests are stored.
                keys = keys_of(row)
                size, keys_json = row[1], row[0]
            else:
                keys = [known.get(node_id) or test_key(node_id) for node_id in node_ids]
                tests = dict(zip(keys, node_ids, strict=True))  # collected twice: once
                size, keys_json = len(tests), keys_text(keys)
                # A run's tests are written with its tasks, so the newest run's are in
                # `tests` already: a suite collected as before looks none of them up
                # (on PostgreSQL, sends none). In key order, the rest sweep the
                # tests' b-tree once instead of seeking a random page each.
                stored = set(keys_of(row))
                unseen = [(key, node_id) for key, node_id in tests.items() if key not in stored]
                unseen.sort()  # after the filter: sorting all 5,000 cost 15 million instructions
                self._insert_rows(
                    db, "INSERT OR IGNORE INTO tests (test_key, node_id)", "(?, ?)", 2, unseen
                )
            # The list as collected; a repeated key is one task, at its first place.
            db.execute(
                "INSERT INTO tasks (run_pk, size, test_keys, collection_digest)"
                " VALUES (?, ?, ?, ?)",
                (pk, size, keys_json, digest),
            )
        # Known once committed: a rolled-back batch must insert its tests again.
        known.update(zip(node_ids, keys, strict=True))

    def write_batch(self, run_id: str, batch: Batch, heartbeat_at: float) -> None:
        new: dict[str, int] = {}
        with self.transaction(keeps_results=not (batch.records or batch.errors)) as db:
            pk = self._run_pk(run_id)
            if batch.records:
                known = self._known_keys
                # Runs of consecutive records, each either all PassedRows or all
                # ExecutionRecords: a PassedRow's four outcomes, its run and its
                # empty reasons are constants of the statement, which binds 10
                # values a row instead of 17 (the engine's work per row falls by
                # two fifths). The runs keep the records in their order, which
                # later reads rely on.
                runs: list[tuple[bool, list[tuple[Any, ...]]]] = []
                current: list[tuple[Any, ...]] = []
                current_plain: bool | None = None
                for r in batch.records:
                    node_id = r[PASSED_NODE_ID] if isinstance(r, tuple) else r.node_id
                    key = known.get(node_id)
                    if key is None:
                        key = new.get(node_id)
                        if key is None:
                            key = new[node_id] = test_key(node_id)
                    row: tuple[Any, ...]
                    if isinstance(r, tuple):  # a PassedRow: its values in the row's order
                        (
                            _,
                            attempt,
                            worker,
                            setup_time,
                            call_time,
                            teardown_time,
                            start,
                            end,
                            cpu,
                        ) = r
                        row = (
                            key,
                            attempt,
                            worker,
                            setup_time,
                            call_time,
                            teardown_time,
                            setup_time + call_time + teardown_time,
                            start,
                            end,
                            cpu,
                        )
                        plain = True
                    else:  # an ExecutionRecord: every column bound
                        s, c, t = r.setup, r.call, r.teardown
                        plain = False
                        row = (
                            pk,
                            key,
                            r.attempt,
                            r.worker,
                            r.outcome,
                            s and s.outcome,
                            s and s.duration,
                            c and c.outcome,
                            c and c.duration,
                            t and t.outcome,
                            t and t.duration,
                            r.duration,
                            r.started_at,
                            r.finished_at,
                            r.skip_reason,
                            r.xfail_reason,
                            r.cpu,
                        )
                    if plain is not current_plain:
                        current, current_plain = [], plain
                        runs.append((plain, current))
                    current.append(row)
                head = f"INSERT INTO executions ({EXECUTION_COLUMNS})"
                for plain, rows in runs:
                    if plain:
                        self._insert_rows(db, head, _passed_row(pk), 10, rows)
                    else:
                        self._insert_rows(db, head, f"({', '.join('?' * 17)})", 17, rows)
                # A test the ledger never saw collected (xdist, or a plugin's own
                # item) still gets its node id stored.
                self._insert_rows(
                    db,
                    "INSERT OR IGNORE INTO tests (test_key, node_id)",
                    "(?, ?)",
                    2,
                    [(key, node_id) for node_id, key in new.items()],
                )
            if batch.costs:
                db.executemany(
                    "INSERT INTO costs VALUES (?, ?, ?, ?, ?, ?)",
                    [(pk, *cost) for cost in batch.costs],
                )
            if batch.errors:
                db.executemany(
                    f"INSERT INTO error_captures ({ERROR_COLUMNS})"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            pk,
                            e.node_id,
                            e.attempt,
                            e.phase,
                            e.exc_type,
                            e.message,
                            e.path,
                            e.lineno,
                            e.traceback,
                            int(e.truncated),
                        )
                        for e in batch.errors
                    ],
                )
            if batch.events:
                db.executemany(
                    "INSERT INTO events (run_pk, seq, at, kind, subject, from_state, to_state,"
                    " data_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            pk,
                            seq,
                            e.at,
                            e.kind,
                            e.subject,
                            e.from_state,
                            e.to_state,
                            json.dumps(e.data, allow_nan=False) if e.data else None,
                        )
                        for seq, e in batch.events
                    ],
                )
            for worker_id, w in batch.workers.items():
                db.execute(
                    "INSERT INTO workers (run_pk, worker_id, state, tests_run, started_at,"
                    " stopped_at, reason) VALUES (?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (run_pk, worker_id) DO UPDATE SET state = excluded.state,"
                    " tests_run = excluded.tests_run, stopped_at = excluded.stopped_at,"
                    " reason = excluded.reason",
                    (
                        pk,
                        worker_id,
                        w["state"],
                        w["tests_run"],
                        w["started_at"],
                        w.get("stopped_at"),
                        w.get("reason"),
                    ),
                )
            state = batch.state
            if state is None:
                db.execute("UPDATE runs SET heartbeat_at = ? WHERE pk = ?", (heartbeat_at, pk))
            else:
                db.execute(
                    "UPDATE runs SET state = ?, heartbeat_at = ?,"
                    " finished_at = coalesce(?, finished_at),"
                    " exit_status = coalesce(?, exit_status),"
                    " end_reason = coalesce(?, end_reason), verdict = coalesce(?, verdict)"
                    " WHERE pk = ?",
                    (
                        state["state"],
                        heartbeat_at,
                        state.get("finished_at"),
                        state.get("exit_status"),
                        state.get("end_reason"),
                        state.get("verdict"),
                        pk,
                    ),
                )
        self._known_keys.update(new)

    def set_commit(
        self,
        run_id: str,
        head: str | None,
        branch: str | None,
        tree_state: str | None = None,
        suite_key: str | None = None,
    ) -> None:
        with self.transaction(keeps_results=True) as db:
            db.execute(
                "UPDATE runs SET head_commit = ?, branch_name = ?, tree_state = ?, suite_key = ?"
                " WHERE run_id = ?",
                (head, branch, tree_state, suite_key, run_id),
            )

    def save_coverage(self, run_id: str, coverage: dict[str, Any]) -> None:
        """Store a run's coverage: totals, and per file numbits of statements and executed."""
        from coverage.numbits import nums_to_numbits  # only runs that measure pay the import

        with self.transaction(keeps_results=True) as db:
            pk = self._run_pk(run_id)
            db.execute(
                "INSERT OR REPLACE INTO coverage_totals VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    pk,
                    coverage["percent"],
                    coverage["n_statements"],
                    coverage["n_missing"],
                    coverage["n_branches"],
                    coverage["n_partial_branches"],
                    coverage["core"],
                    int(coverage["branch"]),
                    json.dumps(coverage["problems"], allow_nan=False)
                    if coverage.get("problems")
                    else None,
                ),
            )
            db.executemany(
                "INSERT OR REPLACE INTO coverage_files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        pk,
                        f["path"],
                        nums_to_numbits(sorted(f["statements"])),
                        nums_to_numbits(sorted(f["executed"])),
                        f["n_branches"],
                        f["n_partial_branches"],
                        f["n_missing_branches"],
                        json.dumps(f["arcs"], allow_nan=False) if f.get("arcs") else None,
                    )
                    for f in coverage["files"]
                ],
            )

    # Unused entries older than this are dropped when new ones are stored, so
    # the cache follows the sources instead of growing with every edit.
    ANALYSIS_CACHE_DAYS = 30

    def static_analyses(self, keys: Collection[str]) -> dict[str, dict[str, Any]]:
        """Cached static analyses of source files, by key (see ``uetf_core.measure``)."""
        from uetf_core.ledger.numbits import numbits_to_nums  # runs that measure coverage

        found: dict[str, dict[str, Any]] = {}
        wanted = list(keys)
        for chunk, marks in _in_chunks(wanted):
            for row in self._query(
                f"SELECT key, statements, excluded, multiline_json FROM analysis_cache"
                f" WHERE key IN ({marks})",
                chunk,
            ):
                # The rest of the parse is JSON: a multi-line map alone (line
                # coverage), or an object holding it and the arc parts (branch).
                rest = json.loads(row[3])
                found[row[0]] = {
                    "statements": numbits_to_nums(row[1]),
                    "excluded": numbits_to_nums(row[2]),
                    **(rest if isinstance(rest, dict) else {"multiline": rest}),
                }
        if found:
            with self.transaction() as db:
                db.executemany(
                    "UPDATE analysis_cache SET used_at = ? WHERE key = ?",
                    [(time.time(), key) for key in found],
                )
        return found

    def save_static_analyses(self, entries: Mapping[str, dict[str, Any]]) -> None:
        from coverage.numbits import nums_to_numbits

        now = time.time()
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO analysis_cache VALUES (?, ?, ?, ?, ?)",
                [
                    (
                        key,
                        nums_to_numbits(entry["statements"]),
                        nums_to_numbits(entry["excluded"]),
                        json.dumps(_parse_rest(entry), allow_nan=False),
                        now,
                    )
                    for key, entry in entries.items()
                ],
            )
            db.execute(
                "DELETE FROM analysis_cache WHERE used_at < ?",
                (now - self.ANALYSIS_CACHE_DAYS * 86400,),
            )

    def coverage(self, run_id: str) -> dict[str, Any] | None:
        """A run's stored coverage, or ``None`` when it measured none."""
        pk = self._run_pk(run_id)
        totals = self._query("SELECT * FROM coverage_totals WHERE run_pk = ?", (pk,))
        if not totals:
            return None
        # Imported here, by runs that measured: building its table costs every import.
        from uetf_core.ledger.numbits import numbits_to_nums

        t = totals[0]
        files = [
            {
                "path": row["path"],
                "statements": numbits_to_nums(row["statements"]),
                "executed": numbits_to_nums(row["executed"]),
                "n_branches": row["n_branches"],
                "n_partial_branches": row["n_partial_branches"],
                "n_missing_branches": row["n_missing_branches"],
                "arcs": json.loads(row["arcs_json"]) if row["arcs_json"] else [],
            }
            for row in self._query(
                "SELECT * FROM coverage_files WHERE run_pk = ? ORDER BY path", (pk,)
            )
        ]
        return {
            "percent": t["percent"],
            "n_statements": t["n_statements"],
            "n_missing": t["n_missing"],
            "n_branches": t["n_branches"],
            "n_partial_branches": t["n_partial_branches"],
            "core": t["core"],
            "branch": bool(t["branch"]),
            "problems": json.loads(t["problems_json"]) if t["problems_json"] else [],
            "files": files,
        }

    def save_patch(self, run_id: str, patch: dict[str, Any]) -> None:
        with self.transaction(keeps_results=True) as db:
            pk = self._run_pk(run_id)
            db.execute(
                "INSERT OR REPLACE INTO patches VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    pk,
                    patch["state"],
                    patch["base_ref"],
                    patch["merge_base"],
                    patch["head"],
                    patch["diff_hash"],
                    json.dumps(patch["files"], allow_nan=False),
                    patch.get("problem"),
                ),
            )

    def patch(self, run_id: str) -> dict[str, Any] | None:
        pk = self._run_pk(run_id)
        rows = self._query("SELECT * FROM patches WHERE run_pk = ?", (pk,))
        if not rows:
            return None
        row = rows[0]
        return {
            "run_id": run_id,
            "state": row["state"],
            "base_ref": row["base_ref"],
            "merge_base": row["merge_base"],
            "head": row["head"],
            "diff_hash": row["diff_hash"],
            "files": json.loads(row["files_json"]),
            "problem": row["problem"],
        }

    def find_baseline(
        self, commit: str, exclude: str | None = None, suite_key: str | None = None
    ) -> str | None:
        """The newest completed, whole-suite run that tested ``commit``.

        With ``suite_key``, only a run of the same suite (or an older run that
        recorded none) qualifies."""
        same_suite = ""
        params: list[Any] = [commit, exclude or ""]
        if suite_key is not None:
            same_suite = " AND (suite_key = ? OR suite_key IS NULL)"
            params.append(suite_key)
        rows = self._query(
            "SELECT run_id FROM runs WHERE head_commit = ? AND state IN ('passed', 'failed')"
            " AND partial = 0 AND run_id != ?"
            + same_suite
            + " ORDER BY started_at DESC, pk DESC LIMIT 1",
            params,
        )
        return str(rows[0][0]) if rows else None

    def suite_key(self, run_id: str) -> str | None:
        rows = self._query("SELECT suite_key FROM runs WHERE run_id = ?", (run_id,))
        return rows[0][0] if rows else None

    def outcomes(self, run_id: str) -> dict[str, str]:
        """Each test's final outcome in a run (its last attempt), by node id."""
        pk = self._run_pk(run_id)
        rows = self._query(
            f"SELECT t.node_id, last.outcome FROM ({FINAL_ATTEMPTS}) AS last"
            " JOIN tests t USING (test_key)",
            (pk,),
        )
        return {row[0]: row[1] for row in rows}

    def add_tool_result(self, run_id: str | None, result: dict[str, Any]) -> None:
        with self.transaction(keeps_results=True) as db:
            pk = self._run_pk(run_id) if run_id else None
            db.execute(
                "INSERT INTO tool_results VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    pk,
                    result["tool"],
                    json.dumps(result["argv"], allow_nan=False),
                    result["exit_code"],
                    result["duration_seconds"],
                    int(result["ok"]),
                    result["stderr_excerpt"],
                    time.time(),
                ),
            )

    def tool_results(self, run_id: str) -> list[dict[str, Any]]:
        pk = self._run_pk(run_id)
        rows = self._query("SELECT * FROM tool_results WHERE run_pk = ? ORDER BY rowid", (pk,))
        return [
            {
                "run_id": run_id,
                "tool": row["tool"],
                "argv": json.loads(row["argv_json"]),
                "exit_code": row["exit_code"],
                "duration_seconds": row["duration_seconds"],
                "ok": bool(row["ok"]),
                "stderr_excerpt": row["stderr_excerpt"],
                "at": iso(row["at"]),
            }
            for row in rows
        ]

    def troubled(self, run_id: str) -> dict[str, tuple[str, set[str]]]:
        """Tests with any attempt that did not pass: final outcome and all outcomes seen.

        Reads only the attempts of those tests, so a verdict on 5,000 passing
        tests reads nothing per test.
        """
        return self._remembered("troubled", run_id, self._read_troubled)

    def _read_troubled(self, run_id: str) -> dict[str, tuple[str, set[str]]]:
        pk = self._run_pk(run_id)
        if not self._anything_failed(run_id):
            return {}
        # Two steps, not a subquery: see record_flips.
        with self._guard():
            db = self._db
            attempts = self._attempts(db, pk, self._keys_with(db, pk, ("failed", "error", "rerun")))
            names = self._node_ids(db, list(attempts))
        return {
            names[key]: (tried[-1][1], {outcome for _, outcome in tried})
            for key, tried in attempts.items()
        }

    @staticmethod
    def _node_ids(db: Any, keys: Sequence[int]) -> dict[int, str]:
        found: dict[int, str] = {}
        for chunk, marks in _in_chunks(keys):
            rows = db.execute(
                f"SELECT test_key, node_id FROM tests WHERE test_key IN ({marks})", chunk
            )
            found.update((key, node_id) for key, node_id in rows)
        return found

    def save_gates(self, run_id: str, gates: Sequence[dict[str, Any]]) -> None:
        with self.transaction(keeps_results=True) as db:
            pk = self._run_pk(run_id)
            db.execute("DELETE FROM gates WHERE run_pk = ?", (pk,))
            db.executemany(
                "INSERT INTO gates VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        pk,
                        seq,
                        g["name"],
                        g["op"],
                        g["threshold"],
                        g["value"],
                        g["verdict"],
                        g["reason"],
                        g["mode"],
                        g["unit"],
                        g.get("path"),
                    )
                    for seq, g in enumerate(gates)
                ],
            )

    def add_validation(
        self, run_id: str | None, record: dict[str, Any], digest: str | None = None
    ) -> None:
        with self.transaction(keeps_results=True) as db:
            pk = self._run_pk(run_id) if run_id else None
            db.execute(
                "INSERT INTO validations VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    pk,
                    record["subject"],
                    record["schema"],
                    int(record["valid"]),
                    json.dumps(record["errors"], allow_nan=False),
                    time.time(),
                    digest,
                ),
            )

    def validated_before(self, digest: str) -> bool:
        """Whether a document with this digest (schema and content) was found valid."""
        rows = self._query(
            "SELECT 1 FROM validations WHERE digest = ? AND valid = 1 LIMIT 1", (digest,)
        )
        return bool(rows)

    def validations(self, run_id: str) -> list[dict[str, Any]]:
        pk = self._run_pk(run_id)
        rows = self._query(
            "SELECT subject, schema_name, valid, errors_json, at FROM validations"
            " WHERE run_pk = ? ORDER BY rowid",
            (pk,),
        )
        return [
            {
                "subject": row["subject"],
                "schema": row["schema_name"],
                "valid": bool(row["valid"]),
                "errors": json.loads(row["errors_json"]),
                "at": iso(row["at"]),
            }
            for row in rows
        ]

    def reap_abandoned(self, host: str, now: float, stale_after: float) -> list[str]:
        """Mark abandoned every live run whose process is gone or has been silent too long."""
        live = self._query(
            "SELECT pk, run_id, state, pid, host, heartbeat_at FROM runs WHERE state IN"
            f" ({', '.join('?' * len(LIVE_STATES))})",
            LIVE_STATES,
        )
        dead = []
        for row in live:
            silent = now - row["heartbeat_at"]
            if row["host"] == host and not _pid_alive(row["pid"]):
                reason = f"process {row['pid']} on {host} is gone"
            elif silent > stale_after:
                reason = f"no heartbeat for {silent:.0f} s (stale_after = {stale_after:g} s)"
            else:
                continue
            dead.append((row, reason))
        if not dead:
            return []
        with self.transaction() as db:
            for row, reason in dead:
                seq = db.execute(
                    "SELECT coalesce(max(seq), -1) + 1 FROM events WHERE run_pk = ?", (row["pk"],)
                ).fetchone()[0]
                db.execute(
                    "UPDATE runs SET state = 'abandoned', end_reason = ?"
                    " WHERE pk = ? AND state = ?",
                    (reason, row["pk"], row["state"]),
                )
                db.execute(
                    "INSERT INTO events (run_pk, seq, at, kind, subject, from_state, to_state,"
                    " data_json) VALUES (?, ?, ?, 'run_state', ?, ?, 'abandoned', ?)",
                    (
                        row["pk"],
                        seq,
                        now,
                        row["run_id"],
                        row["state"],
                        json.dumps({"reason": reason}, allow_nan=False),
                    ),
                )
        return [row["run_id"] for row, _ in dead]

    # -- reading ----------------------------------------------------------

    _RUN_COLUMNS = (
        "run_id, state, started_at, finished_at, heartbeat_at, pid, host, rootdir,"
        " uetf_version, exit_status, end_reason, partial, verdict, head_commit, branch_name"
    )

    @staticmethod
    def _run_row(row: sqlite3.Row) -> dict[str, Any]:
        return {
            "run_id": row["run_id"],
            "state": row["state"],
            "started_at": iso(row["started_at"]),
            "finished_at": iso(row["finished_at"]) if row["finished_at"] is not None else None,
            "heartbeat_at": iso(row["heartbeat_at"]),
            "pid": row["pid"],
            "host": row["host"],
            "rootdir": row["rootdir"],
            "uetf_version": row["uetf_version"],
            "exit_status": row["exit_status"],
            "end_reason": row["end_reason"],
            "partial": bool(row["partial"]),
            "verdict": row["verdict"],
            "head_commit": row["head_commit"],
            "branch": row["branch_name"],
        }

    def list_runs(
        self, limit: int | None = None, branch: str | None = None, since: float | None = None
    ) -> list[dict[str, Any]]:
        """Runs newest first; only ``branch``'s, only those started at or after ``since``."""
        sql = f"SELECT {self._RUN_COLUMNS} FROM runs WHERE 1 = 1"
        params: list[Any] = []
        if branch is not None:
            sql += " AND branch_name = ?"
            params.append(branch)
        if since is not None:
            sql += " AND started_at >= ?"
            params.append(since)
        sql += " ORDER BY started_at DESC, pk DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [self._run_row(row) for row in self._query(sql, params)]

    def test_history(self, node_id: str, limit: int) -> list[dict[str, Any]]:
        """The test's final outcome and duration in its newest ``limit`` runs, newest first."""
        # Driven by the runs, newest first, one index seek per run: the executions
        # are indexed by run, then test (CROSS JOIN keeps SQLite to that order).
        rows = self._query(
            "SELECT r.run_id, r.started_at, r.head_commit, r.branch_name, e.outcome,"
            " e.duration, (SELECT count(*) FROM executions c"
            " WHERE c.run_pk = r.pk AND c.test_key = e.test_key) AS attempts"
            " FROM runs r CROSS JOIN executions e"
            " WHERE e.run_pk = r.pk AND e.test_key = ?"
            " AND e.attempt = (SELECT max(m.attempt) FROM executions m"
            " WHERE m.run_pk = r.pk AND m.test_key = e.test_key)"
            " ORDER BY r.started_at DESC, r.pk DESC LIMIT ?",
            (test_key(node_id), limit),
        )
        return [
            {
                "run_id": row["run_id"],
                "started_at": iso(row["started_at"]),
                "commit": row["head_commit"],
                "branch": row["branch_name"],
                "outcome": row["outcome"],
                "duration": row["duration"],
                "attempts": row["attempts"],
            }
            for row in rows
        ]

    def prune(self, keep: int, protect: set[str], dry_run: bool = False) -> dict[str, Any]:
        """Delete all but the newest ``keep`` finished runs of each branch, never ``protect``.

        Runs still going are never deleted. Returns what was (or would be) freed.
        """
        self._own_runs.clear()
        rows = self._query(
            "SELECT pk, run_id, branch_name, state FROM runs ORDER BY started_at DESC, pk DESC"
        )
        seen: dict[str | None, int] = {}
        doomed: list[tuple[int, str]] = []
        for row in rows:
            branch = row["branch_name"]
            seen[branch] = seen.get(branch, 0) + 1
            finished = row["state"] in ("passed", "failed", "errored", "abandoned")
            if seen[branch] > keep and finished and row["run_id"] not in protect:
                doomed.append((row["pk"], row["run_id"]))
        size_before = self._size()[0]
        tables = self._run_tables()
        deleted: dict[str, int] = {}
        pks = [pk for pk, _ in doomed]
        if pks and not dry_run:
            with self.transaction() as db:
                for runs, marks in _in_chunks(doomed):
                    chunk = [pk for pk, _ in runs]
                    for table in tables:
                        cursor = db.execute(f"DELETE FROM {table} WHERE run_pk IN ({marks})", chunk)
                        deleted[table] = deleted.get(table, 0) + cursor.rowcount
                    ids = [run_id for _, run_id in runs]
                    db.execute(f"DELETE FROM steps WHERE run_id IN ({marks})", ids)
                    db.execute(f"DELETE FROM runs WHERE pk IN ({marks})", chunk)
        elif pks:
            for some, marks in _in_chunks(pks):
                deleted["executions"] = (
                    deleted.get("executions", 0)
                    + self._query(
                        f"SELECT count(*) FROM executions WHERE run_pk IN ({marks})", some
                    )[0][0]
                )
        return {
            "runs": [run_id for _, run_id in doomed],
            "rows": deleted,
            "file_bytes": size_before,
            "reusable_bytes": self._size()[1],
        }

    def _run_tables(self) -> list[str]:
        """The tables whose rows belong to one run (they have a ``run_pk``)."""
        return [
            row[0]
            for row in self._query(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'runs'"
            )
            if any(col[1] == "run_pk" for col in self._query(f"PRAGMA table_info({row[0]})"))
        ]

    def vacuum(self) -> tuple[int, int]:
        """Give the space of deleted rows back to the disk: SQLite rewrites the file
        (which needs free disk as large as the ledger, and excludes its writers
        meanwhile). Returns the size in bytes before and after."""
        before = self._size()[0]
        with self._guard():
            self._db.execute("VACUUM")
        return before, self._size()[0]

    def _size(self) -> tuple[int, int]:
        """The ledger's size in bytes, and how much of it is free for new rows."""
        page_size = self._query("PRAGMA page_size")[0][0]
        pages = self._query("PRAGMA page_count")[0][0]
        free = self._query("PRAGMA freelist_count")[0][0]
        return pages * page_size, free * page_size

    def find_run(self, ref: str) -> dict[str, Any]:
        """The run named by ``ref``: ``last``, a run id, or a unique prefix of one."""
        if ref in ("last", "latest"):
            rows = self._query(
                # The run with the newest activity: a workstream's verdict run starts
                # with its first step but ends after its last one.
                f"SELECT {self._RUN_COLUMNS} FROM runs"
                " ORDER BY coalesce(finished_at, started_at) DESC, pk DESC LIMIT 1"
            )
            if not rows:
                raise RunNotFoundError(f"ledger {self.location} has no runs yet; run pytest --uetf")
            return self._run_row(rows[0])
        escaped = ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self._query(
            f"SELECT {self._RUN_COLUMNS} FROM runs WHERE run_id LIKE ? ESCAPE '\\' LIMIT 2",
            (escaped + "%",),
        )
        if len(rows) == 1:
            return self._run_row(rows[0])
        exact = [row for row in rows if row["run_id"] == ref]
        if exact:
            return self._run_row(exact[0])
        if rows:
            raise RunNotFoundError(f"run reference {ref!r} is ambiguous; give more of the run id")
        raise RunNotFoundError(f"no run {ref!r} in ledger {self.location}; see 'uetf runs'")

    def run_config(self, run_id: str) -> dict[str, Any] | None:
        rows = self._query("SELECT config_json FROM runs WHERE run_id = ?", (run_id,))
        if not rows or rows[0][0] is None:
            return None
        config: dict[str, Any] = json.loads(rows[0][0])
        return config

    def records(self, run_id: str) -> list[dict[str, Any]]:
        pk = self._run_pk(run_id)
        rows = self._query(
            "SELECT t.node_id, e.* FROM executions e JOIN tests t USING (test_key)"
            " WHERE e.run_pk = ? ORDER BY e.rowid",
            (pk,),
        )
        errors = {(e["node_id"], e["attempt"], e["phase"]): e for e in self.error_captures(run_id)}
        documents = []
        for row in rows:
            phases = {}
            for phase in ("setup", "call", "teardown"):
                outcome = row[f"{phase}_outcome"]
                phases[phase] = (
                    None
                    if outcome is None
                    else {"outcome": outcome, "duration": row[f"{phase}_duration"]}
                )
            error = next(
                (
                    errors[(row["node_id"], row["attempt"], phase)]
                    for phase in ("setup", "call", "teardown")
                    if (row["node_id"], row["attempt"], phase) in errors
                ),
                None,
            )
            documents.append(
                {
                    "run_id": run_id,
                    "node_id": row["node_id"],
                    "attempt": row["attempt"],
                    "worker": row["worker"],
                    "outcome": row["outcome"],
                    **phases,
                    "duration": row["duration"],
                    "started_at": iso(row["started_at"]),
                    "finished_at": iso(row["finished_at"]),
                    "skip_reason": row["skip_reason"],
                    "xfail_reason": row["xfail_reason"],
                    "error": error,
                    "cpu_seconds": row["cpu_seconds"],
                }
            )
        return documents

    def tasks(self, run_id: str) -> list[dict[str, Any]]:
        pk = self._run_pk(run_id)
        keys = self._task_keys(pk)
        node_ids = self._names(keys)
        # A task's state is its last attempt's outcome, read here rather than
        # written to every task at the end of every run; 'pending' if it never ran.
        final = {key: outcome for key, outcome in self._query(FINAL_ATTEMPTS, (pk,))}
        tasks = []
        seen: set[int] = set()
        for index, key in enumerate(keys):
            if key not in seen:
                seen.add(key)
                node_id = node_ids[key]
                tasks.append(
                    {
                        "run_id": run_id,
                        "node_id": node_id,
                        "index": index,
                        "path": node_id.split("::", 1)[0],
                        "state": final.get(key, "pending"),
                    }
                )
        return tasks

    def _task_keys(self, pk: int) -> list[int]:
        """The test keys a run collected, in order, as collected (none if it never got
        that far)."""
        rows = self._query("SELECT test_keys FROM tasks WHERE run_pk = ?", (pk,))
        return keys_of(rows[0] if rows else None)

    def error_captures(self, run_id: str) -> list[dict[str, Any]]:
        pk = self._run_pk(run_id)
        rows = self._query(
            "SELECT node_id, attempt, phase, exc_type, message, path, lineno, traceback,"
            " truncated FROM error_captures WHERE run_pk = ? ORDER BY rowid",
            (pk,),
        )
        return [{**dict(row), "truncated": bool(row["truncated"])} for row in rows]

    def events(self, run_id: str) -> list[dict[str, Any]]:
        pk = self._run_pk(run_id)
        rows = self._query(
            "SELECT seq, at, kind, subject, from_state, to_state, data_json FROM events"
            " WHERE run_pk = ? ORDER BY seq",
            (pk,),
        )
        return [
            {
                "run_id": run_id,
                "seq": row["seq"],
                "at": iso(row["at"]),
                "kind": row["kind"],
                "subject": row["subject"],
                "from_state": row["from_state"],
                "to_state": row["to_state"],
                "data": json.loads(row["data_json"]) if row["data_json"] else {},
            }
            for row in rows
        ]

    def workers(self, run_id: str) -> list[dict[str, Any]]:
        pk = self._run_pk(run_id)
        rows = self._query(
            "SELECT worker_id, state, tests_run, started_at, stopped_at, reason FROM workers"
            " WHERE run_pk = ? ORDER BY worker_id",
            (pk,),
        )
        return [
            {
                "run_id": run_id,
                "worker_id": row["worker_id"],
                "state": row["state"],
                "tests_run": row["tests_run"],
                "started_at": iso(row["started_at"]),
                "stopped_at": iso(row["stopped_at"]) if row["stopped_at"] is not None else None,
                "reason": row["reason"],
            }
            for row in rows
        ]

    def gates(self, run_id: str) -> list[dict[str, Any]]:
        pk = self._run_pk(run_id)
        rows = self._query(
            "SELECT name, op, threshold, value, verdict, reason, mode, unit, path FROM gates"
            " WHERE run_pk = ? ORDER BY seq",
            (pk,),
        )
        return [dict(row) for row in rows]

    def _remembered(self, kind: str, run_id: str, read: Callable[[str], T]) -> T:
        """``read(run_id)``, or what it returned since the run's results last changed."""
        key = (kind, run_id)
        if key in self._results:
            return cast(T, self._results[key])
        value = self._results[key] = read(run_id)
        return value

    def totals(self, run_id: str) -> Totals:
        return self._remembered("totals", run_id, self._read_totals)

    def _attempt_outcomes(self, run_id: str) -> dict[str, tuple[int, float]]:
        """Per outcome, how many of the run's attempts had it and the longest one's
        duration: what totals, metrics and the verdict need, in one pass over the run."""

        def read(run_id: str) -> dict[str, tuple[int, float]]:
            rows = self._query(
                "SELECT outcome, count(*), max(duration) FROM executions WHERE run_pk = ?"
                " GROUP BY outcome",
                (self._run_pk(run_id),),
            )
            return {row[0]: (row[1], row[2]) for row in rows}

        return self._remembered("attempt_outcomes", run_id, read)

    def _anything_failed(self, run_id: str) -> bool:
        """Whether any attempt of the run failed, errored or was rerun."""
        counts = self._attempt_outcomes(run_id)
        return any(outcome in counts for outcome in ("failed", "error", "rerun"))

    def _read_totals(self, run_id: str) -> Totals:
        pk = self._run_pk(run_id)
        rows = self._query("SELECT size FROM tasks WHERE run_pk = ?", (pk,))
        collected = rows[0][0] if rows else 0
        counts = {outcome: n for outcome, (n, _) in self._attempt_outcomes(run_id).items()}
        reruns = counts.get("rerun", 0)
        repeated = self._query(
            "SELECT count(*) - count(DISTINCT test_key) FROM executions WHERE run_pk = ?", (pk,)
        )[0][0]
        if repeated:
            # A test ran more than once: its last attempt decides its outcome;
            # the earlier ones were reruns. (Rare, so counted again only then.)
            counts = {
                row[0]: row[1]
                for row in self._query(
                    f"SELECT outcome, count(*) FROM ({FINAL_ATTEMPTS}) AS last GROUP BY outcome",
                    (pk,),
                )
            }
        collect_errors = self._query(
            "SELECT count(*) FROM error_captures WHERE run_pk = ? AND phase = 'collect'", (pk,)
        )[0][0]
        return Totals(
            collected=collected,
            passed=counts.get("passed", 0),
            failed=counts.get("failed", 0),
            skipped=counts.get("skipped", 0),
            xfailed=counts.get("xfailed", 0),
            xpassed=counts.get("xpassed", 0),
            errors=counts.get("error", 0) + collect_errors,
            reruns=reruns,
        )

    def slowest(self, run_id: str, limit: int) -> list[dict[str, Any]]:
        """The ``limit`` longest test executions of the run, longest first."""
        pk = self._run_pk(run_id)
        rows = self._query(
            "SELECT t.node_id, e.duration, e.outcome, e.worker FROM executions e"
            " JOIN tests t USING (test_key) WHERE e.run_pk = ?"
            " ORDER BY e.duration DESC, t.node_id LIMIT ?",
            (pk, limit),
        )
        return [dict(row) for row in rows]

    def final_results(self, run_id: str) -> list[tuple[str, int, str, float, str | None]]:
        """Per test, its last attempt: node id, attempt, outcome, duration, skip or xfail reason.

        In run order; a lean read for reports that list every test (JUnit).
        """
        pk = self._run_pk(run_id)
        rows = self._query(
            "SELECT t.node_id, e.attempt, e.outcome, e.duration,"
            " coalesce(e.skip_reason, e.xfail_reason) FROM executions e"
            " JOIN tests t USING (test_key) WHERE e.run_pk = ? AND e.outcome != 'rerun'"
            " ORDER BY e.rowid",
            (pk,),
        )
        final: dict[str, tuple[str, int, str, float, str | None]] = {}
        for row in rows:
            final[row[0]] = (row[0], row[1], row[2], row[3], row[4])
        return list(final.values())

    def _recent_run_pks(self, runs: int, exclude_workstream: str | None = None) -> list[int]:
        rows = self._query(
            "SELECT pk FROM runs WHERE finished_at IS NOT NULL AND state IN ('passed', 'failed')"
            " AND run_id NOT IN (SELECT run_id FROM steps WHERE workstream_id IS ?"
            " AND run_id IS NOT NULL) ORDER BY started_at DESC, pk DESC LIMIT ?",
            (exclude_workstream, runs),
        )
        return [row[0] for row in rows]

    def _recent(self, column: str, runs: int, exclude_workstream: str | None) -> list[Any]:
        """(node id, ``column``) of every final-or-only attempt in the newest finished runs,
        oldest run first, in the order each run recorded them."""
        pks = self._recent_run_pks(runs, exclude_workstream)
        if not pks:
            return []
        marks = ",".join("?" * len(pks))
        # Keys, not node ids: a join per row would look up the same few thousand
        # tests once per run (20 runs of 5,000 tests: 0.35 s with the join, 0.25 s
        # without; the progress monitor and shard planning read this).
        rows = self._query(
            f"SELECT e.test_key, e.{column} FROM executions e"
            f" WHERE e.run_pk IN ({marks}) AND e.outcome != 'rerun'"
            " ORDER BY e.run_pk ASC, e.rowid ASC",
            pks,
        )
        names = self._names([row[0] for row in rows])
        return [(names[key], value) for key, value in rows]

    def _names(self, keys: Iterable[int]) -> dict[int, str]:
        """The node id of each of ``keys`` (each distinct key looked up once)."""
        names: dict[int, str] = {}
        for chunk, marks in _in_chunks(list(dict.fromkeys(keys))):
            rows = self._query(
                f"SELECT test_key, node_id FROM tests WHERE test_key IN ({marks})", chunk
            )
            names.update((key, node_id) for key, node_id in rows)
        return names

    def recent_durations(
        self, runs: int, exclude_workstream: str | None = None
    ) -> dict[str, list[float]]:
        """Per test, its durations in the newest ``runs`` finished runs, newest first.

        Runs of ``exclude_workstream`` are left out: the shards of one CI build
        must plan from the same history, whatever ran before them in it.
        """
        found: dict[str, list[float]] = {}
        for node_id, duration in reversed(self._recent("duration", runs, exclude_workstream)):
            found.setdefault(node_id, []).append(duration)
        return found

    def last_outcomes(self, runs: int) -> dict[str, str]:
        """Per test, its outcome the last time it ran, within the newest ``runs`` finished runs."""
        # Later rows overwrite earlier ones: the newest run wins.
        return {node_id: outcome for node_id, outcome in self._recent("outcome", runs, None)}

    def record_flips(self, run_id: str) -> int:
        """Note the run's flaky tests: passed on a retry here, or flipped since an earlier
        run of the same commit. Done once at run end, so flakiness queries read few rows."""
        rows = self._query(
            "SELECT pk, head_commit, tree_state FROM runs WHERE run_id = ?", (run_id,)
        )
        if not rows:
            raise RunNotFoundError(f"no run {run_id!r} in ledger {self.location}")
        pk, head, tree = rows[0]
        with self.transaction(keeps_results=True) as db:
            # Only tests with a failed attempt can have flipped: the rest is not read.
            # (Two steps rather than a subquery: PostgreSQL, with statistics that
            # do not know this run yet, plans that as a nested loop over the run.)
            failing = (
                self._keys_with(db, pk, ("failed", "error", "rerun"))
                if self._anything_failed(run_id)
                else []
            )
            retried = [
                (pk, key, "retry", None)
                for key, attempts in self._attempts(db, pk, failing).items()
                if any(outcome == "passed" for _, outcome in attempts)
            ]
            db.executemany("INSERT OR IGNORE INTO flips VALUES (?, ?, ?, ?)", retried)
            if head:
                # The same code: the same commit and the same uncommitted changes
                # (a run that recorded no tree state compares with none).
                other = db.execute(
                    "SELECT pk FROM runs WHERE head_commit = ? AND pk != ?"
                    " AND state IN ('passed', 'failed') AND coalesce(tree_state, '-') = ?"
                    " ORDER BY started_at DESC LIMIT 1",
                    (head, pk, "-" if tree is None else tree),
                ).fetchone()
                if other:
                    # A flip has a failure on one side: compare the tests that failed
                    # in either run, not all of them. (Compared here rather than in one
                    # join, which PostgreSQL plans as a nested loop.)
                    bad = ("failed", "error")
                    keys = sorted(
                        set(self._keys_with(db, pk, bad)) | set(self._keys_with(db, other[0], bad))
                    )
                    now = self._final_outcomes(db, pk, keys)
                    before = self._final_outcomes(db, other[0], keys)
                    flipped = [
                        (pk, key, "commit", other[0])
                        for key in keys
                        if (now.get(key) == "passed" and before.get(key) in bad)
                        or (now.get(key) in bad and before.get(key) == "passed")
                    ]
                    db.executemany("INSERT OR IGNORE INTO flips VALUES (?, ?, ?, ?)", flipped)
            count = db.execute("SELECT count(*) FROM flips WHERE run_pk = ?", (pk,)).fetchone()
        return int(count[0])

    @staticmethod
    def _keys_with(db: Any, run_pk: int, outcomes: Sequence[str]) -> list[int]:
        """The tests of the run with an attempt of one of ``outcomes``."""
        marks = ", ".join("?" * len(outcomes))
        rows = db.execute(
            f"SELECT DISTINCT test_key FROM executions WHERE run_pk = ? AND outcome IN ({marks})",
            (run_pk, *outcomes),
        )
        return [row[0] for row in rows]

    @staticmethod
    def _attempts(db: Any, run_pk: int, keys: Sequence[int]) -> dict[int, list[tuple[int, str]]]:
        """Each of ``keys``' attempts in the run, ``(attempt, outcome)``, in attempt order."""
        found: dict[int, list[tuple[int, str]]] = {}
        for chunk, marks in _in_chunks(keys):
            rows = db.execute(
                "SELECT test_key, attempt, outcome FROM executions WHERE run_pk = ?"
                f" AND test_key IN ({marks})",
                (run_pk, *chunk),
            )
            for key, attempt, outcome in rows:
                found.setdefault(key, []).append((attempt, outcome))
        for attempts in found.values():
            attempts.sort()
        return found

    def _final_outcomes(self, db: Any, run_pk: int, keys: Sequence[int]) -> dict[int, str]:
        """The last attempt's outcome of each of ``keys`` the run executed."""
        return {key: attempts[-1][1] for key, attempts in self._attempts(db, run_pk, keys).items()}

    def _window(self, runs: int, until_run_id: str | None) -> list[int]:
        """The newest ``runs`` finished runs (up to and including ``until_run_id``)."""
        until = ""
        params: list[Any] = []
        if until_run_id is not None:
            until = " AND started_at <= (SELECT started_at FROM runs WHERE run_id = ?)"
            params.append(until_run_id)
        rows = self._query(
            "SELECT pk FROM runs WHERE state IN ('passed', 'failed')"
            + until
            + " ORDER BY started_at DESC LIMIT ?",
            (*params, runs),
        )
        return [row[0] for row in rows]

    def flaky_tests(self, runs: int, until_run_id: str | None = None) -> set[str]:
        """Node ids with a flip in the window."""
        window = self._window(runs, until_run_id)
        if not window:
            return set()
        marks = ",".join("?" * len(window))
        rows = self._query(
            "SELECT DISTINCT t.node_id FROM flips f JOIN tests t USING (test_key)"
            f" WHERE f.run_pk IN ({marks})",
            window,
        )
        return {row[0] for row in rows}

    def flaky(self, runs: int, until_run_id: str | None = None) -> list[dict[str, Any]]:
        """Flaky tests of the window: flips, runs that ran them, rate, last failure."""
        window = self._window(runs, until_run_id)
        if not window:
            return []
        marks = ",".join("?" * len(window))
        flipped = self._query(
            "SELECT f.test_key, t.node_id, count(*) AS flips,"
            " sum(CASE WHEN f.kind = 'retry' THEN 1 ELSE 0 END) AS retries"
            " FROM flips f JOIN tests t USING (test_key)"
            f" WHERE f.run_pk IN ({marks}) GROUP BY f.test_key, t.node_id",
            window,
        )
        found = []
        for row in flipped:
            seen = self._query(
                "SELECT count(DISTINCT run_pk) FROM executions"
                f" WHERE test_key = ? AND run_pk IN ({marks})",
                (row["test_key"], *window),
            )[0][0]
            last = self._query(
                "SELECT r.run_id, r.started_at, r.head_commit, e.outcome FROM executions e"
                " JOIN runs r ON r.pk = e.run_pk WHERE e.test_key = ?"
                f" AND e.run_pk IN ({marks}) AND e.outcome IN ('failed', 'error', 'rerun')"
                " ORDER BY r.started_at DESC LIMIT 1",
                (row["test_key"], *window),
            )
            failure = None
            if last:
                message = self._query(
                    "SELECT exc_type, message FROM error_captures WHERE node_id = ?"
                    " AND run_pk = (SELECT pk FROM runs WHERE run_id = ?) LIMIT 1",
                    (row["node_id"], last[0]["run_id"]),
                )
                failure = {
                    "run_id": last[0]["run_id"],
                    "at": iso(last[0]["started_at"]),
                    "commit": last[0]["head_commit"],
                    "message": (
                        f"{message[0][0]}: {message[0][1]}".splitlines()[0][:300]
                        if message
                        else None
                    ),
                }
            found.append(
                {
                    "node_id": row["node_id"],
                    "flips": row["flips"],
                    "retries": row["retries"],
                    "runs": seen,
                    "rate": round(row["flips"] / seen, 4) if seen else 1.0,
                    "last_failure": failure,
                }
            )
        found.sort(key=lambda f: (-f["rate"], -f["flips"], f["node_id"]))
        return found

    def add_progress(self, snapshot: dict[str, Any]) -> None:
        """Store a ``progress_snapshot`` (the monitor thread writes it, over its own connection)."""
        from uetf_core.timeutil import parse_iso

        with self.transaction(keeps_results=True) as db:
            db.execute(
                "INSERT INTO progress VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    self._run_pk(snapshot["run_id"]),
                    parse_iso(snapshot["at"]).timestamp(),
                    snapshot["done"],
                    snapshot["total"],
                    snapshot["elapsed_seconds"],
                    snapshot["eta_seconds"],
                    json.dumps(snapshot["outcomes"], allow_nan=False),
                ),
            )

    def latest_progress(self, run_id: str) -> dict[str, Any] | None:
        rows = self._query(
            "SELECT at, done, total, elapsed_seconds, eta_seconds, outcomes_json FROM progress"
            " WHERE run_pk = ? ORDER BY at DESC LIMIT 1",
            (self._run_pk(run_id),),
        )
        if not rows:
            return None
        row = rows[0]
        return {
            "run_id": run_id,
            "at": iso(row["at"]),
            "done": row["done"],
            "total": row["total"],
            "elapsed_seconds": row["elapsed_seconds"],
            "eta_seconds": row["eta_seconds"],
            "outcomes": json.loads(row["outcomes_json"]),
        }

    def cost_totals(self, run_id: str) -> dict[str, tuple[float, str]]:
        """The run's costs by name: wall and CPU seconds of its tests, custom costs, peak memory."""
        pk = self._run_pk(run_id)
        wall, cpu = self._query(
            "SELECT sum(duration), sum(cpu_seconds) FROM executions WHERE run_pk = ?", (pk,)
        )[0]
        totals: dict[str, tuple[float, str]] = {"wall_seconds": (round(wall or 0.0, 6), "s")}
        if cpu is not None:
            totals["cpu_seconds"] = (round(cpu, 6), "s")
        for name, unit, total, peak in self._query(
            "SELECT name, unit, sum(amount), max(amount) FROM costs WHERE run_pk = ?"
            " GROUP BY name, unit",
            (pk,),
        ):
            # Peak memory is a maximum over processes, every other cost a sum.
            totals[name] = (round(peak if name == "peak_rss_mb" else total, 6), unit)
        if "coverage_analysis_seconds" in totals:
            estimate = self._tracing_estimate(pk)
            if estimate is not None:
                totals["coverage_tracing_seconds"] = (estimate, "s")
        return totals

    def _tracing_estimate(self, pk: int) -> float | None:
        """What tracing added to the tests: their time now against the newest run without it.

        Compared over the tests both runs ran; ``None`` without such a run.
        """
        other = self._query(
            "SELECT r.pk FROM runs r WHERE r.pk != ? AND r.state IN ('passed', 'failed')"
            " AND NOT EXISTS (SELECT 1 FROM coverage_totals c WHERE c.run_pk = r.pk)"
            " ORDER BY r.started_at DESC LIMIT 1",
            (pk,),
        )
        if not other:
            return None
        row = self._query(
            "SELECT sum(a.duration) - sum(b.duration), count(*) FROM executions a"
            " JOIN executions b ON b.test_key = a.test_key AND b.run_pk = ? AND b.attempt = 1"
            " WHERE a.run_pk = ? AND a.attempt = 1",
            (other[0][0], pk),
        )[0]
        return round(row[0], 6) if row[1] else None

    def costs_by(self, run_id: str, by: str) -> list[dict[str, Any]]:
        """Per test, module or worker: tests, wall and CPU seconds, and each custom cost."""
        pk = self._run_pk(run_id)
        key = {
            "test": "t.node_id",
            "module": "substr(t.node_id, 1, instr(t.node_id || '::', '::') - 1)",
            "worker": "e.worker",
        }[by]
        groups: dict[str, dict[str, Any]] = {}
        for group, count, wall, cpu in self._query(
            f"SELECT {key}, count(*), sum(e.duration), sum(e.cpu_seconds) FROM executions e"
            f" JOIN tests t USING (test_key) WHERE e.run_pk = ? GROUP BY 1",
            (pk,),
        ):
            groups[group] = {
                by: group,
                "tests": count,
                "wall_seconds": round(wall or 0, 6),
                "cpu_seconds": None if cpu is None else round(cpu, 6),
                "custom": {},
            }
        if by != "worker":
            custom_key = key.replace("t.node_id", "c.subject")
            for group, name, unit, total in self._query(
                f"SELECT {custom_key}, c.name, c.unit, sum(c.amount) FROM costs c"
                " WHERE c.run_pk = ? AND c.scope = 'test' GROUP BY 1, 2, 3",
                (pk,),
            ):
                entry = groups.setdefault(
                    group,
                    {by: group, "tests": 0, "wall_seconds": 0.0, "cpu_seconds": None, "custom": {}},
                )
                entry["custom"][name] = {"amount": round(total, 6), "unit": unit}
        else:
            for subject, name, unit, amount in self._query(
                "SELECT subject, name, unit, amount FROM costs"
                " WHERE run_pk = ? AND scope = 'worker'",
                (pk,),
            ):
                entry = groups.setdefault(
                    subject,
                    {
                        by: subject,
                        "tests": 0,
                        "wall_seconds": 0.0,
                        "cpu_seconds": None,
                        "custom": {},
                    },
                )
                entry["custom"][name] = {"amount": amount, "unit": unit}
        return sorted(
            groups.values(), key=lambda g: (-(g["cpu_seconds"] or g["wall_seconds"]), g[by])
        )

    def known_tests(self) -> set[str]:
        return {row[0] for row in self._query("SELECT node_id FROM tests")}

    def add_routing(self, run_id: str, decisions: Sequence[tuple[Any, ...]]) -> None:
        """(node_id, target, strategy, estimate, fallback_reason, at) per routed test."""
        with self.transaction() as db:
            pk = self._run_pk(run_id)
            db.executemany(
                "INSERT INTO routing_decisions (run_pk, test_key, target, strategy,"
                " estimate_seconds, fallback, fallback_reason, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        pk,
                        test_key(node_id),
                        target,
                        strategy,
                        estimate,
                        int(reason is not None),
                        reason,
                        at,
                    )
                    for node_id, target, strategy, estimate, reason, at in decisions
                ],
            )

    def routing_decisions(self, run_id: str) -> list[dict[str, Any]]:
        pk = self._run_pk(run_id)
        rows = self._query(
            "SELECT t.node_id, r.target, r.strategy, r.estimate_seconds, r.fallback,"
            " r.fallback_reason, r.at FROM routing_decisions r JOIN tests t USING (test_key)"
            " WHERE r.run_pk = ? ORDER BY r.rowid",
            (pk,),
        )
        return [
            {
                "run_id": run_id,
                "node_id": row[0],
                "target": row[1],
                "strategy": row[2],
                "estimate_seconds": row[3],
                "fallback": bool(row[4]),
                "fallback_reason": row[5],
                "at": iso(row[6]),
            }
            for row in rows
        ]

    def add_schedule(self, run_id: str, entries: Sequence[tuple[Any, ...]]) -> None:
        """(node_id, position, priority, constraint, reason) per scheduled test."""
        with self.transaction() as db:
            pk = self._run_pk(run_id)
            db.executemany(
                "INSERT INTO schedule_entries VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (pk, test_key(node_id), position, priority, constraint, reason)
                    for node_id, position, priority, constraint, reason in entries
                ],
            )

    def schedule_entries(self, run_id: str) -> list[dict[str, Any]]:
        pk = self._run_pk(run_id)
        rows = self._query(
            "SELECT t.node_id, s.position, s.priority, s.constraint_text, s.reason"
            " FROM schedule_entries s JOIN tests t USING (test_key)"
            " WHERE s.run_pk = ? ORDER BY s.position",
            (pk,),
        )
        return [
            {
                "run_id": run_id,
                "node_id": row[0],
                "position": row[1],
                "priority": row[2],
                "constraint": row[3],
                "reason": row[4],
            }
            for row in rows
        ]

    def add_step(
        self,
        workstream_id: str,
        phase: str,
        run_id: str,
        shard: str | None,
        depends_on: Sequence[str] = (),
    ) -> None:
        """Record this run as a step of a workstream (a CI build), in a phase, maybe a shard."""
        now = time.time()
        with self.transaction() as db:
            db.execute(
                "INSERT INTO workstreams (workstream_id, state, created_at, updated_at)"
                " VALUES (?, 'running', ?, ?) ON CONFLICT (workstream_id) DO UPDATE"
                " SET state = 'running', updated_at = excluded.updated_at",
                (workstream_id, now, now),
            )
            db.execute(
                "INSERT INTO phases VALUES (?, ?, 'running') ON CONFLICT (workstream_id, phase)"
                " DO UPDATE SET state = 'running'",
                (workstream_id, phase),
            )
            db.execute(
                "INSERT OR REPLACE INTO steps VALUES (?, ?, ?, ?, ?, 'running')",
                (workstream_id, phase, run_id, run_id, shard),
            )
            db.executemany(
                "INSERT OR IGNORE INTO dependencies VALUES (?, ?, ?)",
                [(workstream_id, phase, other) for other in depends_on],
            )

    def combine_runs(self, run: NewRun, run_ids: Sequence[str], labels: Sequence[str]) -> None:
        """Create ``run`` holding the tasks, executions, errors and workers of ``run_ids``.

        Worker ids are prefixed with each run's label (its shard), since every
        shard has its own gw0. Coverage and the patch are stored by the caller.
        """
        self.create_run(run)
        with self.transaction() as db:
            new = self._run_pk(run.run_id)
            collected: dict[int, None] = {}  # every shard's tests, once each, in shard order
            for source, label in zip(run_ids, labels, strict=True):
                old = self._run_pk(source)
                row = db.execute("SELECT test_keys FROM tasks WHERE run_pk = ?", (old,)).fetchone()
                collected.update(dict.fromkeys(keys_of(row)))
                db.execute(
                    f"INSERT INTO executions ({EXECUTION_COLUMNS})"
                    " SELECT ?, test_key, attempt, ? || ':' || worker,"
                    " outcome, setup_outcome, setup_duration, call_outcome, call_duration,"
                    " teardown_outcome, teardown_duration, duration, started_at, finished_at,"
                    " skip_reason, xfail_reason, cpu_seconds FROM executions WHERE run_pk = ?",
                    (new, label, old),
                )
                db.execute(
                    f"INSERT INTO error_captures ({ERROR_COLUMNS}) SELECT ?, node_id, attempt,"
                    " phase, exc_type,"
                    " message, path, lineno, traceback, truncated FROM error_captures"
                    " WHERE run_pk = ?",
                    (new, old),
                )
                db.execute(
                    "INSERT INTO costs SELECT ?, scope, CASE scope WHEN 'worker'"
                    " THEN ? || ':' || subject ELSE subject END, name, amount, unit FROM costs"
                    " WHERE run_pk = ? AND scope != 'run'",
                    (new, label, old),
                )
                db.execute(
                    "INSERT INTO workers SELECT ?, ? || ':' || worker_id, state, tests_run,"
                    " started_at, stopped_at, reason FROM workers WHERE run_pk = ?",
                    (new, label, old),
                )
            db.execute(
                "INSERT INTO tasks (run_pk, size, test_keys) VALUES (?, ?, ?)",
                (new, len(collected), keys_text(list(collected))),
            )

    def set_step_state(self, run_id: str, state: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE steps SET state = ? WHERE run_id = ?", (state, run_id))

    def set_workstream_state(
        self, workstream_id: str, state: str, expect_shards: int | None = None
    ) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE workstreams SET state = ?, updated_at = ?,"
                " expect_shards = coalesce(?, expect_shards) WHERE workstream_id = ?",
                (state, time.time(), expect_shards, workstream_id),
            )

    def workstream(self, workstream_id: str) -> dict[str, Any]:
        """A workstream with its phases, steps and dependencies (their schema documents)."""
        rows = self._query("SELECT * FROM workstreams WHERE workstream_id = ?", (workstream_id,))
        if not rows:
            raise RunNotFoundError(
                f"no workstream {workstream_id!r} in ledger {self.location}; runs join one"
                " with --uetf-workstream ID or --uetf-shard K/N"
            )
        ws = rows[0]
        return {
            "workstream_id": workstream_id,
            "state": ws["state"],
            "created_at": iso(ws["created_at"]),
            "updated_at": iso(ws["updated_at"]),
            "expect_shards": ws["expect_shards"],
            "phases": [
                {"workstream_id": workstream_id, "phase": row["phase"], "state": row["state"]}
                for row in self._query(
                    "SELECT phase, state FROM phases WHERE workstream_id = ? ORDER BY phase",
                    (workstream_id,),
                )
            ],
            "steps": [
                {
                    "workstream_id": workstream_id,
                    "phase": row["phase"],
                    "step_id": row["step_id"],
                    "run_id": row["run_id"],
                    "shard": row["shard"],
                    "state": row["state"],
                }
                for row in self._query(
                    "SELECT s.* FROM steps s LEFT JOIN runs r ON r.run_id = s.run_id"
                    " WHERE s.workstream_id = ? ORDER BY r.started_at, s.step_id",
                    (workstream_id,),
                )
            ],
            "dependencies": [
                {"workstream_id": workstream_id, "phase": row[0], "depends_on": row[1]}
                for row in self._query(
                    "SELECT phase, depends_on FROM dependencies WHERE workstream_id = ?"
                    " ORDER BY phase, depends_on",
                    (workstream_id,),
                )
            ],
        }

    def history(self, run_id: str, limit: int) -> list[dict[str, Any]]:
        """The run and the finished runs of its branch before it, oldest first, at most ``limit``.

        Per run: totals, coverage percent and duration, as the trend charts draw them.
        """
        rows = self._query(
            "SELECT pk, started_at, branch_name FROM runs WHERE run_id = ?", (run_id,)
        )
        if not rows:
            raise RunNotFoundError(f"no run {run_id!r} in ledger {self.location}")
        pk, started_at, branch = rows[0]
        found = self._query(
            "SELECT r.run_id, r.started_at, r.finished_at, r.state, c.percent FROM runs r"
            " LEFT JOIN coverage_totals c ON c.run_pk = r.pk"
            " WHERE (r.pk = ? OR (r.finished_at IS NOT NULL AND r.partial = 0"
            " AND r.branch_name IS ? AND (r.started_at, r.pk) < (?, ?)))"
            " ORDER BY r.started_at DESC, r.pk DESC LIMIT ?",
            (pk, branch, started_at, pk, limit),
        )
        runs = []
        for row in reversed(found):
            totals = self.totals(row["run_id"])
            finished = row["finished_at"]
            runs.append(
                {
                    "run_id": row["run_id"],
                    "started_at": iso(row["started_at"]),
                    "state": row["state"],
                    "totals": totals.as_dict(),
                    "coverage": row["percent"],
                    "duration_seconds": (
                        round(finished - row["started_at"], 3) if finished is not None else None
                    ),
                }
            )
        return runs

    def add_document(self, document: dict[str, Any]) -> None:
        """Record a report that was written (``doc_metadata``)."""
        from uetf_core.timeutil import parse_iso

        with self.transaction() as db:
            db.execute(
                "INSERT INTO documents (kind, format, path, sha256, size_bytes, run_ids_json,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    document["kind"],
                    document["format"],
                    document["path"],
                    document["sha256"],
                    document["size_bytes"],
                    json.dumps(document["run_ids"], allow_nan=False),
                    parse_iso(document["created_at"]).timestamp(),
                ),
            )

    def documents(self, run_id: str) -> list[dict[str, Any]]:
        """The reports written of ``run_id``, oldest first, as ``doc_metadata`` documents."""
        rows = self._query(
            "SELECT kind, format, path, sha256, size_bytes, run_ids_json, created_at"
            " FROM documents WHERE run_ids_json LIKE ? ORDER BY pk",
            (f'%"{run_id}"%',),
        )
        return [
            {
                "kind": row["kind"],
                "format": row["format"],
                "path": row["path"],
                "sha256": row["sha256"],
                "size_bytes": row["size_bytes"],
                "run_ids": json.loads(row["run_ids_json"]),
                "created_at": iso(row["created_at"]),
            }
            for row in rows
        ]

    def metrics(self, run_id: str, now: float | None = None) -> RunMetrics:
        pk = self._run_pk(run_id)
        started, finished = self._query(
            "SELECT started_at, finished_at FROM runs WHERE pk = ?", (pk,)
        )[0]
        longest = [d for o, (_, d) in self._attempt_outcomes(run_id).items() if o != "skipped"]
        slowest = max(longest) if longest else None
        end = finished if finished is not None else (now or time.time())
        return RunMetrics(self.totals(run_id), max(0.0, end - started), slowest)

    def check_whole(self) -> None:
        """Refuse a damaged ledger before a command deletes or rewrites anything in it:
        quick_check over every page (3.5 s for the 776 MB of 5 million records)."""
        if not isinstance(self._db, sqlite3.Connection):
            return  # a server keeps its own pages whole
        with self._guard():
            problems = _problems(self._db, whole=True)
        if problems:
            self._damage = damaged_message(self.path, problems[0])
            raise LedgerCorruptError(self._damage)

    def integrity_problems(self) -> list[str]:
        rows = self._query("PRAGMA integrity_check")
        problems = [row[0] for row in rows if row[0] != "ok"]
        problems += [
            f"foreign key violation in {row[0]} (row {row[1]})"
            for row in self._query("PRAGMA foreign_key_check")
        ]
        return problems


def _parse_rest(entry: Mapping[str, Any]) -> Any:
    """What a cached analysis keeps as JSON: the multi-line map, with the arc parts if any."""
    rest = {k: v for k, v in entry.items() if k not in ("statements", "excluded")}
    return rest["multiline"] if rest.keys() == {"multiline"} else rest


def _in_chunks(values: Sequence[T]) -> Iterator[tuple[Sequence[T], str]]:
    """``values`` in slices an ``IN (...)`` list holds on every engine (old SQLite
    builds allow 999 parameters), each with its placeholders."""
    for start in range(0, len(values), 500):
        chunk = values[start : start + 500]
        yield chunk, ", ".join("?" * len(chunk))


def _max_parameters(db: sqlite3.Connection) -> int:
    """How many parameters one statement may have on this SQLite build."""
    limit = getattr(db, "getlimit", None)  # Python 3.11 and later
    which = getattr(sqlite3, "SQLITE_LIMIT_VARIABLE_NUMBER", None)
    if limit is not None and which is not None:
        return int(limit(which))
    return 32766 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    except OSError:
        return False
    return True
