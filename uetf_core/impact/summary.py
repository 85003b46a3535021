"""The ``impact`` part of a run's summary: how many tests ran and how many were carried."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from uetf_core.ledger.base import Ledger


def impact_summary(ledger: Ledger, run_id: str) -> dict[str, Any] | None:
    """What selection did in ``run_id``; None when the run did not select.

    ``carried``: tests not run whose results and coverage come from the baseline
    (mode ``affected``); ``would_skip``: tests a shadow run ran that selection
    would have left out.
    """
    found = ledger.selection(run_id)
    if found is None:
        return None
    affected = found["mode"] == "affected"
    return {
        "mode": found["mode"],
        "baseline_run_id": found["baseline_run_id"],
        "whole_suite": found["whole_reason"],
        "whole_suite_detail": found["whole_detail"],
        "ran": int(found["selected"]) if affected else int(found["selected"] + found["unselected"]),
        "carried": int(found["unselected"]) if affected else 0,
        "would_skip": 0 if affected else int(found["unselected"]),
    }
