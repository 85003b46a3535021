"""The run, worker and task state machines: tables, illegal moves, random walks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from uetf_core.errors import TransitionError
from uetf_core.states import (
    RUN_TRANSITIONS,
    TASK_TRANSITIONS,
    WORKER_TRANSITIONS,
    RunState,
    TaskState,
    WorkerState,
    check_transition,
    is_terminal,
)

MACHINES = [
    (RunState, RUN_TRANSITIONS),
    (WorkerState, WORKER_TRANSITIONS),
    (TaskState, TASK_TRANSITIONS),
]


def test_run_machine_has_nine_states() -> None:
    """The run lifecycle has exactly the nine documented states."""
    assert [s.value for s in RunState] == [
        "pending",
        "initializing",
        "collecting",
        "running",
        "gating",
        "passed",
        "failed",
        "errored",
        "abandoned",
    ]


@pytest.mark.parametrize(("enum", "table"), MACHINES)
def test_every_state_has_a_row(enum: type, table: dict) -> None:
    """Each transition table has one row per state and only names its own states."""
    assert set(table) == set(enum)
    for targets in table.values():
        assert targets <= set(enum)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (RunState.PENDING, RunState.RUNNING),
        (RunState.PASSED, RunState.FAILED),
        (RunState.ABANDONED, RunState.RUNNING),
        (RunState.RUNNING, RunState.PASSED),
        (WorkerState.STOPPED, WorkerState.BUSY),
        (WorkerState.STARTING, WorkerState.BUSY),
        (TaskState.PASSED, TaskState.RUNNING),
        (TaskState.PENDING, TaskState.PASSED),
    ],
)
def test_illegal_move_raises(current, target) -> None:  # type: ignore[no-untyped-def]
    """A move the table does not allow raises TransitionError naming both states."""
    with pytest.raises(TransitionError, match=f"{current.value} -> {target.value}"):
        check_transition(current, target)


def test_happy_run_path_is_legal() -> None:
    """pending -> initializing -> collecting -> running -> gating -> passed is allowed."""
    state = RunState.PENDING
    for target in (
        RunState.INITIALIZING,
        RunState.COLLECTING,
        RunState.RUNNING,
        RunState.GATING,
        RunState.PASSED,
    ):
        state = check_transition(state, target)
    assert is_terminal(state)


@pytest.mark.parametrize(("enum", "table"), MACHINES)
@given(data=st.data())
def test_random_walks_obey_the_table(enum: type, table: dict, data: st.DataObject) -> None:
    """Random event sequences: allowed moves succeed, others raise and leave the state."""
    state = data.draw(st.sampled_from(list(enum)))
    for target in data.draw(st.lists(st.sampled_from(list(enum)), max_size=30)):
        if target in table[state]:
            state = check_transition(state, target)
        else:
            with pytest.raises(TransitionError):
                check_transition(state, target)
        if is_terminal(state):
            assert not table[state]


@pytest.mark.parametrize(("enum", "table"), MACHINES)
def test_every_state_is_reachable(enum: type, table: dict) -> None:
    """Every state can be reached from the first one: no dead rows in a table."""
    start = next(iter(enum))
    seen, frontier = {start}, [start]
    while frontier:
        for target in table[frontier.pop()]:
            if target not in seen:
                seen.add(target)
                frontier.append(target)
    assert seen == set(enum)
