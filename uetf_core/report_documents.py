"""The documents UETF makes of a run for people and tools, as typed dictionaries: the run
summary (``run_summary``: ``uetf show --json``, the terminal summary) and the gate
report (``gate_report``: what every report format renders).

Like ``uetf_core.documents``, whose documents they are made of, these cost nothing
at run time: modules import them under ``TYPE_CHECKING``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from uetf_core.documents import Counts, GateDocument, LineRange, PatchFile, RunConfigDocument

if TYPE_CHECKING:
    from uetf_core.impact.stored import LikelyFlaky

# -- the run summary (``run_summary``) ------------------------------------------------


class CoverageFileSummary(TypedDict):
    path: str
    statements: int
    missing: int
    percent: float
    missing_lines: list[LineRange]


class CoverageSummary(TypedDict):
    percent: float
    core: str
    branch: bool
    statements: int
    missing: int
    problems: list[str]
    files: list[CoverageFileSummary]


class PatchFileSummary(PatchFile):
    uncovered_lines: list[LineRange]


class PatchSummary(TypedDict):
    percent: float | None
    state: str
    base_ref: str
    merge_base: str | None
    head: str | None
    diff_hash: str | None
    problem: str | None
    files: list[PatchFileSummary]


class Failure(TypedDict):
    """A troubled test of a run and what it is: new, pre-existing, flaky or waived."""

    node_id: str
    outcome: str
    classification: str
    baseline_outcome: str | None
    message: str | None


class ImpactSummary(TypedDict):
    """What test impact analysis did in a run (docs/impact.md)."""

    mode: str | None
    baseline_run_id: str | None
    whole_suite: str | None
    whole_suite_detail: str | None
    ran: int
    carried: int
    would_skip: int
    likely_flaky: list[LikelyFlaky]


class RunSummary(TypedDict):
    """One run as ``uetf show --json`` prints it (``run_summary``)."""

    run_id: str
    state: str
    started_at: str
    finished_at: str | None
    duration_seconds: float | None
    host: str
    pid: int
    rootdir: str
    uetf_version: str
    exit_status: int | None
    end_reason: str | None
    partial: bool
    verdict: str | None
    totals: Counts
    gates: list[GateDocument]
    config: RunConfigDocument | None
    head_commit: str | None
    coverage: CoverageSummary | None
    patch: PatchSummary | None
    baseline_run_id: str | None
    failures: list[Failure]
    impact: ImpactSummary | None  # test impact analysis: docs/impact.md


# -- the gate report (``gate_report``), which every report format renders -------------


class ReportFailure(Failure):
    path: str | None
    line: int | None
    traceback: str | None


class ReportPatchFile(TypedDict):
    path: str
    added_lines: list[LineRange]
    uncovered_lines: list[LineRange]
    covered_lines: list[LineRange]


class ReportPatch(TypedDict):
    base_ref: str | None
    merge_base: str | None
    problem: str | None
    files: list[ReportPatchFile]


class SlowTest(TypedDict):
    node_id: str
    duration: float
    outcome: str


class FinalResult(TypedDict):
    """A test of the run as its last attempt ended."""

    node_id: str
    outcome: str
    duration: float
    worker: str | None
    reason: str | None


class BaselineFigures(TypedDict):
    run_id: str
    head_commit: str | None
    totals: Counts
    pass_rate: float | None
    coverage: float | None
    duration_seconds: float | None


class TrendPoint(TypedDict):
    run_id: str
    started_at: str
    tests: int
    pass_rate: float | None
    coverage: float | None
    duration_seconds: float | None


class GateReport(TypedDict):
    """Everything a reviewer reads about one run (``gate_report``)."""

    run_id: str
    verdict: str
    state: str
    exit_status: int
    generated_at: str
    started_at: str
    duration_seconds: float | None
    head_commit: str | None
    partial: bool
    uetf_version: str
    totals: Counts
    pass_rate: float | None
    gates: list[GateDocument]
    gates_not_judged: str | None  # declared gates a run that ended early never judged
    failures: list[ReportFailure]
    coverage: CoverageSummary | None
    patch: ReportPatch | None
    slowest: list[SlowTest]
    tests: list[FinalResult]
    baseline: BaselineFigures | None
    trend: list[TrendPoint]
    impact: ImpactSummary | None
