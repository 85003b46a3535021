"""Fixtures shared by UETF's own tests; enables pytester for the plugin's tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["pytester"]


@pytest.fixture
def validate() -> Callable[[str, Any], None]:
    """Assert that a document validates against the shipped schema of that name."""
    from uetf_core.schemas import errors_of

    def check(name: str, document: Any) -> None:
        problems = errors_of(name, document)
        assert not problems, f"{name}: {problems[:3]}"

    return check


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` (no shell) and return its output."""
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout


def run_pytest(
    cwd: Path, *args: str, timeout: float = 180, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """pytest in a fresh process in ``cwd``, free of this session's xdist and UETF variables.

    ``env`` adds variables (a CI's, say) to that clean environment.
    """
    clean = ("PYTEST_", "COV_", "UETF_", "GITHUB_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(clean)} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


@pytest.fixture
def git_project(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    """Make a real git repository in tmp_path with the given files committed."""

    def make(files: dict[str, str]) -> Path:
        root = tmp_path / "project"
        root.mkdir(exist_ok=True)
        git(root, "init", "-q", "-b", "main")
        git(root, "config", "user.email", "dev@example.invalid")
        git(root, "config", "user.name", "UETF tests")
        for name, text in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "initial")
        return root

    return make
