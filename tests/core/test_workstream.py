"""A build split over jobs, judged in-process: shard checks, merging, the combined verdict."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from uetf_core.config import CliOptions, resolve_config
from uetf_core.ledger import open_ledger
from uetf_core.ledger.merge import merge_into
from uetf_core.ledger.sqlite import SqliteLedger
from uetf_core.records import ExecutionRecord, PhaseResult
from uetf_core.run import RunRecorder
from uetf_core.states import RunState, WorkerState
from uetf_core.workstream import gate_workstream

STATEMENTS = list(range(1, 13))


def shard_run(
    ledger: SqliteLedger, root: Path, shard: str, tests: list[str], lines: list[int]
) -> str:
    """One job's run: its tests passed, its executed lines of app.py, a step of build-9."""
    config = resolve_config(
        root,
        {},
        CliOptions(gates=("pass_rate>=100", "coverage>=50"), shard=shard, workstream="build-9"),
        env={},
    )
    recorder = RunRecorder(ledger, config)
    recorder.start()
    ledger.add_step("build-9", "unit", recorder.run_id, shard, ["lint"])
    recorder.transition(RunState.COLLECTING)
    recorder.add_tasks(tests)
    recorder.transition(RunState.RUNNING)
    recorder.worker("controller", WorkerState.READY)
    recorder.worker("controller", WorkerState.BUSY)
    ok = PhaseResult("passed", 0.01)
    for t in tests:
        recorder.add_record(
            ExecutionRecord(t, 1, "controller", "passed", ok, ok, ok, 0.03, 1.0, 1.1)
        )
    coverage = {
        "percent": round(100 * len(lines) / len(STATEMENTS), 2),
        "n_statements": 12,
        "n_missing": 12 - len(lines),
        "n_branches": 0,
        "n_partial_branches": 0,
        "core": "sysmon",
        "branch": False,
        "files": [
            {
                "path": "app.py",
                "statements": STATEMENTS,
                "executed": lines,
                "n_branches": 0,
                "n_partial_branches": 0,
                "n_missing_branches": 0,
                "arcs": [],
            }
        ],
    }
    outcome = recorder.finish(0, coverage=coverage)
    ledger.set_step_state(recorder.run_id, outcome.state.value)
    return recorder.run_id


def rows(path: Path) -> dict[str, int]:
    db = sqlite3.connect(path)
    try:
        names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {n: db.execute(f"SELECT count(*) FROM {n}").fetchone()[0] for n in names}
    finally:
        db.close()


def test_shards_merge_and_gate_as_one(tmp_path: Path, validate) -> None:  # type: ignore[no-untyped-def]
    jobs = []
    for k, (tests, lines) in enumerate(
        [(["t.py::a", "t.py::b"], [1, 2, 3]), (["t.py::c"], [4, 5, 6]), (["t.py::d"], [7, 8])],
        start=1,
    ):
        job = tmp_path / f"job{k}.db"
        ledger = open_ledger(str(job))
        shard_run(ledger, tmp_path, f"{k}/3", tests, lines)
        ledger.close()
        jobs.append(job)
    target_path = tmp_path / "merged.db"
    target = open_ledger(str(target_path))
    try:
        assert [merge_into(target, job).added for job in jobs] == [1, 1, 1]
        before = rows(target_path)
        assert [merge_into(target, job).present for job in jobs] == [1, 1, 1]
        assert rows(target_path) == before

        run_id, results, problems, status = gate_workstream(target, "build-9", 3)
        assert (problems, status) == ([], 0)
        by_name = {r.spec.name: r for r in results}
        assert by_name["coverage"].value == round(100 * 8 / 12, 2)  # the union of the shards
        assert by_name["missing_shards"].value == 0
        assert target.totals(run_id).passed == 4
        assert not target.find_run(run_id)["partial"]
        assert target.find_run("last")["run_id"] == run_id
        workstream = target.workstream("build-9")
        for dependency in workstream["dependencies"]:
            validate("ws_dependency", dependency)
        assert workstream["dependencies"] == [
            {"workstream_id": "build-9", "phase": "unit", "depends_on": "lint"}
        ]

        _, _, problems, status = gate_workstream(target, "build-9", 4)
        assert status == 6 and problems == ["phase unit: shard 4/4 is missing"]

        shard_run(target, tmp_path, "2/3", ["t.py::c", "t.py::a"], [4])  # a retried job
        _, results, problems, status = gate_workstream(target, "build-9", 3)
        assert status == 6
        assert any("shard 2/3 ran 2 times" in p for p in problems)
        assert any("t.py::a ran in shards 1/3 and 2/3" in p for p in problems)
        (missing,) = [r for r in results if r.spec.name == "missing_shards"]
        assert missing.verdict.value == "failed" and "ran 2 times" in (missing.reason or "")
    finally:
        target.close()


def test_the_combined_run_tested_what_its_steps_tested(tmp_path: Path) -> None:
    """The workstream's verdict run records its steps' commit, work tree, suite and Python
    where they agree, so it is a baseline as they were; steps on two Pythons make it the
    baseline of neither."""
    ledger = open_ledger(str(tmp_path / "l.db"))
    try:
        steps = [shard_run(ledger, tmp_path, f"{k}/2", [f"t.py::{k}"], [k]) for k in (1, 2)]
        for k, step in enumerate(steps, start=1):
            ledger.set_commit(step, "c1", "main", "", "suite", "cpython 3.11", "c0")
            ledger.set_partial(step, f"shard {k}/2")  # as a shard's session records it
        run_id = gate_workstream(ledger, "build-9", 2)[0]
        code = ledger.code_under_test(run_id)
        assert code == ("c1", "", "suite", "cpython 3.11", "c0")
        assert ledger.find_baseline("c1", suite_key="suite", python="cpython 3.11") == run_id
        ledger.set_commit(steps[1], "c1", "main", "", "suite", "cpython 3.12", "c0")
        second = gate_workstream(ledger, "build-9", 2)[0]
        assert ledger.code_under_test(second).python == "mixed: cpython 3.11, cpython 3.12"
        assert ledger.find_baseline("c1", python="cpython 3.11") == run_id
        assert ledger.find_baseline("c1", python="cpython 3.12") is None
    finally:
        ledger.close()
