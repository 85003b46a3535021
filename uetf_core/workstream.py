"""One verdict for a CI build split over jobs: its steps combined into one run and gated.

Each job (a shard, a phase) records its own run as a step of the workstream.
``uetf gate --workstream ID`` checks the shards (each present once, no test in
two), combines the steps into one new run (tests, outcomes, errors, coverage
as the union of the lines each shard executed) and judges the gates of the
steps' configuration on it, plus ``missing_shards``. Every later command
(``uetf show``, ``uetf report``, ``uetf gate RUN``) works on that run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from uetf_core import __version__
from uetf_core.errors import UetfError
from uetf_core.exitcodes import ExitCode
from uetf_core.gates.evaluate import GateResult, overall_verdict
from uetf_core.gates.spec import GateSpec
from uetf_core.ids import host_name, new_run_id
from uetf_core.judge import judge_gates
from uetf_core.ledger.base import Ledger, NewRun
from uetf_core.shards import shard_problems
from uetf_core.verdict import final_exit_status

if TYPE_CHECKING:
    from uetf_core.documents import CoverageFile, RunConfigDocument, StepDocument, StoredCoverage


class WorkstreamError(UetfError):
    """The workstream cannot be judged: no finished step to combine."""

    slug = "workstream"
    exit_code = ExitCode.USAGE_ERROR


def combined_coverage(ledger: Ledger, run_ids: Sequence[str]) -> StoredCoverage | None:
    """The coverage of several runs of one code base: per file, the union of executed lines."""
    from coverage.results import Numbers, display_covered

    stored = [c for c in (ledger.coverage(run_id) for run_id in run_ids) if c is not None]
    if not stored:
        return None
    # Per file: its statements, and the lines any run executed.
    files: dict[str, tuple[set[int], set[int]]] = {}
    for coverage in stored:
        for f in coverage["files"]:
            _, ran = files.setdefault(f["path"], (set(f["statements"]), set()))
            ran |= set(f["executed"])
    total = Numbers(precision=2)
    documents: list[CoverageFile] = []
    for path in sorted(files):
        statements, ran = files[path]
        executed = ran & statements
        total += Numbers(
            precision=2,
            n_files=1,
            n_statements=len(statements),
            n_missing=len(statements - executed),
        )
        documents.append(
            {
                "path": path,
                "statements": sorted(statements),
                "executed": sorted(executed),
                "n_branches": 0,
                "n_partial_branches": 0,
                "n_missing_branches": 0,
                "arcs": [],
            }
        )
    return {
        "percent": float(display_covered(total.pc_covered, 2)) if documents else 0.0,
        "n_statements": total.n_statements,
        "n_missing": total.n_missing,
        "n_branches": 0,
        "n_partial_branches": 0,
        "core": stored[0]["core"],
        "branch": False,  # lines are combined; branch figures stay with each shard's run
        "problems": [],
        "files": documents,
    }


def gate_workstream(
    ledger: Ledger, workstream_id: str, expect_shards: int | None = None
) -> tuple[str, list[GateResult], list[str], int]:
    """Combine the workstream's steps into one run and gate it.

    Returns the new run's id, the gate results, the shard problems and the exit status.
    """
    workstream = ledger.workstream(workstream_id)
    steps = [s for s in workstream["steps"] if s["run_id"]]
    step_runs = [s["run_id"] for s in steps if s["run_id"]]
    if not step_runs:
        raise WorkstreamError(f"workstream {workstream_id!r} has no recorded step to judge")
    problems = shard_problems(ledger, workstream, expect_shards)
    runs = [ledger.find_run(run_id) for run_id in step_runs]
    finished = [run["finished_at"] for run in runs if run["finished_at"]]
    config: RunConfigDocument = {**(ledger.run_config(step_runs[0]) or {})}
    config["workstream"] = workstream_id
    config["shard"] = None
    config["expect_shards"] = expect_shards
    config["merged_steps"] = step_runs
    config["reports"] = []
    # The steps' gates and the check of the shards, stored with the verdict run
    # so that `uetf gate RUN` judges it again the same way.
    specs = [
        GateSpec(g["name"], g["op"], g["threshold"], g["mode"], g.get("path"))
        for g in config.get("gates", [])
        if g["name"] != "missing_shards"
    ] + [GateSpec("missing_shards", "<=", 0.0, "fail", None)]
    config["gates"] = [spec.as_dict() for spec in specs]
    started = min(_timestamp(run["started_at"]) for run in runs)
    run_id = new_run_id(time.time())
    ledger.combine_runs(
        NewRun(
            run_id=run_id,
            state="gating",
            started_at=started,
            pid=os.getpid(),
            host=host_name(),
            rootdir=runs[0]["rootdir"],
            uetf_version=__version__,
            config=config,
        ),
        step_runs,
        _labels(steps),
    )
    # What the steps tested, where they agree: the combined run is a baseline, and
    # compared for flips, only as the code, suite and Python its steps had.
    codes = [ledger.code_under_test(step) for step in step_runs]
    ledger.set_commit(
        run_id,
        runs[0]["head_commit"],
        None,
        tree_state=_agreed([c.tree_state for c in codes]),
        suite_key=_agreed([c.suite_key for c in codes]),
        python=_agreed([c.python for c in codes]),
        merge_base=codes[0].merge_base,  # as the patch, taken from the first step
    )
    coverage = combined_coverage(ledger, step_runs)
    if coverage is not None:
        ledger.save_coverage(run_id, coverage)
    patch = ledger.patch(step_runs[0])
    if patch is not None:
        ledger.save_patch(run_id, {**patch, "run_id": run_id})
    results, _ = judge_gates(ledger, run_id, specs, config)
    results = [
        r._replace(reason="; ".join(problems[:3]) + (" ..." if len(problems) > 3 else ""))
        if r.spec.name == "missing_shards" and problems
        else r
        for r in results
    ]
    ledger.save_gates(run_id, [r.as_dict() for r in results])
    totals = ledger.totals(run_id)
    test_status = 1 if totals.failed or totals.errors else 0
    if totals.collected == 0:  # as the same suite exits unsharded: nothing to judge
        test_status = int(ExitCode.NO_TESTS)
    verdict = overall_verdict(results)
    status = final_exit_status(test_status, verdict)
    # From the first step's start to this verdict: the build's wall-clock time.
    finished_at = max([time.time(), *(_timestamp(at) for at in finished)])
    ledger.set_run_state(
        run_id,
        "passed" if status == 0 else "failed",
        finished_at=finished_at,
        exit_status=status,
        end_reason=f"verdict of workstream {workstream_id}",
        verdict=verdict.value,
    )
    ledger.set_workstream_state(
        workstream_id, "passed" if status == 0 else "failed", expect_shards=expect_shards
    )
    return run_id, results, problems, status


def _agreed(values: Sequence[str | None]) -> str | None:
    """The steps' common value; for steps that differ (a work tree edited between
    shards, two Pythons), a value no single run has, so none matches it."""
    distinct = set(values)
    if len(distinct) == 1:
        return values[0]
    return "mixed: " + ", ".join(sorted("-" if v is None else v for v in distinct))


def _labels(steps: Sequence[StepDocument]) -> list[str]:
    """A name per step for its workers (``2/4:gw0``); a shard that ran twice gets ``#2``."""
    labels: list[str] = []
    for step in steps:
        label = step["shard"] or step["phase"]
        repeat = sum(1 for seen in labels if seen.split("#")[0] == label)
        labels.append(f"{label}#{repeat + 1}" if repeat else label)
    return labels


def _timestamp(text: str) -> float:
    from uetf_core.timeutil import parse_iso

    return parse_iso(text).timestamp()
