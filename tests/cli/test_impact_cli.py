"""``uetf impact`` and ``uetf impact stats`` on a real project with recorded runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import make_repo, run_pytest, run_uetf
from uetf_core.impact.stats import impact_stats, wilson_interval
from uetf_core.schemas import errors_of

PROJECT = {
    "pyproject.toml": "[tool.uetf]\ncov_source = ['pkg']\nselect = 'record'\n",
    ".gitignore": ".ledger/\n__pycache__/\n.coverage*\n",
    "pkg/__init__.py": "",
    "pkg/a.py": "def add(x, y):\n    return x + y\n\n\ndef sub(x, y):\n    return x - y\n",
    "tests/test_a.py": (
        "from pkg.a import add, sub\n\n\ndef test_add():\n    assert add(1, 2) == 3\n\n\n"
        "def test_sub():\n    assert sub(3, 2) == 1\n"
    ),
}
ENV = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = make_repo(tmp_path / "project", PROJECT)
    done = run_pytest(root, "-p", "pytest_uetf.plugin", "--uetf", env=ENV)
    assert done.returncode == 0, done.stdout + done.stderr
    return root


def edit_sub(root: Path, body: str) -> None:
    path = root / "pkg" / "a.py"
    path.write_text(path.read_text().replace("return x - y", body))


def test_impact_lists_what_would_run_and_why(project: Path) -> None:
    """Without running anything, each selected test is listed with its reason."""
    edit_sub(project, "return -(y - x)")
    done = run_uetf(project, "impact")
    assert done.returncode == 0, done.stderr
    assert "1 file(s) changed since" in done.stdout
    assert "would run 1 of 2 tests:" in done.stdout
    assert "tests/test_a.py::test_sub  (code it ran changed: pkg/a.py::sub)" in done.stdout
    assert "test_add" not in done.stdout


def test_impact_json_validates(project: Path) -> None:
    """--format=json prints an impact_selection document."""
    edit_sub(project, "return -(y - x)")
    done = run_uetf(project, "impact", "--format=json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert errors_of("impact_selection", document) == []
    assert document["changed_files"] == ["pkg/a.py"]
    assert [t["node_id"] for t in document["selected"]] == ["tests/test_a.py::test_sub"]
    assert document["unselected"] == ["tests/test_a.py::test_add"]
    broken = {**document, "selected": [{"node_id": "x", "reason": "GUESSED"}]}
    assert errors_of("impact_selection", broken)


def test_impact_says_why_the_whole_suite_would_run(project: Path) -> None:
    """A change of the packaging file sends selection to the whole suite, named."""
    with (project / "pyproject.toml").open("a") as file:
        file.write("\n[project]\nname = 'demo'\n")
    done = run_uetf(project, "impact")
    assert done.returncode == 0, done.stderr
    assert (
        "the whole suite would run (2 tests): a packaging or configuration file changed"
        " (pyproject.toml)" in done.stdout
    )


def test_impact_without_a_baseline(tmp_path: Path) -> None:
    """A ledger without dependency data: the whole suite, and how to record a baseline."""
    root = make_repo(tmp_path / "bare", {**PROJECT, "pyproject.toml": "[tool.uetf]\n"})
    assert run_pytest(root, "-p", "pytest_uetf.plugin", "--uetf", env=ENV).returncode == 0
    done = run_uetf(root, "impact")
    assert done.returncode == 0, done.stderr
    assert "no baseline run with dependency data" in done.stdout


def test_stats_measure_recall_in_shadow_runs(project: Path) -> None:
    """A shadow run whose selected test fails counts as a failure caught."""
    edit_sub(project, "return x - y + 1")  # a fault: test_sub fails, and is selected
    done = run_pytest(
        project, "-p", "pytest_uetf.plugin", "--uetf", "--uetf-select=shadow", env=ENV
    )
    assert done.returncode != 0
    stats = run_uetf(project, "impact", "stats", "--format=json")
    assert stats.returncode == 0, stats.stderr
    document = json.loads(stats.stdout)
    assert errors_of("impact_stats", document) == []
    assert (document["runs"], document["shadow_runs"]) == (1, 1)
    assert (document["failures"], document["failures_caught"], document["recall"]) == (1, 1, 1.0)
    assert document["share_selected"] == 0.5
    low, high = document["recall_interval"]
    assert 0.0 < low < 1.0 and high == 1.0
    text = run_uetf(project, "impact", "stats")
    assert "recall:         100.0% (1 of 1 failures in shadow runs" in text.stdout


@pytest.mark.parametrize(
    ("hits", "total", "low", "high"),
    [(0, 0, None, None), (10, 10, 0.7225, 1.0), (5, 10, 0.2366, 0.7634), (0, 4, 0.0, 0.4899)],
)
def test_wilson_interval(hits: int, total: int, low: float | None, high: float | None) -> None:
    """The 95% Wilson interval of a proportion, as tabulated."""
    found = wilson_interval(hits, total)
    if low is None:
        assert found is None
    else:
        assert found is not None
        assert found == (pytest.approx(low, abs=1e-4), pytest.approx(high, abs=1e-4))


def test_stats_count_recall_only_in_shadow_runs() -> None:
    """Failures of runs that carried tests say nothing of misses: left out of recall."""
    row = {
        "whole_suite": None,
        "selected": 2,
        "unselected": 8,
        "unselected_seconds": 8.0,
        "seconds": 10.0,
        "failures": 1,
        "failures_selected": 1,
    }
    stats = impact_stats([{**row, "mode": "affected"}, {**row, "mode": "shadow"}])
    assert (stats.share_selected, stats.time_saved) == (0.2, 0.8)
    assert (stats.failures, stats.failures_caught) == (1, 1)


def test_a_comment_in_pyproject_changes_nothing(project: Path) -> None:
    """An edit no test can see (a comment, a linter's table) leaves selection at work."""
    with (project / "pyproject.toml").open("a") as file:
        file.write("# a note\n\n[tool.ruff]\nline-length = 100\n")
    done = run_uetf(project, "impact")
    assert done.returncode == 0, done.stderr
    assert "would run 0 of 2 tests:" in done.stdout
