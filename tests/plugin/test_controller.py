"""The controller role translates pytest's events into the run session, in this process."""

from __future__ import annotations

import pytest

from uetf_core.ledger import open_ledger

OBSERVER = """
import json

SEEN = []


def pytest_uetf_run_start(run_id, config):
    SEEN.append(("start", run_id))


def pytest_uetf_record(run_id, record):
    SEEN.append(("record", record.node_id))


def pytest_uetf_gate_verdict(run_id, gate):
    SEEN.append(("gate", gate["name"]))


def pytest_uetf_run_end(run_id, summary):
    SEEN.append(("end", summary["state"]))
    with open("seen.json", "w") as out:
        json.dump(SEEN, out)
"""

SUITE = """
def test_costly(uetf_cost):
    uetf_cost.add("tokens", 12)


def test_plain():
    pass
"""


def test_hooks_hear_the_run_and_declared_costs_are_kept(pytester: pytest.Pytester) -> None:
    """Observers of the pytest_uetf_* hooks hear every step; a declared cost is recorded."""
    import json

    pytester.makeconftest(OBSERVER)
    pytester.makepyfile(SUITE)
    result = pytester.runpytest("--uetf", "--uetf-gate", "min_tests>=2", "-v")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*= uetf =*", "min_tests * passed"])
    seen = [tuple(step) for step in json.loads((pytester.path / "seen.json").read_text())]
    assert [kind for kind, _ in seen] == ["start", "record", "record", "gate", "end"]
    assert seen[-1] == ("end", "passed")
    ledger = open_ledger(str(pytester.path / ".ledger" / "uetf.db"))
    try:
        run_id = ledger.find_run("last")["run_id"]
        assert ledger.cost_totals(run_id)["tokens"][0] == 12.0
    finally:
        ledger.close()


def test_a_quiet_run_shows_only_the_gates_that_failed(pytester: pytest.Pytester) -> None:
    """Under -q the failed gate's row and the verdict are shown, not the whole section."""
    pytester.makepyfile(SUITE)
    result = pytester.runpytest("--uetf", "-q", "--uetf-gate", "min_tests>=5")
    assert result.ret == 6
    result.stdout.fnmatch_lines(["min_tests * >= 5 * 2 * failed", "uetf: run * failed*"])
    result.stdout.no_fnmatch_line("*= uetf =*")


def test_a_test_in_flight_at_an_interrupt_is_recorded_as_an_error(
    pytester: pytest.Pytester,
) -> None:
    """Ctrl-C during a test ends the run errored, with that test an error, not a pass."""
    pytester.makepyfile(
        "def test_first():\n    pass\n\n\ndef test_stopped():\n    raise KeyboardInterrupt\n"
    )
    reprec = pytester.inline_run("--uetf", no_reraise_ctrlc=True)
    assert reprec.ret == pytest.ExitCode.INTERRUPTED
    ledger = open_ledger(str(pytester.path / ".ledger" / "uetf.db"))
    try:
        run = ledger.find_run("last")
        assert run["state"] == "errored"
        outcomes = {n.split("::")[-1]: o for n, o in ledger.outcomes(run["run_id"]).items()}
        assert outcomes == {"test_first": "passed", "test_stopped": "error"}
    finally:
        ledger.close()


def test_xdist_workers_are_recorded_by_the_controller(pytester: pytest.Pytester) -> None:
    """Under xdist the controller records each worker, the tasks once, and the routing."""
    pytester.makepyfile(
        **{
            f"test_w{i}": f"def test_a{i}():\n    pass\n\n\ndef test_b{i}():\n    pass\n"
            for i in (1, 2)
        }
    )
    result = pytester.runpytest("-n", "2", "--uetf", "--uetf-dist=module")
    assert result.ret == 0, result.stdout.str()
    ledger = open_ledger(str(pytester.path / ".ledger" / "uetf.db"))
    try:
        run_id = ledger.find_run("last")["run_id"]
        workers = {w["worker_id"]: w["state"] for w in ledger.workers(run_id)}
        assert set(workers) == {"gw0", "gw1"} and set(workers.values()) == {"stopped"}
        assert len(ledger.tasks(run_id)) == 4
        assert len(ledger.routing_decisions(run_id)) == 4
    finally:
        ledger.close()
