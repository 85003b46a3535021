"""The HTML report's interactive parts: every test with a search and an outcome filter,
and the per-file coverage table sorted by a click on a column.

One small inline script does both. The page's Content-Security-Policy names that
script (and the stylesheet) by their SHA-256, so they run and nothing else can,
whatever a test id holds. The script only shows, hides and reorders rows the page
already has: without JavaScript every test and file is listed, and the controls,
which would do nothing, stay hidden.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from uetf_core.render import format_ranges
from uetf_core.reports.escape import html_text as h

if TYPE_CHECKING:
    from uetf_core.report_documents import CoverageSummary, FinalResult

SCRIPT = """
(function () {
  var d = document;
  d.querySelectorAll(".js-only").forEach(function (e) { e.hidden = false; });
  var table = d.getElementById("tests");
  if (table) {
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var search = d.getElementById("test-search");
    var count = d.getElementById("test-count");
    var chosen = "";
    var apply = function () {
      var words = search.value.toLowerCase();
      var n = 0;
      rows.forEach(function (row) {
        var show = (!chosen || row.getAttribute("data-outcome") === chosen) &&
          row.cells[0].firstChild.textContent.toLowerCase().indexOf(words) >= 0;
        row.hidden = !show;
        if (show) { n += 1; }
      });
      count.textContent = n + " of " + rows.length + " shown";
    };
    search.addEventListener("input", apply);
    d.querySelectorAll("button[data-outcome]").forEach(function (button) {
      button.addEventListener("click", function () {
        chosen = button.getAttribute("data-outcome");
        d.querySelectorAll("button[data-outcome]").forEach(function (b) {
          b.setAttribute("aria-pressed", String(b === button));
        });
        apply();
      });
    });
    apply();
  }
  d.querySelectorAll("table.sortable").forEach(function (sortable) {
    var heads = sortable.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, column) {
      if (!th.hasAttribute("data-sort")) { return; }
      th.addEventListener("click", function () {
        var up = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (o) { o.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", up ? "ascending" : "descending");
        var numeric = th.getAttribute("data-sort") === "num";
        var key = function (row) {
          var cell = row.cells[column];
          return numeric ? parseFloat(cell.getAttribute("data-v")) : cell.textContent;
        };
        var body = sortable.tBodies[0];
        var sorted = Array.prototype.slice.call(body.rows).sort(function (a, b) {
          var x = key(a), y = key(b);
          var order = numeric ? x - y : (x < y ? -1 : x > y ? 1 : 0);
          return up ? order : -order;
        });
        sorted.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
})();
"""

STYLE = """
.controls{margin:6px 0}.controls input{font:inherit;padding:3px 6px;width:22em}
.controls button{font:inherit;margin:2px;padding:2px 8px;border:1px solid #d0d7de;
border-radius:12px;background:#f6f8fa;cursor:pointer}
.controls button[aria-pressed=true]{background:#0969da;color:#fff;border-color:#0969da}
.count{color:#57606a;margin-left:8px}
table.sortable th[data-sort]{cursor:pointer}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
.scroll{max-height:480px;overflow:auto}
"""


def csp_hash(text: str) -> str:
    """The CSP source that allows exactly the inline block ``text``."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def tests_table(tests: Sequence[FinalResult]) -> list[str]:
    """Every test of the run: id, outcome, duration, worker, with the search and filters."""
    if not tests:
        return []
    counts = Counter(t["outcome"] for t in tests)
    buttons = ['<button type="button" data-outcome="" aria-pressed="true">all</button>']
    buttons += [
        f'<button type="button" data-outcome="{h(outcome)}" aria-pressed="false">'
        f"{h(outcome)} ({n})</button>"
        for outcome, n in sorted(counts.items())
    ]
    rows = [
        f'<tr data-outcome="{h(t["outcome"])}"><td><code>{h(t["node_id"])}</code>'
        + (f'<br><span class="reason">{h(t["reason"])}</span>' if t["reason"] else "")
        + f'</td><td class="v-{h(t["outcome"])}">{h(t["outcome"])}</td>'
        f'<td class="num" data-v="{t["duration"]}">{t["duration"]:.3f} s</td>'
        f"<td>{h(t['worker'] or '')}</td></tr>"
        for t in tests
    ]
    return [
        f"<h2>Tests ({len(tests)})</h2>",
        '<div class="controls js-only" hidden>'
        '<input id="test-search" type="search" placeholder="search test ids"'
        ' aria-label="search test ids"> '
        + "".join(buttons)
        + '<span id="test-count" class="count"></span></div>',
        '<div class="scroll"><table id="tests" class="sortable"><thead><tr>'
        '<th data-sort="text">test</th><th data-sort="text">outcome</th>'
        '<th data-sort="num">duration</th><th data-sort="text">worker</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>",
    ]


def coverage_table(
    coverage: CoverageSummary, anchors: Mapping[str, str], hidden_full: int
) -> list[str]:
    """Every measured file, sortable by name, statements, missing or percent; each file
    links to its source view when the page has one."""
    out = [
        '<table id="coverage-files" class="sortable"><thead><tr>'
        '<th data-sort="text">file</th><th data-sort="num">statements</th>'
        '<th data-sort="num">missing</th><th data-sort="num">cover</th>'
        "<th>missing lines</th></tr></thead><tbody>"
    ]
    for f in coverage["files"]:
        name = f"<code>{h(f['path'])}</code>"
        if f["path"] in anchors:
            name = f'<a href="#{anchors[f["path"]]}">{name}</a>'
        out.append(
            f'<tr><td>{name}</td><td class="num" data-v="{f["statements"]}">{f["statements"]}</td>'
            f'<td class="num" data-v="{f["missing"]}">{f["missing"]}</td>'
            f'<td class="num" data-v="{f["percent"]}">{f["percent"]:.2f} %</td>'
            f"<td>{h(format_ranges(f['missing_lines']))}</td></tr>"
        )
    out.append("</tbody></table>")
    if hidden_full:
        out.append(f"<p>{hidden_full} file(s) at 100 %: no source view needed.</p>")
    return out
