"""What a baseline and a flip must share with the run they judge: the commit tested
clean, the suite and the Python; a run being judged counts its own flips."""

from __future__ import annotations

import os
import time

from uetf_core.ledger import Batch, NewRun, open_ledger
from uetf_core.ledger.base import Ledger
from uetf_core.records import ExecutionRecord, PhaseResult

COMMIT = "c0ffee" * 6 + "abcd"
PY311, PY312 = "cpython 3.11", "cpython 3.12"


def add_run(
    ledger: Ledger,
    n: int,
    state: str = "passed",
    tree_state: str | None = "",
    python: str | None = PY311,
    outcomes: dict[str, str] | None = None,
) -> str:
    """Run number ``n`` (later ``n``, later start) of ``COMMIT`` with ``outcomes``."""
    run_id = f"20261125T0000{n:02d}-0000{n:02d}"
    ledger.create_run(NewRun(run_id, state, 1000.0 + n, os.getpid(), "h", "/r", "0", {}))
    ledger.set_commit(run_id, COMMIT, "main", tree_state, "suite", python)
    phase = PhaseResult("passed", 0.01)
    records = [
        ExecutionRecord(node_id, 1, "gw0", outcome, phase, phase, phase, 0.03, 1.0, 2.0)
        for node_id, outcome in (outcomes or {}).items()
    ]
    if records:
        ledger.write_batch(run_id, Batch(records=records), time.time())
    return run_id


def test_a_run_with_uncommitted_changes_is_never_a_baseline(ledger_location: str) -> None:
    """The newest run at the merge-base had an edit in its work tree: it tested other
    code than the commit's, and the older clean run is the baseline."""
    ledger = open_ledger(ledger_location)
    try:
        clean = add_run(ledger, 1)
        add_run(ledger, 2, state="failed", tree_state="9f86d081884c7d65")
        assert ledger.find_baseline(COMMIT, suite_key="suite", python=PY311) == clean
        older = add_run(ledger, 3, tree_state=None)  # recorded by a UETF that kept none
        assert ledger.find_baseline(COMMIT) == older
    finally:
        ledger.close()


def test_a_baseline_ran_on_the_same_python(ledger_location: str) -> None:
    """A 3.12 run takes the newest clean run of its commit on 3.12, never a 3.11 one;
    a run that recorded no Python (an older UETF) still qualifies."""
    ledger = open_ledger(ledger_location)
    try:
        on_312 = add_run(ledger, 1, python=PY312)
        on_311 = add_run(ledger, 2, python=PY311)
        assert ledger.find_baseline(COMMIT, python=PY312) == on_312
        assert ledger.find_baseline(COMMIT, python=PY311) == on_311
        assert ledger.find_baseline(COMMIT, python="cpython 3.13") is None
        unknown = add_run(ledger, 3, python=None)
        assert ledger.find_baseline(COMMIT, python="cpython 3.13") == unknown
        code = ledger.code_under_test(on_312)
        assert (code.head, code.tree_state, code.suite_key, code.python) == (
            COMMIT,
            "",
            "suite",
            PY312,
        )
    finally:
        ledger.close()


def test_a_test_failing_on_one_python_only_has_not_flipped(ledger_location: str) -> None:
    """Passing on 3.11 and failing on 3.12 at one commit is no flip: it fails on 3.12
    every time. Passing again on 3.12 after failing there is one."""
    ledger = open_ledger(ledger_location)
    try:
        add_run(ledger, 1, python=PY311, outcomes={"t.py::x": "passed"})
        failed = add_run(ledger, 2, state="failed", python=PY312, outcomes={"t.py::x": "failed"})
        assert ledger.record_flips(failed) == 0
        assert ledger.flaky_tests(30, until_run_id=failed) == set()
        again = add_run(ledger, 3, python=PY312, outcomes={"t.py::x": "passed"})
        assert ledger.record_flips(again) == 1
        assert ledger.flaky_tests(30, until_run_id=again) == {"t.py::x"}
    finally:
        ledger.close()


def test_a_run_being_judged_counts_its_own_flips(ledger_location: str) -> None:
    """While its gates are judged (state ``gating``) a run's own flips are in its window,
    as they are once it has finished: the gate and the reports agree."""
    ledger = open_ledger(ledger_location)
    try:
        add_run(ledger, 1, outcomes={"t.py::x": "passed"})
        judged = add_run(ledger, 2, state="gating", outcomes={"t.py::x": "failed"})
        assert ledger.record_flips(judged) == 1
        assert ledger.flaky_tests(30, until_run_id=judged) == {"t.py::x"}
        assert [f["node_id"] for f in ledger.flaky(30, until_run_id=judged)] == ["t.py::x"]
        # Without a run named, the window is the finished runs alone.
        assert ledger.flaky_tests(30) == set()
    finally:
        ledger.close()
