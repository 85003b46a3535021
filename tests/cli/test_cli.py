"""The uetf command reads the ledger the plugin wrote; errors are one line and a code."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from uetf_core.cli import main
from uetf_core.ledger import SCHEMA_VERSION, open_ledger


@pytest.fixture
def recorded(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with two recorded runs: one failing a gate, one passing."""
    pytester.makepyfile("def test_a(): pass\ndef test_b(): pass")
    assert pytester.runpytest("--uetf", "--uetf-gate", "min_tests>=3").ret == 6
    assert pytester.runpytest("--uetf", "--uetf-gate", "min_tests>=2").ret == 0
    monkeypatch.chdir(pytester.path)
    return pytester.path


def test_runs_lists_newest_first(recorded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """uetf runs prints one line per run, newest first; --limit cuts the list."""
    assert main(["runs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("run ")
    assert "passed" in lines[1] and "failed" in lines[2]
    assert main(["runs", "--limit", "1", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1


def test_show_text_and_json(recorded: Path, capsys: pytest.CaptureFixture[str], validate) -> None:  # type: ignore[no-untyped-def]
    """uetf show prints the totals and gates; --json is a valid run summary."""
    assert main(["show"]) == 0
    out = capsys.readouterr().out
    assert "collected 2: 2 passed" in out
    assert "min_tests" in out
    assert main(["show", "last", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    validate("run_summary", summary)
    assert summary["gates"][0]["name"] == "min_tests"
    # All but the last character: unique, though both runs started in the same second.
    assert main(["show", summary["run_id"][:-1], "--json"]) == 0


def test_gate_repeats_the_verdict(recorded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """uetf gate evaluates again from the ledger and exits as each run did."""
    ledger = open_ledger(str(recorded / ".ledger" / "uetf.db"))
    newest, oldest = ledger.list_runs()
    assert main(["gate", newest["run_id"]]) == 0
    assert main(["gate", oldest["run_id"]]) == 6
    assert "min_tests" in capsys.readouterr().out


def test_doctor(recorded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """uetf doctor reports the schema version, integrity and run counts."""
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert f"schema version  {SCHEMA_VERSION}" in out
    assert "integrity       ok" in out
    assert "runs            2" in out


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["show", "no-such-run"], 4, "no run 'no-such-run'"),
        (["runs", "--ledger", "missing.db"], 4, "no ledger at"),
    ],
)
def test_errors_are_one_line(
    recorded: Path, capsys: pytest.CaptureFixture[str], argv: list[str], code: int, message: str
) -> None:
    """A wrong run or ledger gives one line on stderr and a documented exit code."""
    assert main(argv) == code
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_newer_ledger_refused_by_cli(recorded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every command refuses a ledger from a newer UETF with exit 7."""
    path = recorded / ".ledger" / "uetf.db"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    for command in (["runs"], ["show"], ["gate"], ["doctor"]):
        assert main(command) == 7
        assert "newer than this UETF" in capsys.readouterr().err


def test_console_script_help() -> None:
    """The installed uetf script answers --help for every command."""
    for command in ([], ["runs"], ["show"], ["gate"], ["doctor"]):
        done = subprocess.run(
            [sys.executable, "-m", "uetf_core.cli", *command, "--help"],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0
        assert "usage: uetf" in done.stdout


def test_unwritable_export_is_one_line(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exporting coverage into a folder that does not exist is one line and exit 4."""
    pytester.makepyfile(
        mod="def f():\n    return 1\n", test_mod="import mod\ndef test_f(): mod.f()"
    )
    assert pytester.runpytest_subprocess("--uetf", "--uetf-cov=mod").ret == 0
    monkeypatch.chdir(pytester.path)
    capsys.readouterr()  # only what the command itself prints counts
    assert main(["coverage", "export", "last", "no/such/dir/data"]) == 4
    err = capsys.readouterr().err
    assert "no/such/dir/data" in err and len(err.strip().splitlines()) == 1


def test_coverage_export_replaces_only_a_coverage_data_file(tmp_path: Path) -> None:
    """``uetf coverage export`` never deletes what is at its path unless it is a coverage
    data file: a project file or a folder stays as it is; an earlier export is replaced."""
    from conftest import run_pytest, run_uetf

    (tmp_path / "mod.py").write_text("def f():\n    return 1\n")
    (tmp_path / "test_mod.py").write_text("from mod import f\n\ndef test_f():\n    f()\n")
    done = run_pytest(
        tmp_path,
        "-p",
        "pytest_uetf.plugin",
        "--uetf",
        "--uetf-cov=mod",
        env={"PYTHONPATH": str(tmp_path), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    precious = tmp_path / "notes.toml"
    precious.write_text("[project]\nname = 'mine'\n")
    folder = tmp_path / "folder"
    folder.mkdir()
    for target in (precious, folder):
        refused = run_uetf(tmp_path, "coverage", "export", "last", str(target))
        assert refused.returncode == 4, refused.stdout + refused.stderr
        assert "is not a coverage data file" in refused.stderr
    assert precious.read_text() == "[project]\nname = 'mine'\n" and folder.is_dir()
    data = tmp_path / "data"
    for _ in range(2):  # written, then replaced
        exported = run_uetf(tmp_path, "coverage", "export", "last", str(data))
        assert exported.returncode == 0, exported.stderr


@pytest.mark.parametrize(
    "argv",
    [["bogus"], ["prune"], ["plan", "--shards", "0"], ["runs", "--since", "notadate"]],
)
def test_argument_errors_are_usage_errors(argv: list[str], capsys) -> None:  # type: ignore[no-untyped-def]
    """A wrong argument exits 4, as docs/exit-codes.md says of a usage error (argparse's
    own 2 means interrupted in UETF's table); --help still exits 0."""
    from uetf_core.cli import main

    assert main(argv) == 4
    assert "uetf" in capsys.readouterr().err
    assert main(["--help"]) == 0


def test_uetf_refuses_a_stale_after_that_is_not_a_finite_number(tmp_path: Path) -> None:
    """The ``uetf`` command reads ``stale_after`` as the plugin does: nan is one line, exit 4."""
    from conftest import run_uetf

    (tmp_path / "pyproject.toml").write_text("[tool.uetf]\nstale_after = nan\n")
    done = run_uetf(tmp_path, "runs")
    assert done.returncode == 4, done.stdout + done.stderr
    assert "stale_after" in done.stderr and "Traceback" not in done.stderr
