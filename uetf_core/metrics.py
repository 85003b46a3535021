"""The figures of a run that gates are judged on, computed from the ledger.

These value types are named tuples rather than frozen dataclasses: every
``pytest --uetf`` imports them, and a frozen dataclass compiles five or six
generated methods when its module is imported (docs/performance.md counts
what each kind of class costs to define).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing import NamedTuple
else:  # the same classes, defined at a fraction of the cost: see uetf_core.namedtuples
    from uetf_core.namedtuples import NamedTuple

NOTHING: Mapping[Any, Any] = MappingProxyType({})  # an empty mapping no one can fill

# The newest runs that selected tests over which selection's record is read:
# ``uetf impact stats``'s default window and the ``impact_recall`` gate's.
SELECTION_RUNS = 50


class Totals(NamedTuple):
    """Test counts of a run, as ``uetf show`` and the run summary report them."""

    collected: int = 0
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    xfailed: int = 0
    xpassed: int = 0
    errors: int = 0
    reruns: int = 0

    def __add__(self, other: Totals) -> Totals:  # type: ignore[override]
        # Field by field, as totals add up (a tuple's + would concatenate).
        return Totals(*(a + b for a, b in zip(self, other, strict=True)))

    def as_dict(self) -> dict[str, int]:
        """The totals as the ``totals`` object of ``run_summary``."""
        return self._asdict()


class RunMetrics(NamedTuple):
    """Totals plus timing: everything the first set of gates measures."""

    totals: Totals
    duration: float
    slowest_test: float | None

    @property
    def collected(self) -> int:
        return self.totals.collected

    @property
    def failed(self) -> int:
        return self.totals.failed

    @property
    def errors(self) -> int:
        return self.totals.errors

    @property
    def executed(self) -> int:
        """Tests that ran to an outcome other than skipped."""
        t = self.totals
        return t.passed + t.failed + t.errors + t.xfailed + t.xpassed


class CoverageFigures(NamedTuple):
    """A run's coverage as gates need it: the total and, per file, statements and executed."""

    percent: float
    files: Mapping[str, tuple[frozenset[int], frozenset[int]]]
    # Why the figures measure nothing (a source that matched no file), one line
    # each naming the fix: every coverage gate's verdict is then error.
    problems: tuple[str, ...] = ()


class PatchFigures(NamedTuple):
    """The change under test: added line ranges per file, or why it could not be found."""

    files: Mapping[str, tuple[tuple[int, int], ...]] = NOTHING
    problem: str | None = None

    def lines(self, path: str) -> set[int]:
        """Every added or changed line number of ``path``."""
        return {n for start, end in self.files.get(path, ()) for n in range(start, end + 1)}


class Baseline(NamedTuple):
    """What the ledger remembers of the base: its run, coverage, and test outcomes."""

    run_id: str
    percent: float | None
    outcomes: Mapping[str, str]


class RecallFigures(NamedTuple):
    """Selection's recall on failures seen in shadow runs, over the newest runs that selected."""

    runs: int  # runs that selected, this one included
    shadow_runs: int
    failures: int  # failing tests seen in those shadow runs
    caught: int  # of those, the ones selection would have run


class GateContext(NamedTuple):
    """Everything the gates of one run are judged on."""

    metrics: RunMetrics
    coverage: CoverageFigures | None = None
    patch: PatchFigures | None = None
    baseline: Baseline | None = None
    baseline_missing: str = "no baseline run at the merge-base in the ledger"
    partial: str | None = None
    outcomes: Mapping[str, str] = NOTHING
    min_patch_lines: int = 1
    # For the verdict of a sharded workstream: what is wrong with its shards.
    shard_problems: tuple[str, ...] | None = None
    # Tests of this run that are flaky: passed on a retry here, or failed now and
    # flipped in the ledger's recent history. None: not computed (no ledger).
    flaky: frozenset[str] | None = None
    # Failing tests an active waiver covers: they count for no gate.
    waived: frozenset[str] = frozenset()
    # The run's costs by name (seconds, declared units, money), and the baseline's.
    costs: Mapping[str, float] = NOTHING
    baseline_costs: Mapping[str, float] | None = None
    # The shard this run is ("2/4"): gates that judge the whole suite wait for the
    # workstream's verdict. None: not a shard, or the workstream's combined run.
    shard: str | None = None
    # Tests failing now that did not fail in the baseline, flaky and waived ones
    # aside (judge.failure_kind): the new_failures gate and every report count these.
    new_failures: tuple[str, ...] | None = None  # None: not computed (use ``outcomes``)
    # Selection's record in shadow runs up to this one; None: not read (no gate asks).
    recall: RecallFigures | None = None
