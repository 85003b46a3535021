"""Runs recorded in-process with uetf_core alone, as large or as hostile as a test needs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from uetf_core.config import CliOptions, resolve_config
from uetf_core.ledger import open_ledger
from uetf_core.records import ErrorCapture, ExecutionRecord, PhaseResult
from uetf_core.run import RunRecorder
from uetf_core.states import RunState, WorkerState


def record_run(
    root: Path,
    passing: Sequence[str],
    failing: Sequence[str],
    gates: Sequence[str] = ("pass_rate>=100",),
    traceback_lines: int = 20,
) -> RunRecorder:
    """Record one finished run of ``passing`` and ``failing`` test ids in ``root``'s ledger."""
    config = resolve_config(root, {}, CliOptions(gates=tuple(gates)), env={})
    recorder = RunRecorder(open_ledger(config.ledger), config)
    recorder.start()
    recorder.transition(RunState.COLLECTING)
    ids = [*passing, *failing]
    recorder.add_tasks([(node_id, i, node_id.split("::")[0]) for i, node_id in enumerate(ids)])
    recorder.transition(RunState.RUNNING)
    recorder.worker("controller", WorkerState.READY)
    recorder.worker("controller", WorkerState.BUSY)
    ok = PhaseResult("passed", 0.001)
    for i, node_id in enumerate(passing):
        recorder.add_record(
            ExecutionRecord(
                node_id, 1, "controller", "passed", ok, ok, ok, 0.003 + i * 1e-6, 1.0, 1.1
            )
        )
    bad = PhaseResult("failed", 0.002)
    for node_id in failing:
        trace = "\n".join(f"{node_id}:{n}: in frame {n}" for n in range(traceback_lines))
        error = ErrorCapture.bounded(
            node_id,
            1,
            "call",
            "AssertionError",
            f"{node_id} went wrong",
            "tests/test_x.py",
            7,
            trace,
        )
        recorder.add_record(
            ExecutionRecord(
                node_id, 1, "controller", "failed", ok, bad, ok, 0.004, 1.0, 1.1, error=error
            )
        )
    recorder.finish(1 if failing else 0)
    return recorder
