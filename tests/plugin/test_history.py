"""The ledger's history at work: flaky tests, a test's history, runs by branch, pruning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import git, run_pytest, run_uetf
from uetf_core.ledger import open_ledger
from uetf_core.summary import build_summary

FLAKY = """\
from pathlib import Path

def bump(name):
    counter = Path(name)
    n = int(counter.read_text()) if counter.exists() else 0
    counter.write_text(str(n + 1))
    return n

def test_retry_flaky():
    assert bump("retry.count") % 2 == 1   # fails, then passes on its rerun

def test_alternating():
    assert bump("alternating.count") % 2 == 0   # passes, fails, passes... run after run

def test_steady():
    pass
"""


@pytest.fixture
def project(git_project) -> Path:  # type: ignore[no-untyped-def]
    root = git_project({"test_flaky.py": FLAKY, ".gitignore": "*.count\n"})
    return root


def test_rerun_attempts_and_flips_make_a_test_flaky(project: Path) -> None:
    first = run_pytest(
        project, "-p", "rerunfailures", "--uetf", "--reruns", "2", "--uetf-gate=max_flaky<=0"
    )
    # Every test passed in the end, but one only on a retry: the gate fails the run.
    assert first.returncode == 6, first.stdout + first.stderr
    second = run_pytest(project, "--uetf", "--uetf-gate=max_flaky<=0")
    assert second.returncode == 1  # test_alternating fails on the commit where it passed

    ledger = open_ledger(str(project / ".ledger" / "uetf.db"))
    try:
        newest, oldest = ledger.list_runs()
        attempts = [r for r in ledger.records(oldest["run_id"]) if "retry" in r["node_id"]]
        summary_failures = {
            f["node_id"]: f["classification"]
            for f in build_summary(ledger, newest["run_id"])["failures"]
        }
    finally:
        ledger.close()
    assert [(r["attempt"], r["outcome"]) for r in attempts] == [(1, "rerun"), (2, "passed")]
    assert summary_failures["test_flaky.py::test_alternating"] == "flaky"

    listed = run_uetf(project, "flaky", "--json")
    assert listed.returncode == 0, listed.stderr
    flaky = {f["node_id"]: f for f in json.loads(listed.stdout)}
    assert set(flaky) == {"test_flaky.py::test_retry_flaky", "test_flaky.py::test_alternating"}
    assert flaky["test_flaky.py::test_retry_flaky"]["retries"] == 1
    alternating = flaky["test_flaky.py::test_alternating"]
    assert (alternating["flips"], alternating["runs"], alternating["rate"]) == (1, 2, 0.5)
    assert alternating["last_failure"]["message"].startswith("AssertionError")
    text = run_uetf(project, "flaky").stdout
    assert "50.0%" in text and "test_alternating" in text


def test_history_and_runs_by_branch(project: Path) -> None:
    run_pytest(project, "--uetf")
    git(project, "checkout", "-q", "-b", "feature")
    run_pytest(project, "--uetf")
    history = json.loads(
        run_uetf(project, "history", "test_flaky.py::test_alternating", "--json").stdout
    )
    assert [h["outcome"] for h in history] == ["failed", "passed"]
    assert [h["branch"] for h in history] == ["feature", "main"]
    assert history[0]["commit"] == git(project, "rev-parse", "HEAD").strip()
    text = run_uetf(project, "history", "test_flaky.py::test_steady").stdout
    assert text.startswith("test_flaky.py::test_steady: 2 runs")
    missing = run_uetf(project, "history", "test_flaky.py::nope")
    assert missing.returncode == 4 and "no recorded run" in missing.stderr
    on_main = json.loads(run_uetf(project, "runs", "--branch", "main", "--json").stdout)
    assert len(on_main) == 1
    assert json.loads(run_uetf(project, "runs", "--since", "2000-01-01", "--json").stdout)
    assert json.loads(run_uetf(project, "runs", "--since", "2999-01-01", "--json").stdout) == []
    bad = run_uetf(project, "runs", "--since", "yesterday")
    assert bad.returncode == 4 and "ISO 8601" in bad.stderr  # a usage error


def test_prune_keeps_the_newest_runs_and_the_baselines_in_use(project: Path) -> None:
    run_pytest(project, "--uetf")  # r1 on main at A: the feature's baseline
    git(project, "checkout", "-q", "-b", "feature")
    (project / "test_more.py").write_text("def test_more(): pass\n")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "feature work")
    run_pytest(project, "--uetf", "--uetf-base=main")  # r2, judged against r1
    git(project, "checkout", "-q", "main")
    (project / "test_main.py").write_text("def test_main(): pass\n")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "main moves on")
    for _ in range(3):
        run_pytest(project, "--uetf")  # r3, r4, r5 on main at B
    ledger = open_ledger(str(project / ".ledger" / "uetf.db"))
    r5, r4, _r3, r2, r1 = (run["run_id"] for run in ledger.list_runs())
    ledger.close()

    dry = run_uetf(project, "prune", "--keep", "2", "--dry-run")
    assert dry.returncode == 0 and dry.stdout.startswith("would delete 1 runs")
    done = run_uetf(project, "prune", "--keep", "2")
    assert done.returncode == 0, done.stderr
    assert "deleted 1 runs" in done.stdout and "kept 1 older run(s)" in done.stdout
    ledger = open_ledger(str(project / ".ledger" / "uetf.db"))
    try:
        assert [run["run_id"] for run in ledger.list_runs()] == [r5, r4, r2, r1]
        assert ledger.test_history("test_flaky.py::test_steady", 10)
        assert ledger.integrity_problems() == []
    finally:
        ledger.close()
