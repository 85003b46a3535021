"""The writer thread: writes keep their order, settle waits, a failure reaches the caller."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from uetf_core.config import CliOptions, resolve_config
from uetf_core.errors import LedgerError
from uetf_core.ledger import open_ledger
from uetf_core.ledger.background import BackgroundWriter
from uetf_core.records import ExecutionRecord, PhaseResult
from uetf_core.run import RunRecorder
from uetf_core.states import RunState, WorkerState


def test_writes_run_in_order_on_another_thread_and_settle_waits_for_them() -> None:
    done: list[tuple[int, str]] = []
    release = threading.Event()

    def write(n: int) -> None:
        release.wait(5)
        done.append((n, threading.current_thread().name))

    writer = BackgroundWriter()
    for n in range(50):
        writer.submit(write, n)
    assert done == []  # still held: submit did not wait
    release.set()
    writer.settle()
    assert [n for n, _ in done] == list(range(50))
    assert {name for _, name in done} == {"uetf-writer"}
    writer.close()


def test_a_failed_write_is_raised_in_the_callers_thread_once() -> None:
    def fail() -> None:
        raise LedgerError("uetf: ledger.db: ledger operation failed: disk I/O error")

    writer = BackgroundWriter()
    writer.submit(fail)
    with pytest.raises(LedgerError, match="disk I/O error"):
        writer.settle()
    writer.settle()  # reported once; the writer goes on
    later: list[int] = []
    writer.submit(later.append, 1)
    writer.close()
    assert later == [1]


def test_a_failure_surfaces_at_the_next_submit() -> None:
    def fail() -> None:
        raise LedgerError("uetf: broken")

    writer = BackgroundWriter()
    writer.submit(fail)
    deadline = time.monotonic() + 5
    with pytest.raises(LedgerError, match="broken"):
        while time.monotonic() < deadline:
            writer.submit(lambda: None)
            time.sleep(0.01)
    writer.close()


def _record(node_id: str) -> ExecutionRecord:
    ok = PhaseResult("passed", 0.001)
    return ExecutionRecord(node_id, 1, "controller", "passed", ok, ok, ok, 0.003, 1.0, 2.0)


def test_a_recorder_writing_in_the_background_records_everything(
    ledger_location: str, tmp_path: Path
) -> None:
    """More records than one batch, on both back ends: all written, then judged."""
    config = resolve_config(tmp_path, {}, CliOptions(ledger=ledger_location), env={})
    recorder = RunRecorder(open_ledger(ledger_location), config, background=True)
    recorder.start()
    recorder.transition(RunState.COLLECTING)
    ids = [f"t.py::test_{i}" for i in range(1200)]
    recorder.add_tasks(ids)
    recorder.transition(RunState.RUNNING)
    recorder.worker("controller", WorkerState.READY)
    recorder.worker("controller", WorkerState.BUSY)
    for node_id in ids:
        recorder.add_record(_record(node_id))
    outcome = recorder.finish(0)
    recorder.close()
    assert outcome.summary["totals"]["passed"] == 1200
    ledger = recorder.ledger
    assert len(ledger.records(recorder.run_id)) == 1200
    assert [t["state"] for t in ledger.tasks(recorder.run_id)] == ["passed"] * 1200
    ledger.close()
