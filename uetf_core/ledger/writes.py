"""The write path: everything a run records, in the rows ``layouts.py`` lays out.
The per-test records arrive in batches (:meth:`Writes.write_batch`),
one transaction each; the rest is written a few times per run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from uetf_core.ids import collection_digest, test_key
from uetf_core.ledger.base import Batch, NewRun, RoutingDecision, ScheduleEntry
from uetf_core.ledger.connection import Connection
from uetf_core.ledger.core import LedgerCore
from uetf_core.ledger.layouts import (
    ANALYSIS_COLUMNS,
    COVERAGE_FILE_COLUMNS,
    COVERAGE_TOTAL_COLUMNS,
    ERROR_COLUMNS,
    EXECUTION_COLUMNS,
    PASSED_COLUMNS,
    PASSED_OUTCOMES,
    PATCH_COLUMNS,
    TEST_COLUMNS,
    UPDATE_STATE,
    error_row,
    execution_rows,
    test_rows,
)
from uetf_core.ledger.migrations import index_documents, keys_of, keys_text
from uetf_core.records import storable

if TYPE_CHECKING:
    from uetf_core.documents import DocumentMetadata


def _json(value: object) -> str:
    return json.dumps(value, allow_nan=False)


class Writes(LedgerCore):
    """The ledger's writes."""

    def create_run(self, run: NewRun) -> None:
        self._own_runs[run.run_id] = None
        with self.db.transaction() as db:
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
                    _json(run.config),
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
        with self.db.transaction(keeps_results=True) as db:
            db.execute(
                UPDATE_STATE + " WHERE run_id = ?",
                (state, time.time(), finished_at, exit_status, end_reason, verdict, run_id),
            )

    def set_partial(self, run_id: str, reason: str | None) -> None:
        with self.db.transaction(keeps_results=True) as db:
            db.execute(
                "UPDATE runs SET partial = ?, partial_reason = ? WHERE run_id = ?",
                (int(reason is not None), reason, run_id),
            )

    def set_commit(
        self,
        run_id: str,
        head: str | None,
        branch: str | None,
        tree_state: str | None = None,
        suite_key: str | None = None,
        python: str | None = None,
        merge_base: str | None = None,
    ) -> None:
        with self.db.transaction(keeps_results=True) as db:
            db.execute(
                "UPDATE runs SET head_commit = ?, branch_name = ?, tree_state = ?, suite_key = ?,"
                " python = ?, merge_base = ? WHERE run_id = ?",
                (head, branch, tree_state, suite_key, python, merge_base, run_id),
            )

    def add_tasks(self, run_id: str, node_ids: Sequence[str]) -> None:
        known = self._known_keys
        digest = collection_digest(node_ids)
        with self.db.transaction() as db:
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
                unseen.sort()  # after the filter: sorting every key of a large run costs
                db.insert_rows("tests", TEST_COLUMNS, test_rows(unseen), ignore=True)
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
        with self.db.transaction(keeps_results=not (batch.records or batch.errors)) as db:
            pk = self._run_pk(run_id)
            if batch.records:
                runs = execution_rows(batch.records, pk, self._known_keys, new)
                passed = (("run_pk", pk), *PASSED_OUTCOMES)
                for plain, rows in runs:
                    if plain:
                        db.insert_rows("executions", PASSED_COLUMNS, rows, passed)
                    else:
                        db.insert_rows("executions", EXECUTION_COLUMNS, rows)
                # A test the ledger never saw collected (xdist, or a plugin's own
                # item) still gets its node id stored.
                db.insert_rows(
                    "tests",
                    TEST_COLUMNS,
                    test_rows((key, node_id) for node_id, key in new.items()),
                    ignore=True,
                )
            if batch.costs:
                db.executemany(
                    "INSERT INTO costs VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (pk, scope, storable(subject), storable(name), amount, unit)
                        for scope, subject, name, amount, unit in batch.costs
                    ],
                )
            if batch.errors:
                db.executemany(
                    f"INSERT INTO error_captures ({', '.join(ERROR_COLUMNS)})"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [error_row(pk, e) for e in batch.errors],
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
                            e.subject and storable(e.subject),
                            e.from_state,
                            e.to_state,
                            _json(e.data) if e.data else None,
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
            self._write_state(db, pk, batch.state, heartbeat_at)
        self._known_keys.update(new)

    @staticmethod
    def _write_state(
        db: Connection, pk: int, state: dict[str, Any] | None, heartbeat_at: float
    ) -> None:
        if state is None:
            db.execute("UPDATE runs SET heartbeat_at = ? WHERE pk = ?", (heartbeat_at, pk))
            return
        db.execute(
            UPDATE_STATE + " WHERE pk = ?",
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

    def save_coverage(self, run_id: str, coverage: Mapping[str, Any]) -> None:
        """Store a run's coverage: totals, and per file numbits of statements and executed."""
        from coverage.numbits import nums_to_numbits  # only runs that measure pay the import

        with self.db.transaction(keeps_results=True) as db:
            pk = self._run_pk(run_id)
            db.execute(
                db.upsert("coverage_totals", COVERAGE_TOTAL_COLUMNS, ("run_pk",)),
                (
                    pk,
                    coverage["percent"],
                    coverage["n_statements"],
                    coverage["n_missing"],
                    coverage["n_branches"],
                    coverage["n_partial_branches"],
                    coverage["core"],
                    int(coverage["branch"]),
                    _json(coverage["problems"]) if coverage.get("problems") else None,
                ),
            )
            db.executemany(
                db.upsert("coverage_files", COVERAGE_FILE_COLUMNS, ("run_pk", "path")),
                [
                    (
                        pk,
                        f["path"],
                        nums_to_numbits(sorted(f["statements"])),
                        nums_to_numbits(sorted(f["executed"])),
                        f["n_branches"],
                        f["n_partial_branches"],
                        f["n_missing_branches"],
                        _json(f["arcs"]) if f.get("arcs") else None,
                    )
                    for f in coverage["files"]
                ],
            )

    # Unused entries older than this are dropped when new ones are stored, so
    # the cache follows the sources instead of growing with every edit.
    ANALYSIS_CACHE_DAYS = 30

    def save_static_analyses(self, entries: Mapping[str, dict[str, Any]]) -> None:
        from coverage.numbits import nums_to_numbits

        now = time.time()
        with self.db.transaction() as db:
            db.executemany(
                db.upsert("analysis_cache", ANALYSIS_COLUMNS, ("key",)),
                [
                    (
                        key,
                        nums_to_numbits(entry["statements"]),
                        nums_to_numbits(entry["excluded"]),
                        _json(_parse_rest(entry)),
                        now,
                    )
                    for key, entry in entries.items()
                ],
            )
            db.execute(
                "DELETE FROM analysis_cache WHERE used_at < ?",
                (now - self.ANALYSIS_CACHE_DAYS * 86400,),
            )

    def save_patch(self, run_id: str, patch: dict[str, Any]) -> None:
        with self.db.transaction(keeps_results=True) as db:
            pk = self._run_pk(run_id)
            db.execute(
                db.upsert("patches", PATCH_COLUMNS, ("run_pk",)),
                (
                    pk,
                    patch["state"],
                    patch["base_ref"],
                    patch["merge_base"],
                    patch["head"],
                    patch["diff_hash"],
                    _json(patch["files"]),
                    patch.get("problem"),
                ),
            )

    def add_tool_result(self, run_id: str | None, result: dict[str, Any]) -> None:
        with self.db.transaction(keeps_results=True) as db:
            pk = self._run_pk(run_id) if run_id else None
            db.execute(
                "INSERT INTO tool_results VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    pk,
                    result["tool"],
                    _json(result["argv"]),
                    result["exit_code"],
                    result["duration_seconds"],
                    int(result["ok"]),
                    result["stderr_excerpt"],
                    time.time(),
                ),
            )

    def save_gates(self, run_id: str, gates: Sequence[Mapping[str, object]]) -> None:
        with self.db.transaction(keeps_results=True) as db:
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
        with self.db.transaction(keeps_results=True) as db:
            pk = self._run_pk(run_id) if run_id else None
            db.execute(
                "INSERT INTO validations VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    pk,
                    record["subject"],
                    record["schema"],
                    int(record["valid"]),
                    _json(record["errors"]),
                    time.time(),
                    digest,
                ),
            )

    def add_progress(self, snapshot: dict[str, Any]) -> None:
        """Store a ``progress_snapshot`` (the monitor thread writes it, over its own connection)."""
        from uetf_core.timeutil import parse_iso

        with self.db.transaction(keeps_results=True) as db:
            db.execute(
                "INSERT INTO progress VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    self._run_pk(snapshot["run_id"]),
                    parse_iso(snapshot["at"]).timestamp(),
                    snapshot["done"],
                    snapshot["total"],
                    snapshot["elapsed_seconds"],
                    snapshot["eta_seconds"],
                    _json(snapshot["outcomes"]),
                ),
            )

    def add_routing(self, run_id: str, decisions: Sequence[RoutingDecision]) -> None:
        """(node_id, target, strategy, estimate, fallback_reason, at) per routed test."""
        with self.db.transaction() as db:
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

    def add_schedule(self, run_id: str, entries: Sequence[ScheduleEntry]) -> None:
        """(node_id, position, priority, constraint, reason) per scheduled test."""
        with self.db.transaction() as db:
            pk = self._run_pk(run_id)
            db.executemany(
                "INSERT INTO schedule_entries VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (pk, test_key(node_id), position, priority, constraint, reason)
                    for node_id, position, priority, constraint, reason in entries
                ],
            )

    def add_document(self, document: DocumentMetadata) -> None:
        """Record a report that was written (``doc_metadata``)."""
        from uetf_core.timeutil import parse_iso

        with self.db.transaction() as db:
            db.execute(
                "INSERT INTO documents (kind, format, path, sha256, size_bytes, run_ids_json,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    document["kind"],
                    document["format"],
                    document["path"],
                    document["sha256"],
                    document["size_bytes"],
                    _json(document["run_ids"]),
                    parse_iso(document["created_at"]).timestamp(),
                ),
            )
            index_documents(db)


def _parse_rest(entry: Mapping[str, Any]) -> Any:
    """What a cached analysis keeps as JSON: the multi-line map, with the arc parts if any."""
    rest = {k: v for k, v in entry.items() if k not in ("statements", "excluded")}
    return rest["multiline"] if rest.keys() == {"multiline"} else rest
