"""The ``uetf`` subcommands by name, each a function of the parsed arguments to an exit
status; they live in modules by what they do with the ledger."""

from __future__ import annotations

from uetf_core.cli.costs import costs
from uetf_core.cli.judging import gate, plan, report
from uetf_core.cli.maintenance import coverage_export, doctor, merge, migrate, prune, push
from uetf_core.cli.reading import flaky, history, runs, show, watch

__all__ = [
    "costs",
    "coverage_export",
    "doctor",
    "flaky",
    "gate",
    "history",
    "merge",
    "migrate",
    "plan",
    "prune",
    "push",
    "report",
    "runs",
    "show",
    "watch",
]
