"""Time to render every report format for a large run, read from the ledger.

Run: python benchmarks/reports.py [--tests 20000] [--failures 500] [--rounds 3]

Records one run of ``--tests`` tests, ``--failures`` of them failing with a
traceback, into a fresh ledger with uetf_core alone (no pytest), then times
building the report document and rendering each format from it, best of
``--rounds``. Target: every format together under 1 s.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

from uetf_core.config import CliOptions, resolve_config
from uetf_core.ledger import open_ledger
from uetf_core.records import ErrorCapture, ExecutionRecord, PhaseResult
from uetf_core.reports import render
from uetf_core.reports.document import build_report
from uetf_core.reports.github import workflow_commands
from uetf_core.run import RunRecorder
from uetf_core.states import RunState, WorkerState


def record(root: Path, tests: int, failures: int) -> RunRecorder:
    config = resolve_config(root, {}, CliOptions(gates=("pass_rate>=100",)), env={})
    recorder = RunRecorder(open_ledger(config.ledger), config)
    recorder.start()
    recorder.transition(RunState.COLLECTING)
    ids = [f"tests/test_m{i % 200:03d}.py::test_{i}[param-{i}]" for i in range(tests)]
    recorder.add_tasks(ids)
    recorder.transition(RunState.RUNNING)
    recorder.worker("controller", WorkerState.READY)
    recorder.worker("controller", WorkerState.BUSY)
    ok = PhaseResult("passed", 0.001)
    bad = PhaseResult("failed", 0.002)
    failing = set(range(0, tests, max(tests // failures, 1))[:failures])
    for i, node_id in enumerate(ids):
        if i in failing:
            trace = "\n".join(
                f"tests/test_x.py:{n}: in helper_{n}\n    assert x == {n}" for n in range(30)
            )
            error = ErrorCapture.bounded(
                node_id,
                1,
                "call",
                "AssertionError",
                f"assert {i} == {i + 1}",
                "tests/test_x.py",
                7,
                trace,
            )
            recorder.add_record(
                ExecutionRecord(
                    node_id, 1, "controller", "failed", ok, bad, ok, 0.004, 1.0, 1.1, error=error
                )
            )
        else:
            recorder.add_record(
                ExecutionRecord(
                    node_id, 1, "controller", "passed", ok, ok, ok, 0.003 + i * 1e-7, 1.0, 1.1
                )
            )
    recorder.finish(1)
    return recorder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=20_000)
    parser.add_argument("--failures", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="uetf-reports-") as scratch:
        root = Path(scratch)
        recorder = record(root, args.tests, args.failures)
        ledger, run_id = recorder.ledger, recorder.run_id
        best: dict[str, float] = {}
        sizes: dict[str, int] = {}
        for _ in range(args.rounds):
            start = time.perf_counter()
            report = build_report(ledger, run_id)
            timings = {"document (from the ledger)": time.perf_counter() - start}
            for fmt in ("json", "markdown", "html", "junit"):
                start = time.perf_counter()
                text = render(ledger, run_id, fmt, report, str(root))
                timings[fmt] = time.perf_counter() - start
                sizes[fmt] = len(text.encode())
            start = time.perf_counter()
            workflow_commands(report)
            timings["github annotations"] = time.perf_counter() - start
            for name, seconds in timings.items():
                best[name] = min(best.get(name, seconds), seconds)
        ledger.close()
    print(
        f"UETF report rendering: {args.tests} tests, {args.failures} failures, best of"
        f" {args.rounds}, Python {platform.python_version()}"
    )
    print(f"{'step':<30}{'ms':>10}{'bytes':>12}")
    for name, seconds in best.items():
        print(f"{name:<30}{seconds * 1000:>10.1f}{sizes.get(name, ''):>12}")
    total = sum(best.values())
    verdict = "met" if total < 1 else "NOT met"
    print(f"{'all formats together':<30}{total * 1000:>10.1f}   target < 1000 ms: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
