"""UETF on the test suites of real open-source projects, beside pytest, coverage.py and diff-cover.

Run: python benchmarks/real_suites.py [--suite NAME ...] [--pairs 5] [--workdir DIR]
                                      [--uetf PATH] [--python PYTHON] [--instructions]

For each suite (a project on PyPI whose source distribution ships its tests):

1. downloads the source distributions of two consecutive releases
   (``pip download --no-deps --no-binary :all:``) into ``WORKDIR/cache``;
   commits the older one on ``main`` of a new git repository and the newer one
   over it on a branch: the diff between two releases is the change under test;
2. makes a virtual environment with the project's test requirements, pytest,
   coverage.py, pytest-cov, diff-cover and UETF (``--uetf``, by default the
   checkout this script is in; a plain install, so the code measured is
   fixed at install time), the project installed editable from the repository;
3. records a UETF run on ``main`` (the baseline), then on the newer release
   runs ``pytest --uetf --uetf-cov=SRC --uetf-base=main`` with a JSON report,
   plain ``pytest``, ``pytest --cov=SRC --cov-report=`` followed by
   ``coverage report --precision=2`` and ``coverage xml``, and
   ``diff-cover coverage.xml --compare-branch=main``;
4. prints UETF's totals, total coverage and patch coverage beside pytest's
   summary line, coverage.py's total and diff-cover's changed lines, with
   "equal: yes/no" for each figure; then times ``pytest --uetf --uetf-cov=SRC``
   against ``pytest --cov=SRC --cov-report=`` in N pairs, the order of the two
   swapped every pair, and prints the ratio of each pair's times (min, median,
   max).

With ``--instructions`` the comparison and the timed pairs give way to
instruction counts (valgrind, as ``overhead.py --instructions`` and
``targets.py`` count them: one hash seed, one ordinary run first, UETF's
batch and progress intervals set to an hour in the suite's pyproject.toml) of
plain pytest (``-p no:uetf``), pytest with UETF installed and off,
``pytest --uetf``, ``pytest --uetf --uetf-cov=SRC`` and ``pytest
--cov=SRC --cov-report=``, each with the seconds of its ordinary run: the
three target figures (start-up, recording, coverage against equal work) on a
real suite.

Both sides measure the same source (SRC, paths in the repository), with the
project's own coverage configuration (branch coverage where the project sets
it), and write no report in the timed runs. Suites that use hypothesis run
with one seed everywhere, so every run executes the same examples. The
figures are also written to ``WORKDIR/results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import venv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE / "benchmarks"))  # overhead.py's valgrind counter
BASE_BRANCH = "main"
CHANGE_BRANCH = "release"
OUTCOMES = ("passed", "failed", "skipped", "xfailed", "xpassed", "errors")
# Files the runs leave in the repository: ignored by git, so they never join the change.
IGNORED = [
    ".ledger/",
    ".coverage",
    ".coveragerc",
    ".coverage.*",
    "coverage.xml",
    ".hypothesis/",
    ".pytest_cache/",
    "__pycache__/",
    "*.egg-info/",
]


@dataclass(frozen=True)
class Suite:
    """A project whose sdist ships its tests, and two consecutive releases of it."""

    name: str  # the distribution's name on PyPI
    old: str
    new: str
    sources: tuple[str, ...]  # what both sides measure: folders in the repository
    deps: tuple[str, ...] = ()  # the project's test requirements
    pytest_args: tuple[str, ...] = ()  # given to every pytest run of the suite
    env: dict[str, str] = field(default_factory=dict)  # for installing the project
    coveragerc: str = ""  # a coverage configuration to add, kept out of the change


SUITES = {
    s.name: s
    for s in [
        # src layout, two packages, branch = true, hypothesis throughout.
        Suite(
            "attrs",
            "25.4.0",
            "26.1.0",
            ("src/attr", "src/attrs"),
            ("hypothesis", "pympler", "cloudpickle"),
            ("--hypothesis-seed=0",),
            # its version comes from git tags, which the repository made here has not
            {"SETUPTOOLS_SCM_PRETEND_VERSION": "{version}"},
        ),
        # flat layout, line coverage, no requirements beyond pytest.
        Suite("boltons", "26.1.0", "26.2.0", ("boltons",)),
        # src layout, no coverage configuration of its own: branch coverage from a
        # .coveragerc written beside it, read by both sides.
        Suite(
            "cachetools",
            "8.0.2",
            "8.0.3",
            ("src/cachetools",),
            coveragerc="[run]\nbranch = True\n",
        ),
    ]
}


# -- pure helpers (tested in tests/test_real_suites.py) --------------------------------

_SUMMARY_ITEM = re.compile(r"(\d+) (passed|failed|skipped|xfailed|xpassed|errors?|deselected)")
_SUMMARY_END = re.compile(r"\bin [\d.]+s\b")


def parse_pytest_summary(output: str) -> dict[str, int]:
    """The outcome counts of pytest's last summary line ("3 passed, 1 failed in 0.5s")."""
    lines = [line for line in output.splitlines() if _SUMMARY_END.search(line)]
    if not lines:
        raise ValueError("no pytest summary line in the output")
    counts = dict.fromkeys((*OUTCOMES, "deselected"), 0)
    for number, word in _SUMMARY_ITEM.findall(lines[-1]):
        counts["errors" if word.startswith("error") else word] = int(number)
    return counts


def parse_coverage_total(output: str) -> str:
    """The total percent of ``coverage report`` ("TOTAL ... 93.27%" gives "93.27")."""
    for line in output.splitlines():
        if line.startswith("TOTAL"):
            return line.split()[-1].rstrip("%")
    raise ValueError("no TOTAL line in coverage report's output")


def count_ranges(ranges: list[list[int]]) -> int:
    """Lines in a list of inclusive [first, last] ranges."""
    return sum(last - first + 1 for first, last in ranges)


def uetf_patch_lines(report: dict[str, Any]) -> tuple[int, int]:
    """(covered, measured) changed lines of a UETF JSON report's patch section."""
    covered = measured = 0
    for entry in (report.get("patch") or {}).get("files", []):
        hit = count_ranges(entry["covered_lines"])
        covered += hit
        measured += hit + count_ranges(entry["uncovered_lines"])
    return covered, measured


def diff_cover_lines(report: dict[str, Any]) -> tuple[int, int]:
    """(covered, measured) changed lines of a diff-cover JSON report."""
    measured = int(report["total_num_lines"])
    return measured - int(report["total_num_violations"]), measured


def percent(covered: int, measured: int) -> str:
    """Covered over measured to the hundredth, or "-" when nothing was measured."""
    return f"{100 * covered / measured:.2f}" if measured else "-"


def ratio_spread(ratios: list[float]) -> tuple[float, float, float]:
    """(min, median, max) of the pairs' ratios."""
    return min(ratios), statistics.median(ratios), max(ratios)


def table(rows: list[tuple[str, str, str]], peer: str) -> str:
    """Rows of (figure, UETF's value, the peer's value) with an equal column."""
    head = ("figure", "UETF", peer, "equal")
    body = [(f, u, p, "yes" if u == p else "no") for f, u, p in rows]
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(4)]
    return "\n".join(
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in [head, *body]
    )


# -- the work -----------------------------------------------------------------------


def run(
    argv: list[str], cwd: Path, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run a command, its output captured; a failure with ``check`` shows it and stops."""
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    if check and done.returncode != 0:
        sys.exit(
            f"{' '.join(argv)} exited {done.returncode} in {cwd}:\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    return done


def sdist(name: str, version: str, cache: Path) -> Path:
    """The release's source distribution, downloaded once into its own folder of ``cache``."""
    folder = cache / f"{name}-{version}"
    found = sorted(folder.glob("*.tar.gz"))
    if not found:
        folder.mkdir(parents=True, exist_ok=True)
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                "--no-binary",
                ":all:",
                "-d",
                str(folder),
                f"{name}=={version}",
            ],
            cwd=folder,
        )
        found = sorted(folder.glob("*.tar.gz"))
    return found[0]


def unpack(archive: Path, into: Path) -> None:
    """The archive's single top folder's contents, written into ``into``."""
    scratch = into.parent / "unpack"
    shutil.rmtree(scratch, ignore_errors=True)
    with tarfile.open(archive) as tar:
        tar.extractall(scratch, filter="data")
    (top,) = scratch.iterdir()
    # Merged into what is there: a folder git rm left behind (it held ignored
    # files) must not take the release's folder inside it.
    shutil.copytree(top, into, dirs_exist_ok=True)
    shutil.rmtree(scratch)


def git(repo: Path, *args: str) -> str:
    """Output of a git command in ``repo``, with a fixed author so commits are reproducible."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.org",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.org",
    }
    return run(["git", *args], cwd=repo, env=env).stdout.strip()


def make_repo(suite: Suite, home: Path, cache: Path) -> Path:
    """A repository with the old release on main and the new one on a branch over it."""
    repo = home / "repo"
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", BASE_BRANCH)
    (repo / ".git" / "info" / "exclude").write_text("\n".join(IGNORED) + "\n")
    unpack(sdist(suite.name, suite.old, cache), repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"{suite.name} {suite.old}")
    git(repo, "checkout", "-q", "-b", CHANGE_BRANCH)
    git(repo, "rm", "-rq", ".")
    unpack(sdist(suite.name, suite.new, cache), repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"{suite.name} {suite.new}")
    git(repo, "checkout", "-q", BASE_BRANCH)
    if suite.coveragerc:
        (repo / ".coveragerc").write_text(suite.coveragerc)
    return repo


def make_venv(suite: Suite, home: Path, python: str, uetf: Path) -> Path:
    """A virtual environment with the tools and the suite's test requirements; its python."""
    env_dir = home / "venv"
    if not (env_dir / "bin" / "python").exists():
        if python == sys.executable:
            venv.create(env_dir, with_pip=True)
        else:
            run([python, "-m", "venv", str(env_dir)], cwd=home)
    py = str(env_dir / "bin" / "python")
    tools = ["pytest", "coverage", "pytest-cov", "diff-cover", *suite.deps]
    run([py, "-m", "pip", "install", "-q", *tools], cwd=home)
    # Always reinstalled: the UETF measured is the one in --uetf now.
    run([py, "-m", "pip", "install", "-q", "--force-reinstall", "--no-deps", str(uetf)], cwd=home)
    run([py, "-m", "pip", "install", "-q", str(uetf)], cwd=home)
    return Path(py)


def install_project(suite: Suite, py: Path, repo: Path, version: str) -> None:
    """The checked-out release, installed editable over any copy the tools pulled in."""
    env = {**os.environ, **{k: v.format(version=version) for k, v in suite.env.items()}}
    run([str(py), "-m", "pip", "install", "-q", "--no-deps", "-e", str(repo)], cwd=repo, env=env)


def pytest_argv(py: Path, suite: Suite, *extra: str) -> list[str]:
    """A pytest command of the suite."""
    return [str(py), "-m", "pytest", "-q", *suite.pytest_args, *extra]


def uetf_cov(suite: Suite) -> list[str]:
    return [f"--uetf-cov={s}" for s in suite.sources]


def pytest_cov(suite: Suite) -> list[str]:
    return [*(f"--cov={s}" for s in suite.sources), "--cov-report="]


def compare(suite: Suite, py: Path, repo: Path, out: Path) -> dict[str, Any]:
    """Counts, total and patch coverage of UETF and of its peers on the new release."""
    report_path = out / "uetf.json"
    # The report is written by the CLI from the ledger: an option such as
    # --uetf-report=json:PATH would change sys.argv, which some suites' tests
    # read (boltons' ecoutils quotes the command line), and with it the coverage.
    done = run(
        pytest_argv(py, suite, "--uetf", *uetf_cov(suite), f"--uetf-base={BASE_BRANCH}"),
        repo,
        check=False,
    )
    (out / "uetf.log").write_text(done.stdout + done.stderr)
    report_path.unlink(missing_ok=True)
    written = run(
        [str(py.parent / "uetf"), "report", "last", f"--format=json:{report_path}"],
        repo,
        check=False,
    )
    if not report_path.exists():
        sys.exit(f"uetf report wrote no report:\n{done.stdout[-3000:]}\n{written.stderr[-3000:]}")
    report = json.loads(report_path.read_text())

    plain = run(pytest_argv(py, suite), repo, check=False)
    (out / "pytest.log").write_text(plain.stdout + plain.stderr)
    counts = parse_pytest_summary(plain.stdout)

    # Data files only: ".coverage*" would also take a project's own .coveragerc.
    for stale in [repo / ".coverage", *repo.glob(".coverage.*")]:
        stale.unlink(missing_ok=True)
    cov_run = run(pytest_argv(py, suite, *pytest_cov(suite)), repo, check=False)
    (out / "pytest-cov.log").write_text(cov_run.stdout + cov_run.stderr)
    coverage = [str(py), "-m", "coverage"]
    total = parse_coverage_total(run([*coverage, "report", "--precision=2"], repo).stdout)
    run([*coverage, "xml", "-o", str(repo / "coverage.xml")], repo)
    dc_json = out / "diff-cover.json"
    run(
        [
            str(py.parent / "diff-cover"),
            "coverage.xml",
            f"--compare-branch={BASE_BRANCH}",
            "--format",
            f"json:{dc_json}",
        ],
        repo,
        check=False,
    )
    dc = json.loads(dc_json.read_text())

    uetf_cov_total = report.get("coverage") or {}
    u_cov, u_meas = uetf_patch_lines(report)
    d_cov, d_meas = diff_cover_lines(dc)
    rows = [(k, str(report["totals"].get(k, 0)), str(counts[k])) for k in OUTCOMES]
    rows.append(("total coverage %", f"{uetf_cov_total.get('percent', float('nan')):.2f}", total))
    rows.append(("patch coverage %", percent(u_cov, u_meas), percent(d_cov, d_meas)))
    rows.append(("patch lines covered/measured", f"{u_cov}/{u_meas}", f"{d_cov}/{d_meas}"))
    return {
        "rows": rows,
        "uetf_exit": done.returncode,
        "partial": report.get("partial"),
        "branch": uetf_cov_total.get("branch"),
        "collected": report["totals"].get("collected"),
        "deselected": counts["deselected"],
        "gates": [(g["name"], g["verdict"], g.get("reason")) for g in report.get("gates", [])],
    }


def timed(argv: list[str], cwd: Path) -> float:
    """Wall seconds of one run."""
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1, 6):  # a suite's own failures or gates do not void a time
        sys.exit(f"{' '.join(argv)} exited {done.returncode} while timed")
    return seconds


def time_pairs(suite: Suite, py: Path, repo: Path, pairs: int) -> dict[str, Any]:
    """Each pair's ratio of UETF with coverage to pytest-cov, the order swapped every pair."""
    uetf = pytest_argv(py, suite, "--uetf", *uetf_cov(suite))
    cov = pytest_argv(py, suite, *pytest_cov(suite))
    ratios, seconds = [], []
    for i in range(pairs):
        order = [("uetf", uetf), ("cov", cov)]
        took = {label: timed(argv, repo) for label, argv in (order if i % 2 == 0 else order[::-1])}
        ratios.append(took["uetf"] / took["cov"])
        seconds.append(took)
    return {"ratios": ratios, "seconds": seconds}


def bench(suite: Suite, args: argparse.Namespace, uetf: Path) -> dict[str, Any]:
    """One suite, from the download to its figures."""
    home = args.workdir / suite.name
    out = home / "out"
    out.mkdir(parents=True, exist_ok=True)
    print(f"== {suite.name} {suite.old} -> {suite.new}", flush=True)
    repo = make_repo(suite, home, args.workdir / "cache")
    py = make_venv(suite, home, args.python, uetf)
    install_project(suite, py, repo, suite.old)
    base = run(pytest_argv(py, suite, "--uetf", *uetf_cov(suite)), repo, check=False)
    (out / "base.log").write_text(base.stdout + base.stderr)
    git(repo, "checkout", "-q", CHANGE_BRANCH)
    install_project(suite, py, repo, suite.new)
    if args.instructions:
        return count_instructions(suite, py, repo, not args.no_coverage)
    result = compare(suite, py, repo, out)
    result["changed"] = git(repo, "diff", "--shortstat", f"{BASE_BRANCH}...{CHANGE_BRANCH}")
    result.update(time_pairs(suite, py, repo, args.pairs))
    return result


# valgrind slows a run twenty to thirty times: with intervals of an hour the
# counted run makes the batch writes and snapshots a real run makes, not more.
SLOW_INTERVALS = "\n[tool.uetf]\nflush_interval = 3600\nprogress_interval = 3600\n"


def counted_commands(suite: Suite, py: Path, coverage: bool = True) -> dict[str, list[str]]:
    """The commands whose instructions the three target figures compare, by label."""
    found = {
        "pytest -p no:uetf": pytest_argv(py, suite, "-p", "no:uetf"),
        "pytest (UETF off)": pytest_argv(py, suite),
        "pytest --uetf": pytest_argv(py, suite, "--uetf"),
    }
    if not coverage:
        return found
    return found | {
        "pytest --uetf --uetf-cov": pytest_argv(
            py, suite, "-p", "no:cov", "--uetf", *uetf_cov(suite)
        ),
        "pytest --cov --cov-report=": pytest_argv(py, suite, "-p", "no:uetf", *pytest_cov(suite)),
    }


def count_instructions(suite: Suite, py: Path, repo: Path, coverage: bool) -> dict[str, Any]:
    """Each command's instructions under valgrind, after an ordinary run that is timed."""
    from overhead import _prepare, instructions_once

    pyproject = repo / "pyproject.toml"
    text = pyproject.read_text()
    if "[tool.uetf]" not in text:
        pyproject.write_text(text + SLOW_INTERVALS)
    rows: dict[str, Any] = {}
    for label, argv in counted_commands(suite, py, coverage).items():
        # The ordinary run in the counted run's environment (bytecode written, as
        # overhead.py does), so the count does not pay for compiling anything.
        prepared, env = _prepare(argv, repo)
        start = time.perf_counter()
        subprocess.run(prepared, cwd=repo, env=env, capture_output=True, check=False)
        seconds = time.perf_counter() - start
        # A suite's own failures (1) and UETF's gates (6) do not void a count.
        rows[label] = {
            "seconds": seconds,
            "instructions": instructions_once(argv, repo, allowed=(0, 1, 6)),
        }
        print(f"  {label:<30}{rows[label]['instructions']:>18,}{seconds:>9.2f} s", flush=True)
    return {"counts": rows}


def show_counts(suite: Suite, result: dict[str, Any]) -> None:
    """The three target figures of one suite, from its counts."""
    rows = result["counts"]
    plain = rows["pytest -p no:uetf"]
    figures = [
        ("start-up (UETF off)", "pytest (UETF off)", plain, 1.01),
        ("recording", "pytest --uetf", plain, 1.03),
        (
            "coverage / pytest-cov",
            "pytest --uetf --uetf-cov",
            rows.get("pytest --cov --cov-report="),
            1.00,
        ),
        ("coverage / pytest", "pytest --uetf --uetf-cov", plain, 1.15),
    ]
    print(f"\n{suite.name} {suite.new}: instructions (valgrind), seconds of one ordinary run")
    for label, row in rows.items():
        print(f"  {label:<30}{row['instructions']:>18,}{row['seconds']:>9.2f} s")
    for name, label, against, target in figures:
        if label not in rows or against is None:
            continue
        ratio = rows[label]["instructions"] / against["instructions"]
        seconds = rows[label]["seconds"] / against["seconds"]
        print(f"  {name:<24}{ratio:>8.4f} (target {target:.2f}; seconds {seconds:.3f})")


def uetf_commit(uetf: Path) -> str:
    """The commit UETF was installed from, "+dirty" when its work tree had changes."""
    head = run(["git", "rev-parse", "--short", "HEAD"], uetf, check=False).stdout.strip()
    dirty = run(
        ["git", "status", "--porcelain", "--", "pytest_uetf", "uetf_core", "schema"],
        uetf,
        check=False,
    ).stdout.strip()
    return (head or "unknown") + ("+dirty" if dirty else "")


def show(suite: Suite, result: dict[str, Any]) -> None:
    """One suite's figures."""
    print(
        f"\n{suite.name} {suite.old} -> {suite.new}: {result['changed']}; measured "
        f"{', '.join(suite.sources)} (branch={result['branch']}); UETF collected "
        f"{result['collected']}, pytest deselected {result['deselected']}; "
        f"UETF exit {result['uetf_exit']}, partial={result['partial']}"
    )
    print(table(result["rows"], "pytest / coverage.py / diff-cover"))
    low, mid, high = ratio_spread(result["ratios"])
    pairs = ", ".join(f"{s['uetf']:.2f}/{s['cov']:.2f}" for s in result["seconds"])
    print(
        f"time pytest --uetf --uetf-cov / pytest --cov --cov-report=, {len(result['ratios'])} "
        f"pairs: min {low:.3f}  median {mid:.3f}  max {high:.3f}   (s: {pairs})"
    )
    print(f"UETF gates: {result['gates']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--suite",
        action="append",
        choices=sorted(SUITES),
        help="a suite to run (repeatable; default: all)",
    )
    parser.add_argument("--pairs", type=int, default=5, help="timed pairs per suite")
    # Outside any project: inside this checkout, a suite without a pytest configuration
    # of its own would take this project's rootdir, conftest and ledger.
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "uetf-real-suites"
    )
    parser.add_argument("--uetf", type=Path, default=HERE, help="the UETF source to install")
    parser.add_argument("--python", default=sys.executable, help="the Python of the venvs")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count the three target figures' commands under valgrind instead of comparing",
    )
    parser.add_argument(
        "--no-coverage",
        action="store_true",
        help="with --instructions: count start-up and recording only (coverage runs are longest)",
    )
    args = parser.parse_args(argv)
    args.workdir = args.workdir.resolve()
    (args.workdir / "cache").mkdir(parents=True, exist_ok=True)
    uetf = args.uetf.resolve()
    version = run([args.python, "-c", "import sys; print(sys.version.split()[0])"], HERE).stdout
    print(f"UETF {uetf_commit(uetf)} from {uetf}; Python {version.strip()}; {os.cpu_count()} CPUs")
    # Without written bytecode every module imported through pytest's assertion
    # rewriting is parsed again each run: it moves the time ratio by a few percent.
    print(f"PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r}")
    results = {}
    for name in args.suite or list(SUITES):
        results[name] = bench(SUITES[name], args, uetf)
        (show_counts if args.instructions else show)(SUITES[name], results[name])
    (args.workdir / "results.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
