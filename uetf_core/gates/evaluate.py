"""Judging declared gates against a run's metrics: a verdict per gate, then one overall."""

from __future__ import annotations

import enum
import operator
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from uetf_core.gate_names import COVERAGE_GATES
from uetf_core.gates.catalog import GATES, Fault, GateKind, Skip
from uetf_core.gates.spec import GateSpec
from uetf_core.metrics import GateContext, RunMetrics

if TYPE_CHECKING:
    from typing import NamedTuple

    from uetf_core.documents import GateDocument
else:  # the same classes, defined at a fraction of the cost: see uetf_core.namedtuples
    from uetf_core.namedtuples import NamedTuple


class Verdict(str, enum.Enum):
    """The verdict of one gate."""

    PASSED = "passed"  # measured and within the threshold
    FAILED = "failed"  # measured and violated, in fail mode
    WARNED = "warned"  # measured and violated, in warn mode
    WAIVED = "waived"  # violated but covered by a waiver
    SKIPPED = "skipped"  # not applicable to this run; the reason says why
    ERROR = "error"  # could not be evaluated; the reason says why
    DEFERRED = "deferred"  # a shard's whole-suite gate: judged by uetf gate --workstream


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
}


class GateResult(NamedTuple):
    """A gate spec with what was measured and the verdict reached."""

    spec: GateSpec
    value: float | None
    verdict: Verdict
    reason: str | None = None

    def as_dict(self) -> GateDocument:
        """The ``test_gate`` document."""
        return {
            "name": self.spec.name,
            "op": self.spec.op,
            "threshold": self.spec.threshold,
            "value": self.value,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "mode": self.spec.mode,
            "unit": GATES[self.spec.name].unit,
            "path": self.spec.path,
        }


def evaluate_gate(
    spec: GateSpec, context: GateContext | RunMetrics, mode: str = "fail"
) -> GateResult:
    """Measure ``spec``'s gate in ``context`` and judge it; ``mode=warn`` never fails."""
    if isinstance(context, RunMetrics):
        context = GateContext(context)
    kind = GATES[spec.name]
    warn_only = mode == "warn" or spec.mode == "warn"
    if context.shard and not judged_per_shard(kind):
        reason = (
            f"shard {context.shard}: {spec.name} judges the whole suite; "
            "uetf gate --workstream judges it over every shard"
        )
        return GateResult(spec, None, Verdict.DEFERRED, reason)
    if kind.whole_suite and context.partial:
        reason = f"partial run ({context.partial}); {spec.name} judges the whole suite"
        return GateResult(spec, None, Verdict.SKIPPED, reason)
    measured = kind.measure(context, spec.path)
    if isinstance(measured, Skip):
        return GateResult(spec, None, Verdict.SKIPPED, measured.reason)
    if isinstance(measured, Fault):
        return GateResult(
            spec, None, Verdict.WARNED if warn_only else Verdict.ERROR, measured.reason
        )
    if _COMPARE[spec.op](measured, spec.threshold):
        return GateResult(spec, measured, Verdict.PASSED)
    return GateResult(spec, measured, Verdict.WARNED if warn_only else Verdict.FAILED)


# Gates over money or resources of the whole run, beside the whole-suite ones.
_WHOLE_RUN = frozenset({"max_cost", "cost_increase"})


def judged_per_shard(kind: GateKind) -> bool:
    """Whether a shard's own tests can be judged by this gate: a shard's slice of the
    coverage, of the change's lines or of the suite's size says nothing alone."""
    return not (kind.whole_suite or kind.name in COVERAGE_GATES or kind.name in _WHOLE_RUN)


def evaluate_gates(
    specs: Iterable[GateSpec], context: GateContext | RunMetrics, mode: str = "fail"
) -> list[GateResult]:
    """Every gate in ``specs`` judged in ``context``, in declaration order."""
    return [evaluate_gate(spec, context, mode) for spec in specs]


def overall_verdict(results: Sequence[GateResult]) -> Verdict:
    """One verdict for a set of gates: failed, error, warned, else passed."""
    verdicts = {result.verdict for result in results}
    for worst in (Verdict.FAILED, Verdict.ERROR, Verdict.WARNED):
        if worst in verdicts:
            return worst
    return Verdict.PASSED
