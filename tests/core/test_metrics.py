"""The value objects gates are judged on: totals add up field by field, nothing mutates."""

from __future__ import annotations

import pytest

from uetf_core.metrics import GateContext, RunMetrics, Totals


def test_totals_add_field_by_field() -> None:
    first = Totals(collected=3, passed=2, failed=1)
    second = Totals(collected=2, passed=1, skipped=1, reruns=2)
    assert first + second == Totals(collected=5, passed=3, failed=1, skipped=1, reruns=2)
    assert (first + second).as_dict() == {
        "collected": 5,
        "passed": 3,
        "failed": 1,
        "skipped": 1,
        "xfailed": 0,
        "xpassed": 0,
        "errors": 0,
        "reruns": 2,
    }


def test_value_objects_cannot_change() -> None:
    context = GateContext(RunMetrics(Totals(collected=1), 0.5, None))
    with pytest.raises(AttributeError):
        context.metrics.totals.passed = 1  # type: ignore[misc]
    # The empty defaults are shared by every context, so nothing may fill them.
    with pytest.raises(TypeError):
        context.outcomes["tests/a.py::t"] = "failed"  # type: ignore[index]
    assert context._replace(partial="-k").partial == "-k"
    assert context.partial is None
