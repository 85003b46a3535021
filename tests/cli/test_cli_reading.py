"""The reading commands: history by pattern, costs in human units, and --json by schema."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import record_run
from uetf_core.cli import main


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two runs of tests in two modules; the failing one is the slowest by wall time."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("UETF_LEDGER", raising=False)
    passing = ["tests/test_api.py::test_get", "tests/test_api.py::test_post", "test_db.py::test_q"]
    for _ in range(2):
        record_run(tmp_path, passing, ["test_db.py::test_slow"]).ledger.close()
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_history_by_substring_lists_matches(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A substring naming several tests lists them with their run counts and exits 0."""
    status, out, _ = run(capsys, "history", "test_api")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].startswith("2 tests match 'test_api'")
    assert [line.split() for line in lines[1:]] == [
        ["2", "runs", "tests/test_api.py::test_get"],
        ["2", "runs", "tests/test_api.py::test_post"],
    ]


def test_history_by_glob_with_one_match_shows_it(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A glob that names one test shows that test's history."""
    status, out, _ = run(capsys, "history", "*::test_p?st")
    assert status == 0
    assert out.startswith("tests/test_api.py::test_post: 2 runs, newest first")
    assert [line.split()[3] for line in out.splitlines()[1:]] == ["passed", "passed"]


def test_history_exact_id_wins_over_longer_ones(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An exact node id shows that test even when it is also part of other ids."""
    record_run(project, ["test_db.py::test_q2"], []).ledger.close()
    status, out, _ = run(capsys, "history", "test_db.py::test_q")
    assert status == 0 and out.startswith("test_db.py::test_q: 2 runs")


def test_history_without_match_is_one_line_exit_4(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A pattern no recorded test matches is one line on stderr and exit 4."""
    status, out, err = run(capsys, "history", "nothing_like_it")
    assert status == 4 and out == ""
    assert err.count("\n") == 1 and "nothing_like_it" in err


def test_costs_in_human_units_sorted_and_topped(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Costs read in ms, sort by wall (the slowest first) or CPU, and --top cuts the list."""
    status, out, _ = run(capsys, "costs", "--by", "test", "--top", "2")
    assert status == 0
    rows = out.splitlines()
    assert "0.00" not in out and " ms" in out  # no raw floats of seconds
    header = next(i for i, line in enumerate(rows) if line.startswith("test "))
    assert rows[header + 1].split()[:4] == ["test_db.py::test_slow", "1", "4.0", "ms"]
    assert len(rows) == header + 4 and rows[-1] == "... 2 more (--top N shows more)"
    status, out, _ = run(capsys, "costs", "--by", "test", "--sort", "cpu")
    rows = out.splitlines()
    assert rows[-1].split()[0] == "test_db.py::test_slow"  # no CPU time recorded: last


def test_costs_sort_by_unknown_cost_is_one_line(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Sorting by a cost the run does not have names the choices and exits 4."""
    status, _, err = run(capsys, "costs", "--sort", "tokens")
    assert status == 4 and err.count("\n") == 1
    assert "'tokens'" in err and "wall, cpu, memory" in err


@pytest.mark.parametrize(
    ("args", "schema"),
    [
        (("show", "--json"), "run_summary"),
        (("runs", "--json"), "runs"),
        (("history", "test_api", "--json"), "history"),
        (("flaky", "--json"), "flaky_tests"),
        (("costs", "--by", "worker", "--json"), "costs"),
        (("costs", "--by", "test", "--sort", "cpu", "--json"), "costs"),
    ],
)
def test_json_matches_its_schema(
    project: Path,
    capsys: pytest.CaptureFixture[str],
    validate: Callable[[str, Any], None],
    args: tuple[str, ...],
    schema: str,
) -> None:
    """Each reading command's --json output validates against its schema in schema/."""
    from uetf_core.ledger import open_ledger

    record_run(project, ["test_db.py::test_slow"], []).ledger.close()  # it passes now
    ledger = open_ledger(str(project / ".ledger" / "uetf.db"))
    for listed in reversed(ledger.list_runs()):  # one commit: test_slow flipped
        ledger.set_commit(listed["run_id"], "c0ffee", "main")
        ledger.record_flips(listed["run_id"])
    ledger.close()
    status, out, _ = run(capsys, *args)
    assert status == 0
    document = json.loads(out)
    assert document  # not an empty list or object
    validate(schema, document)


def test_costs_sort_by_memory_of_real_workers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a real run on two xdist workers, --sort memory orders workers by peak MB."""
    from conftest import run_pytest

    (tmp_path / "pyproject.toml").write_text("[tool.uetf]\n")
    (tmp_path / "test_m.py").write_text("def test_a():\n    pass\n\ndef test_b():\n    pass\n")
    done = run_pytest(tmp_path, "-p", "xdist", "-n", "2", "--uetf", "-q")
    assert done.returncode == 0, done.stdout + done.stderr
    monkeypatch.chdir(tmp_path)
    status, out, _ = run(capsys, "costs", "--by", "worker", "--sort", "memory", "--json")
    groups = json.loads(out)["groups"]
    peaks = [group["custom"]["peak_rss_mb"]["amount"] for group in groups]
    assert status == 0 and len(peaks) == 3 and peaks == sorted(peaks, reverse=True)
    status, out, _ = run(capsys, "costs", "--by", "worker", "--sort", "memory")
    assert " MB" in out and "peak_rss_mb" in out
