"""Every ``uetf`` subcommand against both ledger back ends, SQLite and PostgreSQL.

The ledger holds four runs of one commit: a test that fails in one run and passes
in the next (a flip), a test that passed on its second attempt (a retry), coverage,
and a workstream step. Each subcommand of ``uetf --help`` then runs with ``--ledger``
on it and must exit as documented with sane output; its ``--json`` output validates
against its schema where there is one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import record_run
from uetf_core.cli import build_parser, main
from uetf_core.config import CliOptions, resolve_config
from uetf_core.ledger import open_ledger
from uetf_core.records import ErrorCapture, ExecutionRecord, PhaseResult
from uetf_core.run import RunRecorder
from uetf_core.states import RunState, WorkerState

PASSING = ["t.py::a", "t.py::b", "u.py::c"]
FLIPPING = "t.py::flips"
RETRIED = "u.py::retried"
COVERAGE = {
    "percent": 75.0,
    "n_statements": 4,
    "n_missing": 1,
    "n_branches": 0,
    "n_partial_branches": 0,
    "core": "ctracer",
    "branch": False,
    "files": [
        {
            "path": "calc.py",
            "statements": [1, 2, 4, 5],
            "executed": [1, 2, 4],
            "n_branches": 0,
            "n_partial_branches": 0,
            "n_missing_branches": 0,
        }
    ],
}


def _retried_run(root: Path, location: str) -> str:
    """A run in which RETRIED failed its first attempt and passed its second."""
    config = resolve_config(root, {}, CliOptions(ledger=location), env={})
    recorder = RunRecorder(open_ledger(config.ledger), config)
    recorder.start()
    recorder.transition(RunState.COLLECTING)
    recorder.add_tasks([*PASSING, RETRIED])
    recorder.transition(RunState.RUNNING)
    recorder.worker("controller", WorkerState.READY)
    recorder.worker("controller", WorkerState.BUSY)
    ok, bad = PhaseResult("passed", 0.001), PhaseResult("failed", 0.002)
    for node_id in PASSING:
        recorder.add_record(
            ExecutionRecord(node_id, 1, "controller", "passed", ok, ok, ok, 0.003, 1.0, 1.1)
        )
    error = ErrorCapture.bounded(RETRIED, 1, "call", "OSError", "port busy", "u.py", 3, "")
    recorder.add_record(
        ExecutionRecord(RETRIED, 1, "controller", "rerun", ok, bad, ok, 0.01, 1.0, 1.1, error=error)
    )
    recorder.add_record(
        ExecutionRecord(RETRIED, 2, "controller", "passed", ok, ok, ok, 0.01, 1.2, 1.3)
    )
    recorder.finish(0)
    recorder.ledger.close()
    return recorder.run_id


@pytest.fixture
def recorded(
    ledger_location: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """Four runs of one commit in the ledger: a flip, a retry, coverage, a workstream."""
    monkeypatch.chdir(tmp_path)
    for name in ("UETF_LEDGER", "UETF_PG_RETRIES"):
        monkeypatch.delenv(name, raising=False)
    run_ids = []
    for failing in ([FLIPPING], []):
        recorder = record_run(
            tmp_path, [*PASSING, *([] if failing else [FLIPPING])], failing, ledger=ledger_location
        )
        recorder.ledger.close()
        run_ids.append(recorder.run_id)
    run_ids.append(_retried_run(tmp_path, ledger_location))
    sharded = record_run(tmp_path, PASSING, [], ledger=ledger_location, workstream="ci-1")
    sharded.ledger.close()
    run_ids.append(sharded.run_id)
    ledger = open_ledger(ledger_location)
    try:
        for run_id in run_ids:  # one commit: the flip is a flip
            ledger.set_commit(run_id, "c0ffee" * 6 + "abcd", "main")
            ledger.record_flips(run_id)
        ledger.save_coverage(run_ids[1], COVERAGE)
        ledger.add_step("ci-1", "test", sharded.run_id, None, ())  # as the plugin does
    finally:
        ledger.close()
    other = tmp_path / "other"  # a SQLite ledger of another CI job: merge, push, migrate
    record_run(other, ["v.py::x"], ["v.py::y"]).ledger.close()
    return {"location": ledger_location, "runs": run_ids, "other": other / ".ledger" / "uetf.db"}


def _uetf(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _subcommands() -> set[str]:
    """The subcommands ``uetf --help`` lists (coverage's actions as ``coverage ACTION``)."""
    parser = build_parser()
    (sub,) = [a for a in parser._actions if a.dest == "command"]
    names = set()
    for name, child in sub.choices.items():  # type: ignore[union-attr]
        actions = [a for a in child._actions if getattr(a, "choices", None) and a.dest != "by"]
        nested = [a for a in actions if a.dest.endswith("_command")]
        names |= {f"{name} {n}" for n in nested[0].choices} if nested else {name}
    return names


def test_every_subcommand_on_both_back_ends(
    recorded: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    validate: Callable[[str, Any], None],
    tmp_path: Path,
) -> None:
    """Each subcommand of uetf --help runs on this back end with exit 0 (gate: the run's
    own status) and sane output, its JSON valid against its schema."""
    at = ("--ledger", recorded["location"])
    first, second, retried, sharded = recorded["runs"]
    tried: set[str] = set()

    def ok(*argv: str, status: int = 0) -> str:
        got, out, err = _uetf(capsys, *argv)
        assert got == status, (argv, out, err)
        assert "Traceback (most recent call last)" not in out + err and "uetf: uetf:" not in err
        tried.add(argv[0] if argv[0] != "coverage" else " ".join(argv[:2]))
        return out

    assert len(ok("runs", *at).splitlines()) == 1 + 4
    for summary in json.loads(ok("runs", "--json", *at)):
        validate("run_summary", summary)
    assert ok("runs", "--branch", "main", *at).count("c0ffee") == 0  # ids, not commits
    assert f"run       {sharded}" in ok("show", "last", *at)
    validate("run_summary", json.loads(ok("show", first, "--json", *at)))
    assert "exit 1" in ok("gate", first, *at, status=1)
    assert "exit 0" in ok("gate", second, *at)
    assert "workstream ci-1" in ok("gate", "--workstream", "ci-1", *at)
    assert f"run {second} passed" in ok("watch", second, "--timeout", "1", *at)
    assert " wall " in ok("costs", "last", *at)
    costs = json.loads(ok("costs", first, "--json", "--by", "test", *at))
    assert costs["run_id"] == first and len(costs["groups"]) == 4

    flaky = {f["node_id"]: f for f in json.loads(ok("flaky", "--json", *at))}
    assert set(flaky) == {FLIPPING, RETRIED}
    assert (flaky[FLIPPING]["flips"], flaky[FLIPPING]["retries"]) == (1, 0)
    assert (flaky[RETRIED]["flips"], flaky[RETRIED]["retries"]) == (1, 1)
    assert flaky[FLIPPING]["last_failure"]["run_id"] == first
    assert flaky[RETRIED]["last_failure"]["run_id"] == retried
    assert f"{FLIPPING}; last failed" in ok("flaky", *at)

    assert ok("history", FLIPPING, *at).startswith(f"{FLIPPING}: 2 runs")
    outcomes = [row["outcome"] for row in json.loads(ok("history", FLIPPING, "--json", *at))]
    assert outcomes == ["passed", "failed"]
    assert "2 shards" in ok("plan", "--shards", "2", *at)
    shards = json.loads(ok("plan", "--shards", "2", "--json", *at))
    assert sorted(t for s in shards for t in s["tests"]) == PASSING  # the newest run's

    report = tmp_path / "r.json"
    ok("report", first, "--format", f"json:{report}", "--format", "markdown", *at)
    validate("gate_report", json.loads(report.read_text()))
    data = tmp_path / "exported.coverage"
    assert "75.00% covered" in ok("coverage", "export", second, str(data), *at)
    assert data.is_file()
    assert "integrity       ok" in ok("doctor", *at)
    assert "no baseline run to select from (not a git work tree)" in ok("impact", *at)
    assert "no run has selected yet" in ok("impact", "stats", *at)

    assert "1 runs added" in ok("merge", "--into", recorded["location"], str(recorded["other"]))
    assert "0 runs sent, 1 already there" in ok("push", str(recorded["other"]), *at)
    migrated = ok("migrate", "--from", f"sqlite:{recorded['other']}", "--to", recorded["location"])
    assert "0 runs copied, 1 already there" in migrated
    # Four runs of branch main, and two of none (merged, the workstream's verdict):
    # two of main's go.
    assert len(ok("runs", *at).splitlines()) == 1 + 6
    assert "would delete 2 runs" in ok("prune", "--keep", "2", "--dry-run", *at)
    pruned = ok("prune", "--keep", "2", "--vacuum", *at).splitlines()
    # The report the first run wrote covered only runs now gone: its record goes too.
    assert pruned[0].startswith("deleted 2 runs (") and "1 shared rows" in pruned[0]
    server = recorded["location"].startswith("postgresql")
    assert pruned[1].startswith("VACUUM (ANALYZE) done" if server else "VACUUM done; ledger file")
    assert len(ok("runs", *at).splitlines()) == 1 + 4
    assert tried == _subcommands()


def test_every_error_is_one_line_with_the_prefix_once(
    recorded: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Each refusal of a subcommand, on this back end, is one line on stderr starting
    'uetf: ' once (never 'uetf: uetf:'), with a documented non-zero exit status."""
    at = ("--ledger", recorded["location"])
    _, second, _, _ = recorded["runs"]
    a_file = tmp_path / "a-file"
    a_file.write_text("not a ledger\n")
    failing = [
        ("show", "no-such-run", *at),
        ("history", "no.py::such_test", *at),
        ("gate", "--workstream", "no-such-build", *at),
        ("report", "last", "--format", f"json:{a_file}/r.json", *at),
        ("coverage", "export", "last", str(tmp_path / "c"), *at),
        ("coverage", "export", second, str(tmp_path / "no" / "folder" / "c"), *at),
        ("merge", "--into", recorded["location"], str(tmp_path / "missing.db")),
        ("merge", "--into", recorded["location"], str(a_file)),
        ("push", str(tmp_path / "missing.db"), *at),
        ("migrate", "--from", f"sqlite:{tmp_path / 'missing.db'}", "--to", recorded["location"]),
        ("runs", "--ledger", "postgresql:/u:pw@127.0.0.1:1/db"),
        ("runs", "--ledger", str(tmp_path / "missing.db")),
        ("doctor", "--ledger", str(a_file / "uetf.db")),
    ]
    for argv in failing:
        status, out, err = _uetf(capsys, *argv)
        assert status in (4, 7), (argv, out, err)
        (line,) = err.splitlines()
        assert line.startswith("uetf: ") and "uetf: uetf:" not in line, (argv, line)
