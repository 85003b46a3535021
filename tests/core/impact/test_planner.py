"""The planner's reading of git: changed files against a commit, and version-only edits."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import git, make_repo
from uetf_core.impact.environment import current_environment
from uetf_core.impact.planner import changed_files, inert_edits, no_commit_reason
from uetf_core.impact.selection import Baseline, Change, WholeSuiteReason, select_tests

DEPS = 'dependencies = ["attrs>=21.3"]\n'
PYPROJECT = '[project]\nname = "p"\nversion = "1.2.3"\ndependencies = ["attrs>=21.3"]\n'


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "r", {"pyproject.toml": PYPROJECT, "pkg/a.py": "x = 1\n"})


def test_changed_files_include_untracked_and_leave_out_caches(repo: Path) -> None:
    """Edits and new files count; what test runs leave behind does not."""
    head = git(repo, "rev-parse", "HEAD").strip()
    (repo / "pkg" / "a.py").write_text("x = 2\n")
    (repo / "pkg" / "new.py").write_text("y = 1\n")
    (repo / "pkg" / "__pycache__").mkdir()
    (repo / "pkg" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    (repo / ".coverage").write_text("")
    assert changed_files(repo, head) == ["pkg/a.py", "pkg/new.py"]


@pytest.mark.parametrize(
    ("edit", "only_numbers"),
    [
        (('version = "1.2.3"', 'version = "1.3.0"'), True),
        (('"attrs>=21.3"', '"attrs>=22.1"'), True),
        (('"attrs>=21.3"', '"attrs>=21.3", "idna"'), False),
        (('name = "p"', 'name = "q"'), False),
        ((DEPS, DEPS + '[tool.ruff.lint]\nignore = ["E501"]\n'), True),
        ((DEPS, DEPS + '[tool.pytest.ini_options]\naddopts = "-x"\n'), False),
        ((DEPS, DEPS + '[project.urls]\nSource = "https://example.org/p"\n'), True),
        ((DEPS, DEPS + 'description = "Quick tools"\nclassifiers = ["Typing :: Typed"]\n'), True),
        ((DEPS, DEPS + '[project.scripts]\np = "p.cli:main"\n'), False),
        ((DEPS, DEPS + 'requires-python = ">=3.10"\n'), False),
    ],
)
def test_version_only_edits_of_packaging_files(
    repo: Path, edit: tuple[str, str], only_numbers: bool
) -> None:
    """A packaging file edited where no test can see (version numbers, a linter's table) is
    told apart from other edits."""
    head = git(repo, "rev-parse", "HEAD").strip()
    (repo / "pyproject.toml").write_text(PYPROJECT.replace(*edit))
    expected = ["pyproject.toml"] if only_numbers else []
    assert inert_edits(repo, head, ["pyproject.toml"]) == expected


def test_a_version_bump_does_not_send_selection_to_the_whole_suite() -> None:
    """pyproject.toml named as numbers-only is no reason for the whole suite; otherwise it is."""
    environment = current_environment()
    baseline = Baseline("r1", environment, {})
    base = Change(environment, (), frozenset({"pyproject.toml", "CHANGELOG.md", "pkg/a.pyi"}))
    assert select_tests(baseline, base).whole_suite is not None
    assert select_tests(baseline, base).whole_suite.reason is WholeSuiteReason.CONFIGURATION_CHANGED
    bumped = Change(
        environment,
        (),
        frozenset({"pyproject.toml", "CHANGELOG.md", "pkg/a.pyi"}),
        inert_edits=frozenset({"pyproject.toml"}),
    )
    assert select_tests(baseline, bumped).whole_suite is None


def test_why_no_baseline_could_be_looked_for(
    tmp_path: Path, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No commit to look for a baseline at: git missing, no work tree, or no commit yet,
    told apart (the whole suite runs with that reason)."""
    plain = tmp_path / "plain"
    plain.mkdir()
    assert no_commit_reason(plain) == "not a git work tree"
    git(plain, "init", "-q")
    assert no_commit_reason(plain) == "no commit yet"
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    assert no_commit_reason(repo) == "git is not installed (not on PATH)"
