"""pytest-testmon beside UETF in the impact replay: its runs, and the figures of both.

impact_replay.py runs the steps; this module says which pytest arguments each
tool's runs take, reads what a run executed (replay_outcomes.py) and sums the
rows into the side-by-side figures. pytest-testmon is used as its documentation
tells a CI user to: ``pytest --testmon-noselect`` runs every test and records
its database (``.testmondata``, here the file named by ``TESTMON_DATAFILE``,
outside the work tree), the file is carried from one step to the next, and
``pytest --testmon`` runs the tests it selects from it.
"""

from __future__ import annotations

import importlib.util
import json
import statistics
from pathlib import Path
from typing import Any

TESTMON = ["-p", "testmon.pytest_testmon"]
SELECT = [*TESTMON, "--testmon"]  # a selected run: the tests it selects, and it records them
# The full-suite runs timed at each step, in the order of the first step; the
# order turns by one at every step so that no variant always runs first.
FULL_RUNS = ("plain", "uetf", "testmon", "pytest-cov", "testmon+pytest-cov")


def testmon_missing() -> str | None:
    """One line saying how to make pytest-testmon importable here, or None when it is."""
    if importlib.util.find_spec("testmon") is not None:
        return None
    return (
        "pytest-testmon is not importable by this Python: make a virtual environment"
        " with --system-site-packages, `pip install pytest-testmon==2.2.0` in it, and"
        " run the replay with its python"
    )


def full_run_arguments(variant: str, cov: str) -> list[str]:
    """The pytest arguments of a full-suite run that is not UETF's."""
    coverage = ["-p", "pytest_cov", f"--cov={cov}", "--cov-report="]
    return {
        "plain": [],
        "pytest-cov": coverage,
        "testmon": [*TESTMON, "--testmon-noselect"],
        "testmon+pytest-cov": [*TESTMON, "--testmon-noselect", *coverage],
    }[variant]


def turned(step: int) -> list[str]:
    """The full-suite runs in the order of step ``step`` (0 for the first)."""
    shift = step % len(FULL_RUNS)
    return [*FULL_RUNS[shift:], *FULL_RUNS[:shift]]


def read_outcomes(path: Path) -> dict[str, Any]:
    """What a run executed: its tests, those that failed, and their test seconds."""
    outcomes = json.loads(path.read_text()) if path.is_file() else {}
    path.unlink(missing_ok=True)
    return {
        "ran": set(outcomes),
        "failed": {n for n, o in outcomes.items() if o["outcome"] in ("failed", "error")},
        "seconds": sum(o["duration"] for o in outcomes.values()),
    }


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def tool_figures(steps: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per tool: median share of tests and of test time its selected runs ran, its share of
    the tests of all steps together, the median wall seconds of a selected run, and what it
    missed of the full suite's failures and of the mutants' failures."""
    figures = {}
    for tool in ("uetf", "testmon"):
        chosen = [s if tool == "uetf" else s["testmon"] for s in steps]
        full_seconds = [
            s["seconds_full"] if tool == "uetf" else s["testmon"]["seconds_full"] for s in steps
        ]
        key = "missed" if tool == "uetf" else "missed_testmon"
        mutants = [m for s in steps for m in s["mutants"]]
        figures[tool] = {
            "median_share": _median(
                [c["selected"] / s["tests"] for c, s in zip(chosen, steps, strict=True)]
            ),
            "median_time_share": _median(
                [c["seconds_selected"] / f for c, f in zip(chosen, full_seconds, strict=True) if f]
            ),
            # A median can sit on either side of a gap when steps are either small or
            # nearly whole; the share of all the tests of all the steps does not.
            "share_all": sum(c["selected"] for c in chosen) / sum(s["tests"] for s in steps),
            "median_wall_selected": _median([c["wall_selected"] for c in chosen]),
            "failures_full": sum(s["failures_full"] for s in steps),
            "missed_full": sum(len(c["missed"]) for c in chosen),
            "mutant_failures": sum(m["failing"] for m in mutants),
            "missed_mutants": sum(len(m.get(key, [])) for m in mutants),
        }
    return figures


def overhead_figures(steps: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Per full-suite run: its median wall seconds, and the medians of its ratio to plain
    pytest's and to UETF's run at the same step."""
    figures = {}
    for variant in FULL_RUNS:
        walls = [s["walls"][variant] for s in steps]
        figures[variant] = {
            "median_seconds": _median(walls),
            "vs_plain": _median([s["walls"][variant] / s["walls"]["plain"] for s in steps]),
            "vs_uetf": _median([s["walls"][variant] / s["walls"]["uetf"] for s in steps]),
        }
    return figures


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def side_by_side(result: dict[str, Any]) -> str:
    """The markdown table of both tools' selection over the replay, then the overhead."""
    steps = result["steps"]
    tools = tool_figures(steps)
    lines = [
        "| tool | median share of tests run | tests run, all steps"
        " | median share of test time run | median wall s, selected run"
        " | full-suite failures missed | mutant failures missed |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    names = {"uetf": "UETF (`--uetf-select=affected`)", "testmon": "pytest-testmon (`--testmon`)"}
    for tool, f in tools.items():
        lines.append(
            f"| {names[tool]} | {_share(f['median_share'])} | {_share(f['share_all'])}"
            f" | {_share(f['median_time_share'])}"
            f" | {f['median_wall_selected']:.2f} | {f['missed_full']} of {f['failures_full']}"
            f" | {f['missed_mutants']} of {f['mutant_failures']} |"
        )
    lines += [
        "",
        "| full-suite run | median wall s | vs plain pytest | vs UETF recording |",
        "| --- | --- | --- | --- |",
    ]
    for variant, f in overhead_figures(steps).items():
        lines.append(
            f"| {RUN_NAMES[variant]} | {f['median_seconds']:.2f} | {f['vs_plain']:.2f}x"
            f" | {f['vs_uetf']:.2f}x |"
        )
    return "\n".join(lines)


RUN_NAMES = {
    "plain": "`pytest`",
    "uetf": "`pytest --uetf --uetf-cov=SRC --uetf-select=record`",
    "testmon": "`pytest --testmon-noselect`",
    "pytest-cov": "`pytest --cov=SRC --cov-report=`",
    "testmon+pytest-cov": "`pytest --testmon-noselect --cov=SRC --cov-report=`",
}


def disagreements(result: dict[str, Any]) -> str:
    """The steps where the two tools ran different tests: how many each ran alone."""
    lines = [
        "| from | to | tests | UETF ran | testmon ran | only UETF | only testmon |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s in result["steps"]:
        only_uetf, only_testmon = s["testmon"]["only_uetf"], s["testmon"]["only_testmon"]
        if not (only_uetf or only_testmon):
            continue
        chosen = f"all ({s['whole_suite']})" if s["whole_suite"] else str(s["selected"])
        lines.append(
            f"| {s['from']} | {s['to']} | {s['tests']} | {chosen} | {s['testmon']['selected']}"
            f" | {only_uetf} | {only_testmon} |"
        )
    return "\n".join(lines)
