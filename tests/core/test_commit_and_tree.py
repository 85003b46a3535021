"""One git call gives what two separate reads of git give, in every shape of work tree."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from conftest import git, make_repo
from uetf_core.patch import Git, _tree_digest, commit_and_tree_state


def _both(cwd: Path) -> tuple[str | None, str | None, str | None]:
    """The same three read the other way: ``git rev-parse`` for HEAD and its branch, and
    ``git status``'s first porcelain format for the changed and untracked files."""
    git_ = Git(cwd)
    status = git_.run("status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames")
    if status.returncode != 0:
        return None, None, None
    parsed = git_.run("rev-parse", "HEAD", "--abbrev-ref", "HEAD").stdout.split()
    head, branch = parsed if len(parsed) == 2 else (None, None)
    entries = [entry for entry in status.stdout.split("\0") if len(entry) > 3]
    changed = [entry[3:] for entry in entries if not entry.startswith("??")]
    untracked = [entry[3:] for entry in entries if entry.startswith("??")]
    digest = _tree_digest(git_, cwd, changed, untracked)
    return head, None if branch == "HEAD" else branch, digest


def test_agrees_through_a_work_tree_s_changes(
    git_project: Callable[[dict[str, str]], Path],
) -> None:
    """Clean, edited, staged, deleted, untracked, odd names, a sub-folder and detached HEAD:
    the one call equals the two."""
    root = git_project({"pkg/a.py": "A = 1\n", "pkg/b c.py": "B = 1\n", "tests/t.py": "T = 1\n"})
    states = []

    def check(cwd: Path = root) -> None:
        one = commit_and_tree_state(cwd)
        assert one == _both(cwd)
        states.append(one)

    check()
    assert states[-1][1] == "main" and states[-1][2] == ""
    (root / "pkg" / "a.py").write_text("A = 2\n")
    check()
    check(root / "tests")
    (root / "pkg" / "b c.py").write_text("B = 2\n")
    git(root, "add", "pkg/b c.py")
    check()
    (root / "tests" / "t.py").unlink()
    check()
    (root / "pkg" / "new file é.py").write_text("N = 1\n")
    (root / "pkg" / "__pycache__").mkdir()
    (root / "pkg" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    check()
    git(root, "mv", "pkg/a.py", "pkg/moved.py")
    check()
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "more")
    git(root, "checkout", "-q", "--detach")
    check()
    assert states[-1][1] is None and states[-1][2] == ""
    # Every change its own digest; the sub-folder and the clean end repeat one.
    assert len({s[2] for s in states}) == len(states) - 2


def test_agrees_on_an_unmerged_file(tmp_path: Path) -> None:
    """A merge conflict counts as a changed file for both."""
    root = make_repo(tmp_path / "p", {"a.py": "A = 0\n"})
    git(root, "checkout", "-q", "-b", "other")
    (root / "a.py").write_text("A = 1\n")
    git(root, "commit", "-q", "-am", "one")
    git(root, "checkout", "-q", "main")
    (root / "a.py").write_text("A = 2\n")
    git(root, "commit", "-q", "-am", "two")
    subprocess.run(["git", "merge", "-q", "other"], cwd=root, capture_output=True, check=False)
    one = commit_and_tree_state(root)
    assert one == _both(root) and one[2]


def test_no_commit_yet_and_outside_git(tmp_path: Path) -> None:
    """Before the first commit there is no HEAD or branch; outside git nothing is known."""
    root = tmp_path / "fresh"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "a.py").write_text("A = 1\n")
    assert commit_and_tree_state(root) == (None, None, _both(root)[2])
    assert _both(root)[:2] == (None, None)
    outside = tmp_path / "plain"
    outside.mkdir()
    assert commit_and_tree_state(outside) == (None, None, None) == _both(outside)
