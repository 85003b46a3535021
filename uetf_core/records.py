"""The records a run produces, as small value objects with their schema documents.

Execution records are built once per test (when its teardown report arrives)
and appended to a batch; their dictionaries are only made for output. A test
that plainly passed is recorded as a ``PassedRow`` tuple instead, the cheapest
thing Python builds; ``full_record`` gives its ExecutionRecord.

The per-test classes are plain slotted dataclasses, not frozen ones: a frozen
dataclass sets each field through ``object.__setattr__``, which makes building
a record about four times as slow, a cost paid for every test of every run.
Nothing mutates a record after it is built. An event, made a few times per
run, is a named tuple (cheaper to define at import; see ``uetf_core.metrics``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from uetf_core.timeutil import iso

MAX_MESSAGE = 4096
MAX_TRACEBACK = 16384


@dataclass(slots=True)
class PhaseResult:
    """The outcome and duration of setup, call or teardown."""

    outcome: str
    duration: float

    def as_dict(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "duration": self.duration}


def storable(text: str) -> str:
    """``text`` with NUL shown as ``\\x00``: PostgreSQL's text cannot hold it, and one
    rule for both back ends keeps a message the same wherever it is read."""
    return text.replace("\x00", "\\x00") if "\x00" in text else text


@dataclass(slots=True)
class ErrorCapture:
    """Why a test (or a collector) failed: type, message, place, bounded traceback."""

    node_id: str
    attempt: int
    phase: str
    exc_type: str
    message: str
    path: str | None
    lineno: int | None
    traceback: str
    truncated: bool

    @classmethod
    def bounded(
        cls,
        node_id: str,
        attempt: int,
        phase: str,
        exc_type: str,
        message: str,
        path: str | None,
        lineno: int | None,
        traceback: str,
    ) -> ErrorCapture:
        """An error capture with message and traceback cut to their size limits.

        The traceback keeps its head and its tail: the tail holds the failing
        line, the head the test that led there.
        """
        message, traceback = storable(message), storable(traceback)
        truncated = len(traceback) > MAX_TRACEBACK or len(message) > MAX_MESSAGE
        if len(traceback) > MAX_TRACEBACK:
            marker = "\n... [traceback cut by uetf] ...\n"
            keep = (MAX_TRACEBACK - len(marker)) // 2
            traceback = traceback[:keep] + marker + traceback[-keep:]
        return cls(
            node_id,
            attempt,
            phase,
            exc_type or "Error",
            message[:MAX_MESSAGE],
            path,
            lineno,
            traceback,
            truncated,
        )

    def as_dict(self) -> dict[str, Any]:
        """The ``error_capture`` document."""
        return {
            "node_id": self.node_id,
            "attempt": self.attempt,
            "phase": self.phase,
            "exc_type": self.exc_type,
            "message": self.message,
            "path": self.path,
            "lineno": self.lineno,
            "traceback": self.traceback,
            "truncated": self.truncated,
        }


@dataclass(slots=True)
class ExecutionRecord:
    """One attempt at one test: its phases, outcome, timing and worker."""

    node_id: str
    attempt: int
    worker: str
    outcome: str
    setup: PhaseResult | None
    call: PhaseResult | None
    teardown: PhaseResult | None
    duration: float
    started_at: float
    finished_at: float
    skip_reason: str | None = None
    xfail_reason: str | None = None
    error: ErrorCapture | None = None
    cpu: float | None = None  # CPU seconds of the process while the test ran

    def as_dict(self, run_id: str) -> dict[str, Any]:
        """The ``test_execution_record`` document."""
        return {
            "run_id": run_id,
            "node_id": self.node_id,
            "attempt": self.attempt,
            "worker": self.worker,
            "outcome": self.outcome,
            "setup": self.setup.as_dict() if self.setup else None,
            "call": self.call.as_dict() if self.call else None,
            "teardown": self.teardown.as_dict() if self.teardown else None,
            "duration": self.duration,
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "skip_reason": self.skip_reason,
            "xfail_reason": self.xfail_reason,
            "error": self.error.as_dict() if self.error else None,
            "cpu_seconds": self.cpu,
        }


# A test whose setup, call and teardown all passed (most tests of most runs),
# as the plugin records it: a plain tuple of (node_id, attempt, worker,
# setup_duration, call_duration, teardown_duration, started_at, finished_at,
# cpu_seconds). Its outcome and its phases' outcomes are "passed", its duration
# the sum of the three. Building an ExecutionRecord and its three PhaseResults
# measured ~28,000 instructions a test, the tuple ~5,000; the full record is
# made (``full_record``) only for whoever asks for one.
PassedRow = tuple[str, int, str, float, float, float, float, float, float | None]
AnyRecord = ExecutionRecord | PassedRow
# Where code that reads one field of a PassedRow finds it.
PASSED_NODE_ID: Final = 0
PASSED_WORKER: Final = 2
PASSED_FINISHED_AT: Final = 7


def full_record(record: AnyRecord) -> ExecutionRecord:
    """The ExecutionRecord of a record in either form."""
    if not isinstance(record, tuple):
        return record
    node_id, attempt, worker, setup, call, teardown, started_at, finished_at, cpu = record
    return ExecutionRecord(
        node_id,
        attempt,
        worker,
        "passed",
        PhaseResult("passed", setup),
        PhaseResult("passed", call),
        PhaseResult("passed", teardown),
        setup + call + teardown,
        started_at,
        finished_at,
        cpu=cpu,
    )


class Event(NamedTuple):
    """A state transition or notable happening, as persisted in the ledger."""

    at: float
    kind: str
    subject: str
    from_state: str | None = None
    to_state: str | None = None
    data: dict[str, Any] | None = None

    def as_dict(self, run_id: str, seq: int) -> dict[str, Any]:
        """The ``execution_event`` document."""
        return {
            "run_id": run_id,
            "seq": seq,
            "at": iso(self.at),
            "kind": self.kind,
            "subject": self.subject,
            "from_state": self.from_state,
            "to_state": self.to_state,
            "data": self.data or {},
        }
