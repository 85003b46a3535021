"""Which tests a run needs, read from the ledger and git: the baseline, the change, the selection.

Shared by ``pytest --uetf-select`` and ``uetf impact``. The baseline is the newest
run with dependency data, of the same suite, on a clean work tree, at the
merge-base of HEAD with the base ref (else at HEAD); the change is every file that
differs between that run's commit and the work tree, untracked files included.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from uetf_core.impact.change import change_of_work_tree
from uetf_core.impact.environment import Environment
from uetf_core.impact.selection import (
    Baseline,
    Change,
    Selection,
    WholeSuite,
    WholeSuiteReason,
    select_tests,
)
from uetf_core.impact.stored import RecordedRun
from uetf_core.patch import FALLBACK_BASES, GIT_MISSING, Git, _volatile, base_from_ci, git_refusal

if TYPE_CHECKING:
    from uetf_core.ledger.base import Ledger

# Recent runs whose failures and flaky tests always run.
RECENT_RUNS = 5
FLAKY_WINDOW = 20


@dataclass(frozen=True)
class SelectionPlan:
    """The baseline found (or None), the change against its commit, and the selection."""

    baseline_run_id: str | None
    baseline_commit: str | None
    recorded: RecordedRun | None
    change: Change
    selection: Selection

    @property
    def unselected(self) -> frozenset[str]:
        """The tests selection leaves out (empty when the whole suite runs)."""
        return frozenset(self.selection.deselected)


def candidate_commits(
    root: Path, base: str | None, env: Mapping[str, str] | None = None
) -> list[str]:
    """Commits a baseline may be at, best first: the merge-base with the base ref, HEAD."""
    git = Git(root)
    head = git.resolves("HEAD")
    if head is None:
        return []
    found: list[str] = []
    refs = (
        [base]
        if base
        else [r for r in (base_from_ci(env or os.environ),) if r] + list(FALLBACK_BASES)
    )
    for ref in refs:
        if git.resolves(ref) is None:
            continue
        merged = git.run("merge-base", ref, "HEAD").stdout.strip()
        if merged:
            found.append(merged)
            break
    if head not in found:
        found.append(head)
    return found


def no_commit_reason(root: Path) -> str:
    """Why ``root`` has no commit a baseline could be at, in a few words."""
    inside = Git(root).run("rev-parse", "--is-inside-work-tree")
    if inside.stderr == GIT_MISSING:
        return "git is not installed (not on PATH)"
    if inside.returncode != 0:
        return git_refusal(inside.stderr) or "not a git work tree"
    return "no commit yet"


def changed_files(root: Path, commit: str) -> list[str]:
    """Files (relative to ``root``, with ``/``) that differ between ``commit`` and the work
    tree, untracked ones included and what test runs leave behind (caches) left out."""
    git = Git(root)
    diff = git.run("diff", "--name-only", "--no-renames", "--relative", commit, "--")
    untracked = git.run("ls-files", "--others", "--exclude-standard")
    names = set(diff.stdout.splitlines()) | set(untracked.stdout.splitlines())
    return sorted(n for n in names if n and not _volatile(n))


def source_at(root: Path, commit: str, path: str) -> bytes | None:
    """The bytes of ``path`` (relative to ``root``) at ``commit``; None when absent there."""
    import subprocess

    try:
        done = subprocess.run(
            ["git", "show", f"{commit}:./{path}"], cwd=root, capture_output=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


# Packaging files a release edits for its version number alone.
VERSIONED_FILES = ("pyproject.toml", "setup.cfg", "setup.py")
_VERSION = re.compile(r"\d+(?:\.\d+)+(?:[a-zA-Z]+\d*)?(?:\.(?:post|dev)\d+)?")
# [tool.X] tables of pyproject.toml read by linters, formatters and release tools alone:
# nothing a test run reads.
INERT_TOOLS = frozenset(
    {
        "black",
        "bumpversion",
        "codespell",
        "commitizen",
        "docformatter",
        "flake8",
        "interrogate",
        "isort",
        "mypy",
        "pydocstyle",
        "pylint",
        "pyright",
        "ruff",
        "semantic_release",
        "tbump",
        "towncrier",
        "vulture",
    }
)
# Keys of pyproject.toml's [project] table that describe the project to people and
# package indexes alone. Like the version, they reach a test only through what is
# installed (the distribution's metadata), never through the source tree.
INERT_PROJECT_KEYS = frozenset(
    {
        "authors",
        "classifiers",
        "description",
        "keywords",
        "license",
        "license-files",
        "maintainers",
        "readme",
        "urls",
    }
)


def inert_edits(root: Path, commit: str, changed: Sequence[str]) -> list[str]:
    """The packaging files among ``changed`` whose edit since ``commit`` no test can see:
    version numbers alone (a release's bump, a dependency's pin: seen only through what
    is installed, which the environment's digest compares) and, in pyproject.toml,
    the settings of linters and release tools and the project's descriptive metadata
    (its links, description, authors, classifiers)."""
    found = []
    for path in changed:
        if path not in VERSIONED_FILES:
            continue
        before = source_at(root, commit, path)
        try:
            after = (root / path).read_bytes()
        except OSError:
            continue
        if before is not None and _comparable(path, before) == _comparable(path, after):
            found.append(path)
    return found


def _comparable(path: str, data: bytes) -> str | None:
    """The file's text with what no test sees blanked out; None when it cannot be read."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if path == "pyproject.toml":
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - Python 3.10
            import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

        try:
            table = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            return None
        for name, inert in (("tool", INERT_TOOLS), ("project", INERT_PROJECT_KEYS)):
            kept = table.get(name)
            if isinstance(kept, dict):
                table[name] = {k: v for k, v in kept.items() if k not in inert}
                if not table[name]:
                    del table[name]
        text = json.dumps(table, sort_keys=True, default=str)
    return _VERSION.sub("#", text)


def recent_failures(ledger: Ledger) -> frozenset[str]:
    """Tests that failed the last time they ran in the newest runs, or flipped lately."""
    outcomes = ledger.last_outcomes(RECENT_RUNS)
    failed = {n for n, outcome in outcomes.items() if outcome in ("failed", "error")}
    return frozenset(failed | ledger.flaky_tests(FLAKY_WINDOW))


def plan_selection(
    ledger: Ledger,
    root: Path,
    *,
    base: str | None = None,
    suite_key: str | None = None,
    exclude: str | None = None,
    collected: Sequence[str] | None = None,
    input_globs: Sequence[str] = (),
    environment: Environment | None = None,
) -> SelectionPlan:
    """The selection for the work tree under ``root``.

    ``collected``: the tests the run collected; without it (``uetf impact``, or a run
    deciding before collection), the baseline's tests stand for the suite, and a test
    added since is not listed (it always runs: it is new).
    """
    commits = candidate_commits(root, base)
    found = ledger.find_dependency_baseline(commits, suite_key, exclude) if commits else None
    recorded = ledger.recorded_dependencies(found[0]) if found else None
    baseline: Baseline | None = None
    files: list[str] = []
    if found is not None and recorded is not None:
        baseline = recorded.as_baseline(found[0])
        files = changed_files(root, found[1])
    suite = list(collected) if collected is not None else sorted(recorded.tests if recorded else ())
    change = change_of_work_tree(
        root,
        files,
        suite,
        recent_failures=recent_failures(ledger) if baseline is not None else (),
        input_globs=input_globs,
        environment=environment,
        inert_edits=inert_edits(root, found[1], files) if found else (),
    )
    selection = select_tests(baseline, change)
    if not commits:  # say why no baseline could be looked for
        why = WholeSuite(WholeSuiteReason.NO_BASELINE, no_commit_reason(root))
        selection = replace(selection, whole_suite=why)
    return SelectionPlan(
        found[0] if found else None, found[1] if found else None, recorded, change, selection
    )
