"""The one interface the plugin and the CLI use to reach a ledger, whatever stores it."""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from uetf_core.metrics import RunMetrics, Totals
from uetf_core.records import AnyRecord, ErrorCapture, Event

if TYPE_CHECKING:
    from typing import NamedTuple

    from uetf_core.documents import (
        CostGroup,
        DocumentMetadata,
        ErrorDocument,
        EventDocument,
        ExecutionDocument,
        FlakyTest,
        GateDocument,
        HistoryEntry,
        PatchEntry,
        ProgressDocument,
        RoutingDocument,
        RunConfigDocument,
        RunRow,
        RunTrend,
        ScheduleDocument,
        SlowExecution,
        StoredCoverage,
        TaskDocument,
        ToolResultDocument,
        ValidationDocument,
        WorkerDocument,
        WorkstreamDocument,
    )
    from uetf_core.impact.selection import BlockDependency
    from uetf_core.impact.stored import LikelyFlaky, RecordedRun, SelectionRecord, StoredSelection
    from uetf_core.ledger.connection import Connection
else:  # the same class, defined at a fraction of the cost: see uetf_core.namedtuples
    from uetf_core.namedtuples import NamedTuple


class Batch:
    """Everything a run accumulated since its last write, written in one transaction.

    A plain class: a dataclass would compile its generated methods at every
    pytest start (see ``uetf_core.metrics``), and a batch needs none of them.
    """

    __slots__ = ("costs", "errors", "events", "records", "state", "workers")

    def __init__(
        self,
        records: list[AnyRecord] | None = None,
        errors: list[ErrorCapture] | None = None,
        events: list[tuple[int, Event]] | None = None,
        workers: dict[str, dict[str, Any]] | None = None,
        costs: list[tuple[str, str, str, float, str]] | None = None,
    ) -> None:
        # ExecutionRecords and PassedRows, in the order the tests finished
        self.records: list[AnyRecord] = [] if records is None else records
        self.errors = [] if errors is None else errors
        self.events = [] if events is None else events
        self.workers = {} if workers is None else workers
        # (scope, subject, name, amount, unit): custom costs, peak memory
        self.costs = [] if costs is None else costs
        # The run's new state (and, at its end, finished_at, exit_status, end_reason,
        # verdict), written in the same transaction as the event that moved it: a
        # run killed at any moment never has a state its events do not tell.
        self.state: dict[str, Any] | None = None

    def __len__(self) -> int:
        return (
            len(self.records)
            + len(self.errors)
            + len(self.events)
            + len(self.workers)
            + len(self.costs)
        )


class Pruned(NamedTuple):
    """What ``prune`` deleted (or, in a dry run, would delete)."""

    runs: list[str]  # the run ids
    rows: dict[str, int]  # rows by table
    file_bytes: int  # the ledger's size before
    reusable_bytes: int  # space free for new records after


class CodeUnderTest(NamedTuple):
    """What a run tested, recorded at its start: the code, the suite and the interpreter.

    A baseline must share the suite and the interpreter and have tested its commit
    clean; a flip is only a flip between runs of the same code on the same Python.
    ``None``: not recorded (a run of an older UETF, or outside a git work tree).
    """

    head: str | None  # the commit checked out
    tree_state: str | None  # digest of the uncommitted changes; "" when clean
    suite_key: str | None  # digest of the selection that defines the suite
    python: str | None  # implementation and major.minor version: "cpython 3.12"
    merge_base: str | None  # the commit the change under test starts from


class NewRun(NamedTuple):
    """The row a run starts with."""

    run_id: str
    state: str
    started_at: float
    pid: int
    host: str
    rootdir: str
    uetf_version: str
    config: RunConfigDocument


# (node_id, target, strategy, estimate seconds, fallback reason, at): one routed test.
RoutingDecision = tuple[str, str, str, "float | None", "str | None", float]
# (node_id, position, priority, constraint, reason): one scheduled test.
ScheduleEntry = tuple[str, int, float, "str | None", str]


class Ledger(Protocol):
    """Storage of runs and everything recorded about them (SQLite's and PostgreSQL's
    are both ``uetf_core.ledger.sql.SqlLedger``)."""

    location: str
    """Where the ledger is, safe to print (no password)."""
    dsn: str
    """What ``open_ledger`` takes to open it again (may hold a password: never print it)."""
    path: Path | None
    """The file of a SQLite ledger; ``None`` for a server."""
    read_only: bool
    """Opened by a connection that cannot write (a command that only reads)."""
    may_go_away: bool
    """A server that may be lost mid-run: a run keeps its writes to replay them."""

    @property
    def db(self) -> Connection:
        """The connection: transactions, statements, and its back end's dialect."""
        ...

    def close(self) -> None: ...

    def transaction(
        self, keeps_results: bool = False
    ) -> contextlib.AbstractContextManager[Connection]:
        """A write transaction; nested uses join the outermost, which commits."""
        ...

    def check_whole(self) -> None: ...

    def vacuum(self) -> tuple[int, int]: ...

    def schema_version(self) -> int: ...

    def create_run(self, run: NewRun) -> None: ...

    def set_run_state(
        self,
        run_id: str,
        state: str,
        *,
        finished_at: float | None = None,
        exit_status: int | None = None,
        end_reason: str | None = None,
        verdict: str | None = None,
    ) -> None: ...

    def add_tasks(self, run_id: str, node_ids: Sequence[str]) -> None: ...

    def write_batch(self, run_id: str, batch: Batch, heartbeat_at: float) -> None: ...

    def add_tool_result(self, run_id: str | None, result: dict[str, Any]) -> None: ...

    def tool_results(self, run_id: str) -> list[ToolResultDocument]: ...

    def set_partial(self, run_id: str, reason: str | None) -> None: ...

    def partial_reason(self, run_id: str) -> str | None: ...

    def coverage_percent(self, run_id: str) -> float | None: ...

    def set_commit(
        self,
        run_id: str,
        head: str | None,
        branch: str | None,
        tree_state: str | None = None,
        suite_key: str | None = None,
        python: str | None = None,
        merge_base: str | None = None,
    ) -> None: ...

    def save_coverage(self, run_id: str, coverage: Mapping[str, Any]) -> None: ...

    def coverage(self, run_id: str) -> StoredCoverage | None: ...

    def static_analyses(self, keys: Collection[str]) -> dict[str, dict[str, Any]]: ...

    def save_static_analyses(self, entries: Mapping[str, dict[str, Any]]) -> None: ...

    def save_patch(self, run_id: str, patch: dict[str, Any]) -> None: ...

    def patch(self, run_id: str) -> PatchEntry | None: ...

    def find_baseline(
        self,
        commit: str,
        exclude: str | None = None,
        suite_key: str | None = None,
        python: str | None = None,
    ) -> str | None: ...

    def code_under_test(self, run_id: str) -> CodeUnderTest: ...

    def outcomes(self, run_id: str) -> dict[str, str]: ...

    def troubled(self, run_id: str) -> dict[str, tuple[str, set[str]]]: ...

    def save_gates(self, run_id: str, gates: Sequence[Mapping[str, object]]) -> None: ...

    def add_validation(
        self, run_id: str | None, record: dict[str, Any], digest: str | None = None
    ) -> None: ...

    def validated_before(self, digest: str) -> bool: ...

    def validations(self, run_id: str) -> list[ValidationDocument]: ...

    def reap_abandoned(self, host: str, now: float, stale_after: float) -> list[str]: ...

    def list_runs(
        self, limit: int | None = None, branch: str | None = None, since: float | None = None
    ) -> list[RunRow]: ...

    def test_history(self, node_id: str, limit: int) -> list[HistoryEntry]: ...

    def prune(self, keep: int, protect: set[str], dry_run: bool = False) -> Pruned: ...

    def find_run(self, ref: str) -> RunRow: ...

    def run_config(self, run_id: str) -> RunConfigDocument | None: ...

    def records(self, run_id: str) -> list[ExecutionDocument]: ...

    def tasks(self, run_id: str) -> list[TaskDocument]: ...

    def error_captures(self, run_id: str) -> list[ErrorDocument]: ...

    def events(self, run_id: str) -> list[EventDocument]: ...

    def workers(self, run_id: str) -> list[WorkerDocument]: ...

    def gates(self, run_id: str) -> list[GateDocument]: ...

    def totals(self, run_id: str) -> Totals: ...

    def slowest(self, run_id: str, limit: int) -> list[SlowExecution]: ...

    def final_results(self, run_id: str) -> list[tuple[str, int, str, float, str | None]]: ...

    def history(self, run_id: str, limit: int) -> list[RunTrend]: ...

    def recent_durations(
        self, runs: int, exclude_workstream: str | None = None
    ) -> dict[str, list[float]]: ...

    def last_outcomes(self, runs: int) -> dict[str, str]: ...

    def known_tests(self) -> set[str]: ...

    def cost_totals(self, run_id: str) -> dict[str, tuple[float, str]]: ...

    def add_progress(self, snapshot: dict[str, Any]) -> None: ...

    def latest_progress(self, run_id: str) -> ProgressDocument | None: ...

    def costs_by(self, run_id: str, by: str) -> list[CostGroup]: ...

    def record_flips(self, run_id: str) -> int: ...

    def flaky(self, runs: int, until_run_id: str | None = None) -> list[FlakyTest]: ...

    def flaky_tests(self, runs: int, until_run_id: str | None = None) -> set[str]: ...

    def add_routing(self, run_id: str, decisions: Sequence[RoutingDecision]) -> None: ...

    def routing_decisions(self, run_id: str) -> list[RoutingDocument]: ...

    def add_schedule(self, run_id: str, entries: Sequence[ScheduleEntry]) -> None: ...

    def schedule_entries(self, run_id: str) -> list[ScheduleDocument]: ...

    def add_step(
        self,
        workstream_id: str,
        phase: str,
        run_id: str,
        shard: str | None,
        depends_on: Sequence[str] = (),
    ) -> None: ...

    def set_step_state(self, run_id: str, state: str) -> None: ...

    def combine_runs(self, run: NewRun, run_ids: Sequence[str], labels: Sequence[str]) -> None: ...

    def workstream(self, workstream_id: str) -> WorkstreamDocument: ...

    def set_workstream_state(
        self, workstream_id: str, state: str, expect_shards: int | None = None
    ) -> None: ...

    def add_document(self, document: DocumentMetadata) -> None: ...

    def documents(self, run_id: str) -> list[DocumentMetadata]: ...

    def metrics(self, run_id: str, now: float | None = None) -> RunMetrics: ...

    def integrity_problems(self) -> list[str]: ...

    # Test impact analysis (queries/impact.py).
    def save_dependencies(self, run_id: str, recorded: RecordedRun) -> None: ...

    def find_dependency_baseline(
        self, commits: Sequence[str], suite_key: str | None = None, exclude: str | None = None
    ) -> tuple[str, str] | None: ...

    def recorded_dependencies(self, run_id: str) -> RecordedRun | None: ...

    def save_selection(self, run_id: str, record: SelectionRecord) -> None: ...

    def selection(self, run_id: str) -> StoredSelection | None: ...

    def selection_decisions(self, run_id: str) -> dict[str, tuple[str | None, str | None]]: ...

    def selection_history(
        self, limit: int, until_run_id: str | None = None
    ) -> list[dict[str, Any]]: ...

    def carry_results(self, run_id: str, from_run_id: str, node_ids: Sequence[str]) -> int: ...

    def failed_here(self, run_id: str) -> list[str]: ...

    def last_passes(
        self, node_ids: Sequence[str], python: str, distributions: str, exclude: str
    ) -> dict[str, tuple[str, frozenset[BlockDependency]]]: ...

    def save_likely_flaky(self, run_id: str, found: Sequence[tuple[str, str, int]]) -> None: ...

    def likely_flaky(self, run_id: str) -> list[LikelyFlaky]: ...
