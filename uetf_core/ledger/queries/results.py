"""What a run's tests did: its records, tasks, errors, totals and troubled tests."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from uetf_core.ledger.core import LedgerCore
from uetf_core.ledger.migrations import keys_of
from uetf_core.metrics import RunMetrics, Totals
from uetf_core.timeutil import iso

if TYPE_CHECKING:
    from uetf_core.documents import (
        ErrorDocument,
        ExecutionDocument,
        PhaseDocument,
        SlowExecution,
        TaskDocument,
    )

PHASES = ("setup", "call", "teardown")

# The final attempt of each test of one run (the earlier ones were reruns); one
# parameter, the run's key. Window functions, so the same SQL runs on PostgreSQL.
FINAL_ATTEMPTS = (
    "SELECT test_key, outcome FROM (SELECT test_key, outcome, row_number() OVER"
    " (PARTITION BY test_key ORDER BY attempt DESC) AS rn FROM executions WHERE run_pk = ?)"
    " AS ranked WHERE rn = 1"
)


class ResultQueries(LedgerCore):
    """A run's results."""

    def outcomes(self, run_id: str) -> dict[str, str]:
        """Each test's final outcome in a run (its last attempt), by node id."""
        pk = self._run_pk(run_id)
        rows = self.db.query(
            f"SELECT t.node_id, last.outcome FROM ({FINAL_ATTEMPTS}) AS last"
            " JOIN tests t USING (test_key)",
            (pk,),
        )
        return {row[0]: row[1] for row in rows}

    def troubled(self, run_id: str) -> dict[str, tuple[str, set[str]]]:
        """Tests with any attempt that did not pass: final outcome and all outcomes seen.

        Reads only the attempts of those tests, so a verdict on 5,000 passing
        tests reads nothing per test.
        """
        return self.db.remembered("troubled", run_id, self._read_troubled)

    def _read_troubled(self, run_id: str) -> dict[str, tuple[str, set[str]]]:
        pk = self._run_pk(run_id)
        if not self._anything_failed(run_id):
            return {}
        # Two steps, not a subquery: see record_flips.
        with self.db.guard():
            attempts = self._attempts(pk, self._keys_with(pk, ("failed", "error", "rerun")))
            names = self._names(list(attempts))
        return {
            names[key]: (tried[-1][1], {outcome for _, outcome in tried})
            for key, tried in attempts.items()
        }

    def records(self, run_id: str) -> list[ExecutionDocument]:
        pk = self._run_pk(run_id)
        rows = self.db.query(
            "SELECT t.node_id, e.* FROM executions e JOIN tests t USING (test_key)"
            " WHERE e.run_pk = ? ORDER BY e.rowid",
            (pk,),
        )
        errors = {(e["node_id"], e["attempt"], e["phase"]): e for e in self.error_captures(run_id)}
        documents: list[ExecutionDocument] = []
        for row in rows:
            phases: list[PhaseDocument | None] = [
                None
                if row[f"{phase}_outcome"] is None
                else {"outcome": row[f"{phase}_outcome"], "duration": row[f"{phase}_duration"]}
                for phase in PHASES
            ]
            error = next(
                (
                    errors[(row["node_id"], row["attempt"], phase)]
                    for phase in PHASES
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
                    "setup": phases[0],
                    "call": phases[1],
                    "teardown": phases[2],
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

    def tasks(self, run_id: str) -> list[TaskDocument]:
        pk = self._run_pk(run_id)
        keys = self._task_keys(pk)
        node_ids = self._names(keys)
        # A task's state is its last attempt's outcome, read here rather than
        # written to every task at the end of every run; 'pending' if it never ran.
        final = {key: outcome for key, outcome in self.db.query(FINAL_ATTEMPTS, (pk,))}
        tasks: list[TaskDocument] = []
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
        rows = self.db.query("SELECT test_keys FROM tasks WHERE run_pk = ?", (pk,))
        return keys_of(rows[0] if rows else None)

    def error_captures(self, run_id: str) -> list[ErrorDocument]:
        pk = self._run_pk(run_id)
        rows = self.db.query(
            "SELECT node_id, attempt, phase, exc_type, message, path, lineno, traceback,"
            " truncated FROM error_captures WHERE run_pk = ? ORDER BY rowid",
            (pk,),
        )
        return [
            {
                "node_id": row["node_id"],
                "attempt": row["attempt"],
                "phase": row["phase"],
                "exc_type": row["exc_type"],
                "message": row["message"],
                "path": row["path"],
                "lineno": row["lineno"],
                "traceback": row["traceback"],
                "truncated": bool(row["truncated"]),
            }
            for row in rows
        ]

    def totals(self, run_id: str) -> Totals:
        return self.db.remembered("totals", run_id, self._read_totals)

    def _read_totals(self, run_id: str) -> Totals:
        pk = self._run_pk(run_id)
        rows = self.db.query("SELECT size FROM tasks WHERE run_pk = ?", (pk,))
        collected = rows[0][0] if rows else 0
        counts = {outcome: n for outcome, (n, _) in self._attempt_outcomes(run_id).items()}
        reruns = counts.get("rerun", 0)
        repeated = self.db.query(
            "SELECT count(*) - count(DISTINCT test_key) FROM executions WHERE run_pk = ?", (pk,)
        )[0][0]
        if repeated:
            # A test ran more than once: its last attempt decides its outcome;
            # the earlier ones were reruns. (Rare, so counted again only then.)
            counts = {
                row[0]: row[1]
                for row in self.db.query(
                    f"SELECT outcome, count(*) FROM ({FINAL_ATTEMPTS}) AS last GROUP BY outcome",
                    (pk,),
                )
            }
        collect_errors = self.db.query(
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

    def slowest(self, run_id: str, limit: int) -> list[SlowExecution]:
        """The ``limit`` longest test executions of the run, longest first."""
        pk = self._run_pk(run_id)
        rows = self.db.query(
            "SELECT t.node_id, e.duration, e.outcome, e.worker FROM executions e"
            " JOIN tests t USING (test_key) WHERE e.run_pk = ?"
            " ORDER BY e.duration DESC, t.node_id LIMIT ?",
            (pk, limit),
        )
        return [
            {"node_id": node_id, "duration": duration, "outcome": outcome, "worker": worker}
            for node_id, duration, outcome, worker in rows
        ]

    def final_results(self, run_id: str) -> list[tuple[str, int, str, float, str | None]]:
        """Per test, its last attempt: node id, attempt, outcome, duration, skip or xfail reason.

        In run order; a lean read for reports that list every test (JUnit).
        """
        pk = self._run_pk(run_id)
        rows = self.db.query(
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

    def metrics(self, run_id: str, now: float | None = None) -> RunMetrics:
        pk = self._run_pk(run_id)
        started, finished = self.db.query(
            "SELECT started_at, finished_at FROM runs WHERE pk = ?", (pk,)
        )[0]
        longest = [d for o, (_, d) in self._attempt_outcomes(run_id).items() if o != "skipped"]
        slowest = max(longest) if longest else None
        end = finished if finished is not None else (now or time.time())
        return RunMetrics(self.totals(run_id), max(0.0, end - started), slowest)

    def known_tests(self) -> set[str]:
        return {row[0] for row in self.db.query("SELECT node_id FROM tests")}
