"""What runs store beyond their records: coverage, the patch, tool results, baselines."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from uetf_core.errors import LedgerError
from uetf_core.ledger import Batch, NewRun, open_ledger
from uetf_core.records import ExecutionRecord, PhaseResult

RUN = "20261125T000000-aaaaaa"
COVERAGE = {
    "percent": 66.67,
    "n_statements": 3,
    "n_missing": 1,
    "n_branches": 0,
    "n_partial_branches": 0,
    "core": "CTracer",
    "branch": False,
    "problems": ["coverage source 'shpo' matched no file; check --uetf-cov"],
    "files": [
        {
            "path": "app/core.py",
            "statements": [1, 2, 5],
            "executed": [1, 2],
            "n_branches": 0,
            "n_partial_branches": 0,
            "n_missing_branches": 0,
            "arcs": [],
        }
    ],
}


def ledger_with_run(location: str, run_id: str = RUN):  # type: ignore[no-untyped-def]
    ledger = open_ledger(location)
    ledger.create_run(NewRun(run_id, "pending", time.time(), os.getpid(), "h", "/r", "0", {}))
    return ledger


def record(node_id: str, outcome: str, attempt: int = 1) -> ExecutionRecord:
    phase = PhaseResult("passed", 0.01)
    return ExecutionRecord(node_id, attempt, "gw0", outcome, phase, phase, phase, 0.03, 1.0, 2.0)


def test_coverage_roundtrip(ledger_location: str) -> None:
    """Per-file coverage is stored as numbits and read back as the same lines."""
    ledger = ledger_with_run(ledger_location)
    assert ledger.coverage(RUN) is None
    ledger.save_coverage(RUN, COVERAGE)
    assert ledger.coverage(RUN) == COVERAGE
    # A coverage without problems (as every run before they were kept) reads as none.
    ledger.save_coverage(RUN, {k: v for k, v in COVERAGE.items() if k != "problems"})
    assert ledger.coverage(RUN) == {**COVERAGE, "problems": []}
    assert ledger.coverage_percent(RUN) == 66.67


def test_patch_and_tool_results_validate(ledger_location: str, validate) -> None:  # type: ignore[no-untyped-def]
    """The stored patch ledger entry and tool results are valid documents."""
    ledger = ledger_with_run(ledger_location)
    assert ledger.patch(RUN) is None
    patch = {
        "run_id": RUN,
        "state": "measured",
        "base_ref": "main",
        "merge_base": "a" * 40,
        "head": "b" * 40,
        "diff_hash": "c" * 64,
        "files": [{"path": "x.py", "old_path": None, "status": "added", "added_lines": [[1, 3]]}],
        "problem": None,
    }
    ledger.save_patch(RUN, patch)
    assert ledger.patch(RUN) == patch
    validate("patch_ledger_entry", ledger.patch(RUN))
    ledger.add_tool_result(
        RUN,
        {
            "tool": "git",
            "argv": ["git", "status"],
            "exit_code": 0,
            "duration_seconds": 0.01,
            "ok": True,
            "stderr_excerpt": "",
            "at": "2026-11-25T00:00:00+00:00",
        },
    )
    (result,) = ledger.tool_results(RUN)
    validate("tool_result", result)


def test_baseline_is_newest_whole_completed_run_at_commit(ledger_location: str) -> None:
    """Partial, unfinished and other-commit runs are never baselines."""
    ledger = ledger_with_run(ledger_location, "20261125T000001-000001")
    for i, (state, partial, commit) in enumerate(
        [
            ("passed", None, "c1"),
            ("failed", None, "c1"),
            ("passed", "-k x", "c1"),
            ("running", None, "c1"),
            ("passed", None, "c2"),
        ],
        start=2,
    ):
        run_id = f"20261125T00000{i}-00000{i}"
        ledger.create_run(NewRun(run_id, state, time.time() + i, os.getpid(), "h", "/r", "0", {}))
        ledger.set_commit(run_id, commit, "main")
        ledger.set_partial(run_id, partial)
    assert ledger.find_baseline("c1") == "20261125T000003-000003"
    assert ledger.find_baseline("c1", exclude="20261125T000003-000003") == "20261125T000002-000002"
    assert ledger.find_baseline("c3") is None
    assert ledger.partial_reason("20261125T000004-000004") == "-k x"


def test_outcomes_take_the_last_attempt(ledger_location: str) -> None:
    """A test that failed, was rerun and passed counts as passed, with one rerun."""
    ledger = ledger_with_run(ledger_location)
    batch = Batch(
        records=[record("t::a", "rerun", 1), record("t::a", "passed", 2), record("t::b", "failed")]
    )
    ledger.write_batch(RUN, batch, time.time())
    assert ledger.outcomes(RUN) == {"t::a": "passed", "t::b": "failed"}
    totals = ledger.totals(RUN)
    assert (totals.passed, totals.failed, totals.reruns) == (1, 1, 1)


def test_empty_file_becomes_a_ledger(tmp_path: Path) -> None:
    """A zero-byte file (touched by a CI cache step, say) is initialised, not refused."""
    path = tmp_path / "empty.db"
    path.touch()
    assert open_ledger(str(path)).schema_version() > 0


def test_integrity_of_a_healthy_ledger(ledger_location: str) -> None:
    """A ledger in use reports no integrity problems."""
    ledger = ledger_with_run(ledger_location)
    ledger.write_batch(RUN, Batch(records=[record("t::a", "passed")]), time.time())
    assert ledger.integrity_problems() == []


def test_unwritable_ledger_is_one_line(ledger_location: str) -> None:
    """A write that SQLite refuses becomes a LedgerError naming the file."""
    ledger = ledger_with_run(ledger_location)
    with pytest.raises(LedgerError, match="ledger operation failed"), ledger.transaction() as db:
        db.execute("INSERT INTO no_such_table VALUES (1)")


def test_coverage_tracing_cost_is_estimated_against_a_run_without_it(tmp_path: Path) -> None:
    from conftest import record_run

    plain = record_run(tmp_path, ["t.py::a", "t.py::b"], [])
    plain.ledger.close()
    measured = record_run(tmp_path, ["t.py::a", "t.py::b"], [])
    ledger = measured.ledger
    try:
        assert "coverage_tracing_seconds" not in ledger.cost_totals(measured.run_id)
        measured.add_cost("run", measured.run_id, "coverage_analysis_seconds", 0.5, "s")
        measured.flush()
        ledger.save_coverage(
            measured.run_id,
            {
                "percent": 50.0,
                "n_statements": 2,
                "n_missing": 1,
                "n_branches": 0,
                "n_partial_branches": 0,
                "core": "ctrace",
                "branch": False,
                "files": [],
            },
        )
        totals = ledger.cost_totals(measured.run_id)
        assert totals["coverage_analysis_seconds"] == (0.5, "s")
        assert totals["coverage_tracing_seconds"] == (0.0, "s")  # same recorded durations
    finally:
        ledger.close()


def test_an_older_ledger_loses_the_passwords_its_runs_stored(tmp_path: Path) -> None:
    """Migration 13 masks a ledger password that runs recorded before every URL form was
    masked kept in their stored configuration; nothing else of the run changes."""
    import json
    import sqlite3

    from uetf_core.ledger.migrations import SCHEMA_VERSION

    path = tmp_path / "l.db"
    ledger = open_ledger(str(path))
    secret = "postgresql://u@db.example:5432/l?password=S3cret-x&sslmode=require"
    ledger.create_run(
        NewRun(
            "20261101T000000-aaaaaa",
            "passed",
            1.0,
            1,
            "h",
            "/r",
            "0",
            {"ledger": secret, "batch_size": 7},
        )
    )
    ledger.close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 12")
    ledger = open_ledger(str(path))
    assert ledger.schema_version() == SCHEMA_VERSION
    config = ledger.run_config("20261101T000000-aaaaaa")
    ledger.close()
    assert config is not None and config["batch_size"] == 7
    assert "S3cret-x" not in json.dumps(config) and "sslmode=require" in config["ledger"]
    with sqlite3.connect(path) as db:  # the file as it is at rest, the log written back
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert b"S3cret-x" not in path.read_bytes()
