"""Declarative gates: what a run must measure up to before it may merge."""

from uetf_core.gates.catalog import GATES, GateKind
from uetf_core.gates.evaluate import GateResult, Verdict, evaluate_gates, overall_verdict
from uetf_core.gates.spec import GateSpec, parse_gate, parse_gate_table

__all__ = [
    "GATES",
    "GateKind",
    "GateResult",
    "GateSpec",
    "Verdict",
    "evaluate_gates",
    "overall_verdict",
    "parse_gate",
    "parse_gate_table",
]
