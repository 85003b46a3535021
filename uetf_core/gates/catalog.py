"""The gates UETF knows: name, what they measure, and the operator they default to.

This table is the single source for parsing, evaluation and the reference in
docs/gates.md; a gate a later release adds is one more row here. A measure
returns a number, or a :class:`Skip` (not applicable, with the reason) or a
:class:`Fault` (could not be evaluated: the gate's verdict is ``error``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

from uetf_core.metrics import SELECTION_RUNS, CoverageFigures, GateContext

if TYPE_CHECKING:
    from typing import NamedTuple
else:  # the same classes, defined at a fraction of the cost: see uetf_core.namedtuples
    from uetf_core.namedtuples import NamedTuple


class Skip(NamedTuple):
    """The gate does not apply to this run; ``reason`` says why."""

    reason: str


class Fault(NamedTuple):
    """The gate could not be evaluated; ``reason`` says what to fix."""

    reason: str


Measured = "float | Skip | Fault"
Measure = Callable[[GateContext, "str | None"], "float | Skip | Fault"]


class GateKind(NamedTuple):
    """One kind of gate: its measure, unit and the operator a bare number means."""

    name: str
    default_op: str
    unit: str | None
    measure: Measure
    summary: str
    is_duration: bool = False
    whole_suite: bool = False  # skipped on partial runs (-k, -m, --lf, node ids)
    takes_path: bool = False
    param: str = "a glob, as in path_coverage[src/core/**]>=90"  # what the [...] holds


def _pass_rate(c: GateContext, _: str | None) -> float | Skip | Fault:
    m = c.metrics
    if m.executed == 0:
        return Skip("no test was executed")
    return round(100.0 * (m.executed - m.failed - m.errors) / m.executed, 2)


def _max_test_duration(c: GateContext, _: str | None) -> float | Skip | Fault:
    if c.metrics.slowest_test is None:
        return Skip("no test was executed")
    # Judged to the microsecond: 0.0004 s is over a threshold of 0 s.
    return round(c.metrics.slowest_test, 6)


_NOT_MEASURED = Skip("coverage was not measured: add --uetf-cov SOURCE or [tool.uetf] cov_source")


def _measured(c: GateContext) -> CoverageFigures | Skip | Fault:
    """The run's coverage, or why no coverage gate can judge it."""
    if c.coverage is None:
        return _NOT_MEASURED
    if c.coverage.problems:
        # A source that matched nothing leaves no file to judge: a gate would
        # pass or skip on nothing measured.
        return Fault("; ".join(c.coverage.problems))
    return c.coverage


def _coverage(c: GateContext, _: str | None) -> float | Skip | Fault:
    coverage = _measured(c)
    return coverage.percent if isinstance(coverage, CoverageFigures) else coverage


@lru_cache(maxsize=64)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """A path glob as a regex: ``**`` spans folders, ``*`` and ``?`` stay within one."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def _percent(covered: int, total: int) -> float:
    return round(100.0 * covered / total, 2) if total else 100.0


def _path_coverage(c: GateContext, path: str | None) -> float | Skip | Fault:
    coverage = _measured(c)
    if not isinstance(coverage, CoverageFigures):
        return coverage
    regex = glob_regex(path or "**")
    matched = [files for name, files in coverage.files.items() if regex.match(name)]
    if not matched:
        return Fault(f"no measured file matches {path!r}; check the glob against 'uetf show'")
    statements = sum(len(s) for s, _ in matched)
    covered = sum(len(s & e) for s, e in matched)
    return _percent(covered, statements)


def _patch_coverage(c: GateContext, _: str | None) -> float | Skip | Fault:
    coverage = _measured(c)
    if isinstance(coverage, Fault):
        return coverage  # a source that matched nothing, with or without a change
    if c.patch is None:
        return Skip("no change under test was detected")
    if c.patch.problem:
        return Fault(c.patch.problem)
    if not isinstance(coverage, CoverageFigures):
        return coverage
    executable = covered = 0
    for name in c.patch.files:
        if name not in coverage.files:
            continue  # not measured (not Python, or outside the coverage source)
        statements, executed = coverage.files[name]
        lines = c.patch.lines(name) & statements
        executable += len(lines)
        covered += len(lines & executed)
    if executable < max(c.min_patch_lines, 1):
        return Skip(
            f"the change has {executable} executable line(s) measured, "
            f"fewer than min_patch_lines = {max(c.min_patch_lines, 1)}"
        )
    return _percent(covered, executable)


def _coverage_drop(c: GateContext, _: str | None) -> float | Skip | Fault:
    coverage = _measured(c)
    if not isinstance(coverage, CoverageFigures):
        return coverage
    if c.baseline is None:
        return Skip(c.baseline_missing)
    if c.baseline.percent is None:
        return Skip(f"baseline run {c.baseline.run_id} did not measure coverage")
    return round(max(0.0, c.baseline.percent - coverage.percent), 2)


_BAD = frozenset({"failed", "error"})
_GOOD = frozenset({"passed", "xfailed"})


def new_failures(c: GateContext) -> list[str]:
    """Tests failing now that did not fail in the baseline (tests new since then included).

    The run's judge classifies them once (``judge.failure_kind``), for this gate and
    every report alike; from bare outcomes (no ledger) the same rule applies here.
    """
    if c.baseline is None:
        return []
    if c.new_failures is not None:
        return list(c.new_failures)
    before = c.baseline.outcomes
    # A flaky test failing again is not a new failure, nor is a waived one.
    flaky = (c.flaky or frozenset()) | c.waived
    return sorted(
        t
        for t, o in c.outcomes.items()
        if o in _BAD and before.get(t) not in _BAD and t not in flaky
    )


def _new_failures(c: GateContext, _: str | None) -> float | Skip | Fault:
    if c.baseline is None:
        return Skip(c.baseline_missing)
    return float(len(new_failures(c)))


def _test_count_drop(c: GateContext, _: str | None) -> float | Skip | Fault:
    if c.baseline is None:
        return Skip(c.baseline_missing)
    vanished = set(c.baseline.outcomes) - set(c.outcomes)
    return float(len(vanished))


def _max_cost(c: GateContext, name: str | None) -> float | Skip | Fault:
    assert name is not None
    if name not in c.costs:
        known = ", ".join(sorted(c.costs)) or "none"
        return Skip(f"no cost named {name!r} in this run (recorded: {known})")
    return round(c.costs[name], 6)


def _cost_increase(c: GateContext, name: str | None) -> float | Skip | Fault:
    assert name is not None
    if c.baseline is None:
        return Skip(c.baseline_missing)
    before = (c.baseline_costs or {}).get(name)
    if not before:
        return Skip(f"the baseline run recorded no {name!r} cost to compare with")
    if name not in c.costs:
        return Skip(f"no cost named {name!r} in this run")
    return round(100.0 * (c.costs[name] - before) / before, 2)


def _max_flaky(c: GateContext, _: str | None) -> float | Skip | Fault:
    if c.flaky is None:
        return Skip("flakiness is not known for this run")
    return float(len(c.flaky))


def _missing_shards(c: GateContext, _: str | None) -> float | Skip | Fault:
    if c.shard_problems is None:
        return Skip("not the verdict of a sharded workstream (uetf gate --workstream)")
    return float(len(c.shard_problems))


def _impact_recall(c: GateContext, _: str | None) -> float | Skip | Fault:
    recall = c.recall
    if recall is None:
        return Skip("selection's record was not read for this run")
    if not recall.failures:
        # No failure seen yet is no evidence: a recall of nothing is not 100%.
        if not recall.runs:
            seen = "no run has selected tests yet"
        elif not recall.shadow_runs:
            seen = f"no shadow run among the newest {recall.runs} runs that selected"
        else:
            seen = f"no test failed in the {recall.shadow_runs} shadow run(s)"
        return Skip(f"no evidence yet: {seen}; run pytest --uetf --uetf-select=shadow on changes")
    return round(100.0 * recall.caught / recall.failures, 2)


# COVERAGE_GATES (uetf_core.gate_names) need coverage measured; declaring one turns it on.
# Gates that need the change under test (and so git, or a diff file).
PATCH_GATES = frozenset({"patch_coverage", "coverage_drop", "new_failures", "test_count_drop"})

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
            lambda c, _: float(c.metrics.failed + c.metrics.errors),
            "failed tests plus errors",
        ),
        GateKind(
            "min_tests",
            ">=",
            None,
            lambda c, _: float(c.metrics.collected),
            "tests selected to run (after -k, -m and deselection)",
            whole_suite=True,
        ),
        GateKind(
            "max_duration",
            "<=",
            "s",
            lambda c, _: round(c.metrics.duration, 6),
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
        GateKind(
            "coverage",
            ">=",
            "%",
            _coverage,
            "total coverage, as `coverage report` computes it with the project's configuration",
            whole_suite=True,
        ),
        GateKind(
            "path_coverage",
            ">=",
            "%",
            _path_coverage,
            "coverage of the measured files matching a glob (`path_coverage[src/core/**]`)",
            whole_suite=True,
            takes_path=True,
        ),
        GateKind(
            "patch_coverage",
            ">=",
            "%",
            _patch_coverage,
            "coverage of the executable lines the change adds or modifies",
            # The suite's coverage of the change: a slice of the suite (-k, node ids)
            # covers a slice of it, and would fail a change the suite covers.
            whole_suite=True,
        ),
        GateKind(
            "coverage_drop",
            "<=",
            "pp",
            _coverage_drop,
            "percentage points of total coverage lost against the baseline",
            whole_suite=True,
        ),
        GateKind(
            "new_failures",
            "<=",
            None,
            _new_failures,
            "tests that fail now and did not fail in the baseline (tests new since then"
            " included); flaky and waived failures are not new",
        ),
        GateKind(
            "test_count_drop",
            "<=",
            None,
            _test_count_drop,
            "tests of the baseline that this run no longer has",
            whole_suite=True,
        ),
        GateKind(
            "max_cost",
            "<=",
            None,
            _max_cost,
            "the run's total of one cost: max_cost[usd], max_cost[cpu_seconds],"
            " max_cost[openai_tokens]",
            takes_path=True,
            param="a cost name, as in max_cost[usd]<=5",
        ),
        GateKind(
            "cost_increase",
            "<=",
            "%",
            _cost_increase,
            "percent increase of one cost against the baseline: cost_increase[cpu_seconds]<=10",
            takes_path=True,
            param="a cost name, as in cost_increase[cpu_seconds]<=10",
        ),
        GateKind(
            "max_flaky",
            "<=",
            None,
            _max_flaky,
            "flaky tests in the run: passed on a retry, or failed and flipped in the recent"
            " history of the ledger",
        ),
        GateKind(
            "impact_recall",
            ">=",
            "%",
            _impact_recall,
            "percent of the failures seen in shadow runs (`--uetf-select=shadow`) that"
            " selection would have run, over the newest"
            f" {SELECTION_RUNS} runs that selected, this one included (as `uetf impact stats`);"
            " skipped until a shadow run has seen a failure",
        ),
        GateKind(
            "missing_shards",
            "<=",
            None,
            _missing_shards,
            "shards of a workstream that are missing, ran twice, or ran a test twice"
            " (added by uetf gate --workstream)",
        ),
    )
}
