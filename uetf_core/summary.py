"""The run summary: one document per run, as ``uetf show --json`` prints it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from uetf_core.judge import classify_failures, find_baseline
from uetf_core.ledger.base import Ledger
from uetf_core.timeutil import parse_iso

if TYPE_CHECKING:
    from uetf_core.documents import PatchEntry, RunConfigDocument, StoredCoverage
    from uetf_core.report_documents import (
        CoverageFileSummary,
        CoverageSummary,
        ImpactSummary,
        PatchFileSummary,
        PatchSummary,
        RunSummary,
    )


def build_summary(ledger: Ledger, run_id: str) -> RunSummary:
    """The ``run_summary`` document of ``run_id``, read from the ledger."""
    run = ledger.find_run(run_id)
    config = ledger.run_config(run_id) or {}
    coverage = ledger.coverage(run_id)
    patch = ledger.patch(run_id)
    baseline, _ = find_baseline(ledger, run_id, config.get("baseline"), patch)
    duration = None
    if run["finished_at"]:
        elapsed = parse_iso(run["finished_at"]) - parse_iso(run["started_at"])
        duration = round(elapsed.total_seconds(), 6)
    return {
        "run_id": run["run_id"],
        "state": run["state"],
        "started_at": run["started_at"],
        "finished_at": run["finished_at"],
        "duration_seconds": duration,
        "host": run["host"],
        "pid": run["pid"],
        "rootdir": run["rootdir"],
        "uetf_version": run["uetf_version"],
        "exit_status": run["exit_status"],
        "end_reason": run["end_reason"],
        "partial": run["partial"],
        "verdict": run["verdict"],
        "totals": ledger.totals(run_id).as_dict(),
        "gates": ledger.gates(run_id),
        "config": ledger.run_config(run_id),
        "head_commit": run["head_commit"],
        "coverage": _coverage(coverage),
        "patch": _patch(patch, coverage),
        "baseline_run_id": baseline.run_id if baseline else None,
        "impact": _impact(ledger, run_id, config),
        "failures": classify_failures(ledger, run_id, baseline),
    }


def ranges(lines: Iterable[int]) -> list[list[int]]:
    """Sorted line numbers folded into ``[start, end]`` ranges."""
    folded: list[list[int]] = []
    for line in sorted(set(lines)):
        if folded and line == folded[-1][1] + 1:
            folded[-1][1] = line
        else:
            folded.append([line, line])
    return folded


def _coverage(stored: StoredCoverage | None) -> CoverageSummary | None:
    if stored is None:
        return None
    files: list[CoverageFileSummary] = []
    for f in stored["files"]:
        statements = set(f["statements"])
        missing = statements - set(f["executed"])
        covered = len(statements) - len(missing)
        files.append(
            {
                "path": f["path"],
                "statements": len(statements),
                "missing": len(missing),
                "percent": round(100.0 * covered / len(statements), 2) if statements else 100.0,
                "missing_lines": ranges(missing),
            }
        )
    return {
        "percent": stored["percent"],
        "core": stored["core"],
        "branch": stored["branch"],
        "statements": stored["n_statements"],
        "missing": stored["n_missing"],
        "problems": stored.get("problems", []),
        "files": files,
    }


def _impact(ledger: Ledger, run_id: str, config: RunConfigDocument) -> ImpactSummary | None:
    """What test impact analysis did in the run; None, and nothing of it imported (a
    fifth of a run's start-up), when the run did not ask for it."""
    if config.get("select", "off") == "off":
        return None
    from uetf_core.impact.summary import impact_summary

    return impact_summary(ledger, run_id)


def _patch(stored: PatchEntry | None, coverage: StoredCoverage | None) -> PatchSummary | None:
    if stored is None:
        return None
    measured = {f["path"]: f for f in coverage["files"]} if coverage else {}
    files: list[PatchFileSummary] = []
    run = missed = 0
    for f in stored["files"]:
        added = {n for a, b in f["added_lines"] for n in range(a, b + 1)}
        uncovered: list[list[int]] = []
        if f["path"] in measured:
            executable = added & set(measured[f["path"]]["statements"])
            not_run = executable - set(measured[f["path"]]["executed"])
            uncovered = ranges(not_run)
            run += len(executable) - len(not_run)
            missed += len(not_run)
        files.append(
            {
                "path": f["path"],
                "old_path": f["old_path"],
                "status": f["status"],
                "added_lines": f["added_lines"],
                "uncovered_lines": uncovered,
            }
        )
    return {
        # As the patch_coverage gate counts it: changed executable lines of measured
        # files; None when the change has none (nothing to judge, not 0 %).
        "percent": round(100.0 * run / (run + missed), 2) if run + missed else None,
        "state": stored["state"],
        "base_ref": stored["base_ref"],
        "merge_base": stored["merge_base"],
        "head": stored["head"],
        "diff_hash": stored["diff_hash"],
        "problem": stored.get("problem"),
        "files": files,
    }
