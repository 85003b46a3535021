"""The history, cost, planning and merging commands, run in-process on ledgers made here."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import record_run
from uetf_core.cli import main
from uetf_core.ledger import open_ledger


@pytest.fixture
def ledger_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Three runs: a flaky test flips between the last two (same commit, none recorded)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("UETF_LEDGER", raising=False)
    passing = [f"t.py::t{i}" for i in range(6)]
    for failing in ([], ["t.py::flaky"], []):
        names = passing + ([] if failing else ["t.py::flaky"])
        record_run(tmp_path, names, failing).ledger.close()
    return tmp_path / ".ledger" / "uetf.db"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status = main(list(args))
    return status, capsys.readouterr().out


def test_flaky_history_costs_plan(ledger_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, "flaky")
    assert status == 0 and "no flaky test" in out  # no commit recorded: nothing to compare
    ledger = open_ledger(str(ledger_path))
    runs = [r["run_id"] for r in ledger.list_runs()]
    for run_id in reversed(runs):  # the three runs tested one commit
        ledger.set_commit(run_id, "c0ffee", "main")
        ledger.record_flips(run_id)
    ledger.close()
    status, out = run(capsys, "flaky")
    assert status == 0 and "66.7%  2/3  t.py::flaky" in out
    assert "t.py::flaky went wrong" in out
    status, out = run(capsys, "history", "t.py::flaky", "--limit", "5")
    assert status == 0 and out.startswith("t.py::flaky: 3 runs")
    assert [line.split()[3] for line in out.splitlines()[1:]] == ["passed", "failed", "passed"]
    status, out = run(capsys, "history", "t.py::t1", "--json")
    assert len(json.loads(out)) == 3
    status, out = run(capsys, "costs", "--by", "test", "--limit", "3")
    assert status == 0 and "cpu_seconds" in out and "... 4 more (--top N shows more)" in out
    status, out = run(capsys, "costs", runs[1], "--json", "--by", "module")
    document = json.loads(out)
    assert document["groups"][0]["module"] == "t.py" and document["groups"][0]["tests"] == 7
    status, out = run(capsys, "plan", "--shards", "2")
    assert status == 0 and "7 tests" in out and out.count("shard ") == 3
    status, out = run(capsys, "plan", "--shards", "3", "--json")
    assert sorted(len(s["tests"]) for s in json.loads(out)) == [2, 2, 3]
    status, out = run(capsys, "runs", "--since", "2000-01-01")
    assert status == 0 and len(out.splitlines()) == 4
    status, out = run(capsys, "watch")
    assert status == 0 and "passed; exit 0" in out


def test_prune_merge_report_and_watch(
    ledger_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "copy.db"
    shutil.copyfile(ledger_path, copy)
    status, out = run(capsys, "prune", "--keep", "1", "--dry-run")
    assert status == 0 and out.startswith("would delete 2 runs")
    status, out = run(capsys, "prune", "--keep", "1")
    assert status == 0 and "deleted 2 runs" in out and "MB is now free" in out
    target = tmp_path / "merged.db"
    status, out = run(capsys, "merge", "--into", str(target), str(copy), str(ledger_path))
    assert status == 0 and "3 runs added" in out and "0 runs added, 1 already present" in out
    status, out = run(capsys, "report", "--ledger", str(target), "--format", "markdown")
    assert status == 0 and out.startswith("<!-- uetf-report -->")
    status, out = run(
        capsys,
        "report",
        "--ledger",
        str(target),
        "--format",
        f"html:{tmp_path / 'r.html'}",
        "--format",
        "github",
    )
    assert status == 0 and (tmp_path / "r.html").is_file()


def test_workstream_gate_in_process(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    for k, tests in enumerate((["t.py::a", "t.py::b"], ["t.py::c"]), start=1):
        recorder = record_run(tmp_path, tests, [], shard=f"{k}/2", workstream="b-1")
        recorder.ledger.add_step("b-1", "test", recorder.run_id, f"{k}/2")
        recorder.ledger.set_step_state(recorder.run_id, "passed")
        recorder.ledger.close()
    status, out = run(
        capsys,
        "gate",
        "--workstream",
        "b-1",
        "--expect-shards",
        "2",
        "--report",
        f"json:{tmp_path / 'ws.json'}",
    )
    assert status == 0, out
    assert "missing_shards" in out and "collected 3: 3 passed" in out
    assert json.loads((tmp_path / "ws.json").read_text())["totals"]["passed"] == 3
    status, out = run(capsys, "gate", "--workstream", "b-1", "--expect-shards", "3")
    assert status == 6 and "uetf: phase test: shard 3/3 is missing" in out
    status, out = run(capsys, "gate")  # the verdict run, judged again from the ledger
    assert status == 6 and "missing_shards" in out
