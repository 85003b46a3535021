"""Balance of parallel and sharded runs: UETF's routing and shards against xdist and pytest-split.

Run: python benchmarks/parallel.py [--rounds 2] [--part routing|shards|both]

routing: a skewed suite (200 tests, 40 s of sleeps, the longest 2 s) with -n 2,
under xdist's ``load`` and ``worksteal`` schedulers and ``--uetf-dist=duration``
(after one recorded run). Every command records with --uetf, so each run's
makespan (first test start to last test end, from the ledger) is measured the
same way; the lower bound is max(total / 2, longest).

shards: a 5,000-test suite with skewed durations (about 30 s in all) split in
4 by ``--uetf-shard`` (after one recorded run) and by pytest-split (after its
``--store-durations`` run). Each shard's time is the sum of its tests'
measured durations; the figure is the longest shard against total / 4.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BASE = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"]


def skewed_routing_suite(root: Path) -> tuple[float, float]:
    rng = random.Random(7)
    durations = [2.0, 1.8, 1.5, 1.2, 1.0] + [rng.uniform(0.05, 0.35) for _ in range(195)]
    scale = (40.0 - sum(durations[:5])) / sum(durations[5:])
    durations[5:] = [d * scale for d in durations[5:]]
    rng.shuffle(durations)
    (root / "test_skewed.py").write_text(
        "import time\nimport pytest\n\n"
        f"D = {[round(d, 4) for d in durations]!r}\n\n"
        "@pytest.mark.parametrize('i', range(len(D)))\n"
        "def test_sleep(i):\n    time.sleep(D[i])\n"
    )
    return sum(durations), max(durations)


def skewed_shard_suite(root: Path) -> None:
    rng = random.Random(11)
    for m in range(50):
        # A few slow modules, most quick: the skew pytest-split's default has to handle.
        slow = m % 10 == 0
        values = [rng.uniform(0.01, 0.05) if slow else rng.uniform(0.0, 0.004) for _ in range(100)]
        (root / f"test_mod_{m:02d}.py").write_text(
            "import time\nimport pytest\n\n"
            f"D = {[round(v, 4) for v in values]!r}\n\n"
            "@pytest.mark.parametrize('i', range(len(D)))\n"
            "def test_t(i):\n    time.sleep(D[i])\n"
        )


def run(root: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UETF_", "PYTEST_"))}
    done = subprocess.run([*BASE, *args], cwd=root, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-3000:])
        raise SystemExit(f"pytest {' '.join(args)} exited {done.returncode}")


def last_run(ledger: Path) -> tuple[float, dict[str, float]]:
    """Makespan of the newest run and the summed test durations per worker."""
    db = sqlite3.connect(ledger)
    try:
        (pk,) = db.execute("SELECT pk FROM runs ORDER BY pk DESC LIMIT 1").fetchone()
        start, end = db.execute(
            "SELECT min(started_at), max(finished_at) FROM executions WHERE run_pk = ?", (pk,)
        ).fetchone()
        busy = dict(
            db.execute(
                "SELECT worker, sum(duration) FROM executions WHERE run_pk = ? GROUP BY worker",
                (pk,),
            ).fetchall()
        )
        return end - start, busy
    finally:
        db.close()


def routing(rounds: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="uetf-bench-routing-"))
    try:
        total, longest = skewed_routing_suite(root)
        bound = max(total / 2, longest)
        ledger = root / "uetf.db"
        common = ["-n", "2", "--uetf", f"--uetf-ledger={ledger}"]
        run(root, *common)  # one recorded run: the durations routing needs
        commands = {
            "xdist --dist load": [*common, "--dist", "load"],
            "xdist --dist worksteal": [*common, "--dist", "worksteal"],
            "uetf --uetf-dist=duration": [*common, "--uetf-dist=duration"],
        }
        spans: dict[str, list[float]] = {label: [] for label in commands}
        for _ in range(rounds):
            for label, args in commands.items():
                run(root, *args)
                spans[label].append(last_run(ledger)[0])
        print(f"routing: 200 tests, {total:.1f} s of sleeps, longest {longest:.1f} s, -n 2,")
        print(f"lower bound max(total/2, longest) = {bound:.2f} s; {rounds} rounds, medians")
        print(f"{'scheduler':<28}{'makespan s':>12}{'over bound':>12}")
        for label, values in spans.items():
            span = statistics.median(values)
            print(f"{label:<28}{span:>12.2f}{(span / bound - 1) * 100:>+11.1f}%")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def shards(rounds: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="uetf-bench-shards-"))
    try:
        skewed_shard_suite(root)
        ledger = root / "uetf.db"
        run(root, "--uetf", f"--uetf-ledger={ledger}")  # one recorded run
        _, busy = last_run(ledger)
        total = sum(busy.values())
        rows: dict[str, list[float]] = {}
        for r in range(rounds):
            times = []
            for k in range(1, 5):
                job = root / f"job-{r}-{k}.db"
                shutil.copyfile(ledger, job)  # each CI job starts from the same ledger
                run(
                    root,
                    "--uetf",
                    f"--uetf-ledger={job}",
                    f"--uetf-shard={k}/4",
                    f"--uetf-workstream=bench-{r}",
                )
                times.append(sum(last_run(job)[1].values()))
            rows.setdefault("uetf --uetf-shard K/4", []).append(max(times) / (total / 4))
        if importlib.util.find_spec("pytest_split"):
            run(
                root,
                "--store-durations",
                "--durations-path",
                str(root / ".test_durations"),
                "-p",
                "no:uetf",
            )
            for r in range(rounds):
                times = []
                for k in range(1, 5):
                    probe = root / f"split-{r}-{k}.db"
                    run(
                        root,
                        "--splits",
                        "4",
                        "--group",
                        str(k),
                        "--durations-path",
                        str(root / ".test_durations"),
                        "--uetf",
                        f"--uetf-ledger={probe}",
                    )
                    times.append(sum(last_run(probe)[1].values()))
                rows.setdefault("pytest-split --splits 4", []).append(max(times) / (total / 4))
        else:
            print("note: pytest-split is not installed; skipped")
        print(f"shards: 5000 tests in 50 modules, {total:.1f} s of test time, 4 shards;")
        print(f"longest shard / (total / 4), median of {rounds} rounds (1.00 is a perfect split)")
        for label, values in rows.items():
            print(f"{label:<28}{statistics.median(values):>8.3f}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--part", choices=("routing", "shards", "both"), default="both")
    args = parser.parse_args()
    if args.part in ("routing", "both"):
        routing(args.rounds)
    if args.part in ("shards", "both"):
        shards(args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
