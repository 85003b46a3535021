"""The figures of a run that gates are judged on, computed from the ledger."""

from __future__ import annotations

from dataclasses import dataclass


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
