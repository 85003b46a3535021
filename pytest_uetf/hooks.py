"""Hooks other plugins implement to observe a UETF run (added via ``pytest_addhooks``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from uetf_core.records import ExecutionRecord


@pytest.hookspec
def pytest_uetf_run_start(run_id: str, config: dict[str, Any]) -> None:
    """A run was created in the ledger; ``config`` is its ``run_config`` document."""


@pytest.hookspec
def pytest_uetf_record(run_id: str, record: ExecutionRecord) -> None:
    """A test attempt finished; ``record`` is its ``uetf_core.records.ExecutionRecord``.

    Called on the controller for every attempt: keep implementations cheap.
    """


@pytest.hookspec
def pytest_uetf_gate_verdict(run_id: str, gate: dict[str, Any]) -> None:
    """A gate was judged; ``gate`` is its ``test_gate`` document."""


@pytest.hookspec
def pytest_uetf_run_end(run_id: str, summary: dict[str, Any]) -> None:
    """The run reached its final state; ``summary`` is its ``run_summary`` document."""
