"""The run as plain text for ``uetf show``: coverage, the change's lines, failures by kind.

Error messages send the user to ``uetf show`` for a file's or a change's
coverage, so it prints what the gates judged: the total, the files with the
lowest coverage and their lines not run, and the changed lines not run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from uetf_core.render import format_ranges
from uetf_core.reports.document import patch_percent
from uetf_core.reports.kinds import group_failures, title

if TYPE_CHECKING:
    from uetf_core.report_documents import CoverageSummary, ReportFailure, ReportPatch

# Files listed under the coverage total: the lowest by percent.
WORST_FILES = 5
# A file's missing lines beyond this many characters are cut; the JSON has them all.
RANGES_CHARS = 72


def _ranges(ranges: Sequence[Sequence[int]]) -> str:
    text = format_ranges(ranges)
    if len(text) <= RANGES_CHARS:
        return text
    return text[: text.rfind(",", 0, RANGES_CHARS)] + ", …"


def coverage_rows(coverage: CoverageSummary | None) -> list[str]:
    """The total and the WORST_FILES files with the lowest coverage, with their lines not run."""
    if coverage is None:
        return ["coverage  - (not measured; run with --uetf-cov or cov_source)"]
    branch = ", branch" if coverage["branch"] else ""
    rows = [
        f"coverage  {coverage['percent']:.2f} % of {coverage['statements']} statements,"
        f" {coverage['missing']} not run (coverage.py{branch})"
    ]
    worst = sorted(
        (f for f in coverage["files"] if f["missing"]),
        key=lambda f: (f["percent"], -f["missing"], f["path"]),
    )[:WORST_FILES]
    if worst:
        rows.append(f"  lowest {len(worst)} of {len(coverage['files'])} files:")
        width = max(len(f["path"]) for f in worst)
        rows += [
            f"  {f['path']:<{width}}  {f['percent']:6.2f} %  not run: {_ranges(f['missing_lines'])}"
            for f in worst
        ]
    return rows


def patch_rows(patch: ReportPatch | None) -> list[str]:
    """The change under test: its base, its coverage, and per file the changed lines not run."""
    if patch is None:
        return ["patch     - (no change under test detected)"]
    base = patch["base_ref"] or "a diff file"
    merge_base = f" (merge base {patch['merge_base'][:12]})" if patch["merge_base"] else ""
    head = f"patch     against {base}{merge_base}"
    if patch["problem"]:
        return [f"{head}: {patch['problem']}"]
    percent = patch_percent(patch)
    if percent is None:
        return [f"{head}: no measured executable line changed"]
    covered = sum(b - a + 1 for f in patch["files"] for a, b in f["covered_lines"])
    missed = sum(b - a + 1 for f in patch["files"] for a, b in f["uncovered_lines"])
    rows = [f"{head}: {percent:.2f} % of {covered + missed} changed lines covered"]
    files = [f for f in patch["files"] if f["uncovered_lines"]]
    if files:
        rows.append("  changed lines not covered:")
        width = max(len(f["path"]) for f in files)
        rows += [f"  {f['path']:<{width}}  {_ranges(f['uncovered_lines'])}" for f in files]
    return rows


def failure_rows(failures: Sequence[ReportFailure]) -> list[str]:
    """Failing tests under one heading per kind, in the reports' order."""
    rows: list[str] = []
    for kind, group in group_failures(failures).items():
        if rows:
            rows.append("")
        rows.append(f"{title(kind)} ({len(group)}):")
        for f in group:
            place = f" ({f['path']}:{f['line']})" if f["path"] else ""
            message = f": {f['message']}" if f["message"] else ""
            rows.append(f"  {f['node_id']} {f['outcome']}{message}{place}")
    return rows
