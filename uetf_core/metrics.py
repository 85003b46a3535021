"""The figures of a run that gates are judged on, computed from the ledger."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Totals:
    """Test counts of a run, as ``uetf show`` and the run summary report them."""

    collected: int = 0
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    xfailed: int = 0
    xpassed: int = 0
    errors: int = 0
    reruns: int = 0

    def __add__(self, other: Totals) -> Totals:
        return Totals(
            *(getattr(self, name) + getattr(other, name) for name in self.__dataclass_fields__)
        )

    def as_dict(self) -> dict[str, int]:
        """The totals as the ``totals`` object of ``run_summary``."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class RunMetrics:
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


@dataclass(frozen=True)
class CoverageFigures:
    """A run's coverage as gates need it: the total and, per file, statements and executed."""

    percent: float
    files: Mapping[str, tuple[frozenset[int], frozenset[int]]]


@dataclass(frozen=True)
class PatchFigures:
    """The change under test: added line ranges per file, or why it could not be found."""

    files: Mapping[str, tuple[tuple[int, int], ...]] = field(default_factory=dict)
    problem: str | None = None

    def lines(self, path: str) -> set[int]:
        """Every added or changed line number of ``path``."""
        return {n for start, end in self.files.get(path, ()) for n in range(start, end + 1)}


@dataclass(frozen=True)
class Baseline:
    """What the ledger remembers of the base: its run, coverage, and test outcomes."""

    run_id: str
    percent: float | None
    outcomes: Mapping[str, str]


@dataclass(frozen=True)
class GateContext:
    """Everything the gates of one run are judged on."""

    metrics: RunMetrics
    coverage: CoverageFigures | None = None
    patch: PatchFigures | None = None
    baseline: Baseline | None = None
    baseline_missing: str = "no baseline run at the merge-base in the ledger"
    partial: str | None = None
    outcomes: Mapping[str, str] = field(default_factory=dict)
    min_patch_lines: int = 1
    # For the verdict of a sharded workstream: what is wrong with its shards.
    shard_problems: tuple[str, ...] | None = None
    # Tests of this run that are flaky: passed on a retry here, or failed now and
    # flipped in the ledger's recent history. None: not computed (no ledger).
    flaky: frozenset[str] | None = None
    # Failing tests an active waiver covers: they count for no gate.
    waived: frozenset[str] = frozenset()
    # The run's costs by name (seconds, declared units, money), and the baseline's.
    costs: Mapping[str, float] = field(default_factory=dict)
    baseline_costs: Mapping[str, float] | None = None
