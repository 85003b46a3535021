"""UETF's three performance targets, counted in instructions, on generated suites of two shapes.

Run: python benchmarks/targets.py [--shape own issue] [--tests 5000 1000]
                                  [--figure startup recording coverage] [--seconds 3]
                                  [--json PATH] [--keep]

Run it with the Python to measure (a virtual environment with this project,
pytest, coverage.py and pytest-cov installed); run it again with another.

The figures, each an instruction count of the whole pytest process under
valgrind (one hash seed, one ordinary run first so bytecode, page cache and
the ledger are warm, UETF's batch and progress intervals set to an hour, as
``overhead.py --instructions`` counts them), with its target:

- start-up with UETF installed but off: ``pytest`` against ``pytest -p no:uetf``
  on a one-test suite, and on each suite (target 1.01x);
- recording: ``pytest --uetf`` against ``pytest -p no:uetf`` (target 1.03x);
- coverage: ``pytest --uetf --uetf-cov=pkg`` against ``pytest --cov=pkg
  --cov-report=``, both measuring the same package and neither writing a
  report (equal work; target 1.00x on 3.11), and against plain pytest (target
  1.15x on 3.12+, where UETF measures with coverage.py's sys.monitoring core).

Suites (``--shape``):

- ``own``: overhead.py's suite: N tests in 50 modules; test module k imports
  module k of a 50-module package ``pkg`` and each test calls its own function
  there;
- ``issue``: N tests in 50 modules each calling a function of a 30-module
  package: every test module imports the whole package, and test i calls a
  function of module i mod 30 with two arguments and compares a tuple; the
  shape of the suite the targets were first checked against from outside;
- ``deselect``: N tests run of 16 N collected in 100 modules, the project's own
  ``addopts = "-m 'not slow'"`` deselecting the rest (branch coverage).

Each command also gets its wall seconds: the median of ``--seconds`` ordinary
runs, alternated between the commands (0: none). On a shared machine those
drift by a quarter between identical runs; the counts are the figures held to
the targets.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from overhead import instructions_once, rotated, run_once

BASE = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
# valgrind slows a run twenty to thirty times: intervals of an hour keep the
# counted run to the batch writes and snapshots a real run of these suites makes.
SLOW_INTERVALS = "flush_interval = 3600\nprogress_interval = 3600\n"
TARGETS = {
    "startup": ("pytest (UETF off)", "pytest -p no:uetf", 1.01),
    "recording": ("pytest --uetf", "pytest -p no:uetf", 1.03),
    "coverage": ("pytest --uetf --uetf-cov", "pytest --cov --cov-report=", 1.00),
    "coverage/plain": ("pytest --uetf --uetf-cov", "pytest -p no:uetf", 1.15),
}


def _pyproject(root: Path) -> None:
    (root / "pyproject.toml").write_text(
        "[tool.pytest.ini_options]\ntestpaths = ['tests']\n\n[tool.uetf]\n" + SLOW_INTERVALS
    )


def generate_issue_suite(root: Path, tests: int, modules: int = 50, package: int = 30) -> None:
    """``tests`` tests in ``modules`` modules calling functions of a ``package``-module package."""
    _pyproject(root)
    folder = root / "tests"
    folder.mkdir()
    pkg = root / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    functions: dict[int, list[int]] = {k: [] for k in range(package)}
    for i in range(tests):
        functions[i % package].append(i)
    for k, numbers in functions.items():
        code = "".join(
            f"def f_{i:05d}(a, b):\n"
            f"    if a > b:\n        return a - b, {i}\n"
            f"    return b - a, {i}\n\n"
            for i in numbers
        )
        (pkg / f"mod_{k:03d}.py").write_text(code)
    imports = "".join(f"from pkg import mod_{k:03d}\n" for k in range(package))
    per_module = tests // modules
    for m in range(modules):
        body = (
            imports
            + "\n\n"
            + "".join(
                f"def test_{i:05d}():\n"
                f"    assert mod_{i % package:03d}.f_{i:05d}(3, {i % 7})"
                f" == ({abs(3 - i % 7)}, {i})\n\n"
                for i in range(m * per_module, (m + 1) * per_module)
            )
        )
        (folder / f"test_mod_{m:03d}.py").write_text(body)


def generate_deselect_suite(root: Path, tests: int, modules: int = 100) -> None:
    """``tests`` tests run of 16 times as many collected: the project's own ``addopts``
    deselects the rest (``-m 'not slow'``), as large projects' suites often do, so the
    collection of every test and the run of a few are both in the count."""
    (root / "pyproject.toml").write_text(
        "[tool.pytest.ini_options]\ntestpaths = ['tests']\npythonpath = ['.']\n"
        "addopts = \"-m 'not slow'\"\nmarkers = ['slow: deselected by default']\n\n"
        "[tool.coverage.run]\nbranch = true\n\n[tool.uetf]\n" + SLOW_INTERVALS
    )
    pkg = root / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for k in range(20):
        (pkg / f"m{k}.py").write_text(
            f"def f{k}(x):\n    if x % 3:\n        return x + {k}\n    return x\n"
        )
    (root / "tests").mkdir()
    fast, slow = max(1, tests // modules), 15 * max(1, tests // modules)
    for t in range(modules):
        k = t % 20
        (root / "tests" / f"test_t{t}.py").write_text(
            f"import pytest\nfrom pkg.m{k} import f{k}\n\n\n"
            f"@pytest.mark.parametrize('i', range({fast}))\n"
            f"def test_fast(i):\n    assert f{k}(i) >= i\n\n\n"
            f"@pytest.mark.slow\n@pytest.mark.parametrize('i', range({slow}))\n"
            f"def test_slow(i):\n    assert f{k}(i) >= i\n"
        )


def generate_own_suite(root: Path, tests: int, modules: int = 50) -> None:
    """overhead.py's suite, with the same hour-long intervals."""
    from overhead import generate_suite

    generate_suite(root, tests, modules, SLOW_INTERVALS)


def generate_one_test(root: Path) -> None:
    """One test in one module: the suite where start-up weighs most."""
    _pyproject(root)
    (root / "tests").mkdir()
    (root / "tests" / "test_one.py").write_text("def test_one():\n    assert 1 + 1 == 2\n")


SHAPES = {
    "own": generate_own_suite,
    "issue": generate_issue_suite,
    "deselect": generate_deselect_suite,
}


def commands(figures: list[str]) -> dict[str, list[str]]:
    """The commands the chosen figures compare, by label."""
    found = {"pytest -p no:uetf": [*BASE, "-p", "no:uetf"]}
    if "startup" in figures:
        found["pytest (UETF off)"] = [*BASE]
    if "recording" in figures:
        found["pytest --uetf"] = [*BASE, "--uetf"]
    if "coverage" in figures:
        found["pytest --uetf --uetf-cov"] = [*BASE, "-p", "no:cov", "--uetf", "--uetf-cov=pkg"]
        found["pytest --cov --cov-report="] = [
            *BASE,
            "-p",
            "no:uetf",
            "--cov=pkg",
            "--cov-report=",
        ]
    return found


def count(cmds: dict[str, list[str]], root: Path, seconds: int) -> dict[str, dict[str, Any]]:
    """Each command's instruction count (after one ordinary run) and median wall seconds."""
    rows: dict[str, dict[str, Any]] = {}
    for label, argv in cmds.items():
        wall, _cpu = run_once(argv, root)  # warm: bytecode, page cache, the ledger
        rows[label] = {"instructions": instructions_once(argv, root), "warm_wall": wall}
        print(f"  {label:<30}{rows[label]['instructions']:>18,}", flush=True)
    times: dict[str, list[float]] = {label: [] for label in cmds}
    for label in rotated(list(cmds), seconds):
        times[label].append(run_once(cmds[label], root)[0])
    for label, values in times.items():
        rows[label]["seconds"] = statistics.median(values) if values else None
    return rows


def figures_of(rows: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The target figures the counted commands give: ratio of counts and of seconds."""
    found = []
    for figure, (label, against, target) in TARGETS.items():
        if label not in rows or against not in rows:
            continue
        if figure == "coverage/plain" and sys.version_info < (3, 12):
            continue  # coverage.py's C tracer: held to pytest-cov's figure instead
        mine, theirs = rows[label], rows[against]
        seconds = (
            mine["seconds"] / theirs["seconds"] if mine["seconds"] and theirs["seconds"] else None
        )
        found.append(
            {
                "figure": figure,
                "ratio": mine["instructions"] / theirs["instructions"],
                "extra": mine["instructions"] - theirs["instructions"],
                "seconds_ratio": seconds,
                "target": target,
            }
        )
    return found


def show(title: str, rows: dict[str, dict[str, Any]], tests: int) -> None:
    """The counts, the seconds and the target figures of one suite."""
    print(f"\n{title}")
    print(f"{'command':<30}{'instructions':>18}{'seconds':>9}")
    for label, row in rows.items():
        secs = f"{row['seconds']:>9.3f}" if row["seconds"] else f"{'-':>9}"
        print(f"{label:<30}{row['instructions']:>18,}{secs}")
    print(f"{'figure':<16}{'counts':>8}{'target':>8}{'extra M':>10}{'per test':>12}{'seconds':>9}")
    for f in figures_of(rows):
        secs = f"{f['seconds_ratio']:>9.3f}" if f["seconds_ratio"] else f"{'-':>9}"
        print(
            f"{f['figure']:<16}{f['ratio']:>8.4f}{f['target']:>8.2f}{f['extra'] / 1e6:>10.1f}"
            f"{f['extra'] / tests:>12,.0f}{secs}"
            + ("" if f["ratio"] <= f["target"] else "   above target")
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", nargs="+", choices=sorted(SHAPES), default=["own", "issue"])
    parser.add_argument("--tests", nargs="+", type=int, default=[5000, 1000])
    parser.add_argument(
        "--figure",
        nargs="+",
        choices=["startup", "recording", "coverage"],
        default=["startup", "recording", "coverage"],
    )
    parser.add_argument(
        "--seconds", type=int, default=3, help="timed ordinary runs per command (0: none)"
    )
    parser.add_argument(
        "--no-one-test", action="store_true", help="skip the one-test start-up count"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the generated suites")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("targets.py counts instructions with valgrind (apt-get install valgrind)")
    print(
        f"UETF targets, instructions under valgrind: Python {platform.python_version()}, "
        f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
        flush=True,
    )
    work = Path(tempfile.mkdtemp(prefix="uetf-targets-"))
    results: dict[str, Any] = {"python": platform.python_version(), "suites": {}}
    suites: list[tuple[str, Any, int, list[str]]] = []
    if "startup" in args.figure and not args.no_one_test:
        suites.append(("one test", lambda root, _n: generate_one_test(root), 1, ["startup"]))
    for shape in args.shape:
        for tests in args.tests:
            suites.append((f"{shape}, {tests} tests", SHAPES[shape], tests, args.figure))
    try:
        for title, make, tests, figures in suites:
            # The suite alone in its folder (overhead.py's docstring says why).
            root = work / title.replace(", ", "-").replace(" ", "-") / "suite"
            root.mkdir(parents=True)
            make(root, tests)
            print(f"{title}:", flush=True)
            rows = count(commands(figures), root, args.seconds)
            show(f"{title} (Python {platform.python_version()})", rows, tests)
            results["suites"][title] = {"rows": rows, "figures": figures_of(rows)}
            if args.json:
                args.json.write_text(json.dumps(results, indent=1))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
