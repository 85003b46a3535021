"""How a troubled test of a run is classified: one decision for the gate and every report."""

from __future__ import annotations

import pytest

from uetf_core.gates.catalog import new_failures
from uetf_core.judge import failure_kind
from uetf_core.metrics import Baseline, GateContext, RunMetrics, Totals


@pytest.mark.parametrize(
    ("outcome", "before", "flaky", "waived", "kind"),
    [
        ("failed", "passed", False, False, "new"),
        ("failed", None, False, False, "new"),  # a test added since the baseline
        ("error", "skipped", False, False, "new"),
        ("failed", "failed", False, False, "pre-existing"),
        ("error", "error", False, False, "pre-existing"),
        ("failed", "passed", True, False, "flaky"),
        ("passed", "passed", True, False, "flaky"),  # passed on a retry
        ("failed", "passed", True, True, "waived"),  # a waiver wins over flakiness
        ("failed", "failed", False, True, "waived"),
        ("passed", "failed", False, True, None),  # fixed: nothing to say
        ("skipped", None, False, False, None),
        ("xfailed", "passed", False, False, None),
    ],
)
def test_failure_kinds(
    outcome: str, before: str | None, flaky: bool, waived: bool, kind: str | None
) -> None:
    """The truth table of failure_kind."""
    node = "t.py::t"
    got = failure_kind(node, outcome, before, {node} if flaky else set(), {node} if waived else ())
    assert got == kind


def test_the_gate_counts_the_classified_new_failures() -> None:
    """With the judge's classification in the context, new_failures counts exactly those;
    from bare outcomes the same rule applies (new tests that fail are new failures)."""
    metrics = RunMetrics(Totals(collected=3, passed=0, failed=3), 1.0, 0.1)
    baseline = Baseline("b", None, {"t.py::a": "passed", "t.py::b": "failed"})
    outcomes = {"t.py::a": "failed", "t.py::b": "failed", "t.py::c": "failed"}
    bare = GateContext(metrics, baseline=baseline, outcomes=outcomes, flaky=frozenset())
    assert new_failures(bare) == ["t.py::a", "t.py::c"]
    classified = bare._replace(new_failures=("t.py::c",))
    assert new_failures(classified) == ["t.py::c"]
