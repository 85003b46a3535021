"""Test impact analysis in the ledger: per-test dependencies, selections, carried results.

Layout (migration 14, docs/impact.md): block versions and sets of them are shared
by every run, keyed by content digests; per run, one row of how it recorded, one
small row per test naming its set, and, for a run that selected, its decision
and each test's reason. Every write is one transaction of bulk inserts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from uetf_core.ids import test_key
from uetf_core.ledger.connection import in_chunks
from uetf_core.ledger.core import LedgerCore
from uetf_core.ledger.layouts import TEST_COLUMNS, test_rows
from uetf_core.ledger.migrations import keys_of, keys_text

if TYPE_CHECKING:
    from uetf_core.impact.selection import BlockDependency
    from uetf_core.impact.stored import LikelyFlaky, RecordedRun, SelectionRecord, StoredSelection

# The worker name of a result carried from the baseline instead of run.
CARRIED = "carried"


class ImpactQueries(LedgerCore):
    """Dependencies recorded per test, the runs that can serve as baselines, selections."""

    def save_dependencies(self, run_id: str, recorded: RecordedRun) -> None:
        """Store what ``run_id`` recorded, in one transaction."""
        from uetf_core.impact.encoding import block_key, encode_ids, set_key

        blocks: dict[int, tuple[int, str, str, str]] = {}
        sets: dict[int, bytes] = {}

        def intern(deps: Iterable[BlockDependency]) -> int:
            keys = []
            for dep in deps:
                key = block_key(dep.path, dep.qualname, dep.fingerprint)
                blocks.setdefault(key, (key, dep.path, dep.qualname, dep.fingerprint))
                keys.append(key)
            encoded = encode_ids(keys)
            key = set_key(encoded)
            sets.setdefault(key, encoded)
            return key

        dependency_rows = []
        names = []
        for node_id, deps in sorted(recorded.tests.items()):
            key = test_key(node_id)
            names.append((key, node_id))
            dependency_rows.append((key, intern(deps) if deps is not None else None))
        import_set = intern(recorded.import_time)
        imports = {path: sorted(found) for path, found in sorted(recorded.imports.items())}
        with self.db.transaction() as db:
            pk = self._run_pk(run_id)
            db.insert_rows("tests", TEST_COLUMNS, test_rows(sorted(names)), ignore=True)
            db.insert_rows(
                "impact_blocks",
                ("block_key", "path", "qualname", "fingerprint"),
                [blocks[k] for k in sorted(blocks)],
                ignore=True,
            )
            db.insert_rows(
                "impact_sets", ("set_key", "block_keys"), sorted(sets.items()), ignore=True
            )
            db.execute(
                db.upsert(
                    "impact_runs",
                    (
                        "run_pk",
                        "mechanism",
                        "python",
                        "distributions",
                        "complete",
                        "import_time_set",
                        "imports_json",
                    ),
                    ("run_pk",),
                ),
                (
                    pk,
                    recorded.mechanism,
                    recorded.environment.python,
                    recorded.environment.distributions,
                    int(recorded.complete),
                    import_set,
                    json.dumps(imports, separators=(",", ":")),
                ),
            )
            db.execute("DELETE FROM impact_tests WHERE run_pk = ?", (pk,))
            db.insert_rows(
                "impact_tests",
                ("test_key", "set_key"),
                dependency_rows,
                constants=(("run_pk", pk),),
            )

    def find_dependency_baseline(
        self, commits: Sequence[str], suite_key: str | None = None, exclude: str | None = None
    ) -> tuple[str, str] | None:
        """(run id, commit) of the newest finished whole-suite run with dependency data,
        at the first of ``commits`` that has one, tested on a clean work tree."""
        same_suite = " AND (r.suite_key = ? OR r.suite_key IS NULL)" if suite_key else ""
        for commit in commits:
            params: list[object] = [commit, exclude or ""]
            if suite_key:
                params.append(suite_key)
            rows = self.db.query(
                "SELECT r.run_id FROM runs r JOIN impact_runs i ON i.run_pk = r.pk"
                " WHERE r.head_commit = ? AND r.state IN ('passed', 'failed')"
                " AND r.partial = 0 AND r.tree_state = '' AND i.complete = 1"
                " AND r.run_id != ?"
                + same_suite
                + " ORDER BY r.started_at DESC, r.pk DESC LIMIT 1",
                params,
            )
            if rows:
                return str(rows[0][0]), commit
        return None

    def recorded_dependencies(self, run_id: str) -> RecordedRun | None:
        """What ``run_id`` recorded; None when it recorded no dependencies."""
        from uetf_core.impact.encoding import decode_ids
        from uetf_core.impact.environment import Environment
        from uetf_core.impact.selection import BlockDependency
        from uetf_core.impact.stored import RecordedRun

        pk = self._run_pk(run_id)
        rows = self.db.query(
            "SELECT mechanism, python, distributions, complete, import_time_set, imports_json"
            " FROM impact_runs WHERE run_pk = ?",
            (pk,),
        )
        if not rows:
            return None
        mechanism, python, distributions, complete, import_set, imports_json = rows[0]
        tests = self.db.query(
            "SELECT t.node_id, i.set_key FROM impact_tests i JOIN tests t USING (test_key)"
            " WHERE i.run_pk = ?",
            (pk,),
        )
        wanted = sorted({row[1] for row in tests if row[1] is not None} | {import_set} - {None})
        sets: dict[int, tuple[int, ...]] = {}
        for chunk, marks in in_chunks(wanted):
            for key, data in self.db.query(
                f"SELECT set_key, block_keys FROM impact_sets WHERE set_key IN ({marks})", chunk
            ):
                sets[key] = decode_ids(bytes(data))
        block_keys = sorted({k for ids in sets.values() for k in ids})
        blocks: dict[int, BlockDependency] = {}
        for chunk, marks in in_chunks(block_keys):
            for key, path, qualname, fingerprint in self.db.query(
                "SELECT block_key, path, qualname, fingerprint FROM impact_blocks"
                f" WHERE block_key IN ({marks})",
                chunk,
            ):
                blocks[key] = BlockDependency(path, qualname, fingerprint)

        def resolved(key: int | None) -> frozenset[BlockDependency] | None:
            if key is None or key not in sets:
                return None
            return frozenset(blocks[k] for k in sets[key] if k in blocks)

        imports = {
            path: frozenset(found) for path, found in json.loads(imports_json or "{}").items()
        }
        return RecordedRun(
            mechanism,
            Environment(python, distributions),
            {node_id: resolved(key) for node_id, key in tests},
            resolved(import_set) or frozenset(),
            imports,
            complete=bool(complete),
        )

    def save_selection(self, run_id: str, record: SelectionRecord) -> None:
        """A run's selection: the decision and each collected test's reason."""
        rows = [
            (test_key(node_id), *(decision if decision is not None else (None, None)))
            for node_id, decision in sorted(record.decisions.items())
        ]
        with self.db.transaction() as db:
            pk = self._run_pk(run_id)
            db.insert_rows(
                "tests",
                ("test_key", "node_id"),
                sorted((test_key(n), n) for n in record.decisions),
                ignore=True,
            )
            db.execute(
                db.upsert(
                    "impact_selections",
                    (
                        "run_pk",
                        "mode",
                        "baseline_run_id",
                        "whole_reason",
                        "whole_detail",
                        "selected",
                        "unselected",
                    ),
                    ("run_pk",),
                ),
                (
                    pk,
                    record.mode,
                    record.baseline_run_id,
                    record.whole_reason,
                    record.whole_detail,
                    record.selected,
                    record.unselected,
                ),
            )
            db.execute("DELETE FROM impact_decisions WHERE run_pk = ?", (pk,))
            db.insert_rows(
                "impact_decisions",
                ("test_key", "reason", "detail"),
                rows,
                constants=(("run_pk", pk),),
            )

    def selection(self, run_id: str) -> StoredSelection | None:
        """A run's selection (mode, baseline, whole-suite reason, counts), or None."""
        rows = self.db.query(
            "SELECT s.mode, s.baseline_run_id, s.whole_reason, s.whole_detail, s.selected,"
            " s.unselected FROM impact_selections s JOIN runs r ON r.pk = s.run_pk"
            " WHERE r.run_id = ?",
            (run_id,),
        )
        return _stored_selection(*rows[0]) if rows else None

    def selection_decisions(self, run_id: str) -> dict[str, tuple[str | None, str | None]]:
        """Per collected test of a run that selected: its reason and detail (None: left out)."""
        pk = self._run_pk(run_id)
        rows = self.db.query(
            "SELECT t.node_id, d.reason, d.detail FROM impact_decisions d"
            " JOIN tests t USING (test_key) WHERE d.run_pk = ?",
            (pk,),
        )
        return {row[0]: (row[1], row[2]) for row in rows}

    def selection_history(
        self, limit: int, until_run_id: str | None = None
    ) -> list[dict[str, Any]]:
        """The newest ``limit`` finished runs that selected, newest first, with per run the
        tests that failed (final attempt failed or error) and whether each was selected,
        and the seconds the unselected tests took (ran in shadow mode, else carried).
        ``until_run_id``: the runs up to that one (see :func:`_history_until`)."""
        where, params = _history_until(until_run_id)
        runs = self.db.query(
            "SELECT r.pk, r.run_id, r.started_at, s.mode, s.whole_reason, s.selected,"
            " s.unselected FROM impact_selections s JOIN runs r ON r.pk = s.run_pk"
            f" WHERE {where} ORDER BY r.started_at DESC, r.pk DESC LIMIT ?",
            (*params, limit),
        )
        found = []
        for run in runs:
            pk = run["pk"]
            failing = self.db.query(
                "SELECT e.test_key, d.reason IS NOT NULL FROM executions e"
                " JOIN impact_decisions d ON d.run_pk = e.run_pk AND d.test_key = e.test_key"
                " WHERE e.run_pk = ? AND e.outcome IN ('failed', 'error') AND e.worker != ?"
                " AND e.attempt = (SELECT max(x.attempt) FROM executions x"
                " WHERE x.run_pk = e.run_pk AND x.test_key = e.test_key)",
                (pk, CARRIED),
            )
            seconds = self.db.query(
                "SELECT coalesce(sum(CASE WHEN d.reason IS NULL THEN e.duration ELSE 0 END), 0),"
                " coalesce(sum(e.duration), 0) FROM executions e JOIN impact_decisions d"
                " ON d.run_pk = e.run_pk AND d.test_key = e.test_key WHERE e.run_pk = ?",
                (pk,),
            )[0]
            found.append(
                {
                    "run_id": run["run_id"],
                    "started_at": run["started_at"],
                    "mode": run["mode"],
                    "whole_suite": run["whole_reason"],
                    "selected": run["selected"],
                    "unselected": run["unselected"],
                    "failures": len(failing),
                    "failures_selected": sum(1 for row in failing if row[1]),
                    "unselected_seconds": float(seconds[0]),
                    "seconds": float(seconds[1]),
                }
            )
        return found

    def carry_results(self, run_id: str, from_run_id: str, node_ids: Sequence[str]) -> int:
        """Copy the final results of ``node_ids`` in ``from_run_id`` into ``run_id`` as
        carried (worker ``carried``, attempt 1), with their error captures, and add the
        tests to the run's tasks. Returns how many results were carried."""
        if not node_ids:
            return 0
        keys = [test_key(node_id) for node_id in node_ids]
        columns = [c for c in self.db.columns("executions") if c != "rowid"]
        chosen = ", ".join(
            "?" if c == "run_pk" else "?" if c == "worker" else "1" if c == "attempt" else f"e.{c}"
            for c in columns
        )
        error_columns = [c for c in self.db.columns("error_captures") if c != "rowid"]
        error_chosen = ", ".join(
            "?" if c == "run_pk" else "1" if c == "attempt" else f"c.{c}" for c in error_columns
        )
        with self.db.transaction() as db:
            pk = self._run_pk(run_id)
            from_pk = self._run_pk(from_run_id)
            carried = 0
            for chunk, marks in in_chunks(keys):
                cursor = db.execute(
                    f"INSERT INTO executions ({', '.join(columns)}) SELECT {chosen}"
                    f" FROM executions e WHERE e.run_pk = ? AND e.test_key IN ({marks})"
                    " AND e.attempt = (SELECT max(x.attempt) FROM executions x"
                    " WHERE x.run_pk = e.run_pk AND x.test_key = e.test_key)",
                    [
                        *(
                            pk if c == "run_pk" else CARRIED
                            for c in columns
                            if c in ("run_pk", "worker")
                        ),
                        from_pk,
                        *chunk,
                    ],
                )
                carried += max(cursor.rowcount, 0)
            for names, marks in in_chunks(list(node_ids)):
                db.execute(
                    f"INSERT INTO error_captures ({', '.join(error_columns)}) SELECT {error_chosen}"
                    f" FROM error_captures c WHERE c.run_pk = ? AND c.node_id IN ({marks})"
                    " AND c.phase != 'collect' AND c.attempt = (SELECT max(x.attempt)"
                    " FROM error_captures x WHERE x.run_pk = c.run_pk AND x.node_id = c.node_id)",
                    [pk, from_pk, *names],
                )
            row = db.query("SELECT test_keys FROM tasks WHERE run_pk = ?", (pk,))
            if row:
                present = keys_of(row[0])
                known = set(present)
                listed = present + [k for k in keys if k not in known]
                db.execute(
                    "UPDATE tasks SET size = ?, test_keys = ?, collection_digest = NULL"
                    " WHERE run_pk = ?",
                    (len(listed), keys_text(listed), pk),
                )
        return carried

    def failed_here(self, run_id: str) -> list[str]:
        """The tests that ran in ``run_id`` and failed (last attempt failed or error)."""
        pk = self._run_pk(run_id)
        rows = self.db.query(
            "SELECT t.node_id FROM executions e JOIN tests t USING (test_key)"
            " WHERE e.run_pk = ? AND e.outcome IN ('failed', 'error') AND e.worker != ?"
            " AND e.attempt = (SELECT max(x.attempt) FROM executions x"
            " WHERE x.run_pk = e.run_pk AND x.test_key = e.test_key)",
            (pk, CARRIED),
        )
        return sorted({row[0] for row in rows})

    def last_passes(
        self, node_ids: Sequence[str], python: str, distributions: str, exclude: str
    ) -> dict[str, tuple[str, frozenset[BlockDependency]]]:
        """Per test, the newest run where it ran and passed with dependency data recorded on
        this environment: that run's id and the test's blocks there."""
        from uetf_core.impact.encoding import decode_ids
        from uetf_core.impact.selection import BlockDependency

        keys = {test_key(node_id): node_id for node_id in node_ids}
        found: dict[str, tuple[str, int]] = {}
        for chunk, marks in in_chunks(sorted(keys)):
            rows = self.db.query(
                "SELECT e.test_key, r.run_id, i.set_key FROM executions e"
                " JOIN runs r ON r.pk = e.run_pk"
                " JOIN impact_runs ir ON ir.run_pk = e.run_pk"
                " JOIN impact_tests i ON i.run_pk = e.run_pk AND i.test_key = e.test_key"
                f" WHERE e.test_key IN ({marks}) AND e.outcome = 'passed' AND e.worker != ?"
                " AND i.set_key IS NOT NULL AND ir.python = ? AND ir.distributions = ?"
                " AND r.run_id != ? ORDER BY r.started_at, r.pk",
                [*chunk, CARRIED, python, distributions, exclude],
            )
            for key, run_id, set_key in rows:  # oldest first: the newest stays
                found[keys[key]] = (run_id, set_key)
        blocks: dict[int, BlockDependency] = {}
        sets: dict[int, tuple[int, ...]] = {}
        wanted = sorted({set_key for _, set_key in found.values()})
        for chunk, marks in in_chunks(wanted):
            for key, data in self.db.query(
                f"SELECT set_key, block_keys FROM impact_sets WHERE set_key IN ({marks})", chunk
            ):
                sets[key] = decode_ids(bytes(data))
        block_keys = sorted({k for ids in sets.values() for k in ids})
        for chunk, marks in in_chunks(block_keys):
            for key, path, qualname, fingerprint in self.db.query(
                "SELECT block_key, path, qualname, fingerprint FROM impact_blocks"
                f" WHERE block_key IN ({marks})",
                chunk,
            ):
                blocks[key] = BlockDependency(path, qualname, fingerprint)
        return {
            node_id: (run_id, frozenset(blocks[k] for k in sets.get(set_key, ()) if k in blocks))
            for node_id, (run_id, set_key) in found.items()
        }

    def save_likely_flaky(self, run_id: str, found: Sequence[tuple[str, str, int]]) -> None:
        """(node id, run where it last passed, blocks compared) of failures whose code did
        not change since they passed."""
        with self.db.transaction() as db:
            pk = self._run_pk(run_id)
            db.execute("DELETE FROM impact_flaky WHERE run_pk = ?", (pk,))
            db.insert_rows(
                "impact_flaky",
                ("test_key", "passed_run_id", "blocks"),
                [(test_key(node_id), since, blocks) for node_id, since, blocks in found],
                constants=(("run_pk", pk),),
            )

    def likely_flaky(self, run_id: str) -> list[LikelyFlaky]:
        """The run's failures whose code did not change since they last passed."""
        pk = self._run_pk(run_id)
        rows = self.db.query(
            "SELECT t.node_id, f.passed_run_id, f.blocks FROM impact_flaky f"
            " JOIN tests t USING (test_key) WHERE f.run_pk = ? ORDER BY t.node_id",
            (pk,),
        )
        return [{"node_id": r[0], "passed_run_id": r[1], "blocks": r[2]} for r in rows]


def _history_until(run_id: str | None) -> tuple[str, tuple[str, ...]]:
    """The runs selection's history reads: finished ones, or with ``run_id``, those
    started up to it and that run itself while it is still being judged, so that a
    verdict recomputed later reads the runs the run's own verdict read."""
    finished = "r.state IN ('passed', 'failed')"
    if run_id is None:
        return finished, ()
    where = (
        f"({finished} OR r.run_id = ?) AND (r.started_at, r.pk) <="
        " (SELECT u.started_at, u.pk FROM runs u WHERE u.run_id = ?)"
    )
    return where, (run_id, run_id)


def _stored_selection(
    mode: str | None,
    baseline: str | None,
    reason: str | None,
    detail: str | None,
    selected: int | None,
    unselected: int | None,
) -> StoredSelection:
    return {
        "mode": mode,
        "baseline_run_id": baseline,
        "whole_reason": reason,
        "whole_detail": detail,
        "selected": int(selected or 0),
        "unselected": int(unselected or 0),
    }
