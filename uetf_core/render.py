"""Plain-text renderings shared by the terminal summary and the ``uetf`` command."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from uetf_core.documents import GateDocument
    from uetf_core.report_documents import ImpactSummary, RunSummary


def threshold(gate: GateDocument) -> str:
    """A gate's operator and threshold, every decimal the user wrote kept (up to MAX_DIGITS)."""
    return f"{gate['op']} {figure(gate['threshold'], gate.get('unit'), MAX_DIGITS)}"


# Shown in reports where a figure does not exist (no baseline, no coverage).
NOTHING = "-"
# The most decimals a measured value gets to read differently from its threshold.
MAX_DIGITS = 6


def _fixed(value: float, digits: int) -> str:
    return f"{value:.{digits}f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def figure(value: float | None, unit: str | None, digits: int = 3) -> str:
    """A value for a report: trailing zeros dropped, a space before ``%``, NOTHING if none."""
    if value is None:
        return NOTHING
    text = _fixed(value, digits)
    return f"{text} {unit}" if unit == "%" else f"{text}{unit or ''}"


def telling(value: float, threshold: float | None, digits: int) -> str:
    """``value`` with ``digits`` decimals, or more until it reads differently from ``threshold``.

    A failed ``<= 1s`` gate measured at 1.003 s reads ``1.003``, not ``1``: up to
    MAX_DIGITS decimals, then the shortest exact form; a value equal to its
    threshold keeps ``digits``. Trailing zeros are dropped.
    """
    if threshold is None or value == threshold or not isinstance(value, float):
        return _fixed(value, digits)
    for places in range(digits, MAX_DIGITS + 1):
        if f"{value:.{places}f}" != f"{float(threshold):.{places}f}":
            return _fixed(value, places)
    return repr(value)


def measured(gate: GateDocument, digits: int = 3) -> str:
    """A gate's measured value; a failed or warned one reads differently from its threshold."""
    value = gate["value"]
    if value is None:
        return NOTHING
    unit = gate.get("unit") or ""
    if gate["verdict"] in ("failed", "warned"):
        text = telling(value, gate.get("threshold"), digits)
    else:
        text = _fixed(value, digits)
    return f"{text} {unit}" if unit == "%" else f"{text}{unit}"


def gate_table(gates: Sequence[GateDocument], width: int | None = None) -> list[str]:
    """The gates as aligned rows: gate, threshold, measured, verdict (and a reason).

    With ``width`` (a terminal's), a row that would run past it has its reason on
    indented lines of its own, wrapped to the width.
    """
    return [text for text, _ in gate_rows(gates, width)]


def gate_rows(
    gates: Sequence[GateDocument], width: int | None = None
) -> list[tuple[str, str | None]]:
    """``gate_table``'s lines, each with the verdict it shows (``None``: header, reason)."""
    rows = [("gate", "threshold", "measured", "verdict")]
    for gate in gates:
        name = f"{gate['name']}[{gate['path']}]" if gate.get("path") else gate["name"]
        rows.append((name, threshold(gate), measured(gate), gate["verdict"]))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines: list[tuple[str, str | None]] = []
    for index, row in enumerate(rows):
        text = f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]}"
        reason = gates[index - 1].get("reason") if index else None
        if reason and (width is None or len(text) + len(reason) + 3 <= width):
            lines.append((f"{text} ({reason})", row[3]))
        elif reason:
            import textwrap

            lines.append((text.rstrip(), row[3]))
            for part in textwrap.wrap(reason, max(20, width - 4) if width else 76):
                lines.append(("    " + part, None))
        else:
            lines.append((text.rstrip(), row[3] if index else None))
    return lines


def format_ranges(ranges: Sequence[Sequence[int]]) -> str:
    """``[[12, 14], [40, 40]]`` as ``12-14, 40``."""
    return ", ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in ranges)


def uncovered_patch_rows(summary: RunSummary) -> list[str]:
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


def totals_line(totals: dict[str, int], waived: int = 0) -> str:
    """``collected 4: 3 passed, 1 failed`` with only the non-zero outcomes; failures a
    waiver excuses are said with the failures (``3 failed (1 waived)``)."""
    parts = []
    for name in ("passed", "failed", "errors", "skipped", "xfailed", "xpassed", "reruns"):
        if totals.get(name):
            part = f"{totals[name]} {name}"
            if name == "failed" and waived:
                part += f" ({waived} waived)"
            parts.append(part)
    return f"collected {totals['collected']}: " + (", ".join(parts) or "nothing ran")


def coverage_line(summary: RunSummary) -> str | None:
    """``coverage 87.52 % of 5,746 statements; patch 91.2 %`` when the run measured
    coverage, whatever its gates; ``None`` otherwise."""
    coverage = summary.get("coverage")
    if not coverage:
        return None
    text = f"coverage {coverage['percent']:.2f} % of {coverage['statements']:,} statements"
    gate = next((g for g in summary["gates"] if g["name"] == "patch_coverage"), None)
    patch = summary.get("patch")
    if gate is not None and gate["value"] is not None:  # the figure the gate judged
        text += f"; patch {figure(gate['value'], '%', 2)}"
    elif patch and patch.get("percent") is not None:
        text += f"; patch {figure(patch['percent'], '%', 2)}"
    return text


def gates_not_judged(summary: RunSummary) -> str | None:
    """Why a run that declared gates has none judged ("2 declared, not judged: 1 error
    during collection; no test ran"); None when it judged them or declared none."""
    declared = (summary.get("config") or {}).get("gates") or []
    if summary["gates"] or not declared:
        return None
    # The run ended before its gates could judge it: its reason says why.
    return f"{len(declared)} declared, not judged: {summary.get('end_reason') or 'ended early'}"


def verdict_lines(summary: RunSummary, ledger: str, width: int = 80) -> list[str]:
    """The verdict: final state, gate counts, exit status, run id and ledger.

    One line when it fits ``width``; else the gate counts, then the ledger,
    move to indented lines of their own (the first line always names the run,
    its state and its exit). A ledger file under the working directory is
    named relative to it.
    """
    gates = summary["gates"]
    counts: dict[str, int] = {}
    for gate in gates:
        counts[gate["verdict"]] = counts.get(gate["verdict"], 0) + 1
    if gates:
        gate_part = ", ".join(f"{n} {v}" for v, n in counts.items())
    else:
        gate_part = gates_not_judged(summary) or "no gates declared"
    head = f"uetf: run {summary['run_id']} {summary['state']}"
    status = f"exit {summary['exit_status']}"
    where = f"ledger {_near(ledger)}"
    whole = f"{head} (gates: {gate_part}); {status}; {where}"
    if len(whole) <= width:
        return [whole]
    with_gates = f"{head} (gates: {gate_part}); {status}"
    if len(with_gates) <= width:
        return [with_gates, f"    {where}"]
    return [f"{head}; {status}", f"    gates: {gate_part}", f"    {where}"]


def _near(ledger: str) -> str:
    """A ledger file under the working directory as a relative path; anything else as given."""
    if "://" in ledger or not os.path.isabs(ledger):
        return ledger
    try:
        relative = os.path.relpath(ledger)
    except ValueError:  # another drive
        return ledger
    return ledger if relative.startswith(os.pardir) else relative


def impact_sentence(impact: ImpactSummary | None) -> str | None:
    """What test selection did, in words, for the reports and ``uetf show``: how many tests
    ran and how many were carried (and so which figures rest on the baseline), why the
    whole suite ran, or what a shadow run would have left out; None when it did none."""
    if impact is None or impact["mode"] is None:
        return None
    if impact["whole_suite"] is not None:
        detail = f" ({impact['whole_suite_detail']})" if impact["whole_suite_detail"] else ""
        return f"the whole suite ran: {impact['whole_suite']}{detail}"
    if impact["mode"] == "shadow":
        return (
            f"shadow: all {impact['ran']} tests ran; selection would have left out"
            f" {impact['would_skip']}"
        )
    return (
        f"{impact['ran']} tests ran, {impact['carried']} carried from baseline"
        f" run {impact['baseline_run_id']}; totals, coverage and the outcome gates rest"
        " partly on that run"
    )
