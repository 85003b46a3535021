"""Across runs: a run's trend, a test's history, recent durations and outcomes, and
flakiness (flips noted once at a run's end, read by the flaky queries)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from uetf_core.errors import RunNotFoundError
from uetf_core.ids import test_key
from uetf_core.ledger.layouts import FLIP_COLUMNS
from uetf_core.ledger.queries.results import ResultQueries
from uetf_core.timeutil import iso

if TYPE_CHECKING:
    from uetf_core.documents import FlakyTest, HistoryEntry, LastFailure, RunTrend


class HistoryQueries(ResultQueries):
    """History and flakiness."""

    def test_history(self, node_id: str, limit: int) -> list[HistoryEntry]:
        """The test's final outcome and duration in its newest ``limit`` runs, newest first."""
        # Driven by the runs, newest first, one index seek per run: the executions
        # are indexed by run, then test (CROSS JOIN keeps SQLite to that order).
        rows = self.db.query(
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

    def history(self, run_id: str, limit: int) -> list[RunTrend]:
        """The run and the finished runs of its branch before it, oldest first, at most ``limit``.

        Per run: totals, coverage percent and duration, as the trend charts draw them.
        """
        rows = self.db.query(
            "SELECT pk, started_at, branch_name FROM runs WHERE run_id = ?", (run_id,)
        )
        if not rows:
            raise RunNotFoundError(f"no run {run_id!r} in ledger {self.location}")
        pk, started_at, branch = rows[0]
        found = self.db.query(
            "SELECT r.run_id, r.started_at, r.finished_at, r.state, c.percent FROM runs r"
            " LEFT JOIN coverage_totals c ON c.run_pk = r.pk"
            " WHERE (r.pk = ? OR (r.finished_at IS NOT NULL AND r.partial = 0"
            f" AND r.branch_name {self.db.IS} ? AND (r.started_at, r.pk) < (?, ?)))"
            " ORDER BY r.started_at DESC, r.pk DESC LIMIT ?",
            (pk, branch, started_at, pk, limit),
        )
        runs: list[RunTrend] = []
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

    def _recent_run_pks(self, runs: int, exclude_workstream: str | None = None) -> list[int]:
        rows = self.db.query(
            "SELECT pk FROM runs WHERE finished_at IS NOT NULL AND state IN ('passed', 'failed')"
            f" AND run_id NOT IN (SELECT run_id FROM steps WHERE workstream_id {self.db.IS} ?"
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
        rows = self.db.query(
            f"SELECT e.test_key, e.{column} FROM executions e"
            f" WHERE e.run_pk IN ({marks}) AND e.outcome != 'rerun'"
            " ORDER BY e.run_pk ASC, e.rowid ASC",
            pks,
        )
        names = self._names([row[0] for row in rows])
        return [(names[key], value) for key, value in rows]

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
        rows = self.db.query(
            "SELECT pk, head_commit, tree_state, python FROM runs WHERE run_id = ?", (run_id,)
        )
        if not rows:
            raise RunNotFoundError(f"no run {run_id!r} in ledger {self.location}")
        pk, head, tree, python = rows[0]
        with self.db.transaction(keeps_results=True) as db:
            # Only tests with a failed attempt can have flipped: the rest is not read.
            # (Two steps rather than a subquery: PostgreSQL, with statistics that
            # do not know this run yet, plans that as a nested loop over the run.)
            failing = (
                self._keys_with(pk, ("failed", "error", "rerun"))
                if self._anything_failed(run_id)
                else []
            )
            retried = [
                (pk, key, "retry", None)
                for key, attempts in self._attempts(pk, failing).items()
                if any(outcome == "passed" for _, outcome in attempts)
            ]
            db.executemany(db.insert_ignore("flips", FLIP_COLUMNS), retried)
            if head:
                # The same code: the same commit and the same uncommitted changes, on
                # the same Python (a test that fails on one version only has not
                # flipped). A run that recorded no tree state or Python compares with
                # none: an older run may have run any code, on any Python.
                other = db.execute(
                    "SELECT pk FROM runs WHERE head_commit = ? AND pk != ?"
                    " AND state IN ('passed', 'failed') AND coalesce(tree_state, '-') = ?"
                    " AND coalesce(python, '-') = ? ORDER BY started_at DESC LIMIT 1",
                    (head, pk, "-" if tree is None else tree, "-" if python is None else python),
                ).fetchone()
                if other:
                    # A flip has a failure on one side: compare the tests that failed
                    # in either run, not all of them. (Compared here rather than in one
                    # join, which PostgreSQL plans as a nested loop.)
                    bad = ("failed", "error")
                    keys = sorted(
                        set(self._keys_with(pk, bad)) | set(self._keys_with(other[0], bad))
                    )
                    now = self._final_outcomes(pk, keys)
                    before = self._final_outcomes(other[0], keys)
                    flipped = [
                        (pk, key, "commit", other[0])
                        for key in keys
                        if (now.get(key) == "passed" and before.get(key) in bad)
                        or (now.get(key) in bad and before.get(key) == "passed")
                    ]
                    db.executemany(db.insert_ignore("flips", FLIP_COLUMNS), flipped)
            count = db.execute("SELECT count(*) FROM flips WHERE run_pk = ?", (pk,)).fetchone()
        return int(count[0])

    def _final_outcomes(self, run_pk: int, keys: Sequence[int]) -> dict[int, str]:
        """The last attempt's outcome of each of ``keys`` the run executed."""
        return {key: attempts[-1][1] for key, attempts in self._attempts(run_pk, keys).items()}

    def _window(self, runs: int, until_run_id: str | None) -> list[int]:
        """The newest ``runs`` finished runs (up to and including ``until_run_id``).

        ``until_run_id`` counts whatever its state: a run being judged (``gating``)
        is not finished yet, and its own flips must count for its gates as they do
        for its reports, written once it has finished."""
        sql = "SELECT pk FROM runs WHERE state IN ('passed', 'failed')"
        params: list[object] = []
        if until_run_id is not None:
            sql = (
                "SELECT pk FROM runs WHERE (state IN ('passed', 'failed') OR run_id = ?)"
                " AND started_at <= (SELECT started_at FROM runs WHERE run_id = ?)"
            )
            params = [until_run_id, until_run_id]
        rows = self.db.query(sql + " ORDER BY started_at DESC, pk DESC LIMIT ?", (*params, runs))
        return [row[0] for row in rows]

    def flaky_tests(self, runs: int, until_run_id: str | None = None) -> set[str]:
        """Node ids with a flip in the window."""
        window = self._window(runs, until_run_id)
        if not window:
            return set()
        marks = ",".join("?" * len(window))
        rows = self.db.query(
            "SELECT DISTINCT t.node_id FROM flips f JOIN tests t USING (test_key)"
            f" WHERE f.run_pk IN ({marks})",
            window,
        )
        return {row[0] for row in rows}

    def flaky(self, runs: int, until_run_id: str | None = None) -> list[FlakyTest]:
        """Flaky tests of the window: flips, runs that ran them, rate, last failure."""
        window = self._window(runs, until_run_id)
        if not window:
            return []
        marks = ",".join("?" * len(window))
        flipped = self.db.query(
            "SELECT f.test_key, t.node_id, count(*) AS flips,"
            " sum(CASE WHEN f.kind = 'retry' THEN 1 ELSE 0 END) AS retries"
            " FROM flips f JOIN tests t USING (test_key)"
            f" WHERE f.run_pk IN ({marks}) GROUP BY f.test_key, t.node_id",
            window,
        )
        found: list[FlakyTest] = []
        for row in flipped:
            seen = self.db.query(
                "SELECT count(DISTINCT run_pk) FROM executions"
                f" WHERE test_key = ? AND run_pk IN ({marks})",
                (row["test_key"], *window),
            )[0][0]
            last = self.db.query(
                "SELECT r.run_id, r.started_at, r.head_commit, e.outcome FROM executions e"
                " JOIN runs r ON r.pk = e.run_pk WHERE e.test_key = ?"
                f" AND e.run_pk IN ({marks}) AND e.outcome IN ('failed', 'error', 'rerun')"
                " ORDER BY r.started_at DESC LIMIT 1",
                (row["test_key"], *window),
            )
            failure: LastFailure | None = None
            if last:
                message = self.db.query(
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
