"""Workstreams: a CI build's phases and steps (each a run), and the run that combines
its steps for one verdict."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from uetf_core.errors import RunNotFoundError
from uetf_core.ledger.base import NewRun
from uetf_core.ledger.layouts import (
    DEPENDENCY_COLUMNS,
    ERROR_COLUMNS,
    EXECUTION_COLUMNS,
    STEP_COLUMNS,
)
from uetf_core.ledger.migrations import keys_of, keys_text
from uetf_core.ledger.writes import Writes
from uetf_core.timeutil import iso

if TYPE_CHECKING:
    from uetf_core.documents import WorkstreamDocument


class Workstreams(Writes):
    """A workstream's steps and state, and its combined run."""

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
        with self.db.transaction() as db:
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
                db.upsert("steps", STEP_COLUMNS, ("workstream_id", "step_id")),
                (workstream_id, phase, run_id, run_id, shard, "running"),
            )
            db.executemany(
                db.insert_ignore("dependencies", DEPENDENCY_COLUMNS),
                [(workstream_id, phase, other) for other in depends_on],
            )

    def combine_runs(self, run: NewRun, run_ids: Sequence[str], labels: Sequence[str]) -> None:
        """Create ``run`` holding the tasks, executions, errors and workers of ``run_ids``.

        Worker ids are prefixed with each run's label (its shard), since every
        shard has its own gw0. Coverage and the patch are stored by the caller.
        """
        self.create_run(run)
        with self.db.transaction() as db:
            new = self._run_pk(run.run_id)
            collected: dict[int, None] = {}  # every shard's tests, once each, in shard order
            for source, label in zip(run_ids, labels, strict=True):
                old = self._run_pk(source)
                row = db.execute("SELECT test_keys FROM tasks WHERE run_pk = ?", (old,)).fetchone()
                collected.update(dict.fromkeys(keys_of(row)))
                db.execute(
                    f"INSERT INTO executions ({', '.join(EXECUTION_COLUMNS)})"
                    " SELECT ?, test_key, attempt, ? || ':' || worker,"
                    " outcome, setup_outcome, setup_duration, call_outcome, call_duration,"
                    " teardown_outcome, teardown_duration, duration, started_at, finished_at,"
                    " skip_reason, xfail_reason, cpu_seconds FROM executions WHERE run_pk = ?",
                    (new, label, old),
                )
                db.execute(
                    f"INSERT INTO error_captures ({', '.join(ERROR_COLUMNS)})"
                    " SELECT ?, node_id, attempt, phase, exc_type, message, path, lineno,"
                    " traceback, truncated FROM error_captures"
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
        with self.db.transaction() as db:
            db.execute("UPDATE steps SET state = ? WHERE run_id = ?", (state, run_id))

    def set_workstream_state(
        self, workstream_id: str, state: str, expect_shards: int | None = None
    ) -> None:
        with self.db.transaction() as db:
            db.execute(
                "UPDATE workstreams SET state = ?, updated_at = ?,"
                " expect_shards = coalesce(?, expect_shards) WHERE workstream_id = ?",
                (state, time.time(), expect_shards, workstream_id),
            )

    def workstream(self, workstream_id: str) -> WorkstreamDocument:
        """A workstream with its phases, steps and dependencies (their schema documents)."""
        rows = self.db.query("SELECT * FROM workstreams WHERE workstream_id = ?", (workstream_id,))
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
                for row in self.db.query(
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
                for row in self.db.query(
                    "SELECT s.* FROM steps s LEFT JOIN runs r ON r.run_id = s.run_id"
                    " WHERE s.workstream_id = ? ORDER BY r.started_at, s.step_id",
                    (workstream_id,),
                )
            ],
            "dependencies": [
                {"workstream_id": workstream_id, "phase": row[0], "depends_on": row[1]}
                for row in self.db.query(
                    "SELECT phase, depends_on FROM dependencies WHERE workstream_id = ?"
                    " ORDER BY phase, depends_on",
                    (workstream_id,),
                )
            ],
        }
