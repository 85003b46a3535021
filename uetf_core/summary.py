"""The run summary: one document per run, as ``uetf show --json`` prints it."""

from __future__ import annotations

from typing import Any

from uetf_core.ledger.base import Ledger
from uetf_core.timeutil import parse_iso


def build_summary(ledger: Ledger, run_id: str) -> dict[str, Any]:
    """The ``run_summary`` document of ``run_id``, read from the ledger."""
    run = ledger.find_run(run_id)
    duration = None
    if run["finished_at"]:
        elapsed = parse_iso(run["finished_at"]) - parse_iso(run["started_at"])
        duration = round(elapsed.total_seconds(), 6)
    return {
        "run_id": run["run_id"],
        "state": run["state"],
        "started_at": run["started_at"],
        "finished_at": run["finished_at"],
        "duration_seconds": duration,
        "host": run["host"],
        "pid": run["pid"],
        "rootdir": run["rootdir"],
        "uetf_version": run["uetf_version"],
        "exit_status": run["exit_status"],
        "end_reason": run["end_reason"],
        "partial": run["partial"],
        "verdict": run["verdict"],
        "totals": ledger.totals(run_id).as_dict(),
        "gates": ledger.gates(run_id),
        "config": ledger.run_config(run_id),
    }
