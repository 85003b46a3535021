"""History queries on a large ledger: 1,000 runs x 5,000 tests (5 million records).

Run: python benchmarks/history.py [--runs 1000] [--tests 5000] [--keep PATH]

Generates the ledger through the ledger's own batch writes (the path the
plugin uses), with a few flaky tests and a few failures per run, commits that
repeat (so flips on one commit exist), then times, best of 5:

- ``uetf flaky`` (the last 30 runs), through the ledger's query and the CLI;
- ``uetf history TEST`` (the newest 50 runs of one test);
- the baseline lookup (the newest whole-suite run at a commit).

Target: each query under 200 ms. Prints the ledger's size on disk.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from uetf_core.ledger import Batch, NewRun, open_ledger
from uetf_core.records import ErrorCapture, ExecutionRecord, PhaseResult


def generate(path: Path, runs: int, tests: int) -> None:
    ledger = open_ledger(str(path))
    rng = random.Random(5)
    ids = [f"tests/test_m{i % 100:03d}.py::test_{i}" for i in range(tests)]
    flaky = set(rng.sample(ids, 20))
    ok = PhaseResult("passed", 0.001)
    bad = PhaseResult("failed", 0.002)
    start = time.time() - runs * 600
    for r in range(runs):
        run_id = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime(start + r * 600))}-{r:06x}"
        at = start + r * 600
        ledger.create_run(NewRun(run_id, "running", at, 1, "bench", "/bench", "0", {}))
        ledger.set_commit(run_id, f"{r // 3:040x}", "main")  # three runs per commit
        ledger.add_tasks(run_id, ids)
        batch = Batch()
        for i, node_id in enumerate(ids):
            failing = (node_id in flaky and rng.random() < 0.3) or rng.random() < 0.0005
            if failing:
                error = ErrorCapture(
                    node_id,
                    1,
                    "call",
                    "AssertionError",
                    f"run {r}",
                    "t.py",
                    3,
                    "t.py:3: AssertionError",
                    False,
                )
                batch.records.append(
                    ExecutionRecord(
                        node_id,
                        1,
                        "main",
                        "failed",
                        ok,
                        bad,
                        ok,
                        0.004,
                        at,
                        at + 0.004,
                        error=error,
                    )
                )
                batch.errors.append(error)
            else:
                # A passed test as the plugin records it (a PassedRow).
                call = 0.001 + i * 1e-7
                batch.records.append((node_id, 1, "main", 0.001, call, 0.001, at, at + 0.003, None))
            if len(batch.records) >= 500:
                ledger.write_batch(run_id, batch, at)
                batch = Batch()
        ledger.write_batch(run_id, batch, at)
        ledger.record_flips(run_id)
        ledger.set_run_state(run_id, "passed", finished_at=at + 60, exit_status=0)
        if r % 100 == 99:
            print(f"  {r + 1} runs written", flush=True)
    ledger.close()


def best_of(fn, rounds: int = 5) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--tests", type=int, default=5000)
    parser.add_argument("--keep", type=Path, help="write the ledger here and keep it")
    args = parser.parse_args()
    scratch = tempfile.TemporaryDirectory(prefix="uetf-history-")
    path = args.keep or Path(scratch.name) / "uetf.db"
    if not path.exists():
        started = time.perf_counter()
        generate(path, args.runs, args.tests)
        print(f"generated in {time.perf_counter() - started:.0f} s")
    ledger = open_ledger(str(path))
    node_id = "tests/test_m007.py::test_1007"
    commit = f"{(args.runs - 2) // 3:040x}"
    figures = {
        "flaky (last 30 runs)": best_of(lambda: ledger.flaky(30)),
        "history TEST (50 runs)": best_of(lambda: ledger.test_history(node_id, 50)),
        "baseline lookup": best_of(lambda: ledger.find_baseline(commit)),
    }
    found = ledger.flaky(30)
    ledger.close()
    env = {**os.environ, "UETF_LEDGER": str(path)}
    cli = {}
    for label, argv in (("uetf flaky", ["flaky"]), ("uetf history TEST", ["history", node_id])):
        cli[label] = best_of(
            lambda argv=argv: subprocess.run(  # type: ignore[misc]
                [sys.executable, "-m", "uetf_core.cli", *argv],
                env=env,
                capture_output=True,
                check=True,
            ),
            3,
        )
    size = path.stat().st_size + sum(
        p.stat().st_size for p in path.parent.glob(path.name + "-*") if p.exists()
    )
    records = args.runs * args.tests
    print(f"UETF history benchmark: {args.runs} runs x {args.tests} tests = {records:,} records")
    print(f"ledger on disk: {size / 1e6:.0f} MB ({size / records:.1f} bytes per record)")
    print(f"{'query (best of 5)':<28}{'ms':>8}   target < 200 ms")
    for label, seconds in figures.items():
        print(f"{label:<28}{seconds * 1000:>8.1f}   {'met' if seconds < 0.2 else 'NOT met'}")
    print(f"{'whole command (best of 3)':<28}{'ms':>8}   (Python start-up included)")
    for label, seconds in cli.items():
        print(f"{label:<28}{seconds * 1000:>8.1f}")
    print(f"flaky tests found: {len(found)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
