"""The gate report: everything a reviewer reads about one run, as one JSON-ready document.

Every format (markdown, GitHub, HTML, JSON) renders this document, and it is
built only from the ledger, so ``uetf report`` later gives the same bytes the
run wrote. Its ``generated_at`` is the time of the run's verdict for the same
reason.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from uetf_core.judge import find_baseline
from uetf_core.ledger.base import Ledger
from uetf_core.render import gates_not_judged
from uetf_core.summary import build_summary, ranges
from uetf_core.timeutil import parse_iso

if TYPE_CHECKING:
    from uetf_core.documents import ErrorDocument, StoredCoverage
    from uetf_core.report_documents import (
        BaselineFigures,
        FinalResult,
        GateReport,
        PatchSummary,
        ReportFailure,
        ReportPatch,
        RunSummary,
    )

SLOWEST = 10
TREND_RUNS = 20
# A traceback in a report is for reading, not archiving: the ledger keeps the full one.
TRACEBACK_CHARS = 4000


def pass_rate(totals: Mapping[str, int], waived: int = 0) -> float | None:
    """Percent of executed tests (skips excluded) that did not fail or error, as the gate:
    a failure a waiver excuses (``waived`` of them) counts as a test that did not run."""
    executed = totals["passed"] + totals["failed"] + totals["errors"] + totals["xfailed"]
    executed += totals["xpassed"] - waived
    if executed <= 0:
        return None
    bad = max(0, totals["failed"] + totals["errors"] - waived)
    return round(100.0 * (executed - bad) / executed, 2)


def failure_rows(ledger: Ledger, run_id: str, summary: RunSummary) -> list[ReportFailure]:
    """The summary's failures (collection errors last) with where they failed."""
    rootdir = summary["rootdir"]
    errors: dict[str, ErrorDocument] = {}
    for error in ledger.error_captures(run_id):
        errors.setdefault(error["node_id"], error)  # the first error of a test explains it
    failures: list[ReportFailure] = []
    for failure in summary["failures"]:
        capture = errors.get(failure["node_id"])
        failures.append(
            {
                "node_id": failure["node_id"],
                "outcome": failure["outcome"],
                "classification": failure["classification"],
                "baseline_outcome": failure["baseline_outcome"],
                "message": failure["message"],
                "path": _relative(capture["path"], rootdir)
                if capture and capture["path"]
                else None,
                "line": capture["lineno"] if capture else None,
                "traceback": capture["traceback"][-TRACEBACK_CHARS:] if capture else None,
            }
        )
    return failures


def build_report(ledger: Ledger, run_id: str) -> GateReport:
    """The ``gate_report`` document of ``run_id``."""
    summary = build_summary(ledger, run_id)
    failures = failure_rows(ledger, run_id, summary)
    history = ledger.history(run_id, TREND_RUNS)
    return {
        "run_id": run_id,
        "verdict": _verdict(summary),
        "state": summary["state"],
        "exit_status": summary["exit_status"] if summary["exit_status"] is not None else -1,
        "generated_at": summary["finished_at"] or summary["started_at"],
        "started_at": summary["started_at"],
        "duration_seconds": summary["duration_seconds"],
        "head_commit": summary["head_commit"],
        "partial": summary["partial"],
        "uetf_version": summary["uetf_version"],
        "totals": summary["totals"],
        "pass_rate": pass_rate(
            summary["totals"],
            sum(1 for f in summary["failures"] if f["classification"] == "waived"),
        ),
        "gates": summary["gates"],
        "gates_not_judged": gates_not_judged(summary),
        "failures": failures,
        "coverage": summary["coverage"],
        "patch": patch_lines(
            summary["patch"], ledger.coverage(run_id) if summary["patch"] else None
        ),
        "slowest": [
            {
                "node_id": row["node_id"],
                "duration": round(row["duration"], 6),
                "outcome": row["outcome"],
            }
            for row in ledger.slowest(run_id, SLOWEST)
        ],
        "tests": test_rows(ledger, run_id),
        "baseline": _since_baseline(ledger, run_id, summary),
        "impact": summary["impact"],
        "trend": [
            {
                "run_id": run["run_id"],
                "started_at": run["started_at"],
                "tests": run["totals"]["collected"],
                "pass_rate": pass_rate(run["totals"]),
                "coverage": run["coverage"],
                "duration_seconds": run["duration_seconds"],
            }
            for run in history
        ],
    }


def test_rows(ledger: Ledger, run_id: str) -> list[FinalResult]:
    """Every test of the run in run order, as its last attempt ended: the HTML's full list."""
    final: dict[str, FinalResult] = {}
    for record in ledger.records(run_id):
        if record["outcome"] == "rerun":
            continue
        final[record["node_id"]] = {
            "node_id": record["node_id"],
            "outcome": record["outcome"],
            "duration": round(record["duration"] or 0.0, 6),
            "worker": record["worker"],
            "reason": record["skip_reason"] or record["xfail_reason"],
        }
    return list(final.values())


def patch_percent(patch: ReportPatch) -> float | None:
    """Percent of the change's measured executable lines that ran; None when there are none.

    Counted as the patch_coverage gate counts: lines of measured files only.
    """
    covered: int = sum(b - a + 1 for f in patch["files"] for a, b in f["covered_lines"])
    missed: int = sum(b - a + 1 for f in patch["files"] for a, b in f["uncovered_lines"])
    if covered + missed == 0:
        return None
    return round(100.0 * covered / (covered + missed), 2)


def _verdict(summary: RunSummary) -> str:
    """passed, failed, warned or error: the gates' verdict, and the tests' when they failed."""
    if summary["state"] in ("errored", "abandoned", "interrupted"):
        return "error"
    if summary["state"] == "failed" or summary["verdict"] == "failed":
        return "failed"
    if summary["verdict"] == "error":
        return "error"
    if summary["verdict"] == "warned":
        return "warned"
    return "passed" if summary["state"] == "passed" else "error"


def _relative(path: str, rootdir: str) -> str:
    if os.path.isabs(path):
        try:
            relative = os.path.relpath(path, rootdir)
        except ValueError:  # another drive on Windows
            return path
        return path if relative.startswith("..") else relative
    return path


def patch_lines(patch: PatchSummary | None, coverage: StoredCoverage | None) -> ReportPatch | None:
    """The change: per file its added lines, and which of them ran and which did not."""
    if patch is None:
        return None
    measured = {f["path"]: f for f in coverage["files"]} if coverage else {}

    def covered(path: str, added: list[list[int]]) -> list[list[int]]:
        if path not in measured:
            return []
        lines = {n for a, b in added for n in range(a, b + 1)}
        return ranges(lines & set(measured[path]["executed"]) & set(measured[path]["statements"]))

    return {
        "base_ref": patch["base_ref"],
        "merge_base": patch["merge_base"],
        "problem": patch["problem"],
        "files": [
            {
                "path": f["path"],
                "added_lines": f["added_lines"],
                "uncovered_lines": f["uncovered_lines"],
                "covered_lines": covered(f["path"], f["added_lines"]),
            }
            for f in patch["files"]
        ],
    }


def _since_baseline(ledger: Ledger, run_id: str, summary: RunSummary) -> BaselineFigures | None:
    """This run beside its baseline: tests, outcomes, coverage, duration."""
    config = summary["config"] or {}
    baseline, _ = find_baseline(ledger, run_id, config.get("baseline"), ledger.patch(run_id))
    if baseline is None:
        return None
    before = ledger.find_run(baseline.run_id)
    totals = ledger.totals(baseline.run_id).as_dict()
    duration = None
    if before["finished_at"]:
        elapsed = parse_iso(before["finished_at"]) - parse_iso(before["started_at"])
        duration = round(elapsed.total_seconds(), 3)
    return {
        "run_id": baseline.run_id,
        "head_commit": before["head_commit"],
        "totals": totals,
        "pass_rate": pass_rate(totals),
        "coverage": ledger.coverage_percent(baseline.run_id),
        "duration_seconds": duration,
    }
