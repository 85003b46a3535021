"""Code coverage with coverage.py's API: start early, combine workers, analyse like its reporters.

The figures come from coverage.py's own analysis (``get_analysis_to_report``)
with the project's own configuration (.coveragerc, setup.cfg, tox.ini,
pyproject.toml), so the total equals what ``coverage report`` prints. Data stays
in memory (``data_file=None``): no ``.coverage`` files are left behind.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import coverage
from coverage.data import CoverageData
from coverage.report_core import get_analysis_to_report
from coverage.results import Numbers, display_covered

from uetf_core.errors import ConfigError


@dataclass(frozen=True)
class FileCoverage:
    """What coverage.py found for one measured file (path relative to the rootdir)."""

    path: str
    statements: frozenset[int]
    executed: frozenset[int]
    n_branches: int = 0
    n_partial_branches: int = 0
    n_missing_branches: int = 0
    arcs: tuple[tuple[int, int], ...] = ()

    @property
    def missing(self) -> frozenset[int]:
        return self.statements - self.executed


@dataclass(frozen=True)
class CoverageResult:
    """A run's coverage: per file, the total percent as ``coverage report`` gives it, the core."""

    files: dict[str, FileCoverage]
    percent: float
    core: str
    branch: bool
    n_statements: int
    n_missing: int
    n_branches: int = 0
    n_partial_branches: int = 0
    warnings: Sequence[str] = field(default_factory=tuple)


class Measurement:
    """One coverage.py session in this process, stopped at session end.

    The pytest plugin creates and starts the coverage.py object itself, before
    any of uetf_core is imported (so a project measuring uetf_core sees all of
    it); this class takes it from there.
    """

    def __init__(self, cov: coverage.Coverage, rootdir: str) -> None:
        self.rootdir = rootdir
        self.cov = cov
        self.started = True

    def stop(self) -> CoverageData:
        """Stop measuring; the data collected in this process."""
        if self.started:
            self.cov.stop()
            self.started = False
        return self.cov.get_data()

    def core(self) -> str:
        collector = getattr(self.cov, "_collector", None)
        tracer = getattr(collector, "tracer_name", None)
        return str(tracer() if callable(tracer) else (self.cov.config.core or "ctrace"))

    def dumps(self) -> bytes:
        """The data collected here, serialised for the controller (xdist workers)."""
        return self.stop().dumps()

    def merge(self, serialized: bytes) -> None:
        """Add a worker's serialised data to this process's data."""
        other = CoverageData(no_disk=True)
        other.loads(serialized)
        self.cov.get_data().update(other)

    def result(self) -> CoverageResult:
        """Analyse the data the way coverage.py's reporters do."""
        core = self.core()
        self.stop()
        files: dict[str, FileCoverage] = {}
        n_statements = n_missing = n_branches = n_partial = 0
        data = self.cov.get_data()
        branch = bool(self.cov.config.branch)
        # One pass of coverage.py's own analysis; its report's TOTAL is the sum
        # of these Numbers, so summing them here gives the same figure.
        total = Numbers(precision=2)
        try:
            analyses = list(get_analysis_to_report(self.cov, None))
        except coverage.exceptions.NoDataError:
            analyses = []
        except coverage.CoverageException as exc:
            raise ConfigError(f"coverage report: {exc}") from None
        for reporter, analysis in analyses:
            numbers = analysis.numbers
            total += numbers
            path = os.path.relpath(reporter.filename, self.rootdir)
            arcs: tuple[tuple[int, int], ...] = ()
            if branch:
                arcs = tuple(sorted(data.arcs(reporter.filename) or ()))
            files[path] = FileCoverage(
                path=path,
                statements=frozenset(analysis.statements),
                executed=frozenset(analysis.executed),
                n_branches=numbers.n_branches,
                n_partial_branches=numbers.n_partial_branches,
                n_missing_branches=numbers.n_missing_branches,
                arcs=arcs,
            )
            n_statements += numbers.n_statements
            n_missing += numbers.n_missing
            n_branches += numbers.n_branches
            n_partial += numbers.n_partial_branches
        return CoverageResult(
            files=files,
            # coverage.py's own rounding: never 100 unless all covered, never 0 unless none.
            percent=float(display_covered(total.pc_covered, 2)) if analyses else 0.0,
            core=core,
            branch=branch,
            n_statements=n_statements,
            n_missing=n_missing,
            n_branches=n_branches,
            n_partial_branches=n_partial,
        )


def coverage_document(result: CoverageResult) -> dict[str, Any]:
    """A coverage result as the ledger stores it."""
    return {
        "percent": result.percent,
        "n_statements": result.n_statements,
        "n_missing": result.n_missing,
        "n_branches": result.n_branches,
        "n_partial_branches": result.n_partial_branches,
        "core": result.core,
        "branch": result.branch,
        "files": [
            {
                "path": f.path,
                "statements": sorted(f.statements),
                "executed": sorted(f.executed & f.statements),
                "n_branches": f.n_branches,
                "n_partial_branches": f.n_partial_branches,
                "n_missing_branches": f.n_missing_branches,
                "arcs": [list(arc) for arc in f.arcs],
            }
            for f in sorted(result.files.values(), key=lambda f: f.path)
        ],
    }


def export(files: dict[str, dict[str, Any]], rootdir: str, path: str) -> None:
    """Write a coverage.py data file from stored per-file data (executed lines, arcs)."""
    data = CoverageData(basename=path)
    lines: dict[str, list[int]] = {}
    arcs: dict[str, list[tuple[int, int]]] = {}
    for name, stored in files.items():
        absolute = os.path.join(rootdir, name)
        if stored.get("arcs"):
            arcs[absolute] = [(int(a), int(b)) for a, b in stored["arcs"]]
        else:
            lines[absolute] = sorted(stored["executed"])
    if arcs:
        data.add_arcs(arcs)
    if lines:
        data.add_lines(lines)
    data.write()
