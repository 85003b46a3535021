"""What one run recorded for impact analysis, in the shape the ledger stores and reads.

A :class:`RecordedRun` is built once at the end of a run (from the recorders of the
controller and of every xdist worker) and written in one transaction; a later run
reads it back as its :class:`~uetf_core.impact.selection.Baseline`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypedDict

from uetf_core.impact.environment import Environment
from uetf_core.impact.selection import Baseline, BlockDependency, TestDependencies


@dataclass(frozen=True)
class RecordedRun:
    """Per test its blocks (None: no data), plus what the run imported, and on what.

    ``complete`` False marks a run whose recording failed (no recorder could start):
    it never serves as a baseline.
    """

    mechanism: str
    environment: Environment
    tests: Mapping[str, frozenset[BlockDependency] | None]
    import_time: frozenset[BlockDependency] = frozenset()
    imports: Mapping[str, frozenset[str]] = field(default_factory=dict)
    complete: bool = True

    def as_baseline(self, run_id: str) -> Baseline:
        """This run as a later selection's baseline."""
        recorded = {
            node_id: TestDependencies(node_id, blocks)
            for node_id, blocks in self.tests.items()
            if blocks is not None
        }
        without = frozenset(n for n, blocks in self.tests.items() if blocks is None)
        return Baseline(
            run_id,
            self.environment,
            recorded,
            without,
            self.import_time,
            self.imports,
            has_dependency_data=self.complete,
        )


@dataclass(frozen=True)
class SelectionRecord:
    """What a run that selected decided: the mode, the baseline, and per test its reason.

    ``decisions`` maps each collected test to its reason's name (``Reason.name``)
    and detail, or to None when selection left it out (carried in ``affected``
    mode; only noted in ``shadow`` mode, where every test runs).
    """

    mode: str
    baseline_run_id: str | None
    whole_reason: str | None
    whole_detail: str | None
    decisions: Mapping[str, tuple[str, str] | None]

    @property
    def selected(self) -> int:
        return sum(1 for d in self.decisions.values() if d is not None)

    @property
    def unselected(self) -> int:
        return len(self.decisions) - self.selected


class StoredSelection(TypedDict):
    """What a run's selection did, as the ledger keeps it (``impact_selections``)."""

    mode: str | None
    baseline_run_id: str | None
    whole_reason: str | None
    whole_detail: str | None
    selected: int
    unselected: int


class LikelyFlaky(TypedDict):
    """A failure whose code did not change since the test last passed."""

    node_id: str
    passed_run_id: str
    blocks: int
