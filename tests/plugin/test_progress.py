"""Live progress: snapshots in the ledger and a JSON file, stalls reported, uetf watch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from uetf_core.ledger import open_ledger

SUITE = """\
import time
import pytest

@pytest.mark.parametrize("i", range(8))
def test_steady(i):
    time.sleep(0.25)

def test_hangs():
    time.sleep(2.5)

def test_after():
    pass
"""


# pytest loading UETF alone (clean_env turns the loading of installed plugins off)
FAST_PYTEST = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "pytest_uetf.plugin"]


def clean_env() -> dict[str, str]:
    """This session's environment without its pytest and UETF variables, loading no
    installed plugin (each run names UETF)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "UETF_", "COV_"))}
    return clean | {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def test_progress_moves_stalls_are_reported_and_watch_follows(
    pytester: pytest.Pytester, validate
) -> None:  # type: ignore[no-untyped-def]
    pytester.makepyfile(test_live=SUITE)
    pytester.makepyprojecttoml("[tool.uetf]\nprogress_interval = 0.3\n")
    progress = pytester.path / "progress.json"
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-p",
            "pytest_uetf.plugin",
            "-q",
            "--uetf",
            f"--uetf-progress={progress}",
            "--uetf-stall-timeout=1",
        ],
        cwd=pytester.path,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = []
    while run.poll() is None:
        if progress.exists():
            snapshot = json.loads(progress.read_text())
            validate("progress_snapshot", snapshot)
            seen.append(snapshot["done"])
        time.sleep(0.1)
    out, err = run.communicate()
    assert run.returncode == 0, out + err
    moving = sorted(set(seen))
    assert len(moving) >= 3 and moving == sorted(moving), seen  # counts moved during the run
    final = json.loads(progress.read_text())
    assert (final["done"], final["total"], final["eta_seconds"]) == (10, 10, 0.0)
    assert "uetf: no test finished for" in err and "test_live.py::test_hangs on controller" in err

    ledger = open_ledger(str(pytester.path / ".ledger" / "uetf.db"))
    try:
        run_id = ledger.find_run("last")["run_id"]
        (stall,) = [e for e in ledger.events(run_id) if e["kind"] == "stall"]
        latest = ledger.latest_progress(run_id)
    finally:
        ledger.close()
    assert stall["data"]["running"] == [["test_live.py::test_hangs", "controller"]]
    assert latest is not None and latest["done"] == 10
    validate("progress_snapshot", latest)

    watched = watch(pytester.path)
    assert watched.returncode == 0
    assert "10/10 100%" in watched.stdout and f"uetf: run {run_id} passed; exit 0" in watched.stdout


def watch(folder: Path) -> subprocess.CompletedProcess[str]:
    """``uetf watch`` on the project in ``folder``, until its newest run ends."""
    return subprocess.run(
        [sys.executable, "-m", "uetf_core.cli", "watch", "--interval", "0.1"],
        cwd=folder,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_watch_follows_a_run_in_progress(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_live=SUITE.replace("2.5", "0.5"))
    pytester.makepyprojecttoml("[tool.uetf]\nprogress_interval = 0.2\n")
    run = subprocess.Popen(
        [*FAST_PYTEST, "-q", "--uetf"],
        cwd=pytester.path,
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not (pytester.path / ".ledger" / "uetf.db").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    watched = watch(pytester.path)
    run.wait(timeout=60)
    lines = watched.stdout.splitlines()
    assert any("(running)" in line for line in lines), lines
    assert lines[-1].endswith("passed; exit 0")


def _finished_run(root: Path, durations: dict[str, float]) -> None:
    """A passed run of ``root``'s ledger in which each test took its duration."""
    from uetf_core.config import CliOptions, resolve_config
    from uetf_core.records import ExecutionRecord, PhaseResult
    from uetf_core.run import RunRecorder
    from uetf_core.states import RunState

    config = resolve_config(root, {}, CliOptions(), env={})
    recorder = RunRecorder(open_ledger(config.ledger), config)
    recorder.start()
    recorder.transition(RunState.COLLECTING)
    recorder.add_tasks(list(durations))
    recorder.transition(RunState.RUNNING)
    for node_id, seconds in durations.items():
        phase = PhaseResult("passed", seconds / 3)
        recorder.add_record(
            ExecutionRecord(node_id, 1, "controller", "passed", phase, phase, phase, seconds, 1, 2)
        )
    recorder.finish(0)
    recorder.ledger.close()


def test_eta_follows_the_recorded_durations(tmp_path: Path) -> None:
    """The ETA is the expected time of the tests not run yet, at this run's pace."""
    from uetf_core.monitor import Progress, RunMonitor

    for seconds in (50.0, 1.0, 1.0, 1.0, 1.0, 1.0):  # oldest first: only the newest 5 count
        _finished_run(tmp_path, {"t.py::a": seconds, "t.py::b": 3.0})
    progress = Progress()
    progress.tests = ["t.py::a", "t.py::b"]
    progress.begin()
    location = str(tmp_path / ".ledger" / "uetf.db")
    monitor = RunMonitor(location, "run", progress, lambda: [], 1, 60.0, 600.0, None)
    monitor._ledger = open_ledger(location)
    monitor._load_estimates()
    monitor._ledger.close()
    progress.add("t.py::a", "passed", progress.started + 2.0)
    # a is expected to take 1 s, b 3 s; a took 2 s: twice as slow, so b's 3 s take 6.
    assert monitor.snapshot(progress.started + 2.0)["eta_seconds"] == 6.0


def _counting_ticks(monitor: Any) -> list[float]:
    """The times the monitor's thread woke to look at the run."""
    ticks: list[float] = []
    tick = monitor._tick

    def counted() -> None:
        ticks.append(time.time())
        tick()

    monitor._tick = counted
    return ticks


def test_the_monitor_sleeps_while_nothing_is_due() -> None:
    """Tests finishing steadily, no snapshot due for an hour: the thread never wakes."""
    from uetf_core.monitor import Progress, RunMonitor

    progress = Progress()
    progress.begin()
    monitor = RunMonitor("unused", "run", progress, lambda: [], 1, 3600.0, 30.0, None)
    ticks = _counting_ticks(monitor)
    monitor.start()
    for i in range(30):
        time.sleep(0.05)
        progress.add(f"t.py::test_{i}", "passed", time.time())
    monitor.stop()
    assert ticks == []
    assert monitor.stalls == []


def test_a_stall_is_reported_when_its_timeout_passes() -> None:
    """No test finishes: the stall is reported at its deadline, not at the next second."""
    from uetf_core.monitor import Progress, RunMonitor

    alerts: list[str] = []
    progress = Progress()
    progress.begin()
    running = [("t.py::test_hangs", "controller")]
    monitor = RunMonitor(
        "unused", "run", progress, lambda: running, 1, 3600.0, 0.4, None, alerts.append
    )
    ticks = _counting_ticks(monitor)
    monitor.start()
    time.sleep(1.3)
    monitor.stop()
    (stall,) = monitor.stalls  # reported once for one quiet spell
    assert stall["running"] == running
    assert 0.4 <= stall["seconds"] < 0.8
    assert "t.py::test_hangs on controller" in alerts[0]
    # At the deadline, then once a timeout later to find the spell already reported.
    assert 2 <= len(ticks) <= 4
