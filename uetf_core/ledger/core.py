"""What every part of a ledger shares: its connection, and the keys it has looked up.

The ledger is one class (``uetf_core.ledger.sql.SqlLedger``) put together from
a part per concept: the write path (``writes``) and the queries of runs,
results, history, costs, coverage and workstreams (``queries``). Each part is
a class over this one, so each sees the connection and the run keys, and none
sees another's internals.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from pathlib import Path

from uetf_core.errors import RunNotFoundError
from uetf_core.ledger.connection import Connection, Params, Row, in_chunks


class LedgerCore:
    """A ledger's connection and the keys of runs and tests it knows."""

    read_only = False
    may_go_away = False
    """Whether the ledger is a server that may be lost mid-run (then a run keeps its
    writes to replay them into a local spool: ``uetf_core.run.RunRecorder``)."""

    def __init__(self, db: Connection, dsn: str, path: Path | None) -> None:
        self.db = db
        """The connection: transactions, statements and the back end's dialect."""
        self.location = db.location
        self.dsn = dsn  # what open_ledger takes to open this ledger again
        self.path = path  # the file, for a SQLite ledger
        # The key of each node id this connection knows is in `tests`: a batch
        # then inserts only new ones, and hashes each node id once per run.
        self._known_keys: dict[str, int] = {}
        self._own_runs: dict[str, int | None] = {}  # runs created here: their keys, once read

    @property
    def _db(self) -> Connection:
        """The connection, by its older name (kept for scripts and tests that use it)."""
        return self.db

    def transaction(
        self, keeps_results: bool = False
    ) -> contextlib.AbstractContextManager[Connection]:
        """A write transaction over the connection; nested uses join the outermost."""
        return self.db.transaction(keeps_results)

    def _query(self, sql: str, params: Params = ()) -> list[Row]:
        return self.db.query(sql, params)

    def close(self) -> None:
        self.db.close()

    def schema_version(self) -> int:
        return self.db.schema_version()

    def integrity_problems(self) -> list[str]:
        return self.db.integrity_problems()

    def check_whole(self) -> None:
        """Refuse a damaged ledger before a command deletes or rewrites anything in it."""
        self.db.check_whole()

    def vacuum(self) -> tuple[int, int]:
        """Give the space of deleted rows back (SQLite) or make it reusable (PostgreSQL).
        Returns the ledger's size in bytes before and after."""
        before = self.db.size()[0]
        self.db.vacuum()
        return before, self.db.size()[0]

    def _run_pk(self, run_id: str) -> int:
        known = self._own_runs.get(run_id)
        if known is not None:
            return known
        rows = self.db.query("SELECT pk FROM runs WHERE run_id = ?", (run_id,))
        if not rows:
            raise RunNotFoundError(f"no run {run_id!r} in ledger {self.location}")
        pk = int(rows[0][0])
        if run_id in self._own_runs:
            # A run this connection created: nearly every write of it needs its key
            # (a round trip per transaction on a server), and a live run keeps it.
            self._own_runs[run_id] = pk
        return pk

    def _names(self, keys: Iterable[int]) -> dict[int, str]:
        """The node id of each of ``keys`` (each distinct key looked up once)."""
        names: dict[int, str] = {}
        for chunk, marks in in_chunks(list(dict.fromkeys(keys))):
            rows = self.db.query(
                f"SELECT test_key, node_id FROM tests WHERE test_key IN ({marks})", chunk
            )
            names.update((key, node_id) for key, node_id in rows)
        return names

    def _keys_with(self, run_pk: int, outcomes: Sequence[str]) -> list[int]:
        """The tests of the run with an attempt of one of ``outcomes``."""
        marks = ", ".join("?" * len(outcomes))
        rows = self.db.execute(
            f"SELECT DISTINCT test_key FROM executions WHERE run_pk = ? AND outcome IN ({marks})",
            (run_pk, *outcomes),
        )
        return [row[0] for row in rows]

    def _attempts(self, run_pk: int, keys: Sequence[int]) -> dict[int, list[tuple[int, str]]]:
        """Each of ``keys``' attempts in the run, ``(attempt, outcome)``, in attempt order."""
        found: dict[int, list[tuple[int, str]]] = {}
        for chunk, marks in in_chunks(keys):
            rows = self.db.execute(
                "SELECT test_key, attempt, outcome FROM executions WHERE run_pk = ?"
                f" AND test_key IN ({marks})",
                (run_pk, *chunk),
            )
            for key, attempt, outcome in rows:
                found.setdefault(key, []).append((attempt, outcome))
        for attempts in found.values():
            attempts.sort()
        return found

    def _attempt_outcomes(self, run_id: str) -> dict[str, tuple[int, float]]:
        """Per outcome, how many of the run's attempts had it and the longest one's
        duration: what totals, metrics and the verdict need, in one pass over the run."""

        def read(run_id: str) -> dict[str, tuple[int, float]]:
            rows = self.db.query(
                "SELECT outcome, count(*), max(duration) FROM executions WHERE run_pk = ?"
                " GROUP BY outcome",
                (self._run_pk(run_id),),
            )
            return {row[0]: (row[1], row[2]) for row in rows}

        return self.db.remembered("attempt_outcomes", run_id, read)

    def _anything_failed(self, run_id: str) -> bool:
        """Whether any attempt of the run failed, errored or was rerun."""
        counts = self._attempt_outcomes(run_id)
        return any(outcome in counts for outcome in ("failed", "error", "rerun"))
