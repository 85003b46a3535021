"""The gates UETF knows: name, what they measure, and the operator they default to.

This table is the single source for parsing, evaluation and the reference in
docs/gates.md; a gate a later release adds is one more row here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from uetf_core.metrics import RunMetrics

Measure = Callable[[RunMetrics], "float | str"]
"""Returns the measured value, or a string saying why it cannot be measured."""


@dataclass(frozen=True)
class GateKind:
    """One kind of gate: its measure, unit and the operator a bare number means."""

    name: str
    default_op: str
    unit: str | None
    measure: Measure
    summary: str
    is_duration: bool = False


def _pass_rate(m: RunMetrics) -> float | str:
    if m.executed == 0:
        return "no test was executed"
    return round(100.0 * (m.executed - m.failed - m.errors) / m.executed, 2)


def _max_test_duration(m: RunMetrics) -> float | str:
    if m.slowest_test is None:
        return "no test was executed"
    return round(m.slowest_test, 3)


def _run_duration(m: RunMetrics) -> float | str:
    return round(m.duration, 3)


GATES: dict[str, GateKind] = {
    kind.name: kind
    for kind in (
        GateKind(
            "pass_rate",
            ">=",
            "%",
            _pass_rate,
            "percent of executed tests (skips excluded) that did not fail or error",
        ),
        GateKind(
            "max_failures",
            "<=",
            None,
            lambda m: float(m.failed + m.errors),
            "failed tests plus errors",
        ),
        GateKind(
            "min_tests",
            ">=",
            None,
            lambda m: float(m.collected),
            "tests selected to run (after -k, -m and deselection)",
        ),
        GateKind(
            "max_duration",
            "<=",
            "s",
            _run_duration,
            "wall-clock seconds of the whole run",
            is_duration=True,
        ),
        GateKind(
            "max_test_duration",
            "<=",
            "s",
            _max_test_duration,
            "seconds of the slowest test (setup + call + teardown)",
            is_duration=True,
        ),
    )
}
