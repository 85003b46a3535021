"""The run summary: one document per run, as ``uetf show --json`` prints it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from uetf_core.judge import classify_failures, find_baseline
from uetf_core.ledger.base import Ledger
from uetf_core.timeutil import parse_iso


def build_summary(ledger: Ledger, run_id: str) -> dict[str, Any]:
    """The ``run_summary`` document of ``run_id``, read from the ledger."""
    from uetf_core.impact.summary import impact_summary  # imported by runs that show one

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
        "head_commit": run.get("head_commit"),
        "coverage": _coverage(coverage),
        "patch": _patch(patch, coverage),
        "baseline_run_id": baseline.run_id if baseline else None,
        "impact": impact_summary(ledger, run_id),
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


def _coverage(stored: dict[str, Any] | None) -> dict[str, Any] | None:
    if stored is None:
        return None
    files = []
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


def _patch(stored: dict[str, Any] | None, coverage: dict[str, Any] | None) -> dict[str, Any] | None:
    if stored is None:
        return None
    measured = {f["path"]: f for f in coverage["files"]} if coverage else {}
    files = []
    for f in stored["files"]:
        added = {n for a, b in f["added_lines"] for n in range(a, b + 1)}
        uncovered: list[list[int]] = []
        if f["path"] in measured:
            statements = set(measured[f["path"]]["statements"])
            executed = set(measured[f["path"]]["executed"])
            uncovered = ranges((added & statements) - executed)
        files.append({**f, "uncovered_lines": uncovered})
    return {
        "state": stored["state"],
        "base_ref": stored["base_ref"],
        "merge_base": stored["merge_base"],
        "head": stored["head"],
        "diff_hash": stored["diff_hash"],
        "problem": stored.get("problem"),
        "files": files,
    }
