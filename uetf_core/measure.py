"""Code coverage with coverage.py's API: start early, combine workers, analyse like its reporters.

The figures come from coverage.py's own analysis (``get_analysis_to_report``)
with the project's own configuration (.coveragerc, setup.cfg, tox.ini,
pyproject.toml), so the total equals what ``coverage report`` prints. Data stays
in memory (``data_file=None``): no ``.coverage`` files are left behind.
"""

from __future__ import annotations

import glob
import hashlib
import os
import sys
import warnings
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import coverage
from coverage.data import CoverageData
from coverage.exceptions import CoverageWarning
from coverage.files import GlobMatcher, canonical_filename, prep_patterns
from coverage.plugin import FileReporter
from coverage.python import PythonFileReporter
from coverage.report_core import get_analysis_to_report
from coverage.results import Analysis, Numbers, display_covered

try:  # coverage.py 7.6 and later: its analysis takes any file reporter
    from coverage.results import analysis_from_file_reporter
except ImportError:  # earlier: every run parses its sources
    analysis_from_file_reporter = None  # type: ignore[assignment]

from uetf_core.errors import ConfigError

if TYPE_CHECKING:
    from typing import NamedTuple

    from uetf_core.documents import CoverageFile
else:  # defined at a fraction of a dataclass's cost: see uetf_core.namedtuples
    from uetf_core.namedtuples import NamedTuple


class FileCoverage(NamedTuple):
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


class CoverageResult(NamedTuple):
    """A run's coverage: per file, the total percent as ``coverage report`` gives it, the core."""

    files: dict[str, FileCoverage]
    percent: float
    core: str
    branch: bool
    n_statements: int
    n_missing: int
    n_branches: int = 0
    n_partial_branches: int = 0
    warnings: Sequence[str] = ()
    # How many files were analysed from the ledger's cache instead of parsed.
    reused: int = 0
    # What makes the figures meaningless, one line each: a source that matched
    # no file, or no data at all. The coverage gates' verdict is then error.
    problems: tuple[str, ...] = ()


class AnalysisStore(Protocol):
    """Where the static part of coverage.py's analysis is kept between runs (the ledger).

    An entry is ``{"statements": [...], "excluded": [...], "multiline": [[line, first], ...]}``,
    with branch coverage also ``"arcs"``, ``"exit_counts"``, ``"no_branch"`` and
    ``"jump_fixers"``, under a key that changes whenever the source or anything
    shaping its parse does (branch and line coverage have keys of their own).
    """

    def static_analyses(self, keys: Collection[str]) -> dict[str, dict[str, Any]]: ...

    def save_static_analyses(self, entries: Mapping[str, dict[str, Any]]) -> None: ...


# coverage.py's warnings (by slug) that UETF judges itself instead of printing:
# a source package never imported and nothing measured become problems of the
# run; one imported before measuring started (pytest_uetf itself, for a project
# measuring it) or without Python source is no problem of the figures.
_UNIMPORTED = "module-not-imported"
_NO_DATA = "no-data-collected"
_QUIET = frozenset({_UNIMPORTED, _NO_DATA, "module-not-measured", "module-not-python"})


class Measurement:
    """One coverage.py session in this process, stopped at session end.

    The pytest plugin creates and starts the coverage.py object itself, before
    any of uetf_core is imported (so a project measuring uetf_core sees all of
    it); this class takes it from there. The plugin also leaves on it where its
    sources were declared (``uetf_source_origin``: ``--uetf-cov``,
    ``[tool.uetf] cov_source``, or ``None`` for the coverage configuration's).
    """

    def __init__(self, cov: coverage.Coverage, rootdir: str) -> None:
        self.rootdir = rootdir
        self.cov = cov
        self.started = True
        self.origin: str | None = getattr(cov, "uetf_source_origin", None)
        # Source packages coverage.py found never imported, per process that
        # measured (this one, then each xdist worker); None: not known here.
        self._unimported: list[frozenset[str]] = []
        self._pending: list[CoverageData] = []

    def stop(self) -> CoverageData:
        """Stop measuring; the data collected in this process (and the workers merged)."""
        if self.started:
            self.cov.stop()
            self.started = False
            data = self._final_data()
            for other in self._pending:
                data.update(other)
            self._pending.clear()
        return self.cov.get_data()

    def _final_data(self) -> CoverageData:
        """coverage.py's data, read once after stopping, with its warnings about the sources."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            data = self.cov.get_data()
        unimported: set[str] = set()
        for warning in caught:
            text = str(warning.message)
            slug = next((s for s in _QUIET if f"({s})" in text), None)
            if slug is None or not issubclass(warning.category, CoverageWarning):
                warnings.warn_explicit(
                    warning.message, warning.category, warning.filename, warning.lineno
                )
            elif slug == _UNIMPORTED:
                unimported.update(p for p in self._packages() if f"Module {p} was " in text)
        self._unimported.append(frozenset(unimported))
        return data

    def _packages(self) -> list[str]:
        """The sources coverage.py takes for package names: those that are not directories."""
        config = self.cov.config
        named = [s for s in config.source or () if not os.path.isdir(s)]
        return [*named, *(config.source_pkgs or ())]

    def core(self) -> str:
        collector = getattr(self.cov, "_collector", None)
        tracer = getattr(collector, "tracer_name", None)
        return str(tracer() if callable(tracer) else (self.cov.config.core or "ctrace"))

    def dumps(self) -> dict[str, Any]:
        """What was measured here, for the controller (xdist workers).

        The data, and the source packages never imported here (``None``: not known).
        """
        data = self.stop().dumps()
        unimported = sorted(self._unimported[-1]) if self._unimported else None
        return {"data": data, "unimported": unimported}

    def merge(self, measured: bytes | Mapping[str, Any]) -> None:
        """Add a worker's measurement (as :meth:`dumps` gives it) to this process's."""
        if isinstance(measured, Mapping):
            if measured.get("unimported") is not None:
                self._unimported.append(frozenset(measured["unimported"]))
            serialized: bytes = measured["data"]
        else:
            serialized = measured
        other = CoverageData(no_disk=True)
        other.loads(serialized)
        if self.started:
            # Read once, after stopping: reading coverage.py's data while it
            # measures would judge the sources on half a run.
            self._pending.append(other)
        else:
            self.cov.get_data().update(other)

    def problems(self) -> tuple[str, ...]:
        """What makes this run's coverage measure nothing, one line each naming the fix.

        A source matched no file when it is a directory holding no measured
        file, a pattern matching no path, or a name (not a directory) that
        coverage.py reported as never imported in every process that measured.
        """
        data = self.stop()
        config = self.cov.config
        where = self._where()
        measured = [canonical_filename(f) for f in data.measured_files()]
        unimported = frozenset.intersection(*self._unimported) if self._unimported else frozenset()
        found = []
        entries = [(s, where) for s in config.source or ()]
        entries += [(s, self._config_where("source_pkgs")) for s in config.source_pkgs or ()]
        entries += [
            (s, self._config_where("source_dirs")) for s in getattr(config, "source_dirs", ())
        ]
        for source, fix in entries:
            why = None
            if glob.escape(source) != source and not glob.glob(source, recursive=True):
                why = "a pattern matching no path"
            elif os.path.isdir(source):
                folder = os.path.join(canonical_filename(source), "")
                if not any(f.startswith(folder) for f in measured):
                    why = "a directory without Python files"
            elif source in unimported:
                why = (
                    "no such directory, nor a package the tests imported"
                    if "/" in source or os.sep in source
                    else "a package the tests never imported"
                )
            if why:
                found.append(f"coverage source {source!r} matched no file ({why}); check {fix}")
        if not found and not measured:
            found.append(f"coverage measured no file: no data was collected; check {where}")
        return tuple(found)

    def _where(self) -> str:
        """Where the measured sources were declared, as the user can find and fix it."""
        return self.origin or self._config_where("source")

    def _config_where(self, option: str) -> str:
        config_file = self.cov.config.config_file
        named = f" in {os.path.relpath(config_file, self.rootdir)}" if config_file else ""
        return f"[run] {option} of the coverage configuration{named}"

    def result(self, store: AnalysisStore | None = None) -> CoverageResult:
        """Analyse the data the way coverage.py's reporters do.

        Parsing the measured sources is most of the cost of a report (on Python
        3.12 more than the tracing itself). With a ``store``, the static part of
        each unchanged Python file's analysis (statements, excluded lines, the
        multi-line map and, with branch coverage, the possible arcs) comes from
        the previous run instead, and coverage.py's own analysis runs on it;
        what was executed is always this run's.
        """
        core = self.core()
        self.stop()
        files: dict[str, FileCoverage] = {}
        n_statements = n_missing = n_branches = n_partial = 0
        data = self.cov.get_data()
        branch = bool(self.cov.config.branch)
        # coverage.py's report TOTAL is the sum of each file's Numbers, so
        # summing them here, cached or not, gives the same figure.
        total = Numbers(precision=2)
        keys: dict[str, str] = {}
        known: dict[str, dict[str, Any]] = {}
        if store is not None and analysis_from_file_reporter is not None:
            keys = self._analysis_keys(data)
            known = store.static_analyses(set(keys.values())) if keys else {}
        analyses: list[tuple[str, Analysis]] = []
        for filename, key in keys.items():
            entry = known.get(key)
            if entry is not None and (not branch or "arcs" in entry):
                analyses.append((filename, self._analyse(StoredParse(filename, entry))))
        reused = len(analyses)
        # Everything not answered from the store: changed files, and those left
        # to coverage.py (plugins, non-.py sources), which it filters as usual.
        parse = None
        if keys:
            answered = {filename for filename, _ in analyses}
            parse = [f for f in data.measured_files() if f not in answered]
        fresh: dict[str, dict[str, Any]] = {}
        try:
            parsed = list(get_analysis_to_report(self.cov, parse)) if parse != [] else []
        except coverage.exceptions.NoDataError:
            parsed = []
        except coverage.CoverageException as exc:
            raise ConfigError(f"coverage report: {exc}") from None
        for reporter, analysis in parsed:
            analyses.append((reporter.filename, analysis))
            new_key = keys.get(reporter.filename)
            if new_key is not None and isinstance(reporter, PythonFileReporter):
                entry = self._stored_parse(reporter, analysis, branch)
                if entry is not None:
                    fresh[new_key] = entry
        for filename, analysis in analyses:
            numbers = analysis.numbers
            total += numbers
            path = os.path.relpath(filename, self.rootdir)
            arcs: tuple[tuple[int, int], ...] = ()
            if branch:
                arcs = tuple(sorted(data.arcs(filename) or ()))
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
        if store is not None and fresh:
            store.save_static_analyses(fresh)
        return CoverageResult(
            files=files,
            # coverage.py's own rounding: never 100 unless all covered, never 0 unless none.
            percent=float(display_covered(total.pc_covered, 2)) if files else 0.0,
            core=core,
            branch=branch,
            n_statements=n_statements,
            n_missing=n_missing,
            n_branches=n_branches,
            n_partial_branches=n_partial,
            reused=reused,
            problems=self.problems(),
        )

    def _analyse(self, reporter: StoredParse) -> Analysis:
        """coverage.py's own analysis of this run's data, on a stored parse."""
        assert analysis_from_file_reporter is not None
        return analysis_from_file_reporter(
            self.cov.get_data(), self.cov.config.precision, reporter, reporter.filename
        )

    def _stored_parse(
        self, reporter: PythonFileReporter, analysis: Analysis, branch: bool
    ) -> dict[str, Any] | None:
        """What a later run needs of this file's parse, or ``None`` if it cannot be kept.

        Kept only when coverage.py's analysis of the kept parse gives exactly
        the numbers of its full analysis, with this run's data: a check that
        costs little beside the parse, and keeps a coverage.py whose parser
        works differently from ever being answered wrongly from the store.
        """
        entry = _static_analysis(reporter, analysis.statements, analysis.excluded)
        if branch:
            parser = reporter.parser
            entry["arcs"] = sorted(reporter.arcs())
            entry["exit_counts"] = sorted(reporter.exit_counts().items())
            entry["no_branch"] = sorted(reporter.no_branch_lines())
            # How coverage.py rewrites the arcs leaving a ``with`` block (3.10+).
            # Not part of its reporter interface: a parser that rewrites them
            # some other way is not kept at all, and the rewriting is checked.
            fixers = getattr(parser, "_with_jump_fixers", None)
            if fixers is None:
                if hasattr(parser, "fix_with_jumps"):
                    return None
                fixers = {}
            entry["jump_fixers"] = sorted(
                [*arc, *(new if new is not None else (None, None))] for arc, new in fixers.items()
            )
        stored = StoredParse(reporter.filename, entry)
        kept = self._analyse(stored)
        same = (
            kept.numbers.__dict__ == analysis.numbers.__dict__
            and kept.executed == analysis.executed
            and stored.translate_arcs(stored.fixed) == reporter.translate_arcs(stored.fixed)
        )
        return entry if same else None

    def _analysis_keys(self, data: CoverageData) -> dict[str, str]:
        """For each plain Python file coverage.py would report on, the key of its analysis.

        The key hashes the source bytes with everything else that shapes the
        parse: coverage.py's and Python's versions, the exclusion patterns and,
        for branch coverage, the partial-branch patterns. Files handled by a
        coverage.py plugin, or not named ``*.py``, are left to coverage.py's
        full analysis.
        """
        config = self.cov.config
        include = config.report_include and GlobMatcher(
            prep_patterns(config.report_include), "report_include"
        )
        omit = config.report_omit and GlobMatcher(prep_patterns(config.report_omit), "report_omit")
        shape: tuple[object, ...] = (
            coverage.__version__,
            sys.version_info[:2],
            sorted(config.exclude_list),
        )
        if config.branch:
            shape += (
                "branch",
                sorted(config.partial_list),
                sorted(getattr(config, "partial_always_list", ())),
            )
        settings = repr(shape).encode()
        keys: dict[str, str] = {}
        for filename in data.measured_files():
            if not filename.endswith(".py") or data.file_tracer(filename):
                continue
            if (include and not include.match(filename)) or (omit and omit.match(filename)):
                continue
            try:
                with open(filename, "rb") as source:
                    digest = hashlib.blake2b(settings, digest_size=16)
                    digest.update(source.read())
            except OSError:
                continue  # coverage.py's own analysis reports it (or ignores it, if told to)
            keys[filename] = digest.hexdigest()
        return keys


class StoredParse(FileReporter):
    """A file's parse as a previous run kept it, answering what coverage.py's analysis asks.

    coverage.py's analysis asks its file reporter for the statements, the
    excluded lines, the possible arcs and how to map traced lines and arcs to
    statements; this reporter answers from the ledger instead of parsing.
    """

    def __init__(self, filename: str, entry: Mapping[str, Any]) -> None:
        super().__init__(filename)
        self._statements = set(entry["statements"])
        self._excluded = set(entry["excluded"])
        self._first = {int(line): int(first) for line, first in entry["multiline"]}
        self._arcs = {(int(a), int(b)) for a, b in entry.get("arcs", ())}
        self._exit_counts = {int(line): int(n) for line, n in entry.get("exit_counts", ())}
        self._no_branch = set(entry.get("no_branch", ()))
        self._fixers: dict[tuple[int, int], tuple[int, int] | None] = {
            (a, b): (c, d) if c is not None else None for a, b, c, d in entry.get("jump_fixers", ())
        }

    @property
    def fixed(self) -> set[tuple[int, int]]:
        """The traced arcs this parse rewrites (those leaving ``with`` blocks)."""
        return set(self._fixers)

    def _first_line(self, line: int) -> int:
        # As coverage.py maps them: a negative number (an arc's code object
        # entry or exit) maps through the absolute line.
        if line < 0:
            return -self._first.get(-line, -line)
        return self._first.get(line, line)

    def lines(self) -> set[int]:
        return self._statements

    def excluded_lines(self) -> set[int]:
        return self._excluded

    def translate_lines(self, lines: Iterable[int]) -> set[int]:
        return {self._first_line(line) for line in lines}

    def arcs(self) -> set[tuple[int, int]]:
        return self._arcs

    def translate_arcs(self, arcs: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
        fixed = (self._fixers.get(arc, arc) for arc in arcs)
        return {(self._first_line(a), self._first_line(b)) for a, b in (f for f in fixed if f)}

    def exit_counts(self) -> dict[int, int]:
        return self._exit_counts

    def no_branch_lines(self) -> set[int]:
        return self._no_branch


def _static_analysis(
    reporter: PythonFileReporter, statements: set[int], excluded: set[int]
) -> dict[str, Any]:
    """What a later run needs of this file's parse: statements, excluded, multi-line map."""
    multiline = []
    for line in range(1, len(reporter.source().splitlines()) + 2):
        first = min(reporter.translate_lines([line]))
        if first != line:
            multiline.append([line, first])
    return {"statements": sorted(statements), "excluded": sorted(excluded), "multiline": multiline}


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
        # Absent from runs recorded before it existed: read as no problem.
        "problems": list(result.problems),
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


def export(files: Mapping[str, CoverageFile], rootdir: str, path: str) -> None:
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
