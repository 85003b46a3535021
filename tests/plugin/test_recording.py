"""pytest --uetf records every outcome of a real session into the ledger."""

from __future__ import annotations

import json
import subprocess

import pytest

from uetf_core.cli import main as uetf_main
from uetf_core.ledger import open_ledger

SUITE = """
import pytest

def test_pass_1(): pass
def test_pass_2(): pass
def test_pass_3(): pass
def test_fail(): assert 1 == 2, "one is not two"
"""


def ledger_of(pytester: pytest.Pytester):  # type: ignore[no-untyped-def]
    return open_ledger(str(pytester.path / ".ledger" / "uetf.db"))


def test_three_pass_one_fails(pytester: pytest.Pytester, capsys, validate) -> None:  # type: ignore[no-untyped-def]
    """A failing test gives exit 1, one run in the ledger and a valid summary with the counts."""
    subprocess.run(["git", "init", "-q"], cwd=pytester.path, check=True)
    pytester.makepyfile(SUITE)
    result = pytester.runpytest("--uetf")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        ["*uetf*", "collected 4: 3 passed, 1 failed", "uetf: run * failed*"]
    )
    assert (pytester.path / ".ledger" / "uetf.db").is_file()
    assert (pytester.path / ".ledger" / ".gitignore").is_file()

    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(pytester.path)
        capsys.readouterr()
        assert uetf_main(["runs", "--json"]) == 0
        runs = json.loads(capsys.readouterr().out)
        assert len(runs) == 1
        assert uetf_main(["show", "last", "--json"]) == 0
        summary = json.loads(capsys.readouterr().out)
    validate("run_summary", summary)
    assert summary["totals"]["passed"] == 3
    assert summary["totals"]["failed"] == 1
    assert summary["state"] == "failed"
    assert summary["exit_status"] == 1
    for run in runs:
        validate("run_summary", run)

    ledger = ledger_of(pytester)
    run_id = summary["run_id"]
    (failure,) = ledger.error_captures(run_id)
    validate("error_capture", failure)
    assert failure["exc_type"] == "AssertionError"
    assert "one is not two" in failure["message"]
    assert failure["path"].endswith("test_three_pass_one_fails.py")
    assert failure["lineno"] == 6  # the assert line of test_fail
    states = [
        (e["from_state"], e["to_state"]) for e in ledger.events(run_id) if e["kind"] == "run_state"
    ]
    assert states == [
        ("pending", "initializing"),
        ("initializing", "collecting"),
        ("collecting", "running"),
        ("running", "gating"),
        ("gating", "failed"),
    ]
    for event in ledger.events(run_id):
        validate("execution_event", event)


def test_every_outcome_is_recorded(pytester: pytest.Pytester, validate) -> None:  # type: ignore[no-untyped-def]
    """Skips with reasons, xfail, xpass, setup and teardown errors become their records."""
    pytester.makepyfile(
        """
        import pytest

        @pytest.fixture
        def broken_setup():
            raise RuntimeError("setup broke")

        @pytest.fixture
        def broken_teardown():
            yield
            raise ValueError("teardown broke")

        def test_ok(): pass
        @pytest.mark.skip(reason="not on this platform")
        def test_skipped(): pass
        def test_skip_inside(): pytest.skip("decided at run time")
        @pytest.mark.xfail(reason="known bug")
        def test_xfailed(): assert 0
        @pytest.mark.xfail(reason="fixed?")
        def test_xpassed(): pass
        def test_setup_error(broken_setup): pass
        def test_teardown_error(broken_teardown): pass
        """
    )
    result = pytester.runpytest("--uetf")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    ledger = ledger_of(pytester)
    run_id = ledger.find_run("last")["run_id"]
    records = {r["node_id"].split("::")[1]: r for r in ledger.records(run_id)}
    assert {name: r["outcome"] for name, r in records.items()} == {
        "test_ok": "passed",
        "test_skipped": "skipped",
        "test_skip_inside": "skipped",
        "test_xfailed": "xfailed",
        "test_xpassed": "xpassed",
        "test_setup_error": "error",
        "test_teardown_error": "error",
    }
    assert records["test_skipped"]["skip_reason"] == "not on this platform"
    assert records["test_skip_inside"]["skip_reason"] == "decided at run time"
    assert records["test_xfailed"]["xfail_reason"] == "known bug"
    assert records["test_setup_error"]["error"]["exc_type"] == "RuntimeError"
    assert records["test_setup_error"]["error"]["phase"] == "setup"
    assert records["test_teardown_error"]["error"]["message"] == "teardown broke"
    assert records["test_ok"]["worker"] == "controller"
    for document in records.values():
        validate("test_execution_record", document)
    totals = ledger.totals(run_id)
    assert (totals.passed, totals.skipped, totals.xfailed, totals.xpassed, totals.errors) == (
        1,
        2,
        1,
        1,
        2,
    )


def test_collection_error_is_captured(pytester: pytest.Pytester) -> None:
    """A module that fails to import is recorded as a collect-phase error capture."""
    pytester.makepyfile(test_ok="def test_a(): pass", test_broken="import no_such_module_here")
    result = pytester.runpytest("--uetf")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    ledger = ledger_of(pytester)
    run = ledger.find_run("last")
    (error,) = ledger.error_captures(run["run_id"])
    assert error["phase"] == "collect"
    assert error["node_id"] == "test_broken.py"
    assert "no_such_module_here" in error["traceback"]
    kinds = [e["kind"] for e in ledger.events(run["run_id"])]
    assert "collection_error" in kinds


def test_keyboard_interrupt_is_not_a_pass(pytester: pytest.Pytester) -> None:
    """Ctrl-C during a test ends the run errored (interrupted), never passed."""
    pytester.makepyfile(
        """
        def test_first(): pass
        def test_interrupt(): raise KeyboardInterrupt
        def test_never(): pass
        """
    )
    result = pytester.runpytest_subprocess("--uetf")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    run = ledger_of(pytester).find_run("last")
    assert run["state"] == "errored"
    assert run["end_reason"] == "interrupted"
    assert run["exit_status"] == 2


def test_enabled_in_pyproject(pytester: pytest.Pytester) -> None:
    """[tool.uetf] enabled = true records without --uetf."""
    pytester.makepyprojecttoml("[tool.uetf]\nenabled = true\nledger = 'custom/l.db'\n")
    pytester.makepyfile("def test_a(): pass")
    result = pytester.runpytest()
    assert result.ret == 0
    assert (pytester.path / "custom" / "l.db").is_file()


def test_off_without_flag(pytester: pytest.Pytester) -> None:
    """Without --uetf nothing is recorded and no ledger appears."""
    pytester.makepyfile("def test_a(): pass")
    assert pytester.runpytest().ret == 0
    assert not (pytester.path / ".ledger").exists()


def test_ledger_env_and_option(pytester: pytest.Pytester, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """UETF_LEDGER chooses the ledger; --uetf-ledger beats it."""
    pytester.makepyfile("def test_a(): pass")
    monkeypatch.setenv("UETF_LEDGER", str(pytester.path / "env.db"))
    assert pytester.runpytest("--uetf").ret == 0
    assert (pytester.path / "env.db").is_file()
    assert pytester.runpytest("--uetf", "--uetf-ledger", "opt.db").ret == 0
    assert (pytester.path / "opt.db").is_file()


def test_hooks_observe_the_run(pytester: pytest.Pytester) -> None:
    """Another plugin sees run start, each record, each gate verdict and run end."""
    pytester.makeconftest(
        """
        seen = []
        def pytest_uetf_run_start(run_id, config):
            seen.append(("start", config["gates"][0]["name"]))
        def pytest_uetf_record(run_id, record): seen.append(("record", record.outcome))
        def pytest_uetf_gate_verdict(run_id, gate): seen.append(("gate", gate["verdict"]))
        def pytest_uetf_run_end(run_id, summary): seen.append(("end", summary["state"]))
        def pytest_unconfigure(config):
            print("SEEN", seen)
        """
    )
    pytester.makepyfile("def test_a(): pass\ndef test_b(): pass")
    result = pytester.runpytest_subprocess("--uetf", "--uetf-gate", "min_tests>=1", "-s")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "SEEN [('start', 'min_tests'), ('record', 'passed'), ('record', 'passed'),"
            " ('gate', 'passed'), ('end', 'passed')]"
        ]
    )


def test_rerun_attempts_are_kept_and_classified_flaky(pytester: pytest.Pytester) -> None:
    """Under pytest-rerunfailures every attempt is a record; a pass on retry is flaky."""
    pytester.makepyfile(
        """
        import pathlib

        def test_flaky(tmp_path_factory):
            marker = pathlib.Path(str(tmp_path_factory.getbasetemp())) / "seen"
            if not marker.exists():
                marker.write_text("1")
                assert False, "first attempt fails"
        """
    )
    result = pytester.runpytest_subprocess("--uetf", "--reruns", "2")
    assert result.ret == 0
    ledger = ledger_of(pytester)
    run_id = ledger.find_run("last")["run_id"]
    assert [r["outcome"] for r in ledger.records(run_id)] == ["rerun", "passed"]
    assert [r["attempt"] for r in ledger.records(run_id)] == [1, 2]
    from uetf_core.summary import build_summary

    (failure,) = build_summary(ledger, run_id)["failures"]
    assert failure["classification"] == "flaky"
    assert ledger.totals(run_id).reruns == 1
