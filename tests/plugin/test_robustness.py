"""Runs that crash, share a ledger, meet a newer ledger, or run under xdist."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys

import pytest

from conftest import run_pytest
from uetf_core.ledger import SCHEMA_VERSION, open_ledger

SLOW_THEN_KILLED = """
import os, signal, time

def test_a(): pass
def test_b(): pass
def test_c(): pass
def test_slow():
    # Longer than the flush interval, so the records above are written before the kill.
    time.sleep(1.3)
def test_after_slow(): pass
def test_kill():
    os.kill(os.getpid(), signal.SIGKILL)
def test_never(): pass
"""


def test_sigkill_run_is_abandoned_with_flushed_records(pytester: pytest.Pytester) -> None:
    """A run killed with SIGKILL is abandoned on the next open; its flushed records remain."""
    pytester.makepyfile(SLOW_THEN_KILLED)
    killed = run_pytest(pytester.path, "--uetf")
    assert killed.returncode == -9
    ledger_path = pytester.path / ".ledger" / "uetf.db"
    ledger = open_ledger(str(ledger_path))
    run = ledger.find_run("last")
    assert run["state"] == "running"  # nobody has looked since the kill
    ledger.reap_abandoned(run["host"], 0.0, 3600)
    run = ledger.find_run(run["run_id"])
    assert run["state"] == "abandoned"
    names = [r["node_id"].split("::")[1] for r in ledger.records(run["run_id"])]
    assert names[:4] == ["test_a", "test_b", "test_c", "test_slow"]
    assert "test_never" not in names
    assert len(ledger.tasks(run["run_id"])) == 7
    # The next pytest --uetf run notices it too, and records itself normally.
    pytester.makepyfile(SLOW_THEN_KILLED.replace("os.kill", "print"))
    assert run_pytest(pytester.path, "--uetf").returncode == 0


def test_four_concurrent_runs_share_one_ledger(pytester: pytest.Pytester) -> None:
    """Four pytest --uetf processes on one ledger at once lose nothing and never lock out."""
    pytester.makepyfile("\n".join(f"def test_{i}(): pass" for i in range(300)))
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "pytest_uetf.plugin"]
    command += ["-q", "--uetf"]
    env = os.environ | {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    # A tiny batch forces many interleaved write transactions.
    pytester.makepyprojecttoml("[tool.uetf]\nbatch_size = 10\n")
    processes = [
        subprocess.Popen(
            command,
            cwd=pytester.path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=180)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0, 0], outputs
    assert not any("locked" in out for out in outputs)
    ledger = open_ledger(str(pytester.path / ".ledger" / "uetf.db"))
    runs = ledger.list_runs()
    assert len(runs) == 4
    for run in runs:
        assert run["state"] == "passed"
        assert len(ledger.records(run["run_id"])) == 300
        assert ledger.totals(run["run_id"]).passed == 300


def test_newer_ledger_is_refused_untouched(pytester: pytest.Pytester) -> None:
    """pytest --uetf on a ledger from a newer UETF exits 7 and leaves it byte-identical."""
    pytester.makepyfile("def test_a(): pass")
    path = pytester.path / ".ledger" / "uetf.db"
    open_ledger(str(path)).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    db.execute("PRAGMA journal_mode = DELETE")
    db.close()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    result = run_pytest(pytester.path, "--uetf")
    assert result.returncode == 7
    assert "newer than this UETF" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_corrupt_ledger_is_refused_untouched(pytester: pytest.Pytester) -> None:
    """A ledger file that is not a database exits 7 with one line; the file is kept."""
    pytester.makepyfile("def test_a(): pass")
    path = pytester.path / ".ledger" / "uetf.db"
    path.parent.mkdir()
    path.write_bytes(b"garbage" * 1000)
    result = run_pytest(pytester.path, "--uetf")
    assert result.returncode == 7
    assert "left untouched" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert path.read_bytes() == b"garbage" * 1000


XDIST_SUITE = """
import pytest

@pytest.mark.parametrize("i", range(40))
def test_many(i):
    assert i != 13

@pytest.mark.skip(reason="off")
def test_skipped(): pass

@pytest.mark.xfail
def test_xfail(): assert 0
"""


def test_xdist_records_equal_serial(pytester: pytest.Pytester) -> None:
    """With -n 2 the controller records as many records and the same outcomes as a serial run."""
    pytester.makepyfile(XDIST_SUITE)
    serial = run_pytest(pytester.path, "--uetf")
    parallel = run_pytest(pytester.path, "--uetf", "-n", "2")
    assert serial.returncode == parallel.returncode == 1
    ledger = open_ledger(str(pytester.path / ".ledger" / "uetf.db"))
    newest, oldest = ledger.list_runs()
    by_run = {}
    for run in (oldest, newest):
        records = ledger.records(run["run_id"])
        by_run[run["run_id"]] = sorted((r["node_id"], r["outcome"]) for r in records)
        assert ledger.totals(run["run_id"]).as_dict() == ledger.totals(oldest["run_id"]).as_dict()
    assert by_run[oldest["run_id"]] == by_run[newest["run_id"]]
    assert len(by_run[newest["run_id"]]) == 42
    workers = {r["worker"] for r in ledger.records(newest["run_id"])}
    assert workers == {"gw0", "gw1"}
    states = {w["worker_id"]: w["state"] for w in ledger.workers(newest["run_id"])}
    assert states == {"gw0": "stopped", "gw1": "stopped"}
    assert len(ledger.tasks(newest["run_id"])) == 42
    # Workers never open the ledger: only the controller's pid is recorded.
    assert newest["pid"] != 0
