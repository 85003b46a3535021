"""The ledger's cache of coverage.py's static analysis gives coverage.py's own figures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import coverage

from uetf_core.ledger import open_ledger
from uetf_core.ledger.sqlite import SqliteLedger
from uetf_core.measure import CoverageResult, Measurement, coverage_document

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


def measurement(root: Path, **options: object) -> Measurement:
    """A stopped measurement of ``root`` with coverage.py ``options``, nothing traced here."""
    cov = coverage.Coverage(data_file=None, config_file=False, **options)  # type: ignore[arg-type]
    measured = Measurement(cov, str(root))
    measured.started = False
    return measured


def worker(
    root: Path, unimported: list[str] | None, lines: dict[str, list[int]]
) -> dict[str, object]:
    """What an xdist worker hands the controller: its data and the sources it never imported."""
    data = coverage.CoverageData(no_disk=True)
    data.add_lines({str(root / name): numbers for name, numbers in lines.items()})
    return {"data": data.dumps(), "unimported": unimported}


def test_a_package_is_unmatched_only_when_no_worker_imported_it(tmp_path: Path) -> None:
    """Under xdist a source package counts as matched when any worker imported it."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("X = 1\n")
    measured = measurement(tmp_path, source=["pkg", "shpo"])
    measured.merge(worker(tmp_path, ["pkg", "shpo"], {}))
    measured.merge(worker(tmp_path, ["shpo"], {"pkg/mod.py": [1]}))
    measured.merge(worker(tmp_path, None, {}))  # a worker that could not say: no vote
    assert measured.problems() == (
        "coverage source 'shpo' matched no file (a package the tests never imported);"
        " check [run] source of the coverage configuration",
    )


def test_a_directory_without_python_files_is_unmatched(tmp_path: Path) -> None:
    """A source directory under which no file was measured matched nothing; nothing else is said."""
    (tmp_path / "docs").mkdir()
    measured = measurement(tmp_path, source=[str(tmp_path / "docs")])
    measured.origin = "--uetf-cov"
    (problem,) = measured.problems()
    assert problem == (
        f"coverage source {str(tmp_path / 'docs')!r} matched no file"
        " (a directory without Python files); check --uetf-cov"
    )
    assert measured.result().problems == (problem,)


def test_no_data_at_all_is_a_problem(tmp_path: Path) -> None:
    """Measuring everything and collecting nothing is a problem too."""
    (problem,) = measurement(tmp_path).problems()
    assert problem.startswith("coverage measured no file: no data was collected")


def test_measured_sources_have_no_problem(tmp_path: Path) -> None:
    """A directory with a measured file, and a package a worker imported, are no problem."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("X = 1\n")
    measured = measurement(tmp_path, source=[str(tmp_path / "pkg"), "other"])
    measured.merge(worker(tmp_path, [], {"pkg/mod.py": [1]}))
    assert measured.problems() == ()
    document = coverage_document(measured.result())
    assert document["problems"] == [] and document["percent"] == 100.0


# Code whose branch analysis has every twist coverage.py's parser handles:
# ``with`` exits it rewrites, multi-line conditions, loops with ``else``,
# ``try``/``finally``, comprehensions, lambdas, ``match``, a partial-branch
# pragma and excluded lines.
BRANCHY = """\
import contextlib


def with_blocks(n):
    with contextlib.nullcontext():
        if n > 1:
            with contextlib.nullcontext():
                n += 1
        n += 2
    return n


def with_ending_in_if(n):
    with contextlib.nullcontext():
        if n:
            n += 1
    return n


def conditions(a, b):
    if (a and
            b):
        return "both"
    while a > 0:
        a -= 1
        if a == 5:
            break
    else:
        return "drained"
    return "broke"


def guarded(x):
    try:
        if x is None:  # pragma: no branch
            raise ValueError(x)
        return [y for y in range(x) if y % 2]
    except ValueError:
        return None
    finally:
        x = 0


def matching(value):
    match value:
        case [first, *_]:
            return first
        case {"key": k}:
            return k
        case _:
            return (lambda: value)()


def unused():  # pragma: no cover
    if True:
        return 1
"""

DRIVER = """\
import sys
from pkg import mod

for call in sys.argv[1:]:
    name, _, argument = call.partition(":")
    getattr(mod, name)(*eval(argument))
"""


def traced(root: Path, *calls: str) -> coverage.CoverageData:
    """Branch data of a real run of ``calls`` (``name:(args,)``) in a process of its own."""
    data_file = root / f".coverage-{abs(hash(calls))}"
    subprocess.run(
        [sys.executable, "-m", "coverage", "run", "--branch", f"--data-file={data_file}",
         f"--source={root / 'pkg'}", str(root / "driver.py"), *calls],
        cwd=root, check=True, env={**os.environ, "PYTHONPATH": str(root)},
    )  # fmt: skip
    data = coverage.CoverageData(basename=str(data_file))
    data.read()
    return data


def branch_figures(result: CoverageResult) -> tuple[object, ...]:
    files = {
        p: (sorted(f.statements), sorted(f.executed), f.n_branches, f.n_partial_branches,
            f.n_missing_branches)
        for p, f in result.files.items()
    }  # fmt: skip
    return result.percent, result.n_statements, result.n_missing, result.n_branches, files


def analyse_branches(
    root: Path, data: coverage.CoverageData, store: SqliteLedger | None
) -> CoverageResult:
    cov = coverage.Coverage(
        data_file=None, source=[str(root / "pkg")], branch=True, config_file=False
    )
    cov.get_data().update(data)
    measured = Measurement(cov, str(root))
    measured.started = False
    return measured.result(store=store)


def test_cached_branch_analysis_equals_coverage_py(tmp_path: Path) -> None:
    """Branch figures answered from the ledger are coverage.py's own, run after run.

    The parse kept by one run answers the next, whose tests took other paths:
    the figures must equal coverage.py's full analysis of that run's data.
    """
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "mod.py").write_text(BRANCHY)
    (tmp_path / "driver.py").write_text(DRIVER)
    runs = [
        traced(tmp_path, "with_blocks:(0,)", "conditions:(0, 1)", "matching:([1],)",
               "with_ending_in_if:(1,)"),
        traced(tmp_path, "with_blocks:(3,)", "conditions:(9, 0)", "guarded:(4,)",
               "guarded:(None,)", "matching:({'key': 2},)", "matching:(7,)"),
        traced(tmp_path, "conditions:(1, 1)", "conditions:(2, 0)", "with_ending_in_if:(0,)"),
    ]  # fmt: skip
    ledger = open_ledger(str(tmp_path / "uetf.db"))
    assert isinstance(ledger, SqliteLedger)
    try:
        for number, data in enumerate(runs):
            reference = analyse_branches(tmp_path, data, None)
            assert reference.n_branches >= 12
            result = analyse_branches(tmp_path, data, ledger)
            assert result.reused == (0 if number == 0 else 2)
            assert branch_figures(result) == branch_figures(reference)
        # Line coverage keeps its own entries: a branch parse never answers it, nor
        # the other way round.
        lines_only = analyse(tmp_path, {"pkg/mod.py": [1, 4, 5]}, ledger)
        assert lines_only.reused == 0
    finally:
        ledger.close()


def test_partial_branch_settings_are_part_of_the_key(tmp_path: Path) -> None:
    """A new partial-branch pattern makes coverage.py parse again: the cache cannot hide it."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text(BRANCHY)
    (tmp_path / "driver.py").write_text(DRIVER)
    data = traced(tmp_path, "conditions:(0, 1)")
    ledger = open_ledger(str(tmp_path / "uetf.db"))
    assert isinstance(ledger, SqliteLedger)
    try:
        before = analyse_branches(tmp_path, data, ledger)
        cov = coverage.Coverage(
            data_file=None, source=[str(tmp_path / "pkg")], branch=True, config_file=False
        )
        cov.config.partial_list.append(r"while a > 0")
        cov.get_data().update(data)
        measured = Measurement(cov, str(tmp_path))
        measured.started = False
        after = measured.result(store=ledger)
        assert after.reused == 0
        assert after.n_branches == before.n_branches  # the line still counts its exits
        missing = after.files["pkg/mod.py"].n_missing_branches
        assert missing < before.files["pkg/mod.py"].n_missing_branches
    finally:
        ledger.close()
