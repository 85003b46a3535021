"""The layouts of the rows a run writes: column lists and the code that turns records
into rows. The write path (``writes.py``) and the queries that write their own rows
(flaky tests, workstream steps) bind their values in these orders.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from uetf_core.ids import test_key
from uetf_core.ledger.connection import Constant
from uetf_core.records import PASSED_NODE_ID, AnyRecord, ErrorCapture, storable

# The columns of an execution record, as an ExecutionRecord binds them all.
EXECUTION_COLUMNS = (
    "run_pk",
    "test_key",
    "attempt",
    "worker",
    "outcome",
    "setup_outcome",
    "setup_duration",
    "call_outcome",
    "call_duration",
    "teardown_outcome",
    "teardown_duration",
    "duration",
    "started_at",
    "finished_at",
    "skip_reason",
    "xfail_reason",
    "cpu_seconds",
)
# A PassedRow's: its four outcomes and its run are constants of the statement, which
# binds 10 values a row instead of 17 (the engine's work per row falls by two fifths);
# its reasons are NULL, the columns' default.
PASSED_COLUMNS = (
    "test_key",
    "attempt",
    "worker",
    "setup_duration",
    "call_duration",
    "teardown_duration",
    "duration",
    "started_at",
    "finished_at",
    "cpu_seconds",
)
PASSED_OUTCOMES: tuple[Constant, ...] = (
    ("outcome", "passed"),
    ("setup_outcome", "passed"),
    ("call_outcome", "passed"),
    ("teardown_outcome", "passed"),
)
ERROR_COLUMNS = (
    "run_pk",
    "node_id",
    "attempt",
    "phase",
    "exc_type",
    "message",
    "path",
    "lineno",
    "traceback",
    "truncated",
)
TEST_COLUMNS = ("test_key", "node_id")


def test_rows(tests: Iterable[tuple[int, str]]) -> list[tuple[int, str]]:
    """Rows of ``tests`` from (key, node id) pairs, each node id as both back ends can
    hold it: a test file named with bytes the file system's encoding cannot decode gives
    a node id UTF-8 cannot encode, stored escaped (its key is the node id's own)."""
    return [(key, storable(node_id)) for key, node_id in tests]


COVERAGE_TOTAL_COLUMNS = (
    "run_pk",
    "percent",
    "n_statements",
    "n_missing",
    "n_branches",
    "n_partial_branches",
    "core",
    "branch",
    "problems_json",
)
COVERAGE_FILE_COLUMNS = (
    "run_pk",
    "path",
    "statements",
    "executed",
    "n_branches",
    "n_partial_branches",
    "n_missing_branches",
    "arcs_json",
)
ANALYSIS_COLUMNS = ("key", "statements", "excluded", "multiline_json", "used_at")
PATCH_COLUMNS = (
    "run_pk",
    "state",
    "base_ref",
    "merge_base",
    "head",
    "diff_hash",
    "files_json",
    "problem",
)
# Rows written by the parts of the ledger they belong to: a run's flaky tests
# (``queries.history``), a workstream's steps and phases' order (``queries.workstreams``).
FLIP_COLUMNS = ("run_pk", "test_key", "kind", "other_run_pk")
STEP_COLUMNS = ("workstream_id", "phase", "step_id", "run_id", "shard", "state")
DEPENDENCY_COLUMNS = ("workstream_id", "phase", "depends_on")
# A run's new state; the end's columns keep what they hold when not given.
UPDATE_STATE = (
    "UPDATE runs SET state = ?, heartbeat_at = ?,"
    " finished_at = coalesce(?, finished_at), exit_status = coalesce(?, exit_status),"
    " end_reason = coalesce(?, end_reason), verdict = coalesce(?, verdict)"
)

# Consecutive records of one kind: PassedRows (True) or ExecutionRecords (False).
RecordRows = list[tuple[bool, list[tuple[object, ...]]]]


def execution_rows(
    records: Sequence[AnyRecord], pk: int, known: Mapping[str, int], new: dict[str, int]
) -> RecordRows:
    """The records' rows, in runs of one kind, in their order (later reads rely on it).

    ``known``: the keys of stored tests; a test not among them gets its key in ``new``.
    """
    runs: RecordRows = []
    current: list[tuple[object, ...]] = []
    current_plain: bool | None = None
    for r in records:
        node_id = r[PASSED_NODE_ID] if isinstance(r, tuple) else r.node_id
        key = known.get(node_id)
        if key is None:
            key = new.get(node_id)
            if key is None:
                key = new[node_id] = test_key(node_id)
        row: tuple[object, ...]
        if isinstance(r, tuple):  # a PassedRow: its values in PASSED_COLUMNS' order
            _, attempt, worker, setup_time, call_time, teardown_time, start, end, cpu = r
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
    return runs


def error_row(pk: int, e: ErrorCapture) -> tuple[object, ...]:
    return (
        pk,
        storable(e.node_id),
        e.attempt,
        e.phase,
        e.exc_type,
        e.message,
        e.path,
        e.lineno,
        e.traceback,
        int(e.truncated),
    )
