"""Judging gates: a truth table per gate, the overall verdict, and the exit status."""

from __future__ import annotations

import pytest

from uetf_core.exitcodes import ExitCode
from uetf_core.gates import GateSpec, Verdict, evaluate_gates, overall_verdict, parse_gate
from uetf_core.metrics import GateContext, RecallFigures, RunMetrics, Totals
from uetf_core.verdict import final_exit_status


def metrics(
    passed: int = 0,
    failed: int = 0,
    errors: int = 0,
    skipped: int = 0,
    duration: float = 1.0,
    slowest: float | None = 0.5,
) -> RunMetrics:
    collected = passed + failed + errors + skipped
    totals = Totals(collected, passed, failed, skipped, 0, 0, errors, 0)
    return RunMetrics(totals, duration, slowest)


@pytest.mark.parametrize(
    ("gate", "run", "verdict", "value"),
    [
        ("pass_rate>=100", metrics(passed=4), Verdict.PASSED, 100.0),
        ("pass_rate>=100", metrics(passed=3, failed=1), Verdict.FAILED, 75.0),
        ("pass_rate>=75", metrics(passed=3, failed=1), Verdict.PASSED, 75.0),
        ("pass_rate>=100", metrics(passed=3, skipped=5), Verdict.PASSED, 100.0),
        ("pass_rate>=90", metrics(passed=9, errors=1), Verdict.PASSED, 90.0),
        ("pass_rate>=100", metrics(skipped=2), Verdict.SKIPPED, None),
        ("max_failures<=0", metrics(passed=1, failed=1), Verdict.FAILED, 1.0),
        ("max_failures<=2", metrics(passed=1, failed=1, errors=1), Verdict.PASSED, 2.0),
        ("min_tests>=10", metrics(passed=4), Verdict.FAILED, 4.0),
        ("min_tests>=4", metrics(passed=4), Verdict.PASSED, 4.0),
        ("max_duration<=2", metrics(duration=2.5), Verdict.FAILED, 2.5),
        ("max_duration<=3", metrics(duration=2.5), Verdict.PASSED, 2.5),
        ("max_test_duration<=1", metrics(passed=1, slowest=1.5), Verdict.FAILED, 1.5),
        ("max_test_duration<=1", metrics(slowest=None), Verdict.SKIPPED, None),
    ],
)
def test_gate_truth_table(gate: str, run: RunMetrics, verdict: Verdict, value: float) -> None:
    """Each gate measures its figure and compares it with its operator."""
    (result,) = evaluate_gates([parse_gate(gate)], run)
    assert result.verdict is verdict
    assert result.value == value
    if verdict is Verdict.SKIPPED:
        assert result.reason


def test_warn_mode_never_fails() -> None:
    """In warn mode, globally or per gate, a violation is 'warned', not 'failed'."""
    run = metrics(passed=1, failed=1)
    (globally,) = evaluate_gates([parse_gate("pass_rate>=100")], run, mode="warn")
    (per_gate,) = evaluate_gates([GateSpec("pass_rate", ">=", 100.0, "warn")], run)
    assert globally.verdict is per_gate.verdict is Verdict.WARNED


@pytest.mark.parametrize(
    ("recall", "verdict", "value", "reason"),
    [
        (RecallFigures(12, 3, 4, 4), Verdict.PASSED, 100.0, None),
        (RecallFigures(12, 3, 3, 2), Verdict.FAILED, 66.67, None),
        (RecallFigures(0, 0, 0, 0), Verdict.SKIPPED, None, "no run has selected tests yet"),
        (RecallFigures(5, 0, 0, 0), Verdict.SKIPPED, None, "no shadow run among the newest 5"),
        (RecallFigures(5, 2, 0, 0), Verdict.SKIPPED, None, "no test failed in the 2 shadow"),
    ],
)
def test_impact_recall_needs_a_failure_seen_in_a_shadow_run(
    recall: RecallFigures, verdict: Verdict, value: float | None, reason: str | None
) -> None:
    """impact_recall is the share of shadow runs' failures selection would have run;
    without such a failure there is no evidence, and the gate is skipped, never passed."""
    context = GateContext(metrics(passed=1), recall=recall)
    (result,) = evaluate_gates([parse_gate("impact_recall>=99")], context)
    assert (result.verdict, result.value) == (verdict, value)
    if reason is not None:
        assert result.reason is not None and f"no evidence yet: {reason}" in result.reason


@pytest.mark.parametrize(
    ("verdicts", "overall"),
    [
        ([], Verdict.PASSED),
        ([Verdict.PASSED, Verdict.SKIPPED], Verdict.PASSED),
        ([Verdict.PASSED, Verdict.WARNED], Verdict.WARNED),
        ([Verdict.WARNED, Verdict.ERROR], Verdict.ERROR),
        ([Verdict.ERROR, Verdict.FAILED], Verdict.FAILED),
    ],
)
def test_overall_verdict(verdicts: list[Verdict], overall: Verdict) -> None:
    """The overall verdict is the worst of failed, error, warned, else passed."""
    from uetf_core.gates.evaluate import GateResult

    results = [GateResult(GateSpec("min_tests", ">=", 1.0), 1.0, v) for v in verdicts]
    assert overall_verdict(results) is overall


@pytest.mark.parametrize(
    ("tests", "verdict", "status"),
    [
        (ExitCode.OK, Verdict.PASSED, ExitCode.OK),
        (ExitCode.OK, Verdict.WARNED, ExitCode.OK),
        (ExitCode.OK, Verdict.FAILED, ExitCode.GATES_FAILED),
        (ExitCode.OK, Verdict.ERROR, ExitCode.GATES_FAILED),
        (ExitCode.TESTS_FAILED, Verdict.FAILED, ExitCode.TESTS_FAILED),
        (ExitCode.NO_TESTS, Verdict.FAILED, ExitCode.NO_TESTS),
    ],
)
def test_final_exit_status(tests: int, verdict: Verdict, status: int) -> None:
    """A gate violation exits 6 unless the tests' own status is already non-zero."""
    assert final_exit_status(tests, verdict) == status
