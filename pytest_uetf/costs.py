"""What tests cost: CPU seconds per test, peak memory per process, costs tests declare.

CPU is read once per test, at its teardown report (the process's CPU time
since the previous test ended), so the per-test path gains one clock read.
On an xdist worker :class:`pytest_uetf.worker.UetfWorker` reads it there and
sends it on the report; the controller adds it to the record.
"""

from __future__ import annotations

import math
import sys

import pytest

# The key of a declared cost among a test's user_properties (they travel with
# xdist's reports and show in JUnit XML as properties).
COST_PROPERTY = "uetf_cost"


def peak_rss_mb() -> float | None:
    """This process's peak resident memory in MB, where the standard library can tell."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


class CostRecorder:
    """The ``uetf_cost`` fixture: ``uetf_cost.add("openai_tokens", 1234)``."""

    def __init__(self, node: pytest.Item) -> None:
        self._node = node

    def add(self, name: str, amount: float, unit: str | None = None) -> None:
        """Add ``amount`` of ``name`` (in ``unit``, default the name) to this test's costs."""
        if not isinstance(name, str) or not name.strip():
            raise ValueError("uetf_cost.add: the cost needs a name, e.g. 'openai_tokens'")
        if (
            isinstance(amount, bool)
            or not isinstance(amount, (int, float))
            or not math.isfinite(amount)
        ):
            raise ValueError(f"uetf_cost.add({name!r}, ...): the amount must be a finite number")
        self._node.user_properties.append((COST_PROPERTY, (name, float(amount), unit or name)))
