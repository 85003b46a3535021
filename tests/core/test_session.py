"""The run session without pytest: one run's whole sequence, from begin to verdict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from uetf_core.config import CliOptions, resolve_config
from uetf_core.errors import ConfigError
from uetf_core.exitcodes import ExitCode
from uetf_core.records import ExecutionRecord, PhaseResult
from uetf_core.session import RunSession
from uetf_core.states import RunState

OK = PhaseResult("passed", 0.001)


def session_for(root: Path, **cli: Any) -> RunSession:
    options = CliOptions(gates=("pass_rate>=100",), **cli)
    return RunSession(resolve_config(root, {}, options, env={}), root)


def attempt(node_id: str, outcome: str = "passed", worker: str = "controller") -> ExecutionRecord:
    call = OK if outcome == "passed" else PhaseResult(outcome, 0.002)
    return ExecutionRecord(node_id, 1, worker, outcome, OK, call, OK, 0.003, 1.0, 1.1)


def run_tests(run: RunSession, *records: ExecutionRecord) -> None:
    run.begin()
    run.collected([r.node_id for r in records])
    run.start_tests()
    run.worker_ready("controller")
    for record in records:
        run.record(record)


def test_a_run_goes_from_begin_to_verdict_without_pytest(tmp_path: Path, validate) -> None:  # type: ignore[no-untyped-def]
    """Begin, tasks, records and finish give the run its final state, verdict and summary."""
    run = session_for(tmp_path)
    run_tests(run, attempt("t.py::a"), attempt("t.py::b", "failed"))
    outcome = run.finish(int(ExitCode.TESTS_FAILED))
    try:
        assert outcome is not None and outcome is run.outcome
        assert outcome.state is RunState.FAILED
        assert outcome.exit_status == ExitCode.TESTS_FAILED
        assert [g.verdict.value for g in outcome.gates] == ["failed"]
        assert outcome.summary["totals"]["passed"] == 1
        validate("run_summary", outcome.summary)
        assert run.finished and run.finish(0) is None  # judged once
    finally:
        run.close()


def test_attempts_in_flight_at_an_interrupt_are_errors(tmp_path: Path) -> None:
    """A test that never reached its teardown is recorded as an error, not a pass."""
    run = session_for(tmp_path)
    run_tests(run, attempt("t.py::a"))
    outcome = run.finish(
        int(ExitCode.INTERRUPTED), interrupted=True, in_flight=[attempt("t.py::b")]
    )
    try:
        assert outcome is not None and outcome.state is RunState.ERRORED
        assert run.recorder is not None
        outcomes = run.recorder.ledger.outcomes(run.recorder.run_id)
        assert outcomes == {"t.py::a": "passed", "t.py::b": "error"}
    finally:
        run.close()


def test_a_usage_error_at_the_start_ends_the_run_errored(tmp_path: Path) -> None:
    """An option naming what does not exist is refused at begin, and the run says so."""
    run = session_for(tmp_path, baseline="no-such-run")
    with pytest.raises(ConfigError, match="no-such-run"):
        run.begin()
    try:
        assert run.recorder is not None and run.recorder.state is RunState.ERRORED
        assert run.finished and run.finish(0) is None
    finally:
        run.close()


def test_workers_routes_and_costs_are_recorded(tmp_path: Path) -> None:
    """A worker that crashed, where the scheduler sent a test, and a worker's memory are kept."""
    run = session_for(tmp_path)
    run.begin()
    run.collected(["t.py::a"])
    run.start_tests()
    run.worker_ready("gw0")
    run.record(attempt("t.py::a", worker="gw0"))
    run.route("t.py::a", "gw0", "duration", 0.5, None, 1.0)
    run.worker_down("gw0", "node down: boom", peak_rss_mb=12.5)
    run.add_cost("test", "t.py::a", "tokens", 3.0, "tokens")
    outcome = run.finish(0, peak_rss_mb=40.0)
    try:
        assert outcome is not None and outcome.exit_status == 0
        assert run.recorder is not None
        ledger, run_id = run.recorder.ledger, run.recorder.run_id
        states = {w["worker_id"]: w["state"] for w in ledger.workers(run_id)}
        assert states["gw0"] == "crashed"
        assert [d["node_id"] for d in ledger.routing_decisions(run_id)] == ["t.py::a"]
        costs = ledger.cost_totals(run_id)
        assert costs["tokens"][0] == 3.0 and "peak_rss_mb" in costs
    finally:
        run.close()


def test_reports_are_written_at_the_end(tmp_path: Path) -> None:
    """The reports the configuration asks for are written once the run is judged."""
    target = tmp_path / "out" / "r.json"
    run = session_for(tmp_path, reports=(f"json:{target}",))
    run_tests(run, attempt("t.py::a"))
    outcome = run.finish(0)
    try:
        assert outcome is not None and outcome.exit_status == 0
        assert run.reports is not None and target.is_file()
        assert run.report_problem is None
    finally:
        run.close()


def test_a_report_that_cannot_be_written_fails_a_passing_run(tmp_path: Path) -> None:
    """The verdict stands, the problem is said, and the exit status the ledger keeps is the
    process's."""
    target = tmp_path / "out" / "r.json"
    run = session_for(tmp_path, reports=(f"json:{target}",))
    run_tests(run, attempt("t.py::a"))
    (tmp_path / "out").write_text("a file where the report's folder should be")
    outcome = run.finish(0)
    try:
        assert outcome is not None and outcome.exit_status != 0
        assert run.report_problem is not None and run.report_problem.startswith("uetf: ")
        assert run.recorder is not None
        stored = run.recorder.ledger.find_run(run.recorder.run_id)
        assert stored["exit_status"] == outcome.exit_status
    finally:
        run.close()
