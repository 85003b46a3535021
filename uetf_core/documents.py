"""The JSON documents UETF reads from its ledger and hands on, as typed dictionaries.

Each is a document of a schema in ``schema/`` (named beside it): what the
ledger's queries return and ``uetf ... --json`` prints (the run summary and the
gate report made of them are in ``uetf_core.report_documents``). A document
stays a plain ``dict`` at run time (these classes cost nothing but their import,
which only the type checker does: every module imports them under
``TYPE_CHECKING``); the type checker sees its keys.
``tests/test_documents.py`` holds each one to its schema's properties.
"""

from __future__ import annotations

from typing import TypedDict

# A range of line numbers, both ends included: [first, last].
LineRange = list[int]
# Outcome counts (``Totals.as_dict``): collected, passed, failed, ... reruns.
Counts = dict[str, int]
# ``[tool.uetf.costs]``: a price per unit by cost name, and the ``currency``'s name.
Prices = dict[str, float | str]


# -- the run ------------------------------------------------------------------------


class RunRow(TypedDict):
    """A run as the ledger keeps it (``run_state``)."""

    run_id: str
    state: str
    started_at: str
    finished_at: str | None
    heartbeat_at: str
    pid: int
    host: str
    rootdir: str
    uetf_version: str
    exit_status: int | None
    end_reason: str | None
    partial: bool
    verdict: str | None
    head_commit: str | None
    branch: str | None


class GateSpecDocument(TypedDict):
    """One declared gate in a run's configuration (``run_config``'s ``gates``)."""

    name: str
    op: str
    threshold: float
    mode: str
    unit: str | None
    path: str | None


class WaiverDocument(TypedDict):
    """One waiver in a run's configuration (``run_config``'s ``waivers``)."""

    gate: str | None
    test: str | None
    owner: str
    reason: str
    link: str | None
    expires: str


class RunConfigDocument(TypedDict, total=False):
    """The configuration a run was made with, as stored (``run_config``).

    Not every key is in every stored configuration: a run recorded by an older
    UETF lacks the newer keys, and only a workstream's verdict run has
    ``merged_steps`` and ``expect_shards``; readers use ``get`` for those.
    """

    enabled: bool
    ledger: str
    gate_mode: str
    gates: list[GateSpecDocument]
    batch_size: int
    flush_interval: float
    stale_after: float
    rootdir: str
    sources: dict[str, str | list[str] | None]  # where each setting came from
    cov_source: list[str]
    base: str | None
    diff_file: str | None
    baseline: str | None
    min_patch_lines: int
    reports: list[str]
    dist: str | None
    order: str | None
    select: str
    impact_inputs: list[str]
    shard: str | None
    workstream: str | None
    phase: str
    depends_on: list[str]
    waivers: list[WaiverDocument]
    prices: Prices
    progress_file: str | None
    stall_timeout: float
    progress_interval: float
    merged_steps: list[str]
    expect_shards: int | None


class GateDocument(TypedDict):
    """One gate judged (``test_gate``)."""

    name: str
    op: str
    threshold: float
    value: float | None
    verdict: str
    reason: str | None
    mode: str
    unit: str | None
    path: str | None


# -- what a run recorded ------------------------------------------------------------


class PhaseDocument(TypedDict):
    """One phase (setup, call, teardown) of an attempt."""

    outcome: str
    duration: float


class ErrorDocument(TypedDict):
    """Where and how an attempt failed (``error_capture``)."""

    node_id: str
    attempt: int
    phase: str
    exc_type: str
    message: str
    path: str | None
    lineno: int | None
    traceback: str
    truncated: bool


class ExecutionDocument(TypedDict):
    """One attempt of one test (``test_execution_record``)."""

    run_id: str
    node_id: str
    attempt: int
    worker: str
    outcome: str
    setup: PhaseDocument | None
    call: PhaseDocument | None
    teardown: PhaseDocument | None
    duration: float | None
    started_at: str
    finished_at: str
    skip_reason: str | None
    xfail_reason: str | None
    error: ErrorDocument | None
    cpu_seconds: float | None


class TaskDocument(TypedDict):
    """One collected test (``task``)."""

    run_id: str
    node_id: str
    index: int
    path: str
    state: str


class EventDocument(TypedDict):
    """One event of a run (``execution_event``)."""

    run_id: str
    seq: int
    at: str
    kind: str
    subject: str
    from_state: str | None
    to_state: str | None
    data: dict[str, object]


class WorkerDocument(TypedDict):
    """One worker's life (``worker_state``)."""

    run_id: str
    worker_id: str
    state: str
    tests_run: int
    started_at: str
    stopped_at: str | None
    reason: str | None


class ToolResultDocument(TypedDict):
    """One run of an outside tool, git or coverage.py (``tool_result``)."""

    run_id: str
    tool: str
    argv: list[str]
    exit_code: int | None
    duration_seconds: float
    ok: bool
    stderr_excerpt: str | None
    at: str


class ValidationDocument(TypedDict):
    """One document checked against its schema (``validation_record``)."""

    subject: str
    schema: str
    valid: bool
    errors: list[str]
    at: str


class ProgressDocument(TypedDict):
    """How far a run had got (``progress_snapshot``)."""

    run_id: str
    at: str
    done: int
    total: int
    elapsed_seconds: float
    eta_seconds: float | None
    outcomes: dict[str, int]


class RoutingDocument(TypedDict):
    """Where one test was sent (``routing_decision``)."""

    run_id: str
    node_id: str
    target: str
    strategy: str
    estimate_seconds: float | None
    fallback: bool
    fallback_reason: str | None
    at: str


class ScheduleDocument(TypedDict):
    """One test's place in the planned order (``schedule_entry``)."""

    run_id: str
    node_id: str
    position: int
    priority: float
    constraint: str | None
    reason: str


class DocumentMetadata(TypedDict):
    """One report written (``doc_metadata``)."""

    kind: str
    format: str
    path: str
    sha256: str
    size_bytes: int
    run_ids: list[str]
    created_at: str


class SlowExecution(TypedDict):
    """One of a run's longest attempts."""

    node_id: str
    duration: float
    outcome: str
    worker: str


# -- coverage and the change under test ---------------------------------------------


class CoverageFile(TypedDict):
    """One measured file as the ledger stores it: line numbers, branch counts, arcs."""

    path: str
    statements: list[int]
    executed: list[int]
    n_branches: int
    n_partial_branches: int
    n_missing_branches: int
    arcs: list[list[int]]


class StoredCoverage(TypedDict):
    """A run's coverage as the ledger stores it."""

    percent: float
    n_statements: int
    n_missing: int
    n_branches: int
    n_partial_branches: int
    core: str
    branch: bool
    problems: list[str]
    files: list[CoverageFile]


class PatchFile(TypedDict):
    """One file the change under test touched, with the lines it added."""

    path: str
    old_path: str | None
    status: str
    added_lines: list[LineRange]


class PatchEntry(TypedDict):
    """The change under test (``patch_ledger_entry``)."""

    run_id: str
    state: str
    base_ref: str
    merge_base: str | None
    head: str | None
    diff_hash: str | None
    files: list[PatchFile]
    problem: str | None


# -- across runs --------------------------------------------------------------------


class HistoryEntry(TypedDict):
    """A test in one run (``history``, without its node id)."""

    run_id: str
    started_at: str
    commit: str | None
    branch: str | None
    outcome: str
    duration: float | None
    attempts: int


class NamedHistoryEntry(HistoryEntry):
    """A test in one run, named (an item of ``history``)."""

    node_id: str


class RunTrend(TypedDict):
    """A run as the trend charts draw it."""

    run_id: str
    started_at: str
    state: str
    totals: Counts
    coverage: float | None
    duration_seconds: float | None


class LastFailure(TypedDict):
    run_id: str
    at: str
    commit: str | None
    message: str | None


class FlakyTest(TypedDict):
    """A test whose outcome flipped in the window (an item of ``flaky_tests``)."""

    node_id: str
    flips: int
    retries: int
    runs: int
    rate: float
    last_failure: LastFailure | None


class CostAmount(TypedDict):
    amount: float
    unit: str


class CostLabel(TypedDict, total=False):
    """What a group of costs is of: exactly one of its test, module and worker."""

    test: str
    module: str
    worker: str


class CostGroup(CostLabel):
    """A run's costs for one test, module or worker (an item of ``costs``' ``groups``)."""

    tests: int
    wall_seconds: float
    cpu_seconds: float | None
    custom: dict[str, CostAmount]


class CostsDocument(TypedDict):
    """What ``uetf costs --json`` prints (``costs``)."""

    run_id: str
    totals: dict[str, CostAmount]
    by: str
    sort: str
    top: int
    more: int
    groups: list[CostGroup]


# -- workstreams --------------------------------------------------------------------


class PhaseState(TypedDict):
    """A phase of a workstream (``phase_state``)."""

    workstream_id: str
    phase: str
    state: str


class StepDocument(TypedDict):
    """A step of a workstream: one pytest invocation or shard (``ws_step``)."""

    workstream_id: str
    phase: str
    step_id: str
    run_id: str | None
    shard: str | None
    state: str


class DependencyDocument(TypedDict):
    """A phase waiting for another (``ws_dependency``)."""

    workstream_id: str
    phase: str
    depends_on: str


class WorkstreamDocument(TypedDict):
    """A workstream with its phases, steps and dependencies (``workstream_state`` and
    the documents of its parts)."""

    workstream_id: str
    state: str
    created_at: str
    updated_at: str
    expect_shards: int | None
    phases: list[PhaseState]
    steps: list[StepDocument]
    dependencies: list[DependencyDocument]
