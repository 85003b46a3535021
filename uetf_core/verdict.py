"""From pytest's exit status and the gates' verdict to the process exit status."""

from __future__ import annotations

from uetf_core.exitcodes import ExitCode
from uetf_core.gates.evaluate import Verdict


def final_exit_status(test_status: int, verdict: Verdict) -> int:
    """The exit status of a gated run.

    A non-zero status from the test run itself (failures, interruption, usage
    error, no tests) wins: it says more. Otherwise a failed gate gives 6.
    """
    if test_status != ExitCode.OK:
        return int(test_status)
    if verdict in (Verdict.FAILED, Verdict.ERROR):
        return int(ExitCode.GATES_FAILED)
    return int(ExitCode.OK)
