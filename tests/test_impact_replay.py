"""What benchmarks/impact_replay.py computes beside pytest-testmon: the outcomes plugin its
runs load (a real pytest run), and the figures it sums from a replay's rows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

_BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(_BENCHMARKS))

import replay_testmon  # noqa: E402


def test_outcomes_plugin_names_every_test_run(tmp_path: Path) -> None:
    """The plugin writes each executed test's node id with its outcome as pytest judges it:
    a failing call, a failing fixture, a skip, an expected failure; deselected tests are absent."""
    (tmp_path / "test_some.py").write_text(
        "import pytest\n"
        "@pytest.fixture\n"
        "def broken():\n    raise RuntimeError('setup')\n"
        "def test_passes():\n    pass\n"
        "def test_fails():\n    assert False\n"
        "def test_errors(broken):\n    pass\n"
        "@pytest.mark.skip\n"
        "def test_skipped():\n    pass\n"
        "@pytest.mark.xfail\n"
        "def test_expected():\n    assert False\n"
        "def test_left_out():\n    pass\n"
    )
    target = tmp_path / "outcomes.json"
    env = {
        **os.environ,
        "PYTHONPATH": str(_BENCHMARKS),
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "REPLAY_OUTCOMES": str(target),
    }
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-p", "replay_outcomes", "-q"),
            *("-p", "no:cacheprovider", "--deselect", "test_some.py::test_left_out"),
            "test_some.py",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1, done.stdout
    outcomes = {node: o["outcome"] for node, o in json.loads(target.read_text()).items()}
    assert outcomes == {
        "test_some.py::test_passes": "passed",
        "test_some.py::test_fails": "failed",
        "test_some.py::test_errors": "error",
        "test_some.py::test_skipped": "skipped",
        "test_some.py::test_expected": "skipped",
    }
    read = replay_testmon.read_outcomes(target)
    assert read["ran"] == set(outcomes)
    assert read["failed"] == {"test_some.py::test_fails", "test_some.py::test_errors"}
    assert not target.exists()  # read once: a later run that writes nothing reads as empty
    assert replay_testmon.read_outcomes(target)["ran"] == set()


def test_full_runs_turn_so_each_runs_first_once() -> None:
    """Over as many steps as there are full-suite runs, each run comes first exactly once."""
    firsts = [replay_testmon.turned(step)[0] for step in range(len(replay_testmon.FULL_RUNS))]
    assert sorted(firsts) == sorted(replay_testmon.FULL_RUNS)
    assert all(
        sorted(replay_testmon.turned(step)) == sorted(replay_testmon.FULL_RUNS) for step in range(7)
    )


@pytest.mark.parametrize(
    ("variant", "present", "absent"),
    [
        ("plain", [], ["--testmon-noselect", "--cov-report="]),
        ("testmon", ["--testmon-noselect"], ["--cov-report="]),
        ("pytest-cov", ["--cov=src", "--cov-report="], ["--testmon-noselect"]),
        ("testmon+pytest-cov", ["--testmon-noselect", "--cov=src"], []),
    ],
)
def test_full_run_arguments(variant: str, present: list[str], absent: list[str]) -> None:
    """Each full-suite run other than UETF's records with its own tool and measures what it says."""
    arguments = replay_testmon.full_run_arguments(variant, "src")
    assert all(a in arguments for a in present)
    assert not any(a in arguments for a in absent)


def _step(
    tests: int, uetf: int, testmon: int, walls: dict[str, float], **extra: Any
) -> dict[str, Any]:
    return {
        "tests": tests,
        "selected": uetf,
        "seconds_selected": uetf / 100,
        "seconds_full": tests / 100,
        "wall_selected": 1.0 + uetf / 100,
        "failures_full": extra.get("failures", 0),
        "missed": extra.get("missed", []),
        "mutants": extra.get("mutants", []),
        "walls": walls,
        "testmon": {
            "selected": testmon,
            "seconds_selected": testmon / 100,
            "seconds_full": tests / 100,
            "wall_selected": testmon / 100,
            "missed": extra.get("missed_testmon", []),
        },
    }


def test_tool_figures_sum_the_steps() -> None:
    """Shares are medians over steps; misses are totals, each tool against the same failures."""
    walls = dict.fromkeys(replay_testmon.FULL_RUNS, 1.0)
    mutant = {"failing": 3, "missed": [], "missed_testmon": ["t::b"]}
    steps = [
        _step(100, 10, 5, walls),
        _step(100, 20, 40, walls, failures=2, missed_testmon=["t::a"], mutants=[mutant]),
        _step(200, 200, 20, walls),
    ]
    figures = replay_testmon.tool_figures(steps)
    assert figures["uetf"]["median_share"] == pytest.approx(0.2)
    assert figures["testmon"]["median_share"] == pytest.approx(0.1)
    assert figures["uetf"]["share_all"] == pytest.approx(230 / 400)
    assert figures["testmon"]["share_all"] == pytest.approx(65 / 400)
    assert figures["uetf"]["median_time_share"] == pytest.approx(0.2)
    assert figures["uetf"]["missed_full"] == 0
    assert figures["testmon"]["missed_full"] == 1
    assert figures["testmon"]["failures_full"] == figures["uetf"]["failures_full"] == 2
    assert (figures["uetf"]["missed_mutants"], figures["testmon"]["missed_mutants"]) == (0, 1)
    assert figures["testmon"]["mutant_failures"] == 3


def test_overhead_is_the_median_of_paired_ratios() -> None:
    """A variant's ratio to plain pytest is the median of its ratios at each step, so a slow
    moment of the machine that slows every run of one step does not move it."""
    steps = [
        _step(10, 1, 1, {"plain": 2.0, "uetf": 3.0, "testmon": 2.6, "pytest-cov": 2.2,
                         "testmon+pytest-cov": 2.8}),
        _step(10, 1, 1, {"plain": 4.0, "uetf": 6.0, "testmon": 5.2, "pytest-cov": 4.4,
                         "testmon+pytest-cov": 5.6}),
        _step(10, 1, 1, {"plain": 2.0, "uetf": 3.2, "testmon": 2.8, "pytest-cov": 2.2,
                         "testmon+pytest-cov": 2.8}),
    ]  # fmt: skip
    figures = replay_testmon.overhead_figures(steps)
    assert figures["uetf"]["vs_plain"] == pytest.approx(1.5)
    assert figures["testmon"]["vs_plain"] == pytest.approx(1.3)
    assert figures["plain"]["vs_plain"] == pytest.approx(1.0)
    assert figures["testmon"]["vs_uetf"] == pytest.approx(2.6 / 3.0)
    assert figures["plain"]["median_seconds"] == 2.0
    table = replay_testmon.side_by_side({"steps": steps})
    assert "| `pytest --testmon-noselect` | 2.80 | 1.30x | 0.87x |" in table


def test_testmon_row_compares_the_two_choices() -> None:
    """A step's pytest-testmon part counts the tests each tool ran alone and the full suite's
    failures pytest-testmon did not run."""
    import impact_replay

    chosen = {
        "ran": {"t::a", "t::b", "t::c"},
        "seconds": 0.3,
        "wall": 1.234,
        "summary": "3 passed, 5 deselected in 0.30s",
    }
    row = impact_replay.testmon_row(
        chosen, {"seconds": 0.8}, uetf_ran={"t::b", "t::c", "t::d"}, failed={"t::a", "t::d"}
    )
    assert (row["selected"], row["only_uetf"], row["only_testmon"]) == (3, 1, 1)
    assert row["only_uetf_sample"] == ["t::d"]
    assert row["missed"] == ["t::d"]
    assert row["wall_selected"] == 1.23


def test_pooled_median_is_over_every_step_of_every_replay() -> None:
    """Several replays pooled: one median over all their steps, not a median of medians."""
    import impact_replay

    def step(tests: int, selected: int) -> dict[str, Any]:
        return {
            "tests": tests,
            "selected": selected,
            "seconds_full": 1.0,
            "seconds_selected": selected / tests,
            "whole_suite": None,
            "missed": [],
            "mutants": [],
        }

    one = {"project": "a", "python": "3.11", "steps": [step(100, 10), step(100, 90)]}
    two = {"project": "b", "python": "3.11", "steps": [step(10, 2), step(10, 3), step(10, 4)]}
    assert "median share of tests selected: 50.0%" in impact_replay.summary(one)
    text = impact_replay.pooled([one, two])
    # 10%, 20%, 30%, 40%, 90%: the median step is 30% (the medians' median would be 40%).
    assert "pooled (a + b)" in text and "median share of tests selected: 30.0%" in text
