"""A coverage that measured nothing: every coverage gate's verdict is error, naming the fix."""

from __future__ import annotations

import pytest

from uetf_core.exitcodes import ExitCode
from uetf_core.gates import Verdict, evaluate_gates, overall_verdict, parse_gate
from uetf_core.metrics import (
    Baseline,
    CoverageFigures,
    GateContext,
    PatchFigures,
    RunMetrics,
    Totals,
)
from uetf_core.verdict import final_exit_status

PROBLEM = "coverage source 'src/shpo' matched no file; check [tool.uetf] cov_source"
FILES = {"src/shop/cart.py": (frozenset({1, 2, 3}), frozenset({1, 2, 3}))}


def context(problems: tuple[str, ...], patch: PatchFigures | None) -> GateContext:
    return GateContext(
        metrics=RunMetrics(Totals(collected=2, passed=2), 1.0, 0.5),
        coverage=CoverageFigures(100.0, FILES, problems),
        patch=patch,
        baseline=Baseline("base", 100.0, {}),
    )


GATES = ["coverage>=90", "path_coverage[src/**]>=90", "patch_coverage>=90", "coverage_drop<=0"]


@pytest.mark.parametrize(
    "patch",
    [PatchFigures({"src/shop/cart.py": ((1, 3),)}), None, PatchFigures(problem="no git")],
    ids=["with-change", "no-change", "change-unknown"],
)
def test_a_coverage_problem_is_every_coverage_gates_error(patch: PatchFigures | None) -> None:
    """Whatever the change, each coverage gate is error with the problem as its reason: exit 6."""
    results = evaluate_gates([parse_gate(g) for g in GATES], context((PROBLEM,), patch))
    assert [(r.verdict, r.reason) for r in results] == [(Verdict.ERROR, PROBLEM)] * 4
    assert final_exit_status(ExitCode.OK, overall_verdict(results)) == ExitCode.GATES_FAILED


def test_without_problems_the_same_figures_are_judged() -> None:
    """The same figures without a problem pass: the problem alone made the error."""
    patch = PatchFigures({"src/shop/cart.py": ((1, 3),)})
    results = evaluate_gates([parse_gate(g) for g in GATES], context((), patch))
    assert [r.verdict for r in results] == [Verdict.PASSED] * 4


def test_figures_stored_before_problems_existed_have_none() -> None:
    """Coverage figures built without problems (older ledgers) have none."""
    assert CoverageFigures(50.0, FILES).problems == ()
