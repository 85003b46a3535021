"""Plain-text renderings shared by the terminal summary and the ``uetf`` command."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from uetf_core.gates.spec import format_number


def _threshold(gate: dict[str, Any]) -> str:
    unit = gate.get("unit") or ""
    sep = " " if unit == "%" else ""
    return f"{gate['op']} {format_number(gate['threshold'])}{sep}{unit}"


def _measured(gate: dict[str, Any]) -> str:
    if gate["value"] is None:
        return "-"
    unit = gate.get("unit") or ""
    sep = " " if unit == "%" else ""
    return f"{format_number(round(gate['value'], 3))}{sep}{unit}"


# Shown in reports where a figure does not exist (no baseline, no coverage).
NOTHING = "-"


def figure(value: float | None, unit: str | None, digits: int = 3) -> str:
    """A value for a report: trailing zeros dropped, a space before ``%``, NOTHING if none."""
    if value is None:
        return NOTHING
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
    return f"{text} {unit}" if unit == "%" else f"{text}{unit or ''}"


def gate_table(gates: Sequence[dict[str, Any]]) -> list[str]:
    """The gates as aligned rows: gate, threshold, measured, verdict (and a reason)."""
    rows = [("gate", "threshold", "measured", "verdict")]
    for gate in gates:
        verdict = gate["verdict"] + (f" ({gate['reason']})" if gate.get("reason") else "")
        name = f"{gate['name']}[{gate['path']}]" if gate.get("path") else gate["name"]
        rows.append((name, _threshold(gate), _measured(gate), verdict))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return [
        f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]}".rstrip()
        for row in rows
    ]


def format_ranges(ranges: Sequence[Sequence[int]]) -> str:
    """``[[12, 14], [40, 40]]`` as ``12-14, 40``."""
    return ", ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in ranges)


def uncovered_patch_rows(summary: dict[str, Any]) -> list[str]:
    """For a violated patch_coverage gate: the change's uncovered lines, per file."""
    violated = any(
        g["name"] == "patch_coverage" and g["verdict"] in ("failed", "warned")
        for g in summary["gates"]
    )
    patch = summary.get("patch")
    if not violated or not patch:
        return []
    rows = ["patch lines not covered:"]
    for f in patch["files"]:
        if f["uncovered_lines"]:
            rows.append(f"  {f['path']}: {format_ranges(f['uncovered_lines'])}")
    return rows


def totals_line(totals: dict[str, int]) -> str:
    """``collected 4: 3 passed, 1 failed`` with only the non-zero outcomes."""
    parts = [
        f"{totals[name]} {name}"
        for name in ("passed", "failed", "errors", "skipped", "xfailed", "xpassed", "reruns")
        if totals.get(name)
    ]
    return f"collected {totals['collected']}: " + (", ".join(parts) or "nothing ran")


def verdict_line(summary: dict[str, Any], ledger: str) -> str:
    """The one-line verdict: final state, gate counts, run id and ledger."""
    gates = summary["gates"]
    counts: dict[str, int] = {}
    for gate in gates:
        counts[gate["verdict"]] = counts.get(gate["verdict"], 0) + 1
    gate_part = ", ".join(f"{n} {v}" for v, n in counts.items()) if gates else "no gates declared"
    return (
        f"uetf: run {summary['run_id']} {summary['state']} (gates: {gate_part}); "
        f"exit {summary['exit_status']}; ledger {ledger}"
    )
