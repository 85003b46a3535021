"""Costs: CPU and wall per test, peak memory, declared costs, prices, cost gates."""

from __future__ import annotations

import json

import pytest

from conftest import run_pytest, run_uetf
from uetf_core.ledger import open_ledger

TESTS = """\
def test_llm_call(uetf_cost):
    uetf_cost.add("openai_tokens", 1200)
    uetf_cost.add("openai_tokens", 34)
    uetf_cost.add("usd", 0.02)

def test_busy():
    sum(i * i for i in range(300_000))

def test_quick():
    pass
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_declared_costs_show_and_trip_max_cost(
    pytester: pytest.Pytester, workers: list[str], validate
) -> None:  # type: ignore[no-untyped-def]
    pytester.makepyfile(test_costs=TESTS)
    pytester.makepyprojecttoml("[tool.uetf.costs]\ncpu_seconds = 0.5\nopenai_tokens = 0.00001\n")
    done = run_pytest(
        pytester.path,
        "--uetf",
        "--uetf-gate=max_cost[openai_tokens]<=1000",
        "--uetf-gate=max_cost[usd]<=100",
        *workers,
    )
    assert done.returncode == 6, done.stdout + done.stderr
    shown = run_uetf(pytester.path, "costs", "--json", "--by", "test")
    assert shown.returncode == 0, shown.stderr
    costs = json.loads(shown.stdout)
    totals = costs["totals"]
    assert totals["openai_tokens"] == {"amount": 1234.0, "unit": "openai_tokens"}
    cpu = totals["cpu_seconds"]["amount"]
    assert cpu > 0 and totals["wall_seconds"]["amount"] > 0
    assert totals["peak_rss_mb"]["amount"] > 10
    # Money: the declared 0.02 usd plus the priced CPU seconds and tokens.
    assert totals["usd"]["amount"] == pytest.approx(0.02 + cpu * 0.5 + 1234 * 0.00001, abs=1e-5)
    by_test = {g["test"]: g for g in costs["groups"]}
    assert by_test["test_costs.py::test_llm_call"]["custom"]["openai_tokens"]["amount"] == 1234.0
    busy = by_test["test_costs.py::test_busy"]["cpu_seconds"]
    assert busy > by_test["test_costs.py::test_quick"]["cpu_seconds"]
    ledger = open_ledger(str(pytester.path / ".ledger" / "uetf.db"))
    try:
        run_id = ledger.find_run("last")["run_id"]
        gates = {g["path"]: g for g in ledger.gates(run_id)}
        for record in ledger.records(run_id):
            validate("test_execution_record", record)
            assert record["cpu_seconds"] is not None
    finally:
        ledger.close()
    assert gates["openai_tokens"]["verdict"] == "failed" and gates["openai_tokens"]["value"] == 1234
    assert gates["usd"]["verdict"] == "passed"
    text = run_uetf(pytester.path, "costs", "--by", "worker").stdout
    assert "peak_rss_mb" in text


def test_cost_increase_against_the_baseline_and_bad_prices(git_project) -> None:  # type: ignore[no-untyped-def]
    root = git_project({"test_c.py": "def test_a(uetf_cost):\n    uetf_cost.add('calls', 10)\n"})
    assert run_pytest(root, "--uetf").returncode == 0  # the baseline at main
    # A different size as well as content: within one second of the first write,
    # an edit of the same size would leave pytest's cached bytecode looking current.
    (root / "test_c.py").write_text("def test_a(uetf_cost):\n    uetf_cost.add('calls', 13.0)\n")
    done = run_pytest(root, "--uetf", "--uetf-base=main", "--uetf-gate=cost_increase[calls]<=20")
    assert done.returncode == 6, done.stdout
    ledger = open_ledger(str(root / ".ledger" / "uetf.db"))
    try:
        (gate,) = ledger.gates(ledger.find_run("last")["run_id"])
    finally:
        ledger.close()
    assert (gate["value"], gate["verdict"]) == (30.0, "failed")
    (root / "pyproject.toml").write_text("[tool.uetf.costs]\ncpu_seconds = 'cheap'\n")
    bad = run_pytest(root, "--uetf")
    assert bad.returncode == 4 and "costs.cpu_seconds must be a number" in bad.stderr
    missing = run_pytest(root, "--uetf", "--uetf-gate=max_cost<=3")
    assert missing.returncode == 4
