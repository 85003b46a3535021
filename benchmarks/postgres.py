"""The PostgreSQL ledger under load: 16 concurrent runs, and one run against SQLite's cost.

Run: python benchmarks/postgres.py [--writers 16] [--tests 5000] [--rounds 3]
                                   [--concurrent-rounds 3]
     python benchmarks/postgres.py --instructions [--repeat N]

Starts a PostgreSQL server of its own (Debian's postgresql must be installed;
initdb into a temporary folder), generates a suite of quick tests, then:

1. times one ``pytest --uetf`` run on PostgreSQL against one on SQLite, alternating,
   medians of ``--rounds`` and the median of each pair's ratio. Target: at most 1.05x;
2. runs ``--writers`` ``pytest --uetf`` processes at once, all recording into one
   PostgreSQL ledger, ``--concurrent-rounds`` times, each round beside the same
   runs on their own SQLite files, and checks that every record arrived. Then
   what the shared server cost: the time each run spent in its ledger writes while its tests ran
   (its ``ledger_write_seconds``; the writes are made in place, so the run is
   that much longer), against the same runs each writing its own SQLite file at
   once; how much longer the slowest run took than those, and than plain pytest;
   the CPU seconds of the pytest processes in each case, and of the server
   (the backends that served the runs, read from ``/proc`` once they ended).
   All of these run on one machine: on two cores, sixteen pytest processes and
   the server take turns, so every figure includes waiting for a core.

With ``--instructions``: the instructions of one run's pytest process without
UETF, with a SQLite ledger and with a PostgreSQL one (valgrind), the figure the
per-run target is held to where seconds scatter by more than 5%.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from overhead import (
    add_count_options,
    generate_suite,
    instructions_once,
    rotated,
    run_once,
)

from conftest import new_database, postgres_instance

BASE = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"]


def _env() -> dict[str, str]:
    # Bytecode caches on, as for any user: without them every run compiles its imports.
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("UETF_", "PYTEST_")) and k != "PYTHONDONTWRITEBYTECODE"
    }


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def concurrent(root: Path, args: list[list[str]]) -> tuple[list[float], float]:
    """Start every command at once; each one's wall time, and their CPU seconds together."""
    cpu = _children_cpu()
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [*BASE, *a], cwd=root, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        for a in args
    ]
    times = []
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"a run failed: {err.decode()[-2000:]}")
        times.append(time.perf_counter() - started)
    return times, _children_cpu() - cpu


def timed(root: Path, args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([*BASE, *args], cwd=root, env=_env(), check=True, capture_output=True)
    return time.perf_counter() - start


def concurrent_figures(root: Path, server: dict[str, Any], args: argparse.Namespace) -> None:
    """16 runs at once into one PostgreSQL ledger: nothing lost, and what it costs.

    ``--concurrent-rounds`` rounds, each the sixteen runs on their own SQLite
    files, then on a new PostgreSQL database: sixteen processes on two cores
    finish up to ten seconds apart from one round to the next with nothing
    changed, so the figure is the median of each round's difference.
    """
    plain, plain_cpu = concurrent(root, [["-p", "no:uetf"]] * args.writers)
    print(f"PostgreSQL ledger: {args.writers} concurrent pytest --uetf runs of {args.tests} tests")
    print(f"  plain pytest, no recording, the same runs at once: slowest {max(plain):.2f} s,")
    print(f"  CPU of the processes {plain_cpu:.2f} s")
    differences, write_medians = [], []
    for number in range(1, args.concurrent_rounds + 1):
        files = [root / f"r{number}w{i}.db" for i in range(args.writers)]
        local, local_cpu = concurrent(root, [["--uetf", f"--uetf-ledger={f}"] for f in files])
        url = new_database(server["url"])
        server_cpu = _server_cpu(server)
        loaded, loaded_cpu = concurrent(root, [["--uetf", f"--uetf-ledger={url}"]] * args.writers)
        time.sleep(2.0)  # the runs' backends end and are counted in the server's CPU
        server_cpu = _server_cpu(server) - server_cpu
        runs, lost, shared = _shared_figures(url, args.tests)
        own = [_own_write_seconds(f) for f in files]
        differences.append(max(loaded) - max(local))
        write_medians.append(statistics.median(shared))
        print(f"round {number}: runs recorded {runs}, records lost {lost}")
        print(
            f"  slowest run: PostgreSQL {max(loaded):.2f} s, each on its own SQLite file"
            f" {max(local):.2f} s: {differences[-1]:+.2f} s"
        )
        print(
            f"  a run's ledger writes while its tests ran: PostgreSQL median"
            f" {statistics.median(shared):.2f} s, slowest {max(shared):.2f} s, all"
            f" {sum(shared):.2f} s; own SQLite files median {statistics.median(own):.2f} s,"
            f" slowest {max(own):.2f} s, all {sum(own):.2f} s"
        )
        print(
            f"  CPU: the pytest processes {loaded_cpu:.2f} s (own SQLite files {local_cpu:.2f} s),"
            f" the server {server_cpu:.2f} s ({_commits(url)} transactions,"
            f" {server_cpu / args.writers * 1000:.0f} ms a run)"
        )
    difference = statistics.median(differences)
    print(
        f"median of {len(differences)} rounds: the slowest run {difference:+.2f} s against"
        f" own SQLite files (target: under 2 s); a run's writes"
        f" {statistics.median(write_medians):.2f} s"
    )


def _shared_figures(url: str, tests: int) -> tuple[int, int, list[float]]:
    """The runs in the shared ledger, the records missing from them, each one's write time."""
    from uetf_core.ledger import open_ledger

    ledger = open_ledger(url)
    try:
        runs = ledger.list_runs()
        lost = sum(tests - ledger.totals(r["run_id"]).passed for r in runs)
        return len(runs), lost, [_write_seconds(ledger, r["run_id"]) for r in runs]
    finally:
        ledger.close()


def _own_write_seconds(path: Path) -> float:
    from uetf_core.ledger import open_ledger

    ledger = open_ledger(str(path))
    try:
        return _write_seconds(ledger, ledger.list_runs()[0]["run_id"])
    finally:
        ledger.close()


def _write_seconds(ledger: Any, run_id: str) -> float:
    amount, _ = ledger.cost_totals(run_id)["ledger_write_seconds"]
    return float(amount)


def _server_cpu(server: dict[str, Any]) -> float:
    """CPU seconds of the server's main process and of its ended children (the backends).

    A backend's time joins its parent's once it has ended and been reaped.
    """
    pid = (Path(server["data"]) / "postmaster.pid").read_text().split()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # utime, stime, cutime, cstime: fields 14-17 of proc(5), here from the state on
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _commits(url: str) -> int:
    """Transactions committed in the ledger's database (a backend reports them at its end)."""
    import psycopg

    server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        row = admin.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = %s", (name,)
        ).fetchone()
    assert row is not None, name
    return int(row[0])


def job(ledger: str, tests: int, pace: float) -> dict[str, float]:
    """One CI job's ledger work with its tests replaced by a sleep of ``pace`` each.

    The job records a run as the plugin does (start, tasks, a record per test,
    batched, the verdict) through the same recorder and ledger. Everything but
    the sleeps is what recording cost the job, writes waited for included.
    """
    from uetf_core.config import CliOptions, resolve_config
    from uetf_core.ledger import open_ledger
    from uetf_core.run import RunRecorder
    from uetf_core.states import RunState, WorkerState

    started = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="uetf-job-"))
    config = resolve_config(root, {}, CliOptions(ledger=ledger), env={})
    recorder = RunRecorder(open_ledger(ledger), config)
    ids = [f"tests/test_mod_{i // 100:03d}.py::test_{i:05d}" for i in range(tests)]
    recorder.start()
    recorder.transition(RunState.COLLECTING)
    recorder.add_tasks(ids)
    recorder.transition(RunState.RUNNING)
    recorder.worker("controller", WorkerState.READY)
    recorder.worker("controller", WorkerState.BUSY)
    slept = 0.0
    ready = time.perf_counter()
    for node_id in ids:
        before = time.perf_counter()
        time.sleep(pace)  # the test
        call = time.perf_counter() - before
        slept += call
        end = time.time()
        recorder.add_record((node_id, 1, "controller", 0.0, call, 0.0, end - call, end, None))
    tested = time.perf_counter()
    outcome = recorder.finish(0)
    recorder.close()
    recorder.ledger.close()
    shutil.rmtree(root, ignore_errors=True)
    ended = time.perf_counter()
    assert outcome.exit_status == 0, outcome
    return {
        "whole": ended - started,
        "beyond": ended - started - slept,
        "writes": recorder.write_seconds,
        "start": ready - started,
        "verdict": ended - tested,
    }


def emulated_jobs(server: dict[str, Any], args: argparse.Namespace) -> None:
    """``--writers`` CI jobs at once, each as if on a machine of its own: their tests
    sleep instead of using a core, so the cores are left to the recording and the server."""
    scratch = Path(tempfile.mkdtemp(prefix="uetf-jobs-"))
    try:
        for name, ledgers in (
            ("own SQLite files", [str(scratch / f"j{i}.db") for i in range(args.writers)]),
            ("one PostgreSQL ledger", [new_database(server["url"])] * args.writers),
        ):
            # A first job of ten tests on each ledger: its schema and the config's
            # validation are there, as in a team's ledger after its first run.
            _jobs(ledgers, 10, args.pace)
            results = _jobs(ledgers, args.tests, args.pace)
            beyond = [r["beyond"] for r in results]
            print(
                f"  {name}: beyond the tests, slowest job {max(beyond):.2f} s,"
                f" median {statistics.median(beyond):.2f} s; of it (medians) the start"
                + "".join(
                    f" {statistics.median(r[part] for r in results):.2f} s{label}"
                    for part, label in (
                        ("start", ", writes"),
                        ("writes", ", the verdict"),
                        ("verdict", ""),
                    )
                )
            )
        from uetf_core.ledger import open_ledger

        ledger = open_ledger(ledgers[0])
        totals = [ledger.totals(r["run_id"]) for r in ledger.list_runs()]
        runs = [t for t in totals if t.collected > 10]  # not the ten-test first jobs
        lost = sum(args.tests - t.passed for t in runs)
        ledger.close()
        print(f"  runs recorded {len(runs)}, records lost {lost}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _jobs(ledgers: list[str], tests: int, pace: float) -> list[dict[str, float]]:
    """One emulated job on each of ``ledgers``, all at once; what each reported."""
    argv = [sys.executable, __file__, "--job", str(tests), str(pace)]
    procs = [
        subprocess.Popen([*argv, ledger], env=_env(), stdout=subprocess.PIPE, text=True)
        for ledger in ledgers
    ]
    results = []
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit("an emulated job failed")
        results.append(json.loads(out))
    return results


def count_instructions(args: argparse.Namespace) -> int:
    """The pytest process's instructions with each back end, and the server's CPU a run.

    As ``overhead.py --instructions`` counts them (one ordinary run before each
    count, a hash seed, batches by size: under valgrind a run lasts minutes, and
    a flush a second would write a hundred small batches); the server is not
    under valgrind, so its CPU is read from ``/proc`` around the ordinary runs.
    """
    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
    work = Path(tempfile.mkdtemp(prefix="uetf-bench-pg-"))
    root = work / "suite"  # the suite alone in its folder, as overhead.py keeps it
    root.mkdir()
    try:
        generate_suite(root, args.tests, 50, "flush_interval = 3600\nprogress_interval = 3600\n")
        with postgres_instance() as server:
            url = new_database(server["url"])
            cmds = {
                "pytest": [*BASE, "-p", "no:uetf"],
                "SQLite": [*BASE, "--uetf", f"--uetf-ledger={work / 'l.db'}"],
                "PostgreSQL": [*BASE, "--uetf", f"--uetf-ledger={url}"],
            }
            counts: dict[str, list[int]] = {label: [] for label in cmds}
            server_cpu: list[float] = []
            for label in rotated(list(cmds), args.repeat):
                before = _server_cpu(server)
                run_once(cmds[label], root)
                if label == "PostgreSQL":
                    time.sleep(1.0)  # the run's backends end and are counted
                    server_cpu.append(_server_cpu(server) - before)
                counts[label].append(instructions_once(cmds[label], root))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    median = {label: statistics.median(values) for label, values in counts.items()}
    print(f"instructions of the pytest process, {args.tests} tests, median of {args.repeat}:")
    for label, value in median.items():
        print(f"  {label:12s} {value:>16,.0f}   {value / median['pytest']:.3f}")
    print(
        f"  PostgreSQL / SQLite: {median['PostgreSQL'] / median['SQLite']:.3f} (target <= 1.05);"
        f" the server's CPU a run: {statistics.median(server_cpu) * 1000:.0f} ms"
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--tests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only-one", action="store_true", help="skip the concurrent runs")
    parser.add_argument(
        "--concurrent-rounds", type=int, default=3, help="rounds of the concurrent runs"
    )
    add_count_options(
        parser, "count one run's instructions on each back end under valgrind instead"
    )
    parser.add_argument(
        "--pace", type=float, default=0.001, help="the emulated jobs' seconds a test"
    )
    parser.add_argument(
        "--job",
        nargs=3,
        metavar=("TESTS", "PACE", "LEDGER"),
        help="one emulated CI job alone, into LEDGER; its figures as JSON",
    )
    args = parser.parse_args()
    if args.job:
        tests, pace, ledger = args.job
        print(json.dumps(job(ledger, int(tests), float(pace))))
        return 0
    if args.instructions:
        return count_instructions(args)
    root = Path(tempfile.mkdtemp(prefix="uetf-bench-pg-"))
    try:
        generate_suite(root, args.tests, 50)
        with postgres_instance() as server:
            # The single run first: the concurrent load leaves the server checkpointing
            # and vacuuming for a while, which would be charged to these runs.
            one = new_database(server["url"])
            sqlite = root / "one.db"
            pg_times, sqlite_times = [], []
            timed(root, ["--uetf", f"--uetf-ledger={one}"])  # warm-up and schema
            timed(root, ["--uetf", f"--uetf-ledger={sqlite}"])
            for _ in range(args.rounds):
                pg_times.append(timed(root, ["--uetf", f"--uetf-ledger={one}"]))
                sqlite_times.append(timed(root, ["--uetf", f"--uetf-ledger={sqlite}"]))
            pg, lite = statistics.median(pg_times), statistics.median(sqlite_times)
            paired = statistics.median(p / s for p, s in zip(pg_times, sqlite_times, strict=True))
            print(
                f"one run, median of {args.rounds}: SQLite {lite:.3f} s, PostgreSQL {pg:.3f} s,"
                f" ratio {pg / lite:.3f}, paired {paired:.3f} (target <= 1.05)"
            )
            print(
                f"{args.writers} CI jobs at once, emulated ({args.tests} tests of"
                f" {args.pace * 1000:g} ms, slept):"
            )
            emulated_jobs(server, args)
            if not args.only_one:
                concurrent_figures(root, server, args)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
