"""Routing to xdist workers, run order and shards from the ledger; one verdict for a build."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from conftest import git, run_pytest, run_uetf
from uetf_core.ledger import SCHEMA_VERSION, open_ledger

SUITE = {
    "test_alpha.py": """
import time
import pytest

@pytest.mark.parametrize("i", range(12))
def test_a(i):
    time.sleep(0.05 if i < 2 else 0.001)
""",
    "test_beta.py": """
import pytest

@pytest.mark.parametrize("i", range(8))
def test_b(i):
    assert True
""",
}


def ledger_of(root: Path):  # type: ignore[no-untyped-def]
    return open_ledger(str(root / ".ledger" / "uetf.db"))


@pytest.mark.parametrize("strategy", ["duration", "module", "hash"])
def test_routing_records_a_decision_per_test(
    pytester: pytest.Pytester, strategy: str, validate
) -> None:  # type: ignore[no-untyped-def]
    """Each strategy sends every test once; each assignment is a valid routing decision."""
    pytester.makepyfile(**SUITE)
    assert run_pytest(pytester.path, "--uetf", "-n", "2").returncode == 0  # durations recorded
    done = run_pytest(pytester.path, "--uetf", "-n", "2", f"--uetf-dist={strategy}")
    assert done.returncode == 0, done.stdout + done.stderr
    ledger = ledger_of(pytester.path)
    try:
        run_id = ledger.find_run("last")["run_id"]
        decisions = ledger.routing_decisions(run_id)
        records = ledger.records(run_id)
    finally:
        ledger.close()
    for decision in decisions:
        validate("routing_decision", decision)
    assert sorted(d["node_id"] for d in decisions) == sorted(r["node_id"] for r in records)
    assert len(records) == 20
    assert {d["strategy"] for d in decisions} == {strategy}
    assert not any(d["fallback"] for d in decisions)  # every test has recorded durations
    # Each test ran where it was sent.
    where = {d["node_id"]: d["target"] for d in decisions}
    assert all(where[r["node_id"]] == r["worker"] for r in records)
    if strategy == "module":
        targets = {(r["node_id"].split("::")[0], r["worker"]) for r in records}
        assert len(targets) == 2  # two modules, each on one worker
    if strategy == "duration":
        # Longest first: the two slow tests were the first sent.
        first_two = {d["node_id"] for d in decisions[:2]}
        assert first_two == {"test_alpha.py::test_a[0]", "test_alpha.py::test_a[1]"}


def test_hash_routing_is_stable_and_new_tests_fall_back(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(**SUITE)
    assert run_pytest(pytester.path, "--uetf", "-n", "2", "--uetf-dist=hash").returncode == 0
    assert run_pytest(pytester.path, "--uetf", "-n", "2", "--uetf-dist=hash").returncode == 0
    pytester.makepyfile(test_gamma="def test_new(): pass")
    assert run_pytest(pytester.path, "--uetf", "-n", "2", "--uetf-dist=duration").returncode == 0
    ledger = ledger_of(pytester.path)
    try:
        third, second, first = (run["run_id"] for run in ledger.list_runs(3))
        before = {d["node_id"]: d["target"] for d in ledger.routing_decisions(first)}
        after = {d["node_id"]: d["target"] for d in ledger.routing_decisions(second)}
        estimated = {d["node_id"]: d for d in ledger.routing_decisions(third)}
    finally:
        ledger.close()
    assert all(after[node_id] == target for node_id, target in before.items())
    new = estimated["test_gamma.py::test_new"]
    assert new["fallback"] and new["fallback_reason"] == "never recorded: median of the suite"


def test_order_failed_first_and_new_first(pytester: pytest.Pytester, validate) -> None:  # type: ignore[no-untyped-def]
    pytester.makepyfile(
        test_order="""
def test_1(): pass
def test_2(): pass
def test_3(): assert False
"""
    )
    assert run_pytest(pytester.path, "--uetf").returncode == 1
    done = run_pytest(pytester.path, "--uetf", "--uetf-order=failed-first", "-p", "no:randomly")
    assert done.returncode == 1
    pytester.makepyfile(test_later="def test_brand_new(): pass")
    run_pytest(pytester.path, "--uetf", "--uetf-order=new-first", "-n", "2")
    ledger = ledger_of(pytester.path)
    try:
        newest, failed_first, _ = ledger.list_runs(3)
        entries = ledger.schedule_entries(failed_first["run_id"])
        ran = [r["node_id"] for r in ledger.records(failed_first["run_id"])]
        new_entries = ledger.schedule_entries(newest["run_id"])
    finally:
        ledger.close()
    for entry in entries + new_entries:
        validate("schedule_entry", entry)
    assert ran[0] == "test_order.py::test_3"
    assert entries[0]["node_id"] == "test_order.py::test_3"
    assert entries[0]["reason"] == "failed when it last ran" and entries[0]["priority"] == 1.0
    assert new_entries[0]["node_id"] == "test_later.py::test_brand_new"
    assert new_entries[0]["reason"] == "new: never recorded in the ledger"


def test_worker_killed_mid_test_is_recorded_as_crashed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_crash="""
import os, signal

def test_dies():
    os.kill(os.getpid(), signal.SIGKILL)

def test_ok_1(): pass
def test_ok_2(): pass
def test_ok_3(): pass
"""
    )
    done = run_pytest(pytester.path, "--uetf", "-n", "2")
    assert done.returncode == 1, done.stdout + done.stderr
    ledger = ledger_of(pytester.path)
    try:
        run = ledger.find_run("last")
        records = {r["node_id"]: r for r in ledger.records(run["run_id"])}
        workers = ledger.workers(run["run_id"])
        errors = ledger.error_captures(run["run_id"])
    finally:
        ledger.close()
    assert run["state"] == "failed"
    assert records["test_crash.py::test_dies"]["outcome"] == "failed"  # as pytest counts it
    assert all(records[f"test_crash.py::test_ok_{i}"]["outcome"] == "passed" for i in (1, 2, 3))
    crashed = [w for w in workers if w["state"] == "crashed"]
    assert len(crashed) == 1 and crashed[0]["reason"]
    assert any("crashed while running" in e["message"] for e in errors)


def make_project(root: Path) -> Path:
    """A git project measuring coverage of its package, 40 tests over 4 modules."""
    (root / "app").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    code = "".join(
        f"def f{i}(x):\n    if x:\n        return {i}\n    return -{i}\n\n" for i in range(40)
    )
    (root / "app" / "mod.py").write_text(code)
    for m in range(4):
        body = "from app import mod\n\n" + "".join(
            f"def test_{m}_{i}():\n    n = {m * 10 + i}\n"
            f"    assert getattr(mod, f'f{{n}}')({i % 3}) in (n, -n)\n\n"
            for i in range(10)
        )
        (root / f"test_m{m}.py").write_text(body)
    (root / "pyproject.toml").write_text(
        '[tool.uetf]\ncov_source = ["app"]\n\n[tool.uetf.gates]\npass_rate = 100\ncoverage = 10\n'
    )
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.invalid")
    git(root, "config", "user.name", "UETF tests")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    return root


def test_four_shards_merge_into_the_unsharded_verdict(tmp_path: Path, validate) -> None:  # type: ignore[no-untyped-def]
    """Each test in exactly one shard; merged and gated, the same coverage as one run."""
    root = make_project(tmp_path / "project")
    assert run_pytest(root, "--uetf").returncode == 0  # the whole suite once: durations, coverage
    whole = open_ledger(str(root / ".ledger" / "uetf.db"))
    whole_run = whole.find_run("last")["run_id"]
    whole_coverage = whole.coverage(whole_run)
    whole.close()
    assert whole_coverage is not None
    jobs = []
    for k in range(1, 5):  # each CI job starts from the same cached ledger
        job = tmp_path / f"job{k}.db"
        job.write_bytes((root / ".ledger" / "uetf.db").read_bytes())
        done = run_pytest(
            root,
            "--uetf",
            f"--uetf-ledger={job}",
            f"--uetf-shard={k}/4",
            "--uetf-workstream=build-1",
            "--uetf-phase=unit",
        )
        assert done.returncode == 0, done.stdout + done.stderr
        jobs.append(job)
    shard_tests = []
    for job in jobs:
        ledger = open_ledger(str(job))
        run = ledger.find_run("last")
        assert run["partial"]
        shard_tests.append({t["node_id"] for t in ledger.tasks(run["run_id"])})
        ledger.close()
    assert sum(len(s) for s in shard_tests) == 40 and len(set().union(*shard_tests)) == 40

    target = tmp_path / "merged.db"
    merged = run_uetf(root, "merge", "--into", str(target), *map(str, jobs))
    assert merged.returncode == 0, merged.stderr
    sizes = counts(target)
    again = run_uetf(root, "merge", "--into", str(target), *map(str, jobs))
    assert again.returncode == 0 and counts(target) == sizes  # idempotent
    assert "0 runs added" in again.stdout

    verdict = run_uetf(
        root,
        "gate",
        "--ledger",
        str(target),
        "--workstream",
        "build-1",
        "--expect-shards",
        "4",
        "--report",
        f"json:{tmp_path / 'ws.json'}",
    )
    assert verdict.returncode == 0, verdict.stdout + verdict.stderr
    ledger = open_ledger(str(target))
    try:
        run_id = ledger.find_run("last")["run_id"]
        combined = ledger.coverage(run_id)
        assert combined is not None and combined["percent"] == whole_coverage["percent"]
        assert ledger.totals(run_id).passed == 40
        workstream = ledger.workstream("build-1")
    finally:
        ledger.close()
    validate(
        "workstream_state",
        {
            k: workstream[k]
            for k in ("workstream_id", "state", "created_at", "updated_at", "expect_shards")
        },
    )
    for phase in workstream["phases"]:
        validate("phase_state", phase)
    for step in workstream["steps"]:
        validate("ws_step", step)
    assert workstream["state"] == "passed" and len(workstream["steps"]) == 4
    assert (tmp_path / "ws.json").is_file()

    # A build whose fourth job never reported fails, saying which shard.
    partial = tmp_path / "three.db"
    assert run_uetf(root, "merge", "--into", str(partial), *map(str, jobs[:3])).returncode == 0
    missing = run_uetf(
        root, "gate", "--ledger", str(partial), "--workstream", "build-1", "--expect-shards", "4"
    )
    assert missing.returncode == 6
    assert "uetf: phase unit: shard 4/4 is missing" in missing.stdout
    assert "Traceback" not in missing.stderr


def counts(path: Path) -> dict[str, int]:
    db = sqlite3.connect(path)
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    finally:
        db.close()


def test_merge_refuses_a_newer_ledger_untouched(tmp_path: Path) -> None:
    source = tmp_path / "newer.db"
    open_ledger(str(source)).close()
    db = sqlite3.connect(source)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    before = source.read_bytes()
    done = run_uetf(tmp_path, "merge", "--into", str(tmp_path / "t.db"), str(source))
    assert done.returncode == 7 and "newer" in done.stderr
    assert done.stderr.strip().count("\n") == 0 and source.read_bytes() == before


def test_shard_needs_a_workstream_and_plan_balances(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project")
    done = run_pytest(root, "--uetf", "--uetf-shard=1/2")
    assert done.returncode == 4 and "--uetf-workstream" in done.stderr
    bad = run_pytest(root, "--uetf", "--uetf-shard=3/2", "--uetf-workstream=x")
    assert bad.returncode == 4 and "1 <= K <= N" in bad.stderr
    assert run_pytest(root, "--uetf").returncode == 0
    plan = run_uetf(root, "plan", "--shards", "3")
    assert plan.returncode == 0, plan.stderr
    assert "40 tests" in plan.stdout and plan.stdout.count("shard ") == 4


def test_shards_of_a_suite_never_seen_split_it_evenly(tmp_path: Path) -> None:
    """Shard jobs on empty ledgers, one of them under xdist: each runs its share, none twice."""
    root = make_project(tmp_path / "project")
    ran = []
    for k, workers in ((1, ()), (2, ("-p", "xdist.plugin", "-n", "2")), (3, ())):
        done = run_pytest(
            root,
            "-p",
            "pytest_uetf.plugin",
            *workers,
            "--uetf",
            f"--uetf-ledger={tmp_path / f'job{k}.db'}",
            f"--uetf-shard={k}/3",
            "--uetf-workstream=fresh",
            env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        )
        assert done.returncode == 0, done.stdout + done.stderr
        ledger = open_ledger(str(tmp_path / f"job{k}.db"))
        ran.append({t["node_id"] for t in ledger.tasks(ledger.find_run("last")["run_id"])})
        ledger.close()
    assert sorted(len(tests) for tests in ran) == [13, 13, 14]
    assert len(set().union(*ran)) == 40


@pytest.mark.parametrize("strategy", ["duration", "module"])
def test_scheduler_in_this_process(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, strategy: str
) -> None:
    """The controller (and so the scheduler) in this process, real xdist workers beside it."""
    for name in [k for k in os.environ if k.startswith(("PYTEST_XDIST", "UETF_"))]:
        monkeypatch.delenv(name)
    pytester.makepyfile(**SUITE)
    first = pytester.runpytest("--uetf", "-p", "no:randomly", "--uetf-order=longest-first")
    first.assert_outcomes(passed=20)
    second = pytester.runpytest(
        "--uetf",
        "-n",
        "2",
        f"--uetf-dist={strategy}",
        "--uetf-order=failed-first",
        "-p",
        "no:randomly",
    )
    second.assert_outcomes(passed=20)
    ledger = ledger_of(pytester.path)
    try:
        newest, oldest = ledger.list_runs()
        decisions = ledger.routing_decisions(newest["run_id"])
        ordered = ledger.schedule_entries(oldest["run_id"])
    finally:
        ledger.close()
    assert len(decisions) == 20 and {d["target"] for d in decisions} == {"gw0", "gw1"}
    # longest-first without history: equal estimates keep the collected order
    assert [e["node_id"] for e in ordered][:2] == [
        "test_alpha.py::test_a[0]",
        "test_alpha.py::test_a[1]",
    ]
