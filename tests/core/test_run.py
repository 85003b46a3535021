"""The run recorder on its own, without pytest: lifecycle, batching, validation."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from uetf_core.config import CliOptions, resolve_config
from uetf_core.errors import ConfigError, TransitionError
from uetf_core.events import RecordAdded, RunFinished, StateChanged
from uetf_core.ledger import open_ledger
from uetf_core.records import ExecutionRecord, PhaseResult
from uetf_core.run import RunRecorder
from uetf_core.states import RunState, WorkerState


def recorder_for(tmp_path: Path, **table: object) -> RunRecorder:
    config = resolve_config(tmp_path, table, CliOptions(gates=("min_tests>=2",)), env={})
    return RunRecorder(open_ledger(config.ledger), config)


def passed(node_id: str) -> ExecutionRecord:
    ok = PhaseResult("passed", 0.01)
    return ExecutionRecord(node_id, 1, "controller", "passed", ok, ok, ok, 0.03, 1.0, 1.1)


def test_full_lifecycle_without_pytest(tmp_path: Path, validate) -> None:  # type: ignore[no-untyped-def]
    """uetf_core alone records a run from pending to passed and judges its gates."""
    recorder = recorder_for(tmp_path)
    seen: list[object] = []
    for kind in (StateChanged, RecordAdded, RunFinished):
        recorder.bus.subscribe(kind, seen.append)
    recorder.start()
    recorder.transition(RunState.COLLECTING)
    recorder.add_tasks(["t.py::a", "t.py::b"])
    recorder.transition(RunState.RUNNING)
    recorder.worker("controller", WorkerState.READY)
    recorder.worker("controller", WorkerState.BUSY)
    recorder.add_record(passed("t.py::a"))
    recorder.add_record(passed("t.py::b"))
    outcome = recorder.finish(0)
    assert outcome.state is RunState.PASSED
    assert outcome.exit_status == 0
    assert [g.verdict.value for g in outcome.gates] == ["passed"]
    validate("run_summary", outcome.summary)
    assert sum(isinstance(e, RecordAdded) for e in seen) == 2
    assert isinstance(seen[-1], RunFinished)
    ledger = recorder.ledger
    worker_moves = [
        (e["from_state"], e["to_state"])
        for e in ledger.events(recorder.run_id)
        if e["kind"] == "worker_state"
    ]
    assert worker_moves == [
        (None, "starting"),
        ("starting", "ready"),
        ("ready", "busy"),
        ("busy", "idle"),
        ("idle", "stopped"),
    ]
    (check,) = ledger.validations(recorder.run_id)
    validate("validation_record", check)
    assert check["valid"]


def test_identical_config_is_validated_once(tmp_path: Path) -> None:
    """A second run with the same configuration reuses the first validation verdict."""
    first = recorder_for(tmp_path)
    first.start()
    second = recorder_for(tmp_path)
    second.start()
    (check,) = second.ledger.validations(second.run_id)
    assert check["valid"]
    assert "identical to a configuration validated before" in check["subject"]


def test_records_are_written_in_batches(tmp_path: Path) -> None:
    """Records reach the ledger when the batch is full, not one by one."""
    recorder = recorder_for(tmp_path, batch_size=3, flush_interval=3600)
    recorder.start()
    for i in range(2):
        recorder.add_record(passed(f"t.py::{i}"))
    assert recorder.ledger.records(recorder.run_id) == []
    recorder.add_record(passed("t.py::2"))
    assert len(recorder.ledger.records(recorder.run_id)) == 3


def test_the_run_records_the_time_its_ledger_writes_took(tmp_path: Path) -> None:
    """ledger_write_seconds: every write while the tests ran is clocked, a slow one too."""
    recorder = recorder_for(tmp_path, batch_size=2)
    ledger = recorder.ledger
    write_batch = ledger.write_batch

    def slow_write_batch(*args: object) -> None:  # a shared server far away
        time.sleep(0.05)
        write_batch(*args)  # type: ignore[arg-type]

    ledger.write_batch = slow_write_batch  # type: ignore[method-assign]
    recorder.start()
    recorder.transition(RunState.COLLECTING)
    recorder.add_tasks([f"t.py::t{i}" for i in range(6)])
    recorder.transition(RunState.RUNNING)
    for i in range(6):
        recorder.add_record(passed(f"t.py::t{i}"))  # three batches of two
    recorder.finish(0)
    amount, unit = recorder.ledger.cost_totals(recorder.run_id)["ledger_write_seconds"]
    assert unit == "s"
    assert 0.15 <= amount < 0.15 + 2.0
    assert amount == pytest.approx(recorder.write_seconds, abs=0.2)


def test_illegal_run_transition_raises(tmp_path: Path) -> None:
    """The recorder refuses a transition its table forbids."""
    recorder = recorder_for(tmp_path)
    recorder.start()
    with pytest.raises(TransitionError):
        recorder.transition(RunState.PASSED)


def test_usage_error_status_ends_errored(tmp_path: Path) -> None:
    """A session that ended in a usage error is recorded errored, not failed."""
    recorder = recorder_for(tmp_path)
    recorder.start()
    recorder.transition(RunState.COLLECTING)
    outcome = recorder.finish(4)
    assert outcome.state is RunState.ERRORED
    assert recorder.ledger.find_run(recorder.run_id)["end_reason"] == "usage error"


def test_invalid_config_is_refused_and_recorded(tmp_path: Path) -> None:
    """A config the schema rejects ends the run errored with the reason, nothing lost."""
    recorder = recorder_for(tmp_path)
    recorder.config = recorder.config._replace(gate_mode="loud")
    with pytest.raises(ConfigError, match="gate_mode"):
        recorder.start()
    run = recorder.ledger.find_run(recorder.run_id)
    assert run["state"] == "errored"
    (check,) = recorder.ledger.validations(recorder.run_id)
    assert not check["valid"]
