"""Which tests a change can affect: a pure function of the baseline and the change.

``select_tests`` reads nothing and writes nothing. Its inputs are the baseline's
recorded dependencies (:class:`Baseline`) and what changed since (:class:`Change`);
its answer (:class:`Selection`) is either the whole suite, with the reason, or the
tests to run, each with the reason it runs. Rules, in the order they are checked
(docs/impact.md says why each is there):

whole suite when
  there is no baseline, or it has no dependency data; the Python version or the
  set of installed distributions differs; a changed file is a packaging or
  configuration file (``pyproject.toml``, ``setup.cfg``, ``setup.py``,
  ``requirements*.txt``, ``tox.ini``, ``pytest.ini``, the root ``conftest.py``)
  or matches a configured input glob; a changed file is neither Python nor
  known to be inert (documentation); a changed Python file cannot be parsed.

otherwise each collected test runs when, first reason first,
  it is new since the baseline; it has no dependency data; it failed or was
  flaky in recent runs; its file changed; a ``conftest.py`` above it changed;
  a block it entered changed or is gone; import-time code (a module's top level,
  a class body) changed in a file it entered code in, or in a file those import.
"""

from __future__ import annotations

import enum
import fnmatch
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from uetf_core.impact.blocks import FileBlocks
from uetf_core.impact.environment import Environment

WHOLE_SUITE_FILES = (
    "pyproject.toml",
    "setup.cfg",
    "setup.py",
    "tox.ini",
    "pytest.ini",
    "conftest.py",  # the root one; conftests below the root select the tests under them
)
WHOLE_SUITE_GLOBS = ("requirements*.txt", "**/requirements*.txt", "constraints*.txt")
# Files no test can read through the project's code, by convention. Anything else
# that is not Python sends selection to the whole suite unless it is declared.
INERT_GLOBS = (
    "*.md",
    "*.rst",
    "CHANGES*",
    "CHANGELOG*",
    "HISTORY*",
    "NEWS*",
    "MANIFEST.in",  # what a source distribution holds, not what a test runs
    "*.pyi",  # type stubs: read by type checkers, never imported (docs/impact.md)
    "py.typed",
    "docs/**",
    "doc/**",
    "LICENSE*",
    "COPYING*",
    "AUTHORS*",
    ".gitignore",
    ".github/**",
    ".gitlab-ci.yml",
    ".pre-commit-config.yaml",
)


@dataclass(frozen=True, order=True)
class BlockDependency:
    """A block a test depended on, as the baseline saw it: file, key, fingerprint."""

    path: str
    qualname: str
    fingerprint: str


@dataclass(frozen=True)
class TestDependencies:
    """The blocks one test entered in the baseline run."""

    __test__: ClassVar[bool] = False  # a record, not a test class for pytest to collect

    node_id: str
    blocks: frozenset[BlockDependency]


@dataclass(frozen=True)
class Baseline:
    """What the baseline run recorded.

    ``import_time``: the fingerprints of the import-time blocks (top levels,
    class bodies) of every project file the run imported; ``imports``: for each
    of those files, the project files it imports.
    """

    run_id: str
    environment: Environment
    tests: Mapping[str, TestDependencies]
    without_data: frozenset[str] = frozenset()
    import_time: frozenset[BlockDependency] = frozenset()
    imports: Mapping[str, frozenset[str]] = field(default_factory=dict)
    has_dependency_data: bool = True


@dataclass(frozen=True)
class Change:
    """The work tree against the baseline's commit.

    ``changed_files``: relative paths added, modified or deleted; ``blocks``: the
    current blocks of the changed Python files that still exist and parse;
    ``unparsable``: changed Python files that do not parse.
    """

    environment: Environment
    collected: tuple[str, ...]
    changed_files: frozenset[str]
    blocks: Mapping[str, FileBlocks] = field(default_factory=dict)
    unparsable: frozenset[str] = frozenset()
    recent_failures: frozenset[str] = frozenset()
    input_globs: tuple[str, ...] = ()
    # Packaging files whose edit no test can see (version numbers, linters' settings):
    # what is installed is compared through the environment instead (planner.py).
    inert_edits: frozenset[str] = frozenset()


class Reason(enum.Enum):
    """Why a test is selected, first reason first."""

    WHOLE_SUITE = "the whole suite runs"
    NEW = "new since the baseline"
    NO_DATA = "no dependency data in the baseline"
    RECENTLY_FAILED = "failed or flaky in recent runs"
    TEST_FILE_CHANGED = "its file changed"
    CONFTEST_CHANGED = "a conftest.py above it changed"
    BLOCK_CHANGED = "code it ran changed"
    IMPORT_TIME_CHANGED = "import-time code it relies on changed"


class WholeSuiteReason(enum.Enum):
    """Why selection gave up and runs every test."""

    NO_BASELINE = "no baseline run to select from"
    NO_DEPENDENCY_DATA = "the baseline run has no dependency data"
    PYTHON_CHANGED = "the Python version changed"
    DISTRIBUTIONS_CHANGED = "the installed distributions changed"
    CONFIGURATION_CHANGED = "a packaging or configuration file changed"
    INPUT_CHANGED = "a configured input changed"
    UNMAPPED_FILE_CHANGED = "a changed file cannot be mapped to code blocks"
    UNPARSABLE = "a changed Python file does not parse"


@dataclass(frozen=True)
class SelectedTest:
    """A test to run, the reason, and what triggered it (a file, a block)."""

    node_id: str
    reason: Reason
    detail: str = ""


@dataclass(frozen=True)
class WholeSuite:
    """The decision to run everything, why, and what triggered it."""

    reason: WholeSuiteReason
    detail: str = ""


@dataclass(frozen=True)
class Selection:
    """Either ``whole_suite`` (and every collected test selected) or a subset."""

    whole_suite: WholeSuite | None
    selected: tuple[SelectedTest, ...]
    deselected: tuple[str, ...]

    @property
    def node_ids(self) -> tuple[str, ...]:
        return tuple(t.node_id for t in self.selected)


def select_tests(baseline: Baseline | None, change: Change) -> Selection:
    """The tests ``change`` can affect, by the rules of this module's docstring."""
    whole = _whole_suite(baseline, change)
    if whole is not None or baseline is None:
        whole = whole or WholeSuite(WholeSuiteReason.NO_BASELINE)
        everything = tuple(
            SelectedTest(node_id, Reason.WHOLE_SUITE, whole.reason.value)
            for node_id in change.collected
        )
        return Selection(whole, everything, ())
    return _subset(baseline, change)


def _whole_suite(baseline: Baseline | None, change: Change) -> WholeSuite | None:
    if baseline is None:
        return WholeSuite(WholeSuiteReason.NO_BASELINE)
    if not baseline.has_dependency_data:
        return WholeSuite(WholeSuiteReason.NO_DEPENDENCY_DATA, baseline.run_id)
    if baseline.environment.python != change.environment.python:
        detail = f"{baseline.environment.python} -> {change.environment.python}"
        return WholeSuite(WholeSuiteReason.PYTHON_CHANGED, detail)
    if baseline.environment.distributions != change.environment.distributions:
        return WholeSuite(WholeSuiteReason.DISTRIBUTIONS_CHANGED)
    for path in sorted(change.changed_files):
        found = _unmappable(path, change)
        if found is not None:
            return found
    return None


def _unmappable(path: str, change: Change) -> WholeSuite | None:
    """The whole-suite decision a changed file forces, if any."""
    if path in change.inert_edits:
        return None
    if path in WHOLE_SUITE_FILES or _matches(path, WHOLE_SUITE_GLOBS):
        return WholeSuite(WholeSuiteReason.CONFIGURATION_CHANGED, path)
    if _matches(path, change.input_globs):
        return WholeSuite(WholeSuiteReason.INPUT_CHANGED, path)
    if path in change.unparsable:
        return WholeSuite(WholeSuiteReason.UNPARSABLE, path)
    if not path.endswith(".py") and not _matches(path, INERT_GLOBS):
        return WholeSuite(WholeSuiteReason.UNMAPPED_FILE_CHANGED, path)
    return None


def _matches(path: str, globs: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(path, glob) for glob in globs)


def _subset(baseline: Baseline, change: Change) -> Selection:
    changed = change.changed_files
    changed_conftest_dirs = sorted(
        path[: -len("conftest.py")] for path in changed if path.endswith("/conftest.py")
    )
    block_hits = _changed_block_hits(baseline, change)
    import_hits = _import_time_hits(baseline, change)
    selected: list[SelectedTest] = []
    deselected: list[str] = []
    for node_id in change.collected:
        found = _reason_for(
            node_id, baseline, change, changed_conftest_dirs, block_hits, import_hits
        )
        if found is None:
            deselected.append(node_id)
        else:
            selected.append(found)
    return Selection(None, tuple(selected), tuple(deselected))


def _reason_for(
    node_id: str,
    baseline: Baseline,
    change: Change,
    conftest_dirs: list[str],
    block_hits: Mapping[str, str],
    import_hits: Mapping[str, str],
) -> SelectedTest | None:
    test_file = node_id.split("::", 1)[0]
    if node_id in baseline.without_data:
        return SelectedTest(node_id, Reason.NO_DATA)
    if node_id not in baseline.tests:
        return SelectedTest(node_id, Reason.NEW)
    if node_id in change.recent_failures:
        return SelectedTest(node_id, Reason.RECENTLY_FAILED)
    if test_file in change.changed_files:
        return SelectedTest(node_id, Reason.TEST_FILE_CHANGED, test_file)
    for folder in conftest_dirs:
        if test_file.startswith(folder):
            return SelectedTest(node_id, Reason.CONFTEST_CHANGED, f"{folder}conftest.py")
    if node_id in block_hits:
        return SelectedTest(node_id, Reason.BLOCK_CHANGED, block_hits[node_id])
    if node_id in import_hits:
        return SelectedTest(node_id, Reason.IMPORT_TIME_CHANGED, import_hits[node_id])
    return None


def _changed_block_hits(baseline: Baseline, change: Change) -> dict[str, str]:
    """Node id -> a changed or removed block it entered (``path::qualname``, first by name)."""
    current = {
        path: {b.qualname: b.fingerprint for b in change.blocks[path].blocks}
        for path in change.changed_files
        if path in change.blocks
    }
    hits: dict[str, str] = {}
    changed = change.changed_files
    for node_id, deps in baseline.tests.items():
        found = [
            f"{dep.path}::{dep.qualname}"
            for dep in deps.blocks
            if dep.path in changed
            and current.get(dep.path, {}).get(dep.qualname) != dep.fingerprint
        ]
        if found:
            hits[node_id] = min(found)  # the same detail whatever the set's order
    return hits


def _import_time_hits(baseline: Baseline, change: Change) -> dict[str, str]:
    """Node id -> the changed file whose import-time code the test relies on.

    A file's import-time code changed when one of its import-time blocks has another
    fingerprint, appeared or went away. Tests rely on it when they entered code in
    that file or in a project file whose import-time code imports it, directly or
    not, or entered a function that imports it when called (an import inside a
    function: only the tests that called the function ran it).
    """
    before: dict[str, dict[str, str]] = defaultdict(dict)
    for dep in baseline.import_time:
        before[dep.path][dep.qualname] = dep.fingerprint
    changed_files = set()
    for path in change.changed_files:
        if path not in before:
            continue  # the baseline never imported it: nothing ran its top level
        blocks = change.blocks.get(path)
        now = {b.qualname: b.fingerprint for b in blocks.blocks if b.import_time} if blocks else {}
        if now != before[path]:
            changed_files.add(path)
    if not changed_files:
        return {}
    reached = _importers(changed_files, baseline.imports)
    hits: dict[str, str] = {}
    for node_id, deps in baseline.tests.items():
        for path in sorted(relied_on(node_id, deps.blocks) & reached.keys()):
            hits[node_id] = reached[path]
            break
    return hits


def block_node(path: str, qualname: str) -> str:
    """A block's name in the import graph (a file's name is its path)."""
    return f"{path}::{qualname}"


def relied_on(node_id: str, blocks: Iterable[BlockDependency]) -> set[str]:
    """Where a test's imports start in the import graph: its test file, every file it
    entered code in, and every block it entered (for the imports a function makes)."""
    found = {node_id.split("::", 1)[0]}
    for block in blocks:
        found.add(block.path)
        found.add(block_node(block.path, block.qualname))
    return found


def _importers(changed: set[str], imports: Mapping[str, frozenset[str]]) -> dict[str, str]:
    """Every file that is, or imports directly or not, a changed file -> that changed file."""
    imported_by: dict[str, set[str]] = defaultdict(set)
    for importer, imported in imports.items():
        for path in imported:
            imported_by[path].add(importer)
    reached = {path: path for path in changed}
    frontier = sorted(changed)
    while frontier:
        path = frontier.pop()
        for importer in sorted(imported_by.get(path, ())):
            if importer not in reached:
                reached[importer] = reached[path]
                frontier.append(importer)
    return reached
