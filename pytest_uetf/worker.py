"""The xdist worker's role: measure here, hand everything to the controller.

A worker never opens the ledger (as junitxml keeps its log off worker nodes):
each test's CPU seconds travel on its report, and the worker's peak memory
and measured coverage in xdist's ``workeroutput`` when the worker ends.
"""

from __future__ import annotations

from time import process_time
from typing import TYPE_CHECKING, Any

import pytest

from pytest_uetf.costs import peak_rss_mb

if TYPE_CHECKING:
    from uetf_core.measure import Measurement


class UetfWorker:
    """On an xdist worker: each test's CPU seconds, then memory and coverage at the end."""

    def __init__(self, config: pytest.Config, measurement: Measurement | None) -> None:
        self.config = config
        self.measurement = measurement
        self._mark = process_time()

    @pytest.hookimpl(tryfirst=True)  # before xdist sends the report to the controller
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "teardown":
            mark = process_time()
            report.uetf_cpu = mark - self._mark  # type: ignore[attr-defined]
            self._mark = mark

    def pytest_sessionfinish(self) -> None:
        # Runs inside xdist's own sessionfinish wrapper, before it sends workeroutput.
        output: dict[str, Any] = self.config.workeroutput  # type: ignore[attr-defined]
        output["uetf_peak_rss_mb"] = peak_rss_mb()
        if self.measurement is not None:
            output["uetf_cov"] = self.measurement.dumps()
