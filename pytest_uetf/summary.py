"""The run's verdict in pytest's terminal summary: gates, coverage, totals, reports."""

from __future__ import annotations

from typing import Any

import pytest

from uetf_core.render import (
    coverage_line,
    gate_rows,
    totals_line,
    uncovered_patch_rows,
    verdict_line,
)
from uetf_core.run import Outcome
from uetf_core.session import RunSession
from uetf_core.terminal import visible_line  # recorded data is shown, never obeyed

_COLOURS = {
    "passed": "green",
    "failed": "red",
    "error": "red",
    "warned": "yellow",
    "waived": "yellow",
}


def write_summary(
    terminal: pytest.TerminalReporter, run: RunSession, outcome: Outcome, width: int
) -> None:
    """The ``uetf`` section; under ``-q`` only what must not be missed."""
    assert run.recorder is not None
    summary = outcome.summary
    line = verdict_line(summary, run.recorder.ledger.location)
    failing = any(g["verdict"] in ("failed", "error") for g in summary["gates"])
    written = run.reports
    # Workflow commands must reach standard output whatever the verbosity.
    for command in written.stdout if written else ():
        terminal.write_line(command)
    if run.report_problem:
        terminal.write_line(visible_line(run.report_problem), red=True)
    for note in outcome.notes:  # an expired waiver matters even under -q
        terminal.write_line(visible_line(f"uetf: {note}"), yellow=True)
    for problem in run.coverage_problems:  # coverage of nothing is no 0% to shrug at
        terminal.write_line(visible_line(f"uetf: warning: {problem}"), yellow=True)
    spooled = run.ledger_spooled()
    if spooled:
        spool, why = spooled
        terminal.write_line(
            visible_line(
                f"uetf: {why}; this run is recorded in the spool {spool};"
                f" send it later with: uetf push {spool}"
            ),
            yellow=True,
        )
    if terminal.verbosity < 0:
        if failing:  # CI logs often run -q: the rows that failed the run, then why
            bad = [g for g in summary["gates"] if g["verdict"] in ("failed", "error")]
            _write_gates(terminal, bad, width)
            terminal.write_line(visible_line(line), red=True)
        return
    terminal.section("uetf")
    if summary["gates"]:
        _write_gates(terminal, summary["gates"], width)
    for row in uncovered_patch_rows(summary):
        terminal.write_line(visible_line(row))
    measured = coverage_line(summary)
    if measured:
        terminal.write_line(measured)
    waived = sum(1 for f in summary["failures"] if f["classification"] == "waived")
    terminal.write_line(totals_line(summary["totals"], waived))
    if written:
        for note in written.notes:
            terminal.write_line(visible_line(note))
        for document in written.files:
            terminal.write_line(visible_line(f"report ({document['kind']}): {document['path']}"))
    terminal.write_line(
        visible_line(line), red=failing, green=not failing and outcome.exit_status == 0
    )


def _write_gates(
    terminal: pytest.TerminalReporter, gates: list[dict[str, Any]], width: int
) -> None:
    """The gate table fitted to the terminal, each verdict coloured as pytest colours
    outcomes (``--color`` decides whether colour is written at all)."""
    for text, verdict in gate_rows(gates, width):
        colour = _COLOURS.get(verdict or "")
        terminal.write_line(visible_line(text), **({colour: True} if colour else {}))
