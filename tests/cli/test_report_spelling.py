"""One spelling of a report: FORMAT[:PATH] through --report or --format, for report and gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import record_run
from uetf_core.cli import main


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """One recorded run with a failing test."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("UETF_LEDGER", raising=False)
    record_run(tmp_path, ["t.py::a"], ["t.py::b"]).ledger.close()
    return tmp_path


def test_report_takes_report_and_format_alike(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`uetf report --report X` writes what `uetf report --format X` writes."""
    assert main(["report", "--format", "markdown"]) == 0
    by_format = capsys.readouterr().out
    assert main(["report", "--report", "markdown"]) == 0
    assert capsys.readouterr().out == by_format and by_format.startswith("<!-- uetf-report -->")


@pytest.mark.parametrize("flag", ["--report", "--format"])
def test_gate_writes_reports_of_a_run(
    project: Path, capsys: pytest.CaptureFixture[str], flag: str
) -> None:
    """`uetf gate RUN --report json:PATH` (or --format) writes the report and keeps the exit."""
    target = project / "out" / "verdict.json"
    target.parent.mkdir()
    assert main(["gate", "last", flag, f"json:{target}"]) == 1
    assert "uetf: wrote gate_report report " in capsys.readouterr().out
    assert json.loads(target.read_text())["run_id"]


def test_gate_refuses_a_bad_report_in_one_line(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A report format gate does not know is one line on stderr and exit 4, before judging."""
    assert main(["gate", "last", "--report", "pdf:x.pdf"]) == 4
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and "pdf" in captured.err
