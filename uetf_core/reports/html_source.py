"""The HTML report's source views: each measured file's lines, with what ran and what did not.

A full view is written for every measured file below 100 % or touched by the
change (a file where every line ran has nothing to point at), in the order of
the coverage table, until ``SOURCE_LINES`` lines are written in all; the page
says which files were left out, so its size stays bounded on any project.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from uetf_core.reports.escape import html_text as h

if TYPE_CHECKING:
    from uetf_core.report_documents import GateReport

# Lines of source shown around a changed range, and at most per excerpt.
CONTEXT = 2
MAX_EXCERPT_LINES = 400
# All full source views together: about 100 bytes a line, so some 2 MB at most.
SOURCE_LINES = 20_000

LEGEND = (
    '<p class="legend"><span class="miss">not run</span> <span class="hit">changed, ran</span>'
    ' <span class="noexec">changed, not executable</span></p>'
)


def read_source(rootdir: str, path: str) -> list[str] | None:
    """The lines of ``path`` under ``rootdir``, or None when it cannot be read here."""
    try:
        with open(os.path.join(rootdir, path), encoding="utf-8", errors="replace") as source:
            return source.read().splitlines()
    except OSError:
        return None


def expand(ranges: Sequence[Sequence[int]]) -> set[int]:
    """Line numbers of ``[first, last]`` ranges."""
    return {n for a, b in ranges for n in range(a, b + 1)}


def _mark(number: int, missed: set[int], hit: set[int], changed: set[int]) -> str:
    if number in missed:
        return "miss"
    if number in hit:
        return "hit"
    # A changed line that is no statement (a comment, a blank, a docstring's middle)
    # counts for no coverage gate: shown as such, so nobody hunts for it.
    if number in changed:
        return "noexec"
    return ""


def _line(number: int, text: str, mark: str, anchor: str | None) -> str:
    cls = f' class="{mark}"' if mark else ""
    ident = f' id="{anchor}-L{number}"' if anchor else ""
    return f'<div{cls}{ident}><span class="no">{number}</span>{h(text)}</div>'


def excerpt(lines: list[str], shown: set[int], missed: set[int], hit: set[int]) -> str:
    """The lines in ``shown`` with context; changed ones marked run, not run or not executable."""
    wanted = sorted(
        {n for line in shown for n in range(line - CONTEXT, line + CONTEXT + 1)}
        & set(range(1, len(lines) + 1))
    )[:MAX_EXCERPT_LINES]
    out = ['<div class="src">']
    previous = 0
    for number in wanted:
        if previous and number != previous + 1:
            out.append('<div class="gap">…</div>')
        out.append(_line(number, lines[number - 1], _mark(number, missed, hit, shown), None))
        previous = number
    out.append("</div>")
    return "".join(out)


def changed_lines(report: GateReport) -> dict[str, dict[str, set[int]]]:
    """Per changed file: its added, covered and uncovered lines."""
    patch = report["patch"]
    if patch is None or patch["problem"]:
        return {}
    return {
        f["path"]: {
            "added": expand(f["added_lines"]),
            "hit": expand(f["covered_lines"]),
            "missed": expand(f["uncovered_lines"]),
        }
        for f in patch["files"]
    }


def shown_files(report: GateReport, rootdir: str) -> dict[str, tuple[str, list[str]]]:
    """Path to (anchor, lines) for each file that gets a full source view, in table order."""
    coverage = report["coverage"]
    if coverage is None:
        return {}
    changed = changed_lines(report)
    shown: dict[str, tuple[str, list[str]]] = {}
    budget = SOURCE_LINES
    for index, f in enumerate(coverage["files"]):
        if not f["missing"] and f["path"] not in changed:
            continue
        lines = read_source(rootdir, f["path"])
        if lines is None or len(lines) > budget:
            continue
        budget -= len(lines)
        shown[f["path"]] = (f"src-{index}", lines)
    return shown


def full_views(report: GateReport, shown: Mapping[str, tuple[str, list[str]]]) -> list[str]:
    """The source section: a legend, each shown file whole, and a note on those left out."""
    coverage = report["coverage"]
    if coverage is None:
        return []
    changed = changed_lines(report)
    left_out = [
        f["path"]
        for f in coverage["files"]
        if (f["missing"] or f["path"] in changed) and f["path"] not in shown
    ]
    out = ["<h2>Source</h2>"]
    out.append(
        "<p>Every measured file below 100 % or changed, whole; files where every line ran"
        " are not repeated here.</p>"
    )
    if left_out:
        out.append(
            f"<p>{len(left_out)} more such file(s) not shown (not readable here, or past"
            f" {SOURCE_LINES} lines of source in this page): "
            + ", ".join(f"<code>{h(path)}</code>" for path in left_out[:20])
            + (" …" if len(left_out) > 20 else "")
            + "</p>"
        )
    if not shown:
        return out
    out.append(LEGEND)
    missing = {f["path"]: expand(f["missing_lines"]) for f in coverage["files"]}
    for path, (anchor, lines) in shown.items():
        lines_of = changed.get(path, {"added": set(), "hit": set(), "missed": set()})
        missed = missing.get(path, set()) | lines_of["missed"]
        out.append(f'<h3 id="{anchor}"><code>{h(path)}</code></h3><div class="src">')
        out += [
            _line(n, text, _mark(n, missed, lines_of["hit"], lines_of["added"]), anchor)
            for n, text in enumerate(lines, 1)
        ]
        out.append("</div>")
    return out
