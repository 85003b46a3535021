"""One run's impact analysis driven without pytest: record, select, carry, flaky evidence,
and the ``uetf impact`` command, in this process over a real git repository."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from conftest import make_repo
from uetf_core.cli import main
from uetf_core.config import CliOptions, resolve_config
from uetf_core.impact.recorder import EnteredCode
from uetf_core.impact.run import ImpactRun, reason_text, to_wire
from uetf_core.ledger import open_ledger
from uetf_core.records import ErrorCapture, ExecutionRecord, PhaseResult
from uetf_core.schemas import errors_of
from uetf_core.session import RunSession

SOURCE = "def add(x, y):\n    return x + y\n\n\ndef sub(x, y):\n    return x - y\n"
TESTS = "from a import add, sub\n\n\ndef test_add():\n    pass\n\n\ndef test_sub():\n    pass\n"
ADD, SUB = "test_a.py::test_add", "test_a.py::test_sub"
# What each test entered, as a recorder reports it (file, first line, qualname).
ENTERED = {
    ADD: [("a.py", 1, "add"), ("test_a.py", 4, "test_add")],
    SUB: [("a.py", 5, "sub"), ("test_a.py", 8, "test_sub")],
}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(
        tmp_path / "p", {"a.py": SOURCE, "test_a.py": TESTS, ".gitignore": ".ledger/\n"}
    )


def run(
    root: Path,
    mode: str | None,
    ran: Sequence[str],
    failing: Sequence[str] = (),
    removed: Sequence[str] = (),
) -> tuple[ImpactRun, str]:
    """One run through RunSession with impact analysis, as the plugin drives it."""
    config = resolve_config(root, {}, CliOptions(gates=("test_count_drop<=0",)), env={})
    session = RunSession(config, root)
    impact = ImpactRun(root, mode)
    session.before_judging = impact.finish
    recorder = session.begin()
    if mode is not None:
        impact.select(recorder.ledger, "HEAD", None, recorder.run_id)
    session.collected([n for n in (ADD, SUB) if n not in removed])
    session.start_tests()
    session.worker_ready("controller")
    ok, bad = PhaseResult("passed", 0.001), PhaseResult("failed", 0.001)
    for node_id in ran:
        fails = node_id in failing
        error = (
            ErrorCapture.bounded(node_id, 1, "call", "AssertionError", "no", "test_a.py", 5, "")
            if fails
            else None
        )
        session.record(
            ExecutionRecord(
                node_id,
                1,
                "controller",
                "failed" if fails else "passed",
                ok,
                bad if fails else ok,
                ok,
                0.003,
                1.0,
                1.1,
                error=error,
            )
        )
    wire: dict[str, Any] = {
        "mechanism": "test recorder",
        "tests": [(n, to_wire(EnteredCode(*e) for e in ENTERED[n])) for n in ran],
        "outside": [("a.py", 1, "<module>"), ("test_a.py", 1, "<module>")],
        "collected": [ADD, SUB],
        "removed": list(removed),
    }
    impact.add_wire(wire)
    session.finish(1 if failing else 0)
    session.close()
    return impact, recorder.run_id


def test_a_run_records_then_a_change_selects_and_carries(repo: Path) -> None:
    """A recorded run is the baseline; after an edit of sub only its test runs, add's is
    carried with its result, and the run's summary and selection say so."""
    _, first = run(repo, None, [ADD, SUB])
    (repo / "a.py").write_text(SOURCE.replace("x - y", "-(y - x)"))
    probe, _ = run(repo, "affected", [], removed=[])
    assert probe.plan is not None and probe.plan.baseline_run_id == first
    assert probe.left_out_ids == {ADD}
    impact, second = run(repo, "affected", [SUB], removed=[ADD])
    assert impact.carried == 1
    ledger = open_ledger(str(repo / ".ledger" / "uetf.db"))
    try:
        records = {r["node_id"]: r for r in ledger.records(second)}
        decisions = ledger.selection_decisions(second)
        recorded = ledger.recorded_dependencies(second)
        history = ledger.selection_history(10)
    finally:
        ledger.close()
    assert records[ADD]["worker"] == "carried" and records[SUB]["worker"] == "controller"
    assert decisions[SUB][0] == "BLOCK_CHANGED" and decisions[ADD] == (None, None)
    assert reason_text(decisions[SUB][0]) == "code it ran changed"
    assert reason_text(None) == "not selected"
    assert recorded is not None and set(recorded.tests) == {ADD, SUB}  # carried ones too
    assert history[0]["run_id"] == second and history[0]["unselected"] == 1


def test_a_failure_of_unchanged_code_is_likely_flaky(repo: Path) -> None:
    """A test failing with the same blocks as when it passed, the code its files run on
    import included, is named likely flaky; a change of either is a reason to fail."""
    _, first = run(repo, None, [ADD, SUB])
    impact, _ = run(repo, None, [ADD, SUB], failing=[SUB])
    # sub and test_sub, and the top levels of a.py and test_a.py (run on import)
    assert impact.likely_flaky == [(SUB, first, 4)]
    (repo / "a.py").write_text(SOURCE.replace("x - y", "y - x"))
    changed, _ = run(repo, None, [ADD, SUB], failing=[SUB])
    assert changed.likely_flaky == []


def test_a_changed_constant_its_test_reads_is_no_flaky_evidence(repo: Path) -> None:
    """A module constant is read, not entered: a test failing after it changed ran the
    same blocks, yet its failure comes from the change, and is no likely flaky one."""
    (repo / "a.py").write_text("LIMIT = 3\n\n\n" + SOURCE)
    run(repo, None, [ADD, SUB])
    (repo / "a.py").write_text("LIMIT = 2\n\n\n" + SOURCE)
    impact, _ = run(repo, None, [ADD, SUB], failing=[SUB])
    assert impact.likely_flaky == []


def test_shadow_runs_everything_and_feeds_the_stats(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A shadow run's failure of a selected test counts as caught; uetf impact and uetf
    impact stats print their documents, valid against their schemas."""
    run(repo, None, [ADD, SUB])
    (repo / "a.py").write_text(SOURCE.replace("x - y", "y - x"))
    run(repo, "shadow", [ADD, SUB], failing=[SUB])
    monkeypatch.chdir(repo)
    ledger = str(repo / ".ledger" / "uetf.db")
    assert main(["impact", "stats", "--ledger", ledger, "--format=json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert errors_of("impact_stats", stats) == []
    assert (stats["shadow_runs"], stats["failures"], stats["failures_caught"]) == (1, 1, 1)
    assert main(["impact", "stats", "--ledger", ledger]) == 0
    assert "recall:         100.0% (1 of 1 failures" in capsys.readouterr().out
    assert main(["impact", "--ledger", ledger, "--format=json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert errors_of("impact_selection", document) == []
    assert [t["node_id"] for t in document["selected"]] == [SUB]
    assert main(["impact", "--ledger", ledger]) == 0
    text = capsys.readouterr().out
    assert "would run 1 of 2 tests:" in text and "test_a.py::test_sub" in text
    (repo / "data.json").write_text("{}\n")
    assert main(["impact", "--ledger", ledger]) == 0
    assert "the whole suite would run (2 tests)" in capsys.readouterr().out
