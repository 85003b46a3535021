"""Overhead of pytest --uetf against plain pytest and other reporters, in one run.

Run: python benchmarks/overhead.py [--tests 5000] [--modules 50] [--rounds 5] [--coverage]
                                   [--instructions [--repeat 3]]

Generates a suite of quick tests in a temporary directory, then times each
command as a subprocess, alternating the commands every round (and rotating
their order) so that drift on the machine affects all of them alike. Prints
the median and fastest wall time of each, its ratio to plain pytest (of the
medians), the paired ratio (the median of each round's ratio to plain pytest in
that round, steadier on a shared machine) and the same for CPU time.
Commands whose plugin is not installed are skipped with a note. The suite's
folder holds the suite and nothing else (UETF's ledger sits where a project's
does, in .ledger/): pytest makes a directory node for every folder in its
rootdir, about 0.6 million instructions each, so scratch folders left there
by earlier commands would be charged to the later ones.

With --instructions, each command instead runs once under valgrind's
cachegrind and the figure is the number of instructions its pytest process
executed, with one hash seed for all: repeated counts of one command agree to
about a tenth of a percent however busy the machine, where wall times here
drift by a quarter between identical runs. It counts work, not waiting (disk,
locks) or cache misses. valgrind slows a run some twenty to thirty times, so
the suite's [tool.uetf] sets the batch and progress intervals to an hour: a
real run of this suite writes its batches when 500 records are due, long
before a second passes, and ends before its first progress snapshot (5 s);
under valgrind the default intervals, or even a minute, would add writes and
the snapshot's reading of recent runs, which a real run does not do. With
--repeat N every command is counted N times, in a rotated order, and the
median is reported with the spread of the counts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BASE = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]


def generate_suite(root: Path, tests: int, modules: int, uetf: str = "") -> None:
    """Write ``tests`` quick tests over ``modules`` modules, each calling code in ``pkg``.

    The code under test lets the coverage comparison (--coverage) measure something.
    ``uetf``: lines for the suite's ``[tool.uetf]`` table, if any.
    """
    table = f"\n[tool.uetf]\n{uetf}" if uetf else ""
    (root / "pyproject.toml").write_text(
        f"[tool.pytest.ini_options]\ntestpaths = ['tests']\n{table}"
    )
    folder = root / "tests"
    folder.mkdir()
    package = root / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    per_module = tests // modules
    for m in range(modules):
        numbers = range(m * per_module, (m + 1) * per_module)
        code = "".join(
            f"def f_{i:05d}(x):\n    if x > {i}:\n        return x - {i}\n    return x + {i}\n\n"
            for i in numbers
        )
        (package / f"mod_{m:03d}.py").write_text(code)
        body = f"from pkg import mod_{m:03d} as m\n\n" + "".join(
            f"def test_{i:05d}():\n    assert m.f_{i:05d}(0) == {i}\n\n" for i in numbers
        )
        (folder / f"test_mod_{m:03d}.py").write_text(body)


def coverage_commands(root: Path, extra: list[str]) -> dict[str, list[str]]:
    """With coverage: plain pytest, pytest --uetf measuring pkg, and pytest-cov's --cov."""
    found = {
        "pytest": [*BASE, "-p", "no:uetf", "-p", "no:cov", *extra],
        "pytest --uetf --uetf-cov": [
            *BASE,
            "-p",
            "no:cov",
            "--uetf",
            "--uetf-cov=pkg",
            *extra,
        ],
        # A new ledger each time: no cached analysis of unchanged sources, as on
        # a CI job that does not keep its ledger between builds.
        "  ... with a new ledger": [
            *BASE,
            "-p",
            "no:cov",
            "--uetf",
            "--uetf-ledger={fresh}",
            "--uetf-cov=pkg",
            *extra,
        ],
    }
    # coverage.py on its own, with the core UETF picks (sys.monitoring on 3.12+):
    # the floor any plugin measuring with coverage.py stands on.
    found["coverage run"] = [
        sys.executable,
        "-m",
        "coverage",
        "run",
        "--source=pkg",
        "--data-file={scratch}",
        *BASE[1:],
        "-p",
        "no:uetf",
        "-p",
        "no:cov",
        *extra,
    ]
    if importlib.util.find_spec("pytest_cov"):
        found["pytest --cov"] = [*BASE, "-p", "no:uetf", "--cov=pkg", *extra]
    else:
        print("note: pytest-cov is not installed; skipped")
    return found


def commands(root: Path, extra: list[str]) -> dict[str, list[str]]:
    """The commands to compare, by label; those that cannot run here are left out."""
    help_text = subprocess.run(
        [*BASE, "--help"], cwd=root, capture_output=True, text=True, check=False
    ).stdout
    has_uetf = "--uetf" in help_text
    off = ["-p", "no:uetf"] if has_uetf else []
    found = {
        "pytest": [*BASE, *off, *extra],
        "pytest --junitxml": [*BASE, *off, "--junitxml", str(_scratch(root) / "junit.xml"), *extra],
    }
    if has_uetf:
        found["pytest --uetf"] = [*BASE, "--uetf", *extra]
    else:
        print("note: --uetf is not available (install this project); skipped")
    if importlib.util.find_spec("pytest_jsonreport"):
        report = str(_scratch(root) / "report.json")
        found["pytest-json-report"] = [
            *BASE,
            *off,
            "--json-report",
            "--json-report-file",
            report,
            *extra,
        ]
    else:
        print("note: pytest-json-report is not installed; skipped")
    return found


def _scratch(root: Path) -> Path:
    """A new folder beside the suite's (never in it: see the module's docstring)."""
    folder = root.parent / "scratch"
    folder.mkdir(exist_ok=True)
    return Path(tempfile.mkdtemp(dir=folder))


def _prepare(command: list[str], root: Path) -> tuple[list[str], dict[str, str]]:
    """The argument list (placeholders filled in) and environment of one run."""
    fresh = _scratch(root) / "uetf.db"
    argv = [
        part.replace("{fresh}", str(fresh)).replace("{scratch}", str(fresh.with_name(".coverage")))
        for part in command
    ]
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "UETF_LEDGER")
    }
    if "coverage" in command and sys.version_info >= (3, 12):
        env.setdefault("COVERAGE_CORE", "sysmon")
    return argv, env


def run_once(command: list[str], root: Path) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one run of ``command``."""
    argv, env = _prepare(command, root)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=root, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        print(done.stdout[-2000:], done.stderr[-2000:], sep="\n")
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}")
    return elapsed, cpu


Timings = dict[str, list[tuple[float, float]]]


def measure(cmds: dict[str, list[str]], root: Path, rounds: int) -> Timings:
    """``rounds`` (wall, cpu) timings per command, alternating commands each round.

    One ledger serves every round of --uetf, growing as a project's ledger does.
    """
    labels = list(cmds)
    times: Timings = {label: [] for label in labels}
    for label in labels:  # warm-up: bytecode caches, page cache, the ledger's creation
        run_once(cmds[label], root)
    for label in rotated(labels, rounds):
        times[label].append(run_once(cmds[label], root))
    return times


def rotated(labels: list[str], rounds: int) -> Iterator[str]:
    """Every label once a round, the order rotated by one each round."""
    for r in range(rounds):
        shift = r % len(labels)
        yield from labels[shift:] + labels[:shift]


def instructions_once(command: list[str], root: Path, allowed: tuple[int, ...] = (0,)) -> int:
    """Instructions executed by the pytest process of one run of ``command``, under cachegrind.

    ``allowed``: the exit statuses that count (a real suite's own failures, its gates).

    valgrind runs the program in its own process, so the log named after the
    started process's id is the pytest process's; processes it forks (git)
    log under their own ids and are not counted.
    """
    argv, env = _prepare(command, root)
    # One hash seed for every command: sets and dicts of strings then probe
    # alike in each run, which keeps repeated counts of one command within a tenth of a percent
    # (the progress thread sleeps through the run: its snapshot interval is an hour).
    env["PYTHONHASHSEED"] = "0"
    logs = _scratch(root)
    tool = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
        f"--log-file={logs}/%p.log",
    ]
    with subprocess.Popen(
        [*tool, *argv], cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    ) as process:
        output, _ = process.communicate()
    if process.returncode not in allowed:
        print(output.decode(errors="replace")[-2000:])
        raise SystemExit(f"{' '.join(argv)} exited {process.returncode} under valgrind")
    for line in (logs / f"{process.pid}.log").read_text().splitlines():
        if "I   refs:" in line:
            return int(line.rsplit(":", 1)[1].replace(",", ""))
    raise SystemExit(f"no instruction count in valgrind's log of {' '.join(argv)}")


Counts = dict[str, list[int]]


def measure_instructions(cmds: dict[str, list[str]], root: Path, repeat: int) -> Counts:
    """Each command's instruction counts, each after one ordinary run (bytecode, ledger, caches).

    With ``repeat`` > 1 the order rotates each time, as the timed rounds do.
    """
    labels = list(cmds)
    counts: Counts = {label: [] for label in labels}
    for label in rotated(labels, repeat):
        run_once(cmds[label], root)
        counts[label].append(instructions_once(cmds[label], root))
    return counts


def report_instructions(counts: Counts, args: argparse.Namespace) -> dict[str, Any]:
    """Print each command's median count, its ratio to plain pytest's and the counts' spread."""
    base = statistics.median(counts["pytest"])
    print(
        f"UETF overhead benchmark (instructions, valgrind): {args.tests} tests in "
        f"{args.modules} modules, {args.repeat} count(s) each, Python "
        f"{platform.python_version()}, {dt.date.today()}"
    )
    print(f"{'command':<28}{'instructions':>16}{'ratio':>8}{'extra per test':>16}{'spread':>9}")
    rows: dict[str, Any] = {}
    for label, values in counts.items():
        count = statistics.median(values)
        per_test = (count - base) / args.tests
        spread = (max(values) - min(values)) / count
        rows[label] = {
            "instructions": count,
            "counts": values,
            "ratio": count / base,
            "extra_per_test": per_test,
        }
        print(f"{label:<28}{count:>16,.0f}{count / base:>8.3f}{per_test:>16,.0f}{spread:>9.2%}")
    return rows


def report(times: Timings, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """Print medians and ratios to plain pytest; return them for --json."""
    base_wall = statistics.median(w for w, _ in times["pytest"])
    base_cpu = statistics.median(c for _, c in times["pytest"])
    print(
        f"UETF overhead benchmark: {args.tests} tests in {args.modules} modules, "
        f"{args.rounds} rounds, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"{dt.date.today()}"
    )
    print(
        f"{'command':<28}{'wall s':>8}{'min s':>8}{'ratio':>8}{'paired':>8}"
        f"{'cpu s':>8}{'cpu ratio':>11}"
    )
    rows = {}
    for label, values in times.items():
        wall = statistics.median(w for w, _ in values)
        cpu = statistics.median(c for _, c in values)
        fastest = min(w for w, _ in values)
        # Each round's ratio to plain pytest in the same round, then their median:
        # drift on a shared machine between rounds cancels out.
        plain = times["pytest"]
        paired = statistics.median(w / b for (w, _), (b, _) in zip(values, plain, strict=True))
        rows[label] = {
            "wall_median": wall,
            "wall_min": fastest,
            "wall_ratio": wall / base_wall,
            "paired_ratio": paired,
            "cpu_median": cpu,
            "cpu_ratio": cpu / base_cpu,
        }
        print(
            f"{label:<28}{wall:>8.3f}{fastest:>8.3f}{wall / base_wall:>8.3f}{paired:>8.3f}"
            f"{cpu:>8.3f}{cpu / base_cpu:>11.3f}"
        )
    return rows


def add_count_options(parser: argparse.ArgumentParser, counted: str) -> None:
    """--instructions and --repeat, as this benchmark and postgres.py take them."""
    parser.add_argument("--instructions", action="store_true", help=counted)
    parser.add_argument(
        "--repeat", type=int, default=1, help="with --instructions: count each N times"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=5000)
    parser.add_argument("--modules", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--coverage", action="store_true", help="compare coverage measurement with pytest-cov"
    )
    add_count_options(
        parser, "count each command's instructions under valgrind instead of timing it"
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated suite")
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more pytest args")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="uetf-bench-"))
    root = work / "suite"  # the suite alone: see the module's docstring
    root.mkdir()
    try:
        chosen = coverage_commands if args.coverage else commands
        rows: dict[str, Any]
        if args.instructions:
            if shutil.which("valgrind") is None:
                raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
            generate_suite(
                root, args.tests, args.modules, "flush_interval = 3600\nprogress_interval = 3600\n"
            )
            counts = measure_instructions(chosen(root, args.extra), root, args.repeat)
            rows = report_instructions(counts, args)
        else:
            generate_suite(root, args.tests, args.modules)
            rows = report(measure(chosen(root, args.extra), root, args.rounds), args)
        if args.json:
            args.json.write_text(json.dumps(rows, indent=2))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
