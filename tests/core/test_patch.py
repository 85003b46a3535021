"""Finding the change under test with real git repositories, and reading unified diffs."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import git
from uetf_core.config import validate_ref
from uetf_core.diffparse import parse_unified_diff
from uetf_core.errors import ConfigError
from uetf_core.patch import base_from_ci, detect_patch

DIFF = """\
diff --git a/src/a.py b/src/a.py
--- a/src/a.py
+++ b/src/a.py
@@ -1,0 +2,3 @@ def x():
+a
+b
+c
@@ -10 +13 @@
-x
+y
diff --git a/old.py b/moved.py
similarity index 90%
rename from old.py
rename to moved.py
--- a/old.py
+++ b/moved.py
@@ -3 +3 @@
-u
+v
diff --git a/dead.py b/dead.py
deleted file mode 100644
--- a/dead.py
+++ /dev/null
@@ -1,2 +0,0 @@
-a
-b
diff --git a/img.png b/img.png
Binary files a/img.png and b/img.png differ
diff --git a/new.py b/new.py
new file mode 100644
--- /dev/null
+++ b/new.py
@@ -0,0 +1,2 @@
+q
+r
"""


def test_parse_unified_diff() -> None:
    """Added ranges per file; renames followed; deleted and binary files left out."""
    changes = {c.path: c for c in parse_unified_diff(DIFF)}
    assert set(changes) == {"src/a.py", "moved.py", "new.py"}
    assert changes["src/a.py"].added == [(2, 4), (13, 13)]
    assert (changes["moved.py"].status, changes["moved.py"].old_path) == ("renamed", "old.py")
    assert changes["new.py"].status == "added"


@pytest.mark.parametrize("ref", ["--output=/tmp/x", "-q", "a..b", "main; rm -rf /", "has space"])
def test_dangerous_refs_are_refused(ref: str) -> None:
    """A ref that git could read as an option, or that holds odd characters, is refused."""
    with pytest.raises(ConfigError, match="not a usable git ref"):
        validate_ref(ref, "--uetf-base")


@pytest.mark.parametrize(
    ("env", "base"),
    [
        ({"GITHUB_BASE_REF": "main"}, "origin/main"),
        ({"CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "develop"}, "origin/develop"),
        ({"CI_MERGE_REQUEST_DIFF_BASE_SHA": "abc123"}, "abc123"),
        ({"BUILDKITE_PULL_REQUEST_BASE_BRANCH": "main"}, "origin/main"),
        ({"SYSTEM_PULLREQUEST_TARGETBRANCH": "refs/heads/release"}, "origin/release"),
        ({"CHANGE_TARGET": "main"}, "origin/main"),
        ({"BUILDKITE_PULL_REQUEST_BASE_BRANCH": "false"}, None),
        ({}, None),
    ],
)
def test_base_from_ci(env: dict[str, str], base: str | None) -> None:
    """Each CI's own variable names the base branch of a pull or merge request."""
    assert base_from_ci(env) == base


def test_work_tree_changes_and_untracked_files_count(git_project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Committed, uncommitted and untracked changes all make up the patch."""
    root = git_project({"a.py": "x = 1\n"})
    git(root, "checkout", "-q", "-b", "feature")
    (root / "a.py").write_text("x = 1\ny = 2\n")
    git(root, "commit", "-qam", "y")
    (root / "a.py").write_text("x = 1\ny = 2\nz = 3\n")  # uncommitted
    (root / "b.py").write_text("b = 1\nc = 2\n")  # untracked
    entry = detect_patch(root, None, env={})
    assert entry.problem is None
    assert entry.base_ref == "main"
    assert {c.path: c.added for c in entry.files} == {"a.py": [(2, 3)], "b.py": [(1, 2)]}
    assert entry.merge_base == git(root, "rev-parse", "main").strip()
    assert len(entry.diff_hash or "") == 64


def test_on_the_base_branch_the_change_is_empty(git_project) -> None:  # type: ignore[no-untyped-def]
    """Run on main itself, the base is main and nothing changed."""
    root = git_project({"a.py": "x = 1\n"})
    entry = detect_patch(root, None, env={})
    assert entry.problem is None and entry.files == []


def test_missing_base_is_one_line(git_project) -> None:  # type: ignore[no-untyped-def]
    """A base ref missing from a clone gives a problem that says how to fetch it."""
    root = git_project({"a.py": "x = 1\n"})
    git(root, "remote", "add", "origin", str(root))
    entry = detect_patch(root, "origin/nope", env={})
    assert entry.problem is not None and not entry.base_missing  # a remote may have it
    assert "git fetch origin nope" in entry.problem
    assert "\n" not in entry.problem


def test_a_base_that_exists_nowhere_is_said_to_not_exist(git_project) -> None:  # type: ignore[no-untyped-def]
    """In a repository without a remote, a base that does not resolve is named as
    nonexistent, with no fetch to suggest."""
    root = git_project({"a.py": "x = 1\n"})
    entry = detect_patch(root, "nope", env={})
    assert entry.problem is not None and entry.base_missing
    assert "does not exist in this repository" in entry.problem
    assert "git fetch" not in entry.problem


def test_not_a_repository(tmp_path: Path) -> None:
    """Outside git the patch names the fix: git, or --uetf-diff-file."""
    entry = detect_patch(tmp_path, None, env={})
    assert entry.problem is not None and "--uetf-diff-file" in entry.problem


def test_the_work_tree_state_tells_uncommitted_code_apart(git_project) -> None:  # type: ignore[no-untyped-def]
    """Clean is ``""``; an edit or an untracked file gives a digest that follows the
    content; caches and the ledger's folder are left out; outside git it is ``None``."""
    from uetf_core.patch import work_tree_state

    root = git_project({"pkg/a.py": "RATE = 2\n", "tests/test_a.py": "def test(): pass\n"})
    sub = root / "tests"
    assert work_tree_state(root) == "" and work_tree_state(sub) == ""
    (root / "pkg" / "__pycache__").mkdir()
    (root / "pkg" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    (root / ".ledger").mkdir()
    (root / ".ledger" / "uetf.db").write_bytes(b"x")
    (root / ".coverage").write_bytes(b"x")
    assert work_tree_state(root) == ""
    (root / "pkg" / "a.py").write_text("RATE = 3\n")
    edited = work_tree_state(root)
    assert edited and len(edited) == 16
    assert work_tree_state(sub) == edited  # the same from any folder of the work tree
    (root / "pkg" / "a.py").write_text("RATE = 4\n")
    assert work_tree_state(root) not in ("", edited)
    (root / "pkg" / "a.py").write_text("RATE = 3\n")
    assert work_tree_state(root) == edited
    (root / "pkg" / "b.py").write_text("NEW = 1\n")
    with_new = work_tree_state(root)
    assert with_new not in ("", edited)
    (root / "pkg" / "b.py").write_text("NEW = 2\n")
    assert work_tree_state(root) != with_new


def test_no_work_tree_state_outside_git(tmp_path: Path) -> None:
    """Outside a git work tree there is no state to record."""
    from uetf_core.patch import work_tree_state

    assert work_tree_state(tmp_path) is None
