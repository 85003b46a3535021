"""Replay test impact analysis on a real project's consecutive releases.

Run: python benchmarks/impact_replay.py PROJECT [--releases 21] [--mutants 3]
                                        [--work DIR] [--cache DIR] [--json OUT]
                                        [--git REPO] [--testmon]
     python benchmarks/impact_replay.py RESULT.json [MORE.json ...]   (tables again; the
                                        steps of several replays pooled)

PROJECT is a PyPI name whose source distributions ship their tests (cachetools,
attrs, boltons). The newest ``--releases`` sdists are downloaded once into ``--cache``
(PyPI's JSON API, then the files; nothing is installed) and committed one after
another into a git repository, generated metadata (PKG-INFO, *.egg-info) left
out. Then, for each release after the first, as a pull request from the previous
release to this one would be tested:

1. ``pytest --uetf --uetf-select=affected --uetf-base=PREVIOUS``: the tests
   selection runs, against the baseline recorded at the previous release;
2. ``pytest --uetf`` measuring coverage: the full suite, whose failures selection
   must have run, and which records the baseline for the next step;
3. mutation replay (``--mutants N``): for up to N functions of the project's own
   code (not tests) whose fingerprint changed in this release, a fault is injected
   (the function's body starts by raising), the full suite runs without UETF, and
   every test it newly fails must be one selection would run (``uetf impact``
   lists them; a test the baseline did not have always runs).

With ``--testmon`` pytest-testmon runs the same steps beside UETF
(replay_testmon.py): at each step ``pytest --testmon`` with the database its
previous step recorded, the tests it selects judged against the same full-suite
failures and the same mutants; then five full-suite runs, their order turned by
one at every step, timed in wall seconds on this machine: plain ``pytest``,
UETF's recording run above, ``pytest --testmon-noselect`` (which records the
database for the next step), and, for what measuring coverage costs each,
``pytest --cov=SRC --cov-report=`` and ``pytest --testmon-noselect --cov=SRC
--cov-report=`` (pytest-testmon 2.2 measures its dependencies beside
pytest-cov's measurement; it has its own database chain). pytest-testmon is not
one of UETF's dependencies: install it where the replay runs, a virtual
environment made with ``--system-site-packages`` and ``pip install
pytest-testmon==2.2.0``, and run this script with that environment's python.
Every run loads replay_outcomes.py, which writes the node ids and outcomes of
what it executed; pytest's cache is kept outside the work tree (pytest-testmon
needs the cache plugin's options).

With ``--git REPO`` the steps are the newest commits of the repository's first-parent
line instead (a clone of REPO; the same three runs per commit), as a team's pull
requests would be tested one after another.

Each step's row: tests in the full suite, tests selected (or why the whole suite
ran), the test time and wall time of both runs, the full suite's failures missed
by selection, mutants and mutant failures missed. The project is imported from
the work tree (PYTHONPATH), never installed, so the installed distributions do not
change between releases. UETF is imported from this checkout.
"""

from __future__ import annotations

import argparse
import ast
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "benchmarks"))  # replay_testmon, and replay_outcomes for pytest

import replay_testmon  # noqa: E402

from uetf_core.impact.blocks import blocks_of_source  # noqa: E402
from uetf_core.ledger import open_ledger  # noqa: E402

# Where each project's code lives in its sdist, what coverage measures, what pytest runs.
PROJECTS: dict[str, dict[str, Any]] = {
    "cachetools": {"path": ["src"], "cov": "src", "tests": ["tests"]},
    "attrs": {"path": ["src"], "cov": "src", "tests": ["tests"]},
    # Its sdists ship tests from 23.1.0 only: fewer consecutive releases to replay.
    "boltons": {"path": ["."], "cov": "boltons", "tests": ["tests"]},
}
GENERATED = ("PKG-INFO", "setup.cfg.orig")


def release_files(project: str, count: int, cache: Path) -> list[tuple[str, Path]]:
    """The newest ``count`` final releases with an sdist, oldest first, downloaded once."""
    index = cache / f"{project}.json"
    if not index.is_file():
        with urllib.request.urlopen(f"https://pypi.org/pypi/{project}/json", timeout=60) as r:
            index.write_bytes(r.read())
    releases = json.loads(index.read_text())["releases"]
    found = []
    for version, files in releases.items():
        if not all(part.isdigit() for part in version.split(".")):
            continue  # pre-releases and post-releases are not the line of history
        sdists = [f for f in files if f["packagetype"] == "sdist" and not f.get("yanked")]
        if sdists:
            found.append((tuple(int(p) for p in version.split(".")), version, sdists[0]))
    found.sort()
    chosen = []
    for _, version, info in found[-count:]:
        path = cache / info["filename"]
        if not path.is_file():
            url = urllib.parse.urljoin(f"https://pypi.org/pypi/{project}/json", info["url"])
            with urllib.request.urlopen(url, timeout=120) as r:
                path.write_bytes(r.read())
        chosen.append((version, path))
    return chosen


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True)
    return done.stdout


def build_history(repo: Path, releases: list[tuple[str, Path]]) -> None:
    """One commit per release, tagged ``v<version>``."""
    if repo.exists():
        shutil.rmtree(repo)
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "replay@example.invalid")
    git(repo, "config", "user.name", "UETF replay")
    for version, sdist in releases:
        for entry in repo.iterdir():
            if entry.name != ".git":
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        with tarfile.open(sdist) as archive:
            for member in archive.getmembers():
                parts = Path(member.name).parts[1:]
                if not parts or not (member.isfile() or member.isdir()):
                    continue
                if parts[0] in GENERATED or any(p.endswith(".egg-info") for p in parts):
                    continue
                target = repo.joinpath(*parts)
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                source = archive.extractfile(member)
                assert source is not None
                target.write_bytes(source.read())
        (repo / ".gitignore").write_text("__pycache__/\n.pytest_cache/\n.coverage*\n.ledger/\n")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "--allow-empty", "-m", f"release {version}")
        git(repo, "tag", f"v{version}")


def environment(repo: Path, spec: dict[str, Any]) -> dict[str, str]:
    paths = [str(repo / p) for p in spec["path"]] + [str(HERE), str(HERE / "benchmarks")]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "UETF_", "COV_"))}
    return clean | {
        "PYTHONPATH": os.pathsep.join(paths),
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def pytest(
    repo: Path,
    spec: dict[str, Any],
    ledger: Path | None,
    *args: str,
    env: dict[str, str] | None = None,
) -> tuple[float, subprocess.CompletedProcess[str]]:
    # pytest's cache outside the work tree: an untracked file there is a change to UETF.
    cache = f"cache_dir={repo.parent / 'pytest-cache'}"
    argv = [sys.executable, "-m", "pytest", "-o", cache, "-q", "-o", "addopts="]
    if ledger is not None:
        argv += ["-p", "pytest_uetf.plugin", "--uetf", f"--uetf-ledger={ledger}"]
    if env and "REPLAY_OUTCOMES" in env:
        # A run that ends before writing its outcomes must read as nothing run, never as
        # the outcomes an earlier run left.
        Path(env["REPLAY_OUTCOMES"]).unlink(missing_ok=True)
        argv += ["-p", "replay_outcomes"]
    argv += [*args, *spec["tests"]]
    started = time.perf_counter()
    done = subprocess.run(
        argv,
        cwd=repo,
        capture_output=True,
        text=True,
        env=environment(repo, spec) | (env or {}),
        timeout=1800,
    )
    return time.perf_counter() - started, done


def last_run(ledger: Path) -> dict[str, Any]:
    opened = open_ledger(str(ledger))
    try:
        run_id = opened.find_run("last")["run_id"]
        records = opened.records(run_id)
        final: dict[str, dict[str, Any]] = {}
        for record in records:
            final[record["node_id"]] = record
        return {
            "run_id": run_id,
            "ran": {n for n, r in final.items() if r["worker"] != "carried"},
            "failed": {n for n, r in final.items() if r["outcome"] in ("failed", "error")},
            "seconds": sum(r["duration"] for r in final.values() if r["worker"] != "carried"),
            "tests": len(final),
            "selection": opened.selection(run_id),
        }
    finally:
        opened.close()


def changed_functions(repo: Path, before: str, spec: dict[str, Any]) -> list[tuple[str, str]]:
    """(file, qualname) of the project's functions whose fingerprint changed since ``before``."""
    code = spec["cov"]
    names = git(repo, "diff", "--name-only", before, "--", code).split()
    found = []
    for name in names:
        if not name.endswith(".py") or not (repo / name).is_file():
            continue
        try:
            old = git(repo, "show", f"{before}:{name}")
        except subprocess.CalledProcessError:
            old = ""
        now = blocks_of_source((repo / name).read_bytes(), name)
        was = {b.qualname: b.fingerprint for b in blocks_of_source(old, name).blocks} if old else {}
        for block in now.blocks:
            if block.kind.name == "FUNCTION" and was.get(block.qualname) != block.fingerprint:
                found.append((name, block.qualname))
    return found


def inject_fault(path: Path, qualname: str) -> bool:
    """Make the function's body start by raising; False when it cannot be found."""
    source = path.read_text()
    tree = ast.parse(source)
    target = None
    stack: list[tuple[ast.AST, str]] = [(tree, "")]
    while stack and target is None:
        node, prefix = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if name == qualname and not isinstance(child, ast.ClassDef):
                    target = child
                    break
                inner = f"{name}.<locals>." if not isinstance(child, ast.ClassDef) else f"{name}."
                stack.append((child, inner))
    if target is None:
        return False
    first = target.body[0]
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
        and len(target.body) > 1
    ):
        first = target.body[1]  # after the docstring
    lines = source.splitlines(keepends=True)
    line = lines[first.lineno - 1]
    indent = line[: len(line) - len(line.lstrip())]
    lines.insert(first.lineno - 1, f"{indent}raise RuntimeError('injected fault')\n")
    path.write_text("".join(lines))
    return True


def selected_by_impact(
    repo: Path, spec: dict[str, Any], ledger: Path, base: str
) -> set[str] | None:
    """The tests ``uetf impact`` would run; None for the whole suite."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "uetf_core.cli",
            "impact",
            f"--ledger={ledger}",
            f"--base={base}",
            "--format=json",
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        env=environment(repo, spec),
    )
    document = json.loads(done.stdout)
    if document["whole_suite"] is not None:
        return None
    return {t["node_id"] for t in document["selected"]}


def failing_ids(output: str) -> set[str]:
    return {
        line.split()[1]
        for line in output.splitlines()
        if line.startswith(("FAILED ", "ERROR ")) and "::" in line
    }


def commit_history(mirror: Path, repo: Path, count: int) -> list[tuple[str, str]]:
    """The newest ``count`` commits of a clone's first-parent line, oldest first, as
    (short hash, hash), in a fresh clone at ``repo``."""
    if repo.exists():
        shutil.rmtree(repo)
    subprocess.run(["git", "clone", "-q", "--no-local", str(mirror), str(repo)], check=True)
    hashes = git(repo, "rev-list", "--first-parent", f"-n{count}", "HEAD").split()
    return [(h[:10], h) for h in reversed(hashes)]


class Testmon:
    """pytest-testmon's runs at each step: two database chains (recording alone, and beside
    pytest-cov), carried from step to step in the work folder."""

    def __init__(self, work: Path, project: str, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.outcomes = work / f"{project}.outcomes.json"
        self.data = {
            "testmon": work / f"{project}.testmondata",
            "testmon+pytest-cov": work / f"{project}.cov.testmondata",
        }
        for path in self.data.values():
            path.unlink(missing_ok=True)

    def env(self, variant: str = "testmon") -> dict[str, str]:
        chain = self.data.get(variant, self.data["testmon"])
        return {"REPLAY_OUTCOMES": str(self.outcomes), "TESTMON_DATAFILE": str(chain)}

    def run(self, repo: Path, variant: str, *args: str) -> tuple[float, dict[str, Any]]:
        """One run without UETF: its wall seconds and what it executed."""
        wall, done = pytest(repo, self.spec, None, *args, env=self.env(variant))
        # pytest's last line, to check the outcomes against: "3 passed, 9 deselected in ...".
        lines = done.stdout.strip().splitlines() or [""]
        if done.returncode not in (0, 1, 5):  # not: passed, failed, nothing collected
            problem = (done.stderr.strip().splitlines() or lines)[0]
            raise SystemExit(f"impact_replay: {variant} run {' '.join(args)}: {problem}")
        outcomes = replay_testmon.read_outcomes(self.outcomes)
        outcomes["summary"] = lines[-1]
        return wall, outcomes

    def record(self, repo: Path) -> None:
        """The first step's databases."""
        for variant in self.data:
            self.run(repo, variant, *replay_testmon.full_run_arguments(variant, self.spec["cov"]))


def replay(
    project: str,
    releases: int,
    mutants: int,
    work: Path,
    cache: Path,
    history: Path | None = None,
    testmon: bool = False,
) -> dict[str, Any]:
    spec = PROJECTS[project]
    repo = work / project
    if history is not None:
        chosen = commit_history(history, repo, releases)
    else:
        cache.mkdir(parents=True, exist_ok=True)
        files = release_files(project, releases, cache)
        build_history(repo, files)
        chosen = [(version, f"v{version}") for version, _ in files]
    ledger = work / f"{project}.db"
    ledger.unlink(missing_ok=True)
    side = Testmon(work, project, spec) if testmon else None
    # With pytest-testmon beside it, UETF's runs load the same outcomes plugin.
    uetf_env = side.env() if side else None
    cov = f"--uetf-cov={spec['cov']}"
    record = "--uetf-select=record"  # every full run is a baseline for the next step
    git(repo, "checkout", "-q", chosen[0][1])
    pytest(repo, spec, ledger, cov, record, env=uetf_env)  # the first release's baseline
    if side:
        side.record(repo)
    known = last_run(ledger)["ran"]  # the baseline's tests: any other test is new, and runs
    rows = []
    for step, ((before, base), (version, ref)) in enumerate(itertools.pairwise(chosen)):
        git(repo, "checkout", "-q", ref)
        wall_selected, _ = pytest(
            repo, spec, ledger, cov, "--uetf-select=affected", f"--uetf-base={base}", env=uetf_env
        )
        selected = last_run(ledger)
        selection = selected["selection"] or {}
        tm_selected = None
        if side:
            wall, tm_selected = side.run(repo, "testmon", *replay_testmon.SELECT)
            tm_selected["wall"] = wall
        # The mutants are judged against the same baseline as the selected run.
        would_run = selected_by_impact(repo, spec, ledger, base) if mutants else None
        walls: dict[str, float] = {}
        fulls: dict[str, dict[str, Any]] = {}
        for variant in replay_testmon.turned(step) if side else ["uetf"]:
            if variant == "uetf":
                walls[variant], _ = pytest(repo, spec, ledger, cov, record, env=uetf_env)
                fulls[variant] = last_run(ledger)
            else:
                assert side is not None
                arguments = replay_testmon.full_run_arguments(variant, spec["cov"])
                walls[variant], fulls[variant] = side.run(repo, variant, *arguments)
        full = fulls["uetf"]
        # A test that failed in any full run at this commit is one selection must run.
        failed = set().union(*(f["failed"] for f in fulls.values()))
        missed = sorted(failed - selected["ran"])
        new_tests = len(full["ran"] - known)
        mutant_rows = []
        for name, qualname in changed_functions(repo, base, spec)[:mutants]:
            if not inject_fault(repo / name, qualname):
                continue
            _, broken = pytest(repo, spec, None, "-rfE", "-p", "no:randomly")
            git(repo, "checkout", "-q", "--", name)
            newly = failing_ids(broken.stdout) - failed
            escaped = sorted((newly - would_run) & known) if would_run is not None else []
            mutant = {"function": f"{name}::{qualname}", "failing": len(newly), "missed": escaped}
            if tm_selected is not None:
                # pytest-testmon's selection is the tests its selected run executed.
                mutant["missed_testmon"] = sorted((newly - tm_selected["ran"]) & known)
            mutant_rows.append(mutant)
        row: dict[str, Any] = {
            "from": before,
            "to": version,
            "tests": full["tests"],
            "selected": len(selected["ran"]),
            "whole_suite": selection.get("whole_reason"),
            "whole_detail": selection.get("whole_detail"),
            "seconds_full": round(full["seconds"], 3),
            "seconds_selected": round(selected["seconds"], 3),
            "wall_full": round(walls["uetf"], 2),
            "wall_selected": round(wall_selected, 2),
            "new_tests": new_tests,
            "failures_full": len(failed),
            "missed": missed,
            "mutants": mutant_rows,
        }
        if side and tm_selected is not None:
            row["testmon"] = testmon_row(tm_selected, fulls["testmon"], selected["ran"], failed)
            row["walls"] = {k: round(v, 2) for k, v in walls.items()}
            row["order"] = list(walls)
        rows.append(row)
        print(json.dumps(rows[-1]), flush=True)
        known = full["ran"]  # the next step's baseline
    return {"project": project, "python": sys.version.split()[0], "steps": rows}


def testmon_row(
    chosen: dict[str, Any], full: dict[str, Any], uetf_ran: set[str], failed: set[str]
) -> dict[str, Any]:
    """pytest-testmon's part of a step's row, and where its choice and UETF's differ."""
    only_uetf, only_testmon = sorted(uetf_ran - chosen["ran"]), sorted(chosen["ran"] - uetf_ran)
    return {
        "selected": len(chosen["ran"]),
        "seconds_selected": round(chosen["seconds"], 3),
        "seconds_full": round(full["seconds"], 3),
        "wall_selected": round(chosen["wall"], 2),
        "summary": chosen["summary"],
        "missed": sorted(failed - chosen["ran"]),
        "only_uetf": len(only_uetf),
        "only_testmon": len(only_testmon),
        # A few of each, to look at why the two disagree.
        "only_uetf_sample": only_uetf[:10],
        "only_testmon_sample": only_testmon[:10],
    }


def summary(result: dict[str, Any]) -> str:
    steps = result["steps"]
    shares = [s["selected"] / s["tests"] for s in steps if s["tests"]]
    saved = [1 - s["seconds_selected"] / s["seconds_full"] for s in steps if s["seconds_full"]]
    whole = [s for s in steps if s["whole_suite"]]
    missed = sum(len(s["missed"]) for s in steps)
    mutants = [m for s in steps for m in s["mutants"]]
    caught = [m for m in mutants if m["failing"]]
    escaped = sum(len(m["missed"]) for m in mutants)
    lines = [
        f"{result['project']}: {len(steps)} consecutive {result.get('source', 'releases')}"
        " replayed"
        f" (Python {result['python']})",
        f"  median share of tests selected: {statistics.median(shares):.1%}" if shares else "",
        f"  median test time saved: {statistics.median(saved):.1%}" if saved else "",
        f"  whole suite (fell back): {len(whole)} of {len(steps)}"
        + (f" ({', '.join(sorted({s['whole_suite'] for s in whole}))})" if whole else ""),
        f"  full-suite failures missed by selection: {missed}",
        f"  mutants: {len(mutants)}, failing some test: {len(caught)}, failures missed: {escaped}",
    ]
    return "\n".join(line for line in lines if line)


def pooled(results: list[dict[str, Any]]) -> str:
    """The summary of several replays' steps taken together (a median over every step of
    every project), and both tools' figures when every step ran pytest-testmon too."""
    steps = [s for r in results for s in r["steps"]]
    names = " + ".join(r["project"] for r in results)
    sources = {r.get("source", "releases") for r in results}
    together = {"project": f"pooled ({names})", "python": results[0]["python"], "steps": steps}
    text = summary(together | {"source": " and ".join(sorted(sources))})
    if steps and all("testmon" in s for s in steps):
        text += "\n\n" + replay_testmon.side_by_side({"steps": steps}).split("\n\n")[0]
    return text


def markdown(result: dict[str, Any]) -> str:
    """The steps as a markdown table, for docs/impact.md."""
    lines = [
        "| from | to | tests | new | selected | test time run | mutants: failing / missed |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s in result["steps"]:
        share = f"{s['selected'] / s['tests']:.0%}" if s["tests"] else "-"
        chosen = f"all ({s['whole_suite']})" if s["whole_suite"] else f"{s['selected']} ({share})"
        time_run = f"{s['seconds_selected'] / s['seconds_full']:.0%}" if s["seconds_full"] else "-"
        failing = sum(1 for m in s["mutants"] if m["failing"])
        missed = sum(len(m["missed"]) for m in s["mutants"])
        lines.append(
            f"| {s['from']} | {s['to']} | {s['tests']} | {s.get('new_tests', '-')} | {chosen}"
            f" | {time_run} | {failing} of {len(s['mutants'])} / {missed} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "project",
        help=f"one of {', '.join(sorted(PROJECTS))}, or a JSON"
        " file a replay wrote (--json): its summary and table are printed",
    )
    parser.add_argument(
        "more",
        nargs="*",
        metavar="MORE.json",
        help="after a JSON file, further ones: each is printed, then the medians of all"
        " their steps pooled",
    )
    parser.add_argument("--releases", type=int, default=21)
    parser.add_argument("--mutants", type=int, default=3, help="per release (0: none)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/uetf-impact-replay"))
    parser.add_argument("--cache", type=Path, default=Path("/tmp/uetf-impact-replay/sdists"))
    parser.add_argument("--json", type=Path, help="write the rows here")
    parser.add_argument(
        "--testmon",
        action="store_true",
        help="run pytest-testmon on the same steps, side by side (it must be importable)",
    )
    parser.add_argument(
        "--git",
        type=Path,
        metavar="REPO",
        help="replay the newest --releases commits of this git repository's first-parent"
        " line instead of PyPI releases",
    )
    args = parser.parse_args()
    if args.project.endswith(".json"):
        results = [json.loads(Path(p).read_text()) for p in [args.project, *args.more]]
        for result in results:
            print(summary(result) + "\n\n" + markdown(result))
            if result["steps"] and "testmon" in result["steps"][0]:
                print("\n" + replay_testmon.side_by_side(result))
                print("\n" + replay_testmon.disagreements(result))
        if len(results) > 1:
            print("\n" + pooled(results))
        return 0
    if args.more:
        parser.error("more than one argument: only JSON files a replay wrote")
    if args.project not in PROJECTS:
        parser.error(f"unknown project {args.project!r}")
    missing = replay_testmon.testmon_missing() if args.testmon else None
    if missing:
        print(f"impact_replay: {missing}", file=sys.stderr)
        return 2
    result = replay(
        args.project, args.releases, args.mutants, args.work, args.cache, args.git, args.testmon
    )
    result["source"] = "commits" if args.git else "releases"
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(summary(result))
    if args.testmon:
        print("\n" + replay_testmon.side_by_side(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
