"""Gates declared on the command line or in pyproject.toml decide the exit status."""

from __future__ import annotations

import pytest

from uetf_core.ledger import open_ledger

PASSING = "def test_a(): pass\ndef test_b(): pass\n"


def test_min_tests_fails_a_passing_suite(pytester: pytest.Pytester) -> None:
    """min_tests>=10 on two passing tests exits 6 and shows the failed gate."""
    pytester.makepyfile(PASSING)
    result = pytester.runpytest("--uetf", "--uetf-gate", "min_tests>=10")
    assert result.ret == 6
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["gate * threshold * measured * verdict", "min_tests * >= 10 * 2 * failed"]
    )
    ledger = open_ledger(str(pytester.path / ".ledger" / "uetf.db"))
    run = ledger.find_run("last")
    assert run["state"] == "failed"
    assert run["verdict"] == "failed"
    assert ledger.gates(run["run_id"])[0]["verdict"] == "failed"


def test_gates_from_pyproject(pytester: pytest.Pytester) -> None:
    """[tool.uetf.gates] declarations apply; all holding exits 0."""
    pytester.makepyprojecttoml(
        "[tool.uetf.gates]\npass_rate = 100\nmin_tests = 2\nmax_duration = '5m'\n"
        "max_test_duration = '10s'\nmax_failures = 0\n"
    )
    pytester.makepyfile(PASSING)
    result = pytester.runpytest("--uetf")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        ["pass_rate * >= 100 % * 100 % * passed", "max_duration * <= 300s * passed"]
    )


def test_warn_mode_reports_without_failing(pytester: pytest.Pytester) -> None:
    """--uetf-gate-mode=warn shows the violation as warned and exits 0."""
    pytester.makepyfile(PASSING)
    result = pytester.runpytest("--uetf", "--uetf-gate", "min_tests>=10", "--uetf-gate-mode=warn")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["min_tests * warned"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--uetf-gate", "pass_rat>=100"], "*unknown gate 'pass_rat'; did you mean 'pass_rate'?*"),
        (["--uetf-gate", "pass_rate=>100"], "*bad operator '=>'*"),
        (["--uetf-gate", "min_tests>=many"], "*needs a number*"),
    ],
)
def test_bad_gate_is_usage_error(pytester: pytest.Pytester, args: list[str], message: str) -> None:
    """A misspelt gate, operator or value exits 4 with one line and no traceback."""
    pytester.makepyfile(PASSING)
    result = pytester.runpytest_subprocess("--uetf", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_bad_config_key_is_usage_error(pytester: pytest.Pytester) -> None:
    """An unknown [tool.uetf] key exits 4 naming the key."""
    pytester.makepyprojecttoml("[tool.uetf]\nledgr = 'x.db'\n")
    pytester.makepyfile(PASSING)
    result = pytester.runpytest_subprocess("--uetf")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown key 'ledgr'; did you mean 'ledger'?*"])
    assert "Traceback" not in result.stderr.str()


def test_quiet_output(pytester: pytest.Pytester) -> None:
    """Under -q a passing run prints nothing of UETF; a failing one prints the rows of the
    gates that failed (CI logs often run -q) and its verdict line."""
    pytester.makepyfile(PASSING)
    quiet = pytester.runpytest("--uetf", "-q", "--uetf-gate", "min_tests>=1")
    assert "threshold" not in quiet.stdout.str()
    assert "uetf: run" not in quiet.stdout.str()
    failing = pytester.runpytest(
        "--uetf", "-q", "--uetf-gate", "min_tests>=5", "--uetf-gate", "pass_rate>=100"
    )
    failing.stdout.fnmatch_lines(
        ["gate*threshold*measured*verdict", "min_tests*>= 5*2*failed", "uetf: run * failed*"]
    )
    assert "pass_rate" not in failing.stdout.str().split("uetf: run")[0]
