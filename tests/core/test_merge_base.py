"""The merge-base a run records when no gate asks for its change: the one the
change's own detection finds, from the same choice of base."""

from __future__ import annotations

from pathlib import Path

from conftest import git, make_repo
from uetf_core.merge_base import find_merge_base
from uetf_core.patch import commit_and_tree_state, detect_patch


def lookup(root: Path, env: dict[str, str] | None = None) -> str | None:
    head, branch, _ = commit_and_tree_state(root)
    return find_merge_base(root, head, branch, env=env or {})


def test_the_merge_base_is_the_one_the_patch_detection_finds(tmp_path: Path) -> None:
    """On main (itself), on a branch of main, in a clone whose origin/HEAD is main, on a
    CI's named base, and nowhere without a base: as ``detect_patch`` finds it."""
    root = make_repo(tmp_path / "r", {"a.py": "x = 1\n"})
    main = git(root, "rev-parse", "HEAD").strip()
    assert lookup(root) == detect_patch(root, None, env={}).merge_base == main
    git(root, "checkout", "-q", "-b", "feature")
    (root / "a.py").write_text("x = 2\n")
    git(root, "commit", "-q", "-am", "change")
    assert lookup(root) == detect_patch(root, None, env={}).merge_base == main

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "-b", "feature", str(root), str(clone))
    git(clone, "remote", "set-head", "origin", "main")
    (clone / "a.py").write_text("x = 3\n")
    git(clone, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-am", "more")
    assert lookup(clone) == detect_patch(clone, None, env={}).merge_base == main
    ci = {"GITHUB_BASE_REF": "feature"}  # the CI names the base: origin/feature
    feature = git(root, "rev-parse", "feature").strip()
    assert lookup(clone, ci) == detect_patch(clone, None, env=ci).merge_base == feature

    alone = make_repo(tmp_path / "alone", {"a.py": ""})
    git(alone, "branch", "-m", "main", "work")
    assert lookup(alone) is None and detect_patch(alone, None, env={}).merge_base is None
    assert find_merge_base(tmp_path / "alone", None, None, env={}) is None
