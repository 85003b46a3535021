"""The ``impact`` part of a run's summary: how many tests ran and how many were carried."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from uetf_core.ledger.base import Ledger
    from uetf_core.report_documents import ImpactSummary


def impact_summary(ledger: Ledger, run_id: str) -> ImpactSummary | None:
    """What selection did in ``run_id``, and the failures that look flaky; None when the run
    did neither.

    ``carried``: tests not run whose results and coverage come from the baseline
    (mode ``affected``); ``would_skip``: tests a shadow run ran that selection
    would have left out; ``likely_flaky``: failures whose code did not change since the
    test passed on the same environment (shown apart from new failures, never waived).
    """
    found = ledger.selection(run_id)
    flaky = ledger.likely_flaky(run_id)
    if found is None and not flaky:
        return None
    if found is None:
        found = {
            "mode": None,
            "baseline_run_id": None,
            "whole_reason": None,
            "whole_detail": None,
            "selected": 0,
            "unselected": 0,
        }
    affected = found["mode"] == "affected"
    selected, unselected = found["selected"], found["unselected"]
    return {
        "mode": found["mode"],
        "baseline_run_id": found["baseline_run_id"],
        "whole_suite": found["whole_reason"],
        "whole_suite_detail": found["whole_detail"],
        "ran": selected if affected else selected + unselected,
        "carried": unselected if affected else 0,
        "would_skip": 0 if affected else unselected,
        "likely_flaky": flaky,
    }
