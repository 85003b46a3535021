"""The three state machines of a run: the run, its workers and its tasks.

Each is an ``Enum`` plus one transition table; :func:`check_transition` is the
only place a move is judged, and an illegal move raises ``TransitionError``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import TypeVar

from uetf_core.errors import TransitionError


class RunState(str, enum.Enum):
    """Lifecycle of one ``pytest --uetf`` invocation."""

    PENDING = "pending"  # created in the ledger, nothing done yet
    INITIALIZING = "initializing"  # configuration validated, ledger open
    COLLECTING = "collecting"  # pytest is collecting items
    RUNNING = "running"  # tests are executing
    GATING = "gating"  # tests done, gates being evaluated
    PASSED = "passed"  # finished; tests and gates held
    FAILED = "failed"  # finished; a test failed or a gate was violated
    ERRORED = "errored"  # ended early: interrupted, internal or usage error
    ABANDONED = "abandoned"  # its process died; found by a later open of the ledger


class WorkerState(str, enum.Enum):
    """Lifecycle of a process running tests: the controller or an xdist worker."""

    STARTING = "starting"  # spawned, not yet reported ready
    READY = "ready"  # collected, waiting for work
    BUSY = "busy"  # running a test
    IDLE = "idle"  # has run tests and holds none now
    STOPPED = "stopped"  # shut down cleanly
    CRASHED = "crashed"  # died or lost its connection


class TaskState(str, enum.Enum):
    """Lifecycle of one collected test item within a run."""

    PENDING = "pending"  # collected, not started
    RUNNING = "running"  # setup has begun
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    XFAILED = "xfailed"
    XPASSED = "xpassed"
    ERROR = "error"  # setup or teardown failed, or its worker crashed
    RERUN = "rerun"  # failed and will be run again (pytest-rerunfailures)


S = TypeVar("S", RunState, WorkerState, TaskState)

_RUN_ENDS = {RunState.ERRORED, RunState.ABANDONED}

RUN_TRANSITIONS: Mapping[RunState, frozenset[RunState]] = {
    RunState.PENDING: frozenset({RunState.INITIALIZING, *_RUN_ENDS}),
    RunState.INITIALIZING: frozenset({RunState.COLLECTING, *_RUN_ENDS}),
    RunState.COLLECTING: frozenset({RunState.RUNNING, RunState.GATING, *_RUN_ENDS}),
    RunState.RUNNING: frozenset({RunState.GATING, *_RUN_ENDS}),
    RunState.GATING: frozenset({RunState.PASSED, RunState.FAILED, *_RUN_ENDS}),
    RunState.PASSED: frozenset(),
    RunState.FAILED: frozenset(),
    RunState.ERRORED: frozenset(),
    RunState.ABANDONED: frozenset(),
}

_WORKER_LIVE = {WorkerState.STOPPED, WorkerState.CRASHED}

WORKER_TRANSITIONS: Mapping[WorkerState, frozenset[WorkerState]] = {
    WorkerState.STARTING: frozenset({WorkerState.READY, *_WORKER_LIVE}),
    WorkerState.READY: frozenset({WorkerState.BUSY, *_WORKER_LIVE}),
    WorkerState.BUSY: frozenset({WorkerState.IDLE, *_WORKER_LIVE}),
    WorkerState.IDLE: frozenset({WorkerState.BUSY, *_WORKER_LIVE}),
    WorkerState.STOPPED: frozenset(),
    WorkerState.CRASHED: frozenset(),
}

_TASK_OUTCOMES = frozenset(
    {
        TaskState.PASSED,
        TaskState.FAILED,
        TaskState.SKIPPED,
        TaskState.XFAILED,
        TaskState.XPASSED,
        TaskState.ERROR,
        TaskState.RERUN,
    }
)

TASK_TRANSITIONS: Mapping[TaskState, frozenset[TaskState]] = {
    # A task can end without running: its worker crashed before it began.
    TaskState.PENDING: frozenset({TaskState.RUNNING, TaskState.ERROR}),
    TaskState.RUNNING: _TASK_OUTCOMES,
    TaskState.RERUN: frozenset({TaskState.RUNNING}),
    TaskState.PASSED: frozenset(),
    TaskState.FAILED: frozenset(),
    TaskState.SKIPPED: frozenset(),
    TaskState.XFAILED: frozenset(),
    TaskState.XPASSED: frozenset(),
    TaskState.ERROR: frozenset(),
}

_TABLES: dict[type[enum.Enum], Mapping[enum.Enum, frozenset[enum.Enum]]] = {
    RunState: RUN_TRANSITIONS,  # type: ignore[dict-item]
    WorkerState: WORKER_TRANSITIONS,  # type: ignore[dict-item]
    TaskState: TASK_TRANSITIONS,  # type: ignore[dict-item]
}


def is_terminal(state: RunState | WorkerState | TaskState) -> bool:
    """True when no transition leaves ``state``."""
    return not _TABLES[type(state)][state]


def check_transition(current: S, target: S) -> S:
    """Return ``target`` if the table allows ``current -> target``; raise otherwise."""
    allowed = _TABLES[type(current)][current]
    if target not in allowed:
        names = ", ".join(sorted(s.value for s in allowed)) or "none (terminal)"
        message = (
            f"illegal {type(current).__name__} transition {current.value} -> "
            f"{target.value}; allowed from {current.value}: {names}"
        )
        raise TransitionError(message)
    return target
