"""--uetf-select in this process (pytester's runpytest), over a baseline written through
the ledger: deselection, carried results and the terminal lines of the impact plugin."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import git
from uetf_core.impact.dependencies import BlockIndex
from uetf_core.impact.environment import current_environment
from uetf_core.impact.recorder import EnteredCode
from uetf_core.impact.stored import RecordedRun
from uetf_core.ledger import open_ledger

SOURCE = "def add(x, y):\n    return x + y\n\n\ndef sub(x, y):\n    return x - y\n"
TESTS = (
    "from calc import add, sub\n\n\ndef test_add():\n    assert add(1, 2) == 3\n\n\n"
    "def test_sub():\n    assert sub(3, 2) == 1\n"
)
ENTERED = {
    "test_calc.py::test_add": [("calc.py", 1, "add"), ("test_calc.py", 4, "test_add")],
    "test_calc.py::test_sub": [("calc.py", 5, "sub"), ("test_calc.py", 8, "test_sub")],
}


@pytest.fixture
def project(pytester: pytest.Pytester) -> Path:
    root = pytester.path
    pytester.makepyfile(calc=SOURCE, test_calc=TESTS)
    (root / ".gitignore").write_text(".ledger/\n__pycache__/\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.invalid")
    git(root, "config", "user.name", "UETF tests")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    return root


def seed_baseline(root: Path) -> str:
    """The last run's dependencies, as a recorder would have stored them."""
    index = BlockIndex(root)
    tests = {
        node_id: index.dependencies(EnteredCode(*e) for e in entered)
        for node_id, entered in ENTERED.items()
    }
    paths = ["calc.py", "test_calc.py"]
    recorded = RecordedRun(
        "seeded", current_environment(), tests, index.import_time(paths), index.imports(paths)
    )
    ledger = open_ledger(str(root / ".ledger" / "uetf.db"))
    try:
        run_id = str(ledger.find_run("last")["run_id"])
        ledger.save_dependencies(run_id, recorded)
    finally:
        ledger.close()
    return run_id


def test_selection_deselects_and_carries_in_process(
    pytester: pytest.Pytester, project: Path
) -> None:
    """An edit of sub runs test_sub alone; test_add is deselected and carried."""
    assert pytester.runpytest("--uetf", "--uetf-select=off").ret == 0
    baseline = seed_baseline(project)
    (project / "calc.py").write_text(SOURCE.replace("x - y", "-(y - x)"))
    result = pytester.runpytest("--uetf", "--uetf-select=affected", "-p", "no:randomly")
    assert result.ret == 0
    result.assert_outcomes(passed=1, deselected=1)
    result.stdout.fnmatch_lines(
        [f"uetf impact: 1 tests ran, 1 carried from baseline run {baseline}"]
    )


def test_shadow_and_fallback_lines_in_process(pytester: pytest.Pytester, project: Path) -> None:
    """Shadow mode says what selection would leave out; a data file sends it to the whole
    suite, with the reason; nothing changed carries every test and passes."""
    assert pytester.runpytest("--uetf", "--uetf-select=off").ret == 0
    seed_baseline(project)
    result = pytester.runpytest("--uetf", "--uetf-select=affected")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["uetf impact: 0 tests ran, 2 carried from baseline run *"])
    (project / "calc.py").write_text(SOURCE.replace("x - y", "-(y - x)"))
    shadow = pytester.runpytest("--uetf", "--uetf-select=shadow")
    shadow.assert_outcomes(passed=2)
    shadow.stdout.fnmatch_lines(
        ["uetf impact (shadow): selection would have run 1 tests*left out 1*"]
    )
    (project / "data.json").write_text("{}\n")
    whole = pytester.runpytest("--uetf", "--uetf-select=affected")
    whole.assert_outcomes(passed=2)
    whole.stdout.fnmatch_lines(
        ["uetf impact: the whole suite ran: a changed file cannot be mapped*(data.json)"]
    )
