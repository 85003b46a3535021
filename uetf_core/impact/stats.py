"""How selection has done over the ledger's history: share run, time saved, recall.

Recall is measured where it can be: in shadow runs every test runs, so a failure
of a test selection would have left out is seen (a miss). In runs that carried
tests, a left-out test did not run and its failure cannot be seen; those runs
count toward the share and the time, never toward recall.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Z_95 = 1.959963984540054  # the normal quantile of a two-sided 95% interval


def wilson_interval(hits: int, total: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion; None without observations.

    Chosen over the normal approximation: it stays within [0, 1] and is honest at
    a recall of 100% over few failures, which is the common case.
    """
    if total <= 0:
        return None
    p = hits / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    spread = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - spread), min(1.0, centre + spread)


@dataclass(frozen=True)
class ImpactStats:
    """Selection's record over ``runs`` runs (``shadow_runs`` of them in shadow mode)."""

    runs: int
    shadow_runs: int
    whole_suite_runs: int
    tests_selected: int
    tests_total: int
    seconds_left_out: float
    seconds_total: float
    failures: int  # in shadow runs
    failures_caught: int  # of those, the ones selection would have run

    @property
    def share_selected(self) -> float | None:
        return self.tests_selected / self.tests_total if self.tests_total else None

    @property
    def time_saved(self) -> float | None:
        return self.seconds_left_out / self.seconds_total if self.seconds_total else None

    @property
    def recall(self) -> float | None:
        return self.failures_caught / self.failures if self.failures else None

    def as_dict(self) -> dict[str, Any]:
        interval = wilson_interval(self.failures_caught, self.failures)
        return {
            "runs": self.runs,
            "shadow_runs": self.shadow_runs,
            "whole_suite_runs": self.whole_suite_runs,
            "tests_selected": self.tests_selected,
            "tests_total": self.tests_total,
            "share_selected": self.share_selected,
            "seconds_left_out": round(self.seconds_left_out, 6),
            "seconds_total": round(self.seconds_total, 6),
            "time_saved": self.time_saved,
            "failures": self.failures,
            "failures_caught": self.failures_caught,
            "recall": self.recall,
            "recall_interval": list(interval) if interval else None,
        }


def impact_stats(history: Sequence[dict[str, Any]]) -> ImpactStats:
    """The figures of ``Ledger.selection_history`` rows."""
    shadow = [run for run in history if run["mode"] == "shadow"]
    return ImpactStats(
        runs=len(history),
        shadow_runs=len(shadow),
        whole_suite_runs=sum(1 for run in history if run["whole_suite"]),
        tests_selected=sum(int(run["selected"]) for run in history),
        tests_total=sum(int(run["selected"]) + int(run["unselected"]) for run in history),
        seconds_left_out=sum(float(run["unselected_seconds"]) for run in history),
        seconds_total=sum(float(run["seconds"]) for run in history),
        failures=sum(int(run["failures"]) for run in shadow),
        failures_caught=sum(int(run["failures_selected"]) for run in shadow),
    )
