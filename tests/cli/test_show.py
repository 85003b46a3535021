"""uetf show: what the gates judged, where error messages send the user to look."""

from __future__ import annotations

import json

from conftest import git, run_pytest, run_uetf

CORE = """\
def add(a, b):
    return a + b


def unused(x):
    if x:
        return 1
    return 0
"""
OTHER = """\
def half(x):
    return x / 2
"""
CHANGED = (
    CORE
    + """

def added_and_tested(x):
    return x * 2


def added_untested(x):
    y = x + 1
    return y
"""
)
TESTS = """\
from app.core import add
from app.other import half


def test_add():
    assert add(1, 2) == 3


def test_half():
    assert half(4) == 2
"""
NEW_TESTS = """\
from app.core import added_and_tested


def test_added():
    assert added_and_tested(2) == 4


def test_broken():
    assert added_and_tested(1) == 3
"""


def test_show_gives_commit_baseline_coverage_patch_and_failures(git_project) -> None:  # type: ignore[no-untyped-def]
    """After a run on a change, uetf show names its commit, baseline, coverage and patch lines."""
    root = git_project(
        {"app/__init__.py": "", "app/core.py": CORE, "app/other.py": OTHER, "test_app.py": TESTS}
    )
    assert run_pytest(root, "--uetf", "--uetf-cov=app").returncode == 0  # the baseline, on main
    git(root, "checkout", "-q", "-b", "feature")
    (root / "app" / "core.py").write_text(CHANGED)
    (root / "test_new.py").write_text(NEW_TESTS)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "change")
    head = git(root, "rev-parse", "HEAD").strip()
    done = run_pytest(root, "--uetf", "--uetf-cov=app", "--uetf-base=main")
    assert done.returncode == 1, done.stdout + done.stderr
    summary = json.loads(run_uetf(root, "show", "--json").stdout)
    baseline = summary["baseline_run_id"]
    assert baseline is not None

    shown = run_uetf(root, "show")
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert f"commit    {head[:12]}" in out
    assert f"baseline  {baseline}\n" in out
    total = summary["coverage"]["percent"]
    assert f"coverage  {total:.2f} % of {summary['coverage']['statements']} statements" in out
    # The files with the lowest coverage first, with the lines they did not run.
    lowest = out.split("lowest ", 1)[1].splitlines()
    assert lowest[0] == "1 of 3 files:"
    assert lowest[1].split() == ["app/core.py", "54.55", "%", "not", "run:", "6-8,", "16-17"]
    # The change: against main, 3 of its 5 measured changed lines covered, the rest listed.
    assert "patch     against main (merge base " in out
    assert ": 60.00 % of 5 changed lines covered" in out
    assert "  changed lines not covered:\n  app/core.py  16-17\n" in out
    assert "new failures (1):\n  test_new.py::test_broken failed: " in out
    assert "assert 2 == 3 (test_new.py:9)" in out


def test_show_says_what_is_missing(git_project) -> None:  # type: ignore[no-untyped-def]
    """A run without coverage or a change says so instead of leaving the lines out."""
    root = git_project({"test_a.py": "def test_a(): pass\n"})
    assert run_pytest(root, "--uetf").returncode == 0
    out = run_uetf(root, "show").stdout
    assert "coverage  - (not measured; run with --uetf-cov or cov_source)" in out
    assert "baseline  - (" in out
    assert "failures" not in out
