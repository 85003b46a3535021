"""GitHub Actions: the markdown report in the job summary, annotations beside the lines.

Annotations are workflow commands printed on standard output. GitHub shows
only a few per step, so they are capped (failures first, then uncovered
changed lines) and one notice says how many more the summary holds. Warnings
and notices (waived failures) share one cap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from uetf_core.reports.escape import workflow_data, workflow_property

if TYPE_CHECKING:
    from uetf_core.report_documents import GateReport

MAX_ERRORS = 10
MAX_WARNINGS = 10
# A new failure blocks the change; one that was already failing, or flips, is a warning;
# a waived one is excused and only noted. Any other kind is a warning, never a crash.
ANNOTATION = {"new": "error", "pre-existing": "warning", "flaky": "warning", "waived": "notice"}


def _command(kind: str, message: str, **properties: object) -> str:
    props = ",".join(
        f"{name}={workflow_property(value)}"
        for name, value in properties.items()
        if value is not None
    )
    return f"::{kind}{' ' + props if props else ''}::{workflow_data(message)}"


def workflow_commands(report: GateReport) -> list[str]:
    """Workflow commands for the failing tests and the change's uncovered lines, capped."""
    errors: list[str] = []
    warnings: list[str] = []
    for failure in report["failures"]:
        kind = ANNOTATION.get(failure["classification"], "warning")
        title = f"{failure['classification']} {failure['outcome']}: {failure['node_id']}"
        message = failure["message"] or failure["outcome"]
        command = _command(
            kind,
            message,
            file=failure["path"],
            line=failure["line"] if failure["path"] else None,
            title=title[:200],
        )
        (errors if kind == "error" else warnings).append(command)
    patch = report["patch"]
    for f in patch["files"] if patch else []:
        for start, end in f["uncovered_lines"]:
            lines = f"line {start}" if start == end else f"lines {start}-{end}"
            warnings.append(
                _command(
                    "warning",
                    f"{lines} of the change not covered by tests",
                    file=f["path"],
                    line=start,
                    endLine=end,
                    title="uncovered change",
                )
            )
    shown = errors[:MAX_ERRORS] + warnings[:MAX_WARNINGS]
    hidden = len(errors) + len(warnings) - len(shown)
    if hidden:
        shown.append(
            _command("notice", f"{hidden} more annotations are in the job summary", title="UETF")
        )
    return shown
