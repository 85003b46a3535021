"""One self-contained HTML file: verdict, gates, failures, coverage in the source, trends.

No script, stylesheet or font from elsewhere, no image but inline SVG; a
Content-Security-Policy forbids the page any request and allows only its own
inline script and stylesheet (by hash), so it opens the same from a CI artifact,
a mail attachment or a laptop without a network, and a hostile test id stays text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from uetf_core.render import NOTHING, figure, format_ranges, impact_sentence, measured, threshold
from uetf_core.reports.charts import trend_svg
from uetf_core.reports.escape import html_text as h
from uetf_core.reports.html_lists import SCRIPT, coverage_table, csp_hash, tests_table
from uetf_core.reports.html_lists import STYLE as LIST_STYLE
from uetf_core.reports.html_source import (
    changed_lines,
    excerpt,
    expand,
    full_views,
    read_source,
    shown_files,
)
from uetf_core.reports.kinds import group_failures
from uetf_core.reports.markdown import headline

if TYPE_CHECKING:
    from uetf_core.documents import GateDocument
    from uetf_core.report_documents import GateReport, ReportFailure, SlowTest, TrendPoint

# Changed files shown as excerpts in the change's section.
SOURCE_FILES = 20

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1f2328;
background:#fff}
main{max-width:1100px;margin:0 auto;padding:16px 24px 48px}
h1{font-size:20px;margin:8px 0}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d0d7de}
.banner{padding:12px 16px;border-radius:6px;color:#fff;font-weight:600}
.passed{background:#1a7f37}.failed{background:#cf222e}.warned{background:#9a6700}
.error{background:#6e7781}
.facts{color:#57606a;margin:6px 0 0}
table{border-collapse:collapse;width:100%;margin:6px 0}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
.v-passed{color:#1a7f37}.v-failed,.v-error{color:#cf222e}.v-warned{color:#9a6700}
.v-skipped{color:#57606a}
code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:#f6f8fa;padding:8px;overflow:auto;white-space:pre-wrap;word-break:break-word}
details{margin:4px 0}summary{cursor:pointer}
.kind{display:inline-block;padding:0 6px;border-radius:10px;font-size:12px;background:#eaeef2}
.kind-new{background:#ffebe9}.kind-flaky{background:#fff8c5}.kind-waived{background:#ddf4ff}
.src{border:1px solid #d0d7de;margin:6px 0 14px}
.src div{white-space:pre;font:12px/1.5 ui-monospace,Menlo,Consolas,monospace;
padding:0 8px}
.src .no{display:inline-block;width:4em;color:#6e7781;user-select:none}
.src .miss,.legend .miss{background:#ffebe9}.src .hit,.legend .hit{background:#dafbe1}
.src .noexec,.legend .noexec{background:#eaeef2;color:#57606a}
.legend span{padding:0 6px;margin-right:6px}.src div:target{outline:2px solid #0969da}
.reason{color:#57606a;font-size:12px}
.src .gap{color:#6e7781;background:#f6f8fa}
.charts{display:flex;flex-wrap:wrap;gap:12px}
svg.chart{border:1px solid #d0d7de;background:#fff}
svg.chart polyline{fill:none;stroke:#0969da;stroke-width:2}svg.chart circle{fill:#0969da}
svg.chart text{font:10px sans-serif;fill:#57606a}
svg.chart .chart-title{font-weight:600;fill:#1f2328}
svg.chart .baseline{stroke:#d0d7de}
"""

STYLE += LIST_STYLE
CSP = (
    f"default-src 'none'; script-src {csp_hash(SCRIPT)}; style-src {csp_hash(STYLE)};"
    " img-src data:; base-uri 'none'; form-action 'none'"
)


def render_html(report: GateReport, rootdir: str) -> str:
    """The report as one HTML page; sources are read from ``rootdir`` for the coverage views."""
    # The headline without its emoji: not every system font has one.
    title = headline(report).lstrip("# ").split(" ", 1)[1]
    sources = shown_files(report, rootdir)
    anchors = {path: anchor for path, (anchor, _) in sources.items()}
    body = [
        f'<div class="banner {h(report["verdict"])}">{h(title)}</div>',
        f'<p class="facts">{_facts(report)}</p>',
        *_selection(report),
        "<h2>Gates</h2>",
        _gates(report["gates"], report["gates_not_judged"]),
        *_failures(report["failures"], anchors),
        *_patch(report, rootdir, anchors),
        *_coverage(report, anchors),
        *tests_table(report.get("tests", [])),
        *_slowest(report["slowest"]),
        *_baseline(report),
        *_trends(report["trend"]),
        *full_views(report, sources),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>UETF report {h(report['run_id'])}</title><style>{STYLE}</style></head>"
        "<body><main>\n<h1>UETF report</h1>\n"
        + "\n".join(body)
        + f"\n</main><script>{SCRIPT}</script></body></html>\n"
    )


def _facts(report: GateReport) -> str:
    totals = report["totals"]
    parts = [f"{totals['collected']} tests"]
    parts += [
        f"{totals[name]} {name}"
        for name in ("passed", "failed", "errors", "skipped", "xfailed", "xpassed", "reruns")
        if totals.get(name)
    ]
    if report["coverage"] is not None:
        parts.append(f"coverage {report['coverage']['percent']:.2f} %")
    if report["duration_seconds"] is not None:
        parts.append(f"{report['duration_seconds']:.2f} s")
    parts.append(f"run <code>{h(report['run_id'])}</code>")
    if report["head_commit"]:
        parts.append(f"commit <code>{h(report['head_commit'][:12])}</code>")
    parts.append(f"finished {h(report['generated_at'])}")
    if report["partial"]:
        parts.append("<strong>partial run</strong>")
    return " · ".join(parts)


def _selection(report: GateReport) -> list[str]:
    """What test selection did, when the run selected: which figures rest on the baseline."""
    sentence = impact_sentence(report["impact"])
    return [f'<p class="facts">Test selection: {h(sentence)}</p>'] if sentence else []


def _value(value: float | None, unit: str | None) -> str:
    return h(figure(value, unit))


def _gates(gates: Sequence[GateDocument], not_judged: str | None = None) -> str:
    if not gates:
        return f"<p>Gates: {h(not_judged)}.</p>" if not_judged else "<p>No gates declared.</p>"
    rows = [
        "<table><thead><tr><th>gate</th><th>threshold</th><th>measured</th><th>verdict</th>"
        "</tr></thead><tbody>"
    ]
    for g in gates:
        name = g["name"] + (f"[{g['path']}]" if g.get("path") else "")
        reason = f": {g['reason']}" if g.get("reason") else ""
        rows.append(
            f"<tr><td><code>{h(name)}</code></td><td>{h(threshold(g))}"
            f'</td><td class="num">{h(measured(g))}</td>'
            f'<td class="v-{h(g["verdict"])}">{h(g["verdict"])}{h(reason)}</td></tr>'
        )
    rows.append("</tbody></table>")
    return "".join(rows)


def _failures(failures: Sequence[ReportFailure], anchors: Mapping[str, str]) -> list[str]:
    groups = group_failures(failures)
    out = []
    shown = [f for kind, group in groups.items() if kind != "waived" for f in group]
    if shown:
        out.append(f"<h2>Failures ({len(shown)})</h2>")
        out += [_failure(f, anchors) for f in shown]
    waived = groups.get("waived", [])
    if waived:
        out.append(f"<h2>Waived failures ({len(waived)})</h2>")
        out.append("<p>Excused by a waiver until its date: they count for no gate.</p>")
        out += [_failure(f, anchors) for f in waived]
    return out


def _failure(f: ReportFailure, anchors: Mapping[str, str]) -> str:
    where = ""
    if f["path"]:
        where = f"<code>{h(f['path'])}:{h(f['line'])}</code>"
        # Linked to the line when the page shows that file's source.
        if f["path"] in anchors and isinstance(f["line"], int):
            where = f'<a href="#{anchors[f["path"]]}-L{f["line"]}">{where}</a>'
        where = " at " + where
    return (
        f'<details><summary><span class="kind kind-{h(f["classification"])}">'
        f"{h(f['classification'])}</span> {h(f['outcome'])} <code>{h(f['node_id'])}</code>"
        f"{': ' + h(f['message']) if f['message'] else ''}</summary>"
        f"<p>baseline: {h(f['baseline_outcome'] or 'not run')}{where}</p>"
        f"<pre>{h(f['traceback'] or '(no traceback recorded)')}</pre></details>"
    )


def _patch(report: GateReport, rootdir: str, anchors: Mapping[str, str]) -> list[str]:
    patch = report["patch"]
    if patch is None:
        return []
    out = ["<h2>Change under test</h2>"]
    base = patch["base_ref"] or "a diff file"
    out.append(
        f"<p>against <code>{h(base)}</code>"
        + (
            f" (merge base <code>{h(patch['merge_base'][:12])}</code>)"
            if patch["merge_base"]
            else ""
        )
        + "</p>"
    )
    if patch["problem"]:
        out.append(f'<p class="v-error">{h(patch["problem"])}</p>')
        return out
    if not patch["files"]:
        out.append("<p>No changed Python lines.</p>")
        return out
    out.append(
        "<table><thead><tr><th>file</th><th>changed lines</th><th>not covered</th>"
        "</tr></thead><tbody>"
    )
    for f in patch["files"]:
        name = f"<code>{h(f['path'])}</code>"
        if f["path"] in anchors:
            name = f'<a href="#{anchors[f["path"]]}">{name}</a>'
        out.append(
            f"<tr><td>{name}</td><td>{h(format_ranges(f['added_lines']))}</td>"
            f'<td class="v-failed">{h(format_ranges(f["uncovered_lines"]))}</td></tr>'
        )
    out.append("</tbody></table>")
    for f in patch["files"][:SOURCE_FILES]:
        if not f["uncovered_lines"] and not f["covered_lines"]:
            continue
        lines = read_source(rootdir, f["path"])
        out.append(f"<h3><code>{h(f['path'])}</code></h3>")
        if lines is None:
            out.append("<p>source not available here</p>")
            continue
        missed = expand(f["uncovered_lines"])
        out.append(excerpt(lines, expand(f["added_lines"]), missed, expand(f["covered_lines"])))
    return out


def _coverage(report: GateReport, anchors: Mapping[str, str]) -> list[str]:
    coverage = report["coverage"]
    if coverage is None:
        return []
    changed = changed_lines(report)
    complete = sum(1 for f in coverage["files"] if not f["missing"] and f["path"] not in changed)
    return [
        f"<h2>Coverage: {coverage['percent']:.2f} %</h2>",
        f"<p>{coverage['statements']} statements, {coverage['missing']} not run"
        f" (coverage.py, {h(coverage['core'])} core{', branch' if coverage['branch'] else ''})</p>",
        *coverage_table(coverage, anchors, complete),
    ]


def _slowest(slowest: Sequence[SlowTest]) -> list[str]:
    if not slowest:
        return []
    rows = "".join(
        f'<tr><td><code>{h(t["node_id"])}</code></td><td class="num">{t["duration"]:.3f} s</td>'
        f"<td>{h(t['outcome'])}</td></tr>"
        for t in slowest
    )
    return [
        f"<h2>Slowest {len(slowest)} tests</h2>",
        "<table><thead><tr><th>test</th><th>duration</th><th>outcome</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>",
    ]


def _baseline(report: GateReport) -> list[str]:
    base = report["baseline"]
    if base is None:
        return ["<h2>Baseline</h2><p>No baseline run recorded for this change's merge base.</p>"]
    coverage = report["coverage"]["percent"] if report["coverage"] else None
    rows: list[tuple[str, float | None, float | None]] = [
        (name, base["totals"][name], report["totals"][name])
        for name in ("collected", "passed", "failed", "errors", "skipped")
    ]
    rows += [
        ("pass rate %", base["pass_rate"], report["pass_rate"]),
        ("coverage %", base["coverage"], coverage),
        ("duration s", base["duration_seconds"], report["duration_seconds"]),
    ]
    cells = []
    for name, before, after in rows:
        change = (
            NOTHING
            if before is None or after is None
            else f"{after - before:+.2f}".replace(".00", "")
        )
        cells.append(
            f'<tr><td>{h(name)}</td><td class="num">{_value(before, None)}</td>'
            f'<td class="num">{_value(after, None)}</td><td class="num">{h(change)}</td></tr>'
        )
    return [
        f"<h2>Since the baseline (run <code>{h(base['run_id'])}</code>)</h2>",
        "<table><thead><tr><th></th><th>baseline</th><th>this run</th><th>change</th></tr>"
        f"</thead><tbody>{''.join(cells)}</tbody></table>",
    ]


def _trends(trend: Sequence[TrendPoint]) -> list[str]:
    if not trend:
        return []
    charts: list[tuple[str, list[float | None], str]] = [
        ("pass rate", [r["pass_rate"] for r in trend], " %"),
        ("coverage", [r["coverage"] for r in trend], " %"),
        ("duration", [r["duration_seconds"] for r in trend], " s"),
        ("tests", [r["tests"] for r in trend], ""),
    ]
    runs = [r["run_id"] for r in trend]
    svgs = [
        trend_svg(f"{title} ({len(trend)} runs)", list(zip(runs, values, strict=True)), unit)
        for title, values, unit in charts
    ]
    return ["<h2>Trends on this branch</h2>", f'<div class="charts">{"".join(svgs)}</div>']
