"""The one interface the plugin and the CLI use to reach a ledger, whatever stores it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from uetf_core.metrics import RunMetrics, Totals
from uetf_core.records import ErrorCapture, Event, ExecutionRecord


@dataclass
class Batch:
    """Everything a run accumulated since its last write, written in one transaction."""

    records: list[ExecutionRecord] = field(default_factory=list)
    errors: list[ErrorCapture] = field(default_factory=list)
    events: list[tuple[int, Event]] = field(default_factory=list)
    workers: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.records) + len(self.errors) + len(self.events) + len(self.workers)


@dataclass(frozen=True)
class NewRun:
    """The row a run starts with."""

    run_id: str
    state: str
    started_at: float
    pid: int
    host: str
    rootdir: str
    uetf_version: str
    config: dict[str, Any]


class Ledger(Protocol):
    """Storage of runs and everything recorded about them."""

    location: str
    """Where the ledger is, safe to print (no password)."""

    def close(self) -> None: ...

    def schema_version(self) -> int: ...

    def create_run(self, run: NewRun) -> None: ...

    def set_run_state(
        self,
        run_id: str,
        state: str,
        *,
        finished_at: float | None = None,
        exit_status: int | None = None,
        end_reason: str | None = None,
        verdict: str | None = None,
    ) -> None: ...

    def add_tasks(self, run_id: str, tasks: Sequence[tuple[str, int, str]]) -> None: ...

    def write_batch(self, run_id: str, batch: Batch, heartbeat_at: float) -> None: ...

    def settle_tasks(self, run_id: str) -> None: ...

    def add_tool_result(self, run_id: str | None, result: dict[str, Any]) -> None: ...

    def tool_results(self, run_id: str) -> list[dict[str, Any]]: ...

    def set_partial(self, run_id: str, reason: str | None) -> None: ...

    def partial_reason(self, run_id: str) -> str | None: ...

    def coverage_percent(self, run_id: str) -> float | None: ...

    def set_commit(self, run_id: str, head: str | None, branch: str | None) -> None: ...

    def save_coverage(self, run_id: str, coverage: dict[str, Any]) -> None: ...

    def coverage(self, run_id: str) -> dict[str, Any] | None: ...

    def save_patch(self, run_id: str, patch: dict[str, Any]) -> None: ...

    def patch(self, run_id: str) -> dict[str, Any] | None: ...

    def find_baseline(self, commit: str, exclude: str | None = None) -> str | None: ...

    def outcomes(self, run_id: str) -> dict[str, str]: ...

    def troubled(self, run_id: str) -> dict[str, tuple[str, set[str]]]: ...

    def save_gates(self, run_id: str, gates: Sequence[dict[str, Any]]) -> None: ...

    def add_validation(
        self, run_id: str | None, record: dict[str, Any], digest: str | None = None
    ) -> None: ...

    def validated_before(self, digest: str) -> bool: ...

    def validations(self, run_id: str) -> list[dict[str, Any]]: ...

    def reap_abandoned(self, host: str, now: float, stale_after: float) -> list[str]: ...

    def list_runs(self, limit: int | None = None) -> list[dict[str, Any]]: ...

    def find_run(self, ref: str) -> dict[str, Any]: ...

    def run_config(self, run_id: str) -> dict[str, Any] | None: ...

    def records(self, run_id: str) -> list[dict[str, Any]]: ...

    def tasks(self, run_id: str) -> list[dict[str, Any]]: ...

    def error_captures(self, run_id: str) -> list[dict[str, Any]]: ...

    def events(self, run_id: str) -> list[dict[str, Any]]: ...

    def workers(self, run_id: str) -> list[dict[str, Any]]: ...

    def gates(self, run_id: str) -> list[dict[str, Any]]: ...

    def totals(self, run_id: str) -> Totals: ...

    def metrics(self, run_id: str, now: float | None = None) -> RunMetrics: ...

    def integrity_problems(self) -> list[str]: ...
