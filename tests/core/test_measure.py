"""The ledger's cache of coverage.py's static analysis gives coverage.py's own figures."""

from __future__ import annotations

from pathlib import Path

import coverage

from uetf_core.ledger import open_ledger
from uetf_core.ledger.sqlite import SqliteLedger
from uetf_core.measure import CoverageResult, Measurement

SOURCE = """\
import os

TOTAL = (
    1 +
    2
)


def f(x):
    if x:  # a statement over one line
        return {
            "a": x,
        }
    return None


def never():  # pragma: no cover
    return 1
"""


def analyse(root: Path, lines: dict[str, list[int]], store: SqliteLedger | None) -> CoverageResult:
    """Analyse executed ``lines`` (by file, relative to root) as a run that measured them would."""
    cov = coverage.Coverage(data_file=None, source=[str(root / "pkg")], config_file=False)
    cov.get_data().add_lines({str(root / name): numbers for name, numbers in lines.items()})
    measurement = Measurement(cov, str(root))
    measurement.started = False  # nothing was traced in this process; the lines are given
    return measurement.result(store=store)


def figures(result: CoverageResult) -> tuple[object, ...]:
    files = {p: (sorted(f.statements), sorted(f.executed)) for p, f in result.files.items()}
    return result.percent, result.n_statements, result.n_missing, files


def test_cached_analysis_equals_coverage_py(tmp_path: Path) -> None:
    """Cold, warm, after an edit: always the figures coverage.py computes by parsing."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    module = tmp_path / "pkg" / "mod.py"
    module.write_text(SOURCE)
    # Continuation lines (4, 12) as a tracer may report them; coverage.py maps them
    # to the statement's first line.
    executed = {"pkg/mod.py": [1, 4, 9, 10, 12], "pkg/__init__.py": []}
    ledger = open_ledger(str(tmp_path / "uetf.db"))
    assert isinstance(ledger, SqliteLedger)
    try:
        reference = analyse(tmp_path, executed, None)
        assert reference.files["pkg/mod.py"].executed >= {3, 9, 10, 11}
        cold = analyse(tmp_path, executed, ledger)
        assert (cold.reused, figures(cold)) == (0, figures(reference))
        warm = analyse(tmp_path, executed, ledger)
        assert (warm.reused, figures(warm)) == (2, figures(reference))

        module.write_text(SOURCE + "\n\ndef added():\n    return 2\n")
        edited = analyse(tmp_path, executed, ledger)
        assert edited.reused == 1  # only the unchanged __init__.py
        assert figures(edited) == figures(analyse(tmp_path, executed, None))
        assert edited.n_statements == reference.n_statements + 2
    finally:
        ledger.close()


def test_exclusion_settings_are_part_of_the_key(tmp_path: Path) -> None:
    """Changing exclude_lines makes coverage.py parse again: the cache cannot hide it."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text(SOURCE)
    executed = {"pkg/mod.py": [1, 3, 9]}
    ledger = open_ledger(str(tmp_path / "uetf.db"))
    assert isinstance(ledger, SqliteLedger)
    try:
        analyse(tmp_path, executed, ledger)
        cov = coverage.Coverage(data_file=None, source=[str(tmp_path / "pkg")], config_file=False)
        cov.exclude("return None")
        cov.get_data().add_lines({str(tmp_path / "pkg/mod.py"): [1, 3, 9]})
        measurement = Measurement(cov, str(tmp_path))
        measurement.started = False
        result = measurement.result(store=ledger)
        assert result.reused == 0
        assert 14 not in result.files["pkg/mod.py"].statements
    finally:
        ledger.close()
