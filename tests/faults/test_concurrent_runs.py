"""Eight ``pytest --uetf`` runs writing one SQLite ledger at once, while a ninth is
killed holding the ledger's write lock: every run completes and keeps every record."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from test_kill import FAST, kill_at, project, read, reopened

RUNS = 8
TESTS = 100
SUITE = "\n".join(f"def test_{i:03}():\n    pass\n" for i in range(TESTS))


def test_eight_concurrent_runs_and_a_killed_one_lose_nothing(tmp_path: Path) -> None:
    """Eight runs on one ledger, in batches of 10, all pass with their 100 records each,
    though a ninth run is killed inside a batch write (holding the write lock); that one
    is abandoned with exactly the batches it committed."""
    root = project(tmp_path, {"test_suite.py": SUITE})
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "UETF_", "COV_"))}
    env |= FAST | {"KILLTEST_MARKER": str(tmp_path / "unused")}
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "pytest_uetf.plugin"]
    runs = [
        subprocess.Popen(
            [*command, "--uetf", "-q"],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(RUNS)
    ]
    # Stopped before its third batch's insert: the write lock is its until the kill.
    kill_at(root, "sql:3:INSERT INTO executions")
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0] * RUNS, outputs
    assert not any("locked" in out for out in outputs)
    path = root / ".ledger" / "uetf.db"
    after = reopened(root, read(path))
    assert sorted(after.runs.values()) == ["abandoned"] + ["passed"] * RUNS
    db = sqlite3.connect(path)
    kept = db.execute(
        "SELECT r.state, count(*) FROM executions e JOIN runs r ON r.pk = e.run_pk"
        " GROUP BY r.pk ORDER BY r.state"
    ).fetchall()
    db.close()
    # The killed run had written two batches of 10; the third died with it.
    assert kept == [("abandoned", 20)] + [("passed", TESTS)] * RUNS
