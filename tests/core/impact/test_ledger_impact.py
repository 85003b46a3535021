"""Per-test dependencies, selections and carried results in the ledger, on both back ends."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import git, make_repo, record_run
from uetf_core.impact.encoding import block_key
from uetf_core.impact.environment import Environment
from uetf_core.impact.selection import BlockDependency
from uetf_core.impact.stored import RecordedRun, SelectionRecord
from uetf_core.ledger import open_ledger

ENV = Environment("CPython 3.11.7", "0123456789abcdef")
ADD = BlockDependency("pkg/a.py", "add", "aaaa")
SUB = BlockDependency("pkg/a.py", "sub", "bbbb")
TOP = BlockDependency("pkg/a.py", "<module>", "cccc")


def recorded(**tests: frozenset[BlockDependency] | None) -> RecordedRun:
    return RecordedRun(
        "_lsprof (sys.setprofile)",
        ENV,
        {f"tests/test_a.py::{name}": deps for name, deps in tests.items()},
        frozenset({TOP}),
        {"tests/test_a.py": frozenset({"pkg/a.py"})},
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "project", {"README.md": "x\n"})


def test_dependencies_round_trip(project: Path, ledger_location: str) -> None:
    """What a run recorded reads back the same, tests without data included."""
    recorder = record_run(project, ["tests/test_a.py::test_add"], [], ledger=ledger_location)
    run_id = recorder.run_id
    recorder.ledger.close()
    stored = recorded(test_add=frozenset({ADD, TOP}), test_sub=frozenset({SUB}), test_x=None)
    ledger = open_ledger(ledger_location)
    try:
        ledger.save_dependencies(run_id, stored)
        ledger.save_dependencies(run_id, stored)  # again: replaced, not doubled
        back = ledger.recorded_dependencies(run_id)
        rows = ledger.db.query("SELECT count(*) FROM impact_tests")[0][0]
        blocks = ledger.db.query("SELECT count(*) FROM impact_blocks")[0][0]
    finally:
        ledger.close()
    assert back == stored
    assert rows == 3
    assert blocks == 3  # each block version once, whichever tests share it
    baseline = back.as_baseline(run_id)
    assert baseline.without_data == {"tests/test_a.py::test_x"}
    assert baseline.tests["tests/test_a.py::test_sub"].blocks == {SUB}


def test_block_keys_are_content_addressed() -> None:
    """The same block version has one key everywhere; another fingerprint another key."""
    assert block_key("a.py", "f", "01") == block_key("a.py", "f", "01")
    assert block_key("a.py", "f", "01") != block_key("a.py", "f", "02")
    assert 0 <= block_key("a.py", "f", "01") < 2**63


def test_baseline_is_a_clean_complete_run_at_the_commit(
    project: Path, ledger_location: str
) -> None:
    """Only a finished run with complete data on a clean tree at a candidate commit serves."""
    head = git(project, "rev-parse", "HEAD").strip()
    first = record_run(project, ["tests/test_a.py::test_add"], [], ledger=ledger_location)
    first.ledger.close()
    ledger = open_ledger(ledger_location)
    try:
        assert ledger.find_dependency_baseline([head]) is None  # no dependency data yet
        ledger.save_dependencies(first.run_id, recorded(test_add=frozenset({ADD})))
        assert ledger.find_dependency_baseline(["0" * 40, head]) == (first.run_id, head)
        assert ledger.find_dependency_baseline([head], exclude=first.run_id) is None
    finally:
        ledger.close()
    (project / "dirty.py").write_text("x = 1\n")
    dirty = record_run(project, ["tests/test_a.py::test_add"], [], ledger=ledger_location)
    dirty.ledger.close()
    ledger = open_ledger(ledger_location)
    try:
        ledger.save_dependencies(dirty.run_id, recorded(test_add=frozenset({ADD})))
        incomplete = RecordedRun("none", ENV, {}, complete=False)
        ledger.save_dependencies(first.run_id, incomplete)
        # The dirty run is newer but never a baseline; the first one is now incomplete.
        assert ledger.find_dependency_baseline([head]) is None
    finally:
        ledger.close()


def test_carried_results_join_the_run(project: Path, ledger_location: str) -> None:
    """Carried tests get their baseline's final result, worker 'carried', and join the tasks."""
    base = record_run(
        project,
        ["tests/test_a.py::test_add", "tests/test_a.py::test_sub"],
        ["tests/test_a.py::test_bad"],
        ledger=ledger_location,
    )
    base.ledger.close()
    now = record_run(project, ["tests/test_a.py::test_add"], [], ledger=ledger_location)
    now.ledger.close()
    ledger = open_ledger(ledger_location)
    try:
        carried = ledger.carry_results(
            now.run_id, base.run_id, ["tests/test_a.py::test_sub", "tests/test_a.py::test_bad"]
        )
        records = {r["node_id"]: r for r in ledger.records(now.run_id)}
        errors = ledger.error_captures(now.run_id)
        tasks = ledger.tasks(now.run_id)
        ledger.save_selection(
            now.run_id,
            SelectionRecord(
                "affected",
                base.run_id,
                None,
                None,
                {
                    "tests/test_a.py::test_add": ("BLOCK_CHANGED", "pkg/a.py::add"),
                    "tests/test_a.py::test_sub": None,
                    "tests/test_a.py::test_bad": None,
                },
            ),
        )
        selection = ledger.selection(now.run_id)
        decisions = ledger.selection_decisions(now.run_id)
    finally:
        ledger.close()
    assert carried == 2
    assert records["tests/test_a.py::test_sub"]["worker"] == "carried"
    assert records["tests/test_a.py::test_bad"]["outcome"] == "failed"
    assert records["tests/test_a.py::test_add"]["worker"] == "controller"
    assert [e["node_id"] for e in errors] == ["tests/test_a.py::test_bad"]
    assert len(tasks) == 3
    assert selection == {
        "mode": "affected",
        "baseline_run_id": base.run_id,
        "whole_reason": None,
        "whole_detail": None,
        "selected": 1,
        "unselected": 2,
    }
    assert decisions["tests/test_a.py::test_add"] == ("BLOCK_CHANGED", "pkg/a.py::add")
    assert decisions["tests/test_a.py::test_sub"] == (None, None)


@pytest.mark.parametrize("how", ["push", "merge"])
def test_dependencies_travel_with_their_runs(
    project: Path, tmp_path: Path, postgres_url: str, how: str
) -> None:
    """uetf push (a spool to a server) and uetf merge (SQLite into SQLite) copy a run's
    dependencies and selection with it, shared blocks and sets included."""
    from uetf_core.ledger.copy import copy_runs
    from uetf_core.ledger.merge import merge_into

    source = tmp_path / "spool.db"
    recorder = record_run(project, ["tests/test_a.py::test_add"], [], ledger=str(source))
    recorder.ledger.close()
    stored = recorded(test_add=frozenset({ADD, TOP}), test_sub=frozenset({SUB}))
    ledger = open_ledger(str(source))
    ledger.save_dependencies(recorder.run_id, stored)
    ledger.close()
    target_location = postgres_url if how == "push" else str(tmp_path / "team.db")
    target = open_ledger(target_location)
    try:
        if how == "push":
            spool = open_ledger(str(source))
            try:
                copy_runs(spool, target)
            finally:
                spool.close()
        else:
            merge_into(target, source)
        assert target.recorded_dependencies(recorder.run_id) == stored
    finally:
        target.close()


def test_prune_deletes_the_shared_rows_no_kept_run_uses(
    project: Path, ledger_location: str
) -> None:
    """Block versions, sets and report records that only pruned runs used are deleted
    with them; what a kept run uses stays whole, read back the same."""
    add_before = BlockDependency("pkg/a.py", "add", "a0a0")  # add() as it was
    runs = []
    for deps in (
        recorded(test_add=frozenset({add_before}), test_sub=frozenset({SUB})),
        recorded(test_add=frozenset({ADD}), test_sub=frozenset({SUB})),
        recorded(test_add=frozenset({ADD}), test_sub=frozenset({SUB, TOP})),
    ):
        recorder = record_run(project, ["tests/test_a.py::test_add"], [], ledger=ledger_location)
        recorder.ledger.save_dependencies(recorder.run_id, deps)
        recorder.ledger.close()
        runs.append((recorder.run_id, deps))
    (old, _), (middle, _), (newest, kept) = runs
    ledger = open_ledger(ledger_location)
    try:
        for covered in ([old], [old, newest]):
            ledger.add_document(
                {
                    "kind": "gate_report",
                    "format": "json",
                    "path": f"r{len(covered)}.json",
                    "sha256": "0" * 64,
                    "size_bytes": 1,
                    "run_ids": covered,
                    "created_at": "2026-12-07T00:00:00Z",
                }
            )
        pruned = ledger.prune(1, set())
        blocks = {row[0] for row in ledger.db.query("SELECT block_key FROM impact_blocks")}
        sets = ledger.db.query("SELECT count(*) FROM impact_sets")[0][0]
        documents = [d["path"] for d in ledger.documents(newest)]
        left = ledger.db.query("SELECT path FROM documents")
        back = ledger.recorded_dependencies(newest)
    finally:
        ledger.close()
    assert sorted(pruned.runs) == sorted([old, middle])

    def key(dep: BlockDependency) -> int:
        return block_key(dep.path, dep.qualname, dep.fingerprint)

    assert key(add_before) not in blocks  # only the oldest run ran that version
    assert blocks == {key(dep) for dep in (ADD, SUB, TOP)}
    # The newest run's sets: {ADD}, {SUB, TOP}, and its import-time set {TOP}.
    assert sets == 3 and pruned.rows["impact_sets"] == 2  # {a0a0} and {SUB} went
    assert pruned.rows["impact_blocks"] == 1 and pruned.rows["documents"] == 1
    assert documents == ["r2.json"] and [row[0] for row in left] == ["r2.json"]
    assert back == kept
