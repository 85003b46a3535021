"""Configuration errors name the source the wrong value came from: the option or the table."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_pytest

PLUGIN = ("-p", "pytest_uetf.plugin", "--uetf", "-q")
AUTOLOAD_OFF = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def project(root: Path, table: str) -> Path:
    root.mkdir()
    (root / "test_a.py").write_text("def test_a():\n    pass\n")
    (root / "pyproject.toml").write_text(f"[tool.uetf]\n{table}")
    return root


@pytest.mark.parametrize(
    ("table", "option", "named", "not_named"),
    [
        ("", "--uetf-stall-timeout=-1", "--uetf-stall-timeout must be", "key"),
        ("stall_timeout = -1\n", None, "[tool.uetf]: key 'stall_timeout' must be", "--uetf-"),
        ('gate_mode = "loud"\n', None, "[tool.uetf]: key 'gate_mode': gate mode 'loud'", "--uetf"),
        ('dist = "random"\n', None, "[tool.uetf]: key 'dist': dist 'random'", "--uetf-dist"),
    ],
)
def test_error_names_its_source(
    tmp_path: Path, table: str, option: str | None, named: str, not_named: str
) -> None:
    """A bad value from the command line names the option; one from pyproject.toml its key."""
    root = project(tmp_path / "p", table)
    done = run_pytest(root, *PLUGIN, *([option] if option else []), env=AUTOLOAD_OFF)
    assert done.returncode == 4, done.stdout + done.stderr
    line = next(line for line in done.stderr.splitlines() if line.startswith("ERROR: uetf:"))
    assert named in line
    assert not_named not in line
    if "key" in named:
        assert f"{root / 'pyproject.toml'} [tool.uetf]" in line
