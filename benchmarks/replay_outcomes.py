"""A pytest plugin for the impact replay: each test's outcome and duration, as JSON.

Loaded with ``-p replay_outcomes`` (benchmarks/ on PYTHONPATH); it writes
``{node id: {"outcome": ..., "duration": ...}}`` to the file named by the
environment variable ``REPLAY_OUTCOMES`` when the session ends. The replay needs
the exact node ids a run executed, from runs that have no ledger (plain pytest,
pytest-testmon); per test it only updates a dict, so it costs every timed run
the same.
"""

from __future__ import annotations

import json
import os
from typing import Any

_OUTCOMES: dict[str, dict[str, Any]] = {}


def pytest_runtest_logreport(report: Any) -> None:
    entry = _OUTCOMES.setdefault(report.nodeid, {"outcome": "passed", "duration": 0.0})
    entry["duration"] += report.duration
    if report.failed:
        # A failing call is a failure; a failing setup or teardown an error, as pytest says.
        entry["outcome"] = "failed" if report.when == "call" else "error"
    elif report.skipped and entry["outcome"] == "passed":
        entry["outcome"] = "skipped"


def pytest_sessionfinish(session: Any) -> None:
    target = os.environ.get("REPLAY_OUTCOMES")
    if target:
        with open(target, "w", encoding="utf-8") as stream:
            json.dump(_OUTCOMES, stream)
