"""UETF's own modules are imported before coverage starts only when they cannot be measured."""

from __future__ import annotations

from pathlib import Path

import pytest

import pytest_uetf
from conftest import run_pytest
from pytest_uetf.plugin import _measures_uetf

HOME = Path(pytest_uetf.__file__).resolve().parent.parent

# A conftest imported after coverage starts: it says whether the controller module
# (imported at pytest_configure in the usual order) was imported already.
CONFTEST = """\
import sys

open("order.txt", "w").write(str("pytest_uetf.controller" in sys.modules))
"""


@pytest.mark.parametrize(
    "sources",
    [
        [],
        ["uetf_core"],
        ["pytest_uetf"],
        ["uetf_core.ledger"],
        ["app", "pytest_uetf.controller"],
        [str(HOME)],
        [str(HOME.parent)],
        [str(HOME / "uetf_core")],
        [str(HOME / "uetf_core" / "ledger")],
        [str(HOME / "pytest_uetf" / "controller.py")],
    ],
)
def test_measures_uetf_when_a_source_can_hold_its_code(sources: list[str]) -> None:
    """No source, a UETF package or module, or a folder holding or inside UETF may measure it."""
    assert _measures_uetf(sources)


@pytest.mark.parametrize(
    "sources",
    [["app"], ["src/app", "lib"], ["uetf_corex"], ["tests/uetf_core_tools"]],
)
def test_does_not_measure_uetf_for_other_sources(sources: list[str], tmp_path: Path) -> None:
    """Sources naming other packages or folders elsewhere cannot measure UETF's code."""
    assert not _measures_uetf([*sources, str(tmp_path)])


def test_relative_folder_is_read_from_the_working_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A relative folder source is the folder coverage.py reads: relative to where pytest runs."""
    monkeypatch.chdir(HOME)
    assert _measures_uetf(["."])
    assert _measures_uetf(["uetf_core/ledger"])
    monkeypatch.chdir(HOME / "uetf_core")
    assert _measures_uetf(["ledger"])


def _project(root: Path, coveragerc: str = "") -> Path:
    (root / "app").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("VALUE = 1\n")
    (root / "conftest.py").write_text(CONFTEST)
    test = "from app import VALUE\n\n\ndef test_value():\n    assert VALUE == 1\n"
    (root / "test_app.py").write_text(test)
    if coveragerc:
        (root / ".coveragerc").write_text(coveragerc)
    return root


@pytest.mark.parametrize(
    ("args", "coveragerc", "early"),
    [
        (["--uetf-cov=app"], "", True),
        (["--uetf-cov=uetf_core"], "", False),
        (["--uetf-cov=app", "--uetf-cov=pytest_uetf"], "", False),
        (["--uetf-gate=coverage>=0"], "", False),
        (["--uetf-gate=coverage>=0"], "[run]\nsource = app\n", True),
        (["--uetf-cov=app"], "[run]\nsource_pkgs = uetf_core\n", False),
    ],
)
def test_uetf_imported_before_measuring_only_when_not_measured(
    tmp_path: Path, args: list[str], coveragerc: str, early: bool
) -> None:
    """Sources that cannot hold UETF import it before coverage starts; others measure all of it."""
    project = _project(tmp_path / "project", coveragerc)
    done = run_pytest(project, "--uetf", f"--uetf-ledger={tmp_path / 'l.db'}", *args)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (project / "order.txt").read_text() == str(early)
