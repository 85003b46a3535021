"""The pull-request comment: verdict first, then what a reviewer needs, within GitHub's limit.

The comment starts with a hidden marker so a bot can find and update its one
comment. It stays under ``LIMIT`` characters by leaving out whole rows of the
long sections, with a note of how many were left out; markup is never cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from uetf_core.render import NOTHING, format_ranges, impact_sentence, measured, threshold
from uetf_core.reports.escape import markdown_block, markdown_inline
from uetf_core.reports.kinds import UNEXCUSED, group_failures

if TYPE_CHECKING:
    from uetf_core.report_documents import GateReport

MARKER = "<!-- uetf-report -->"
LIMIT = 65_536  # GitHub's maximum comment body, in characters
# Rows of failures shown with their traceback; the rest are listed as rows only.
TRACEBACKS = 10

ICONS = {
    "passed": "✅",
    "failed": "❌",
    "warned": "⚠️",
    "skipped": "⏭️",
    "error": "💥",
    "waived": "🏷️",
}


def render_markdown(report: GateReport, limit: int = LIMIT) -> str:
    """The report as a pull-request comment of at most ``limit`` characters."""
    head = [MARKER, headline(report), "", _facts(report), "", *_gate_rows(report), ""]
    sections = [
        _failures(report),
        _waived(report),
        _tracebacks(report),
        _patch(report),
        _slowest(report),
        _baseline(report),
    ]
    out = "\n".join(head)
    note = (
        "\n_Some rows were left out to stay within the comment size limit;"
        " the JSON and HTML reports have all of them._\n"
    )
    reserve = len(note)
    left_out = 0
    for section in sections:
        if section is None:
            continue
        opening, rows, closing = section
        fixed = len(opening) + len(closing) + 2
        if len(out) + fixed + reserve > limit:
            left_out += len(rows) or 1
            continue
        kept: list[str] = []
        used = len(out) + fixed + reserve
        for row in rows:
            if used + len(row) + 1 > limit:
                break
            kept.append(row)
            used += len(row) + 1
        dropped = len(rows) - len(kept)
        left_out += dropped
        extra = [f"_… and {dropped} more_", ""] if dropped else []
        out += "\n" + "\n".join([opening, *kept, *extra, closing]) + "\n"
    if left_out:
        out += note
    return out[:limit] if len(out) > limit else out


def headline(report: GateReport) -> str:
    """The one-line verdict the comment starts with."""
    verdict = report["verdict"]
    gates = report["gates"]
    violated = [g for g in gates if g["verdict"] in ("failed", "error")]
    new = sum(1 for f in report["failures"] if f["classification"] == "new")
    parts = []
    if violated:
        parts.append(f"{len(violated)} of {len(gates)} gates violated")
    elif gates:
        parts.append("its gate held" if len(gates) == 1 else f"all {len(gates)} gates held")
    if new:
        parts.append(f"{new} new failure{'s' if new != 1 else ''}")
    detail = "; ".join(parts) or (
        "gates not judged" if report["gates_not_judged"] else "no gates declared"
    )
    return f"### {ICONS.get(verdict, '')} UETF: {verdict} ({detail})"


def _facts(report: GateReport) -> str:
    totals = report["totals"]
    counts = ", ".join(
        f"{totals[name]} {'error' if name == 'errors' and totals[name] == 1 else name}"
        for name in ("passed", "failed", "errors", "skipped", "xfailed", "xpassed")
        if totals.get(name)
    )
    tests = "1 test" if totals["collected"] == 1 else f"{totals['collected']} tests"
    facts = [tests + (f" ({counts})" if counts else "")]
    if report["coverage"] is not None:
        facts.append(f"coverage {report['coverage']['percent']:.2f} %")
    if report["duration_seconds"] is not None:
        facts.append(f"{report['duration_seconds']:.1f} s")
    run = f"run `{report['run_id']}`"
    if report["head_commit"]:
        run += f" at `{report['head_commit'][:12]}`"
    facts.append(run)
    if report["partial"]:
        facts.append("partial run")
    line = " · ".join(facts)
    selection = impact_sentence(report["impact"])
    return line + (f"\n\n_Test selection: {markdown_inline(selection)}_" if selection else "")


def _gate_rows(report: GateReport) -> list[str]:
    gates = report["gates"]
    if not gates:
        why = report["gates_not_judged"]
        return [f"_Gates: {markdown_inline(why)}._" if why else "_No gates declared._"]
    rows = ["| gate | threshold | measured | verdict |", "|---|---|---|---|"]
    for gate in gates:
        name = gate["name"] + (f"[{gate['path']}]" if gate.get("path") else "")
        verdict = f"{ICONS.get(gate['verdict'], '')} {gate['verdict']}"
        if gate.get("reason"):
            verdict += f": {gate['reason']}"
        rows.append(
            f"| {markdown_inline(name)} | {markdown_inline(threshold(gate))}"
            f" | {measured(gate, digits=2)} | {markdown_inline(verdict, 300)} |"
        )
    return rows


Section = tuple[str, Sequence[str], str]


def _details(summary: str, header: Sequence[str] = ()) -> str:
    return "\n".join([f"<details><summary>{summary}</summary>", "", *header])


def _failures(report: GateReport) -> Section | None:
    groups = group_failures(report["failures"])
    shown = [f for kind, group in groups.items() if kind != "waived" for f in group]
    if not shown:
        return None
    counts = {kind: len(groups.get(kind, ())) for kind in UNEXCUSED}
    counts.update({kind: len(group) for kind, group in groups.items() if kind != "waived"})
    summary = "Failures: " + ", ".join(f"{n} {kind}" for kind, n in counts.items())
    rows = [
        f"| {markdown_inline(f['node_id'], 200)} | {markdown_inline(f['classification'])}"
        f" | {f['outcome']} | {markdown_inline(f['message'] or '', 200)} |"
        for f in shown
    ]
    header = ["| test | kind | outcome | first error line |", "|---|---|---|---|"]
    return _details(summary, header), rows, "\n</details>"


def _waived(report: GateReport) -> Section | None:
    """Failures a waiver excuses: listed apart, since they count for no gate."""
    waived = group_failures(report["failures"]).get("waived", [])
    if not waived:
        return None
    rows = [
        f"| {markdown_inline(f['node_id'], 200)} | {f['outcome']}"
        f" | {markdown_inline(f['message'] or '', 200)} |"
        for f in waived
    ]
    header = ["| test | outcome | first error line |", "|---|---|---|"]
    summary = f"{ICONS['waived']} Waived failures: {len(waived)}, excused by a waiver"
    return _details(summary, header), rows, "\n</details>"


def _tracebacks(report: GateReport) -> Section | None:
    new = [f for f in report["failures"] if f["classification"] == "new" and f["traceback"]]
    if not new:
        return None
    rows = []
    for f in new[:TRACEBACKS]:
        where = f" ({markdown_inline(f['path'])}:{f['line']})" if f["path"] else ""
        rows.append(
            f"**{markdown_inline(f['node_id'], 200)}**{where}\n\n"
            f"{markdown_block((f['traceback'] or '')[-1500:])}\n"
        )
    more = len(new) - len(rows)
    summary = f"Tracebacks of new failures ({len(rows)}{f' of {len(new)}' if more else ''})"
    return _details(summary), rows, "</details>"


def _patch(report: GateReport) -> Section | None:
    patch = report["patch"]
    if patch is None:
        return None
    files = [f for f in patch["files"] if f["uncovered_lines"]]
    if patch["problem"]:
        return _details("Change under test"), [markdown_inline(patch["problem"])], "\n</details>"
    if not files:
        return None
    lines = sum(b - a + 1 for f in files for a, b in f["uncovered_lines"])
    summary = (
        f"Changed lines not covered: {lines} in {len(files)} file{'s' if len(files) != 1 else ''}"
    )
    rows = [
        f"| {markdown_inline(f['path'])} | {markdown_inline(format_ranges(f['uncovered_lines']))} |"
        for f in files
    ]
    return _details(summary, ["| file | lines |", "|---|---|"]), rows, "\n</details>"


def _slowest(report: GateReport) -> Section | None:
    slowest = report["slowest"]
    if not slowest:
        return None
    rows = [
        f"| {markdown_inline(t['node_id'], 200)} | {t['duration']:.3f} s | {t['outcome']} |"
        for t in slowest
    ]
    header = ["| test | duration | outcome |", "|---|---|---|"]
    return _details(f"Slowest {len(rows)} tests", header), rows, "\n</details>"


def _delta(now: float | None, before: float | None, digits: int) -> str:
    if now is None or before is None:
        return NOTHING
    change = round(now - before, digits)
    return f"{change:+.{digits}f}"


def _baseline(report: GateReport) -> Section | None:
    base = report["baseline"]
    if base is None:
        return None
    now = report["totals"]
    rows = []
    for name in ("collected", "passed", "failed", "errors", "skipped"):
        rows.append(
            f"| {name} | {base['totals'][name]} | {now[name]} |"
            f" {_delta(now[name], base['totals'][name], 0)} |"
        )
    coverage = report["coverage"]["percent"] if report["coverage"] else None
    pairs = [
        ("pass rate %", base["pass_rate"], report["pass_rate"], 2),
        ("coverage %", base["coverage"], coverage, 2),
        ("duration s", base["duration_seconds"], report["duration_seconds"], 1),
    ]
    for name, before, after, digits in pairs:
        shown_before = NOTHING if before is None else f"{before:.{digits}f}"
        shown_after = NOTHING if after is None else f"{after:.{digits}f}"
        rows.append(
            f"| {name} | {shown_before} | {shown_after} | {_delta(after, before, digits)} |"
        )
    summary = f"Since the baseline (run {base['run_id']})"
    header = ["| | baseline | this run | change |", "|---|---:|---:|---:|"]
    return _details(summary, header), rows, "\n</details>"
