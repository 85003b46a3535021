"""SIGKILL at chosen moments of a real ``pytest --uetf`` run, under xdist too: the next
open of the ledger marks the run abandoned, every record committed before the kill is
kept, and the file passes SQLite's integrity check.

Each victim stops itself at its moment (a test, a hook, or one SQL statement of the
ledger's connection) and writes a marker file; only then does the test read what the
ledger holds, from its own connection, and kill the victim's process group. Nothing
waits on a guessed timing.

``UETF_KILL_SWEEP=1`` kills a run at every SQL statement of its ledger connection
instead of a seeded handful (about 200 points, a few minutes).
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import run_pytest, run_uetf

FAST = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}

# The victim's conftest: stop this process where KILLTEST_AT says, after writing the
# marker, and wait there for the SIGKILL. "sql:N" stops before the N-th statement of
# the ledger's connection; "sql:N:TEXT" before the N-th statement containing TEXT;
# "committed:N:TEXT" before the first statement after the transaction holding that
# one has committed; "sql:0" counts the statements of the whole run.
VICTIM_CONFTEST = """
import atexit
import os
import sqlite3
import time
from pathlib import Path

MARKER = Path(os.environ["KILLTEST_MARKER"])
AT = os.environ.get("KILLTEST_AT", "")


def stop_here(where):
    # Written whole, then renamed: the test never reads half a marker.
    part = MARKER.with_suffix(".part")
    part.write_text(where)
    os.replace(part, MARKER)
    time.sleep(300)


def pytest_uetf_gate_verdict(run_id, gate):
    if AT == "gate":
        stop_here("gate")


def pytest_uetf_run_end(run_id, summary):
    if AT == "run_end":
        stop_here("run_end")


def pytest_sessionfinish(session, exitstatus):
    # Runs before UETF's own (trylast) sessionfinish: the last batch is not written.
    if AT == "sessionfinish":
        stop_here("sessionfinish")


if AT.startswith(("sql:", "committed:")) and "PYTEST_XDIST_WORKER" not in os.environ:
    _mode, count, *text = AT.split(":", 2)
    _target, _needle, _seen, _traced = int(count), text[0] if text else "", [0], []
    _state = {"found": False, "committed": False}
    _connect = sqlite3.connect
    if _target == 0:  # "sql:0": count them all; the count is the marker, at exit
        atexit.register(lambda: MARKER.write_text(str(_seen[0])))

    def _trace(statement):
        if _state["committed"]:
            stop_here(statement[:200])
        if _state["found"] and statement.startswith("COMMIT"):
            _state["committed"] = True
        if _needle in statement:
            _seen[0] += 1
            if _seen[0] == _target:
                if _mode == "sql":
                    stop_here(statement[:200])
                _state["found"] = True

    def connect(database, *args, **kwargs):
        db = _connect(database, *args, **kwargs)
        # The first plain connection to the ledger is the run's own; the read-only
        # probe before it and the progress monitor's after it are left alone.
        if not kwargs.get("uri") and str(database).endswith("uetf.db") and not _traced:
            _traced.append(db)
            db.set_trace_callback(_trace)
        return db

    sqlite3.connect = connect
"""

# Flushes at batch boundaries only, so which records are committed is known.
PYPROJECT = """\
[tool.uetf]
batch_size = 10
flush_interval = 3600

[tool.uetf.gates]
pass_rate = 100
"""

MANY = "\n".join(f"def test_{i:02}():\n    pass\n" for i in range(60))

# A kill in one of these states leaves a run the next open must mark abandoned.
LIVE = {"pending", "initializing", "collecting", "running", "gating"}


@dataclass(frozen=True)
class Ledger:
    """What a ledger file holds, read from a connection of our own."""

    runs: dict[str, str]  # run id -> state
    records: list[str]  # node ids of the execution records, in insertion order
    gates: int


def project(tmp_path: Path, tests: dict[str, str]) -> Path:
    root = tmp_path / "victim"
    root.mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "conftest.py").write_text(VICTIM_CONFTEST)
    for name, text in tests.items():
        (root / name).write_text(text)
    return root


def read(path: Path) -> Ledger:
    """The committed content of the ledger at ``path`` (none yet: empty)."""
    if not path.exists() or path.stat().st_size == 0:
        return Ledger({}, [], 0)
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "executions" not in tables:  # killed while the ledger was being created
            return Ledger({}, [], 0)
        runs = dict(db.execute("SELECT run_id, state FROM runs").fetchall())
        records = [
            r[0]
            for r in db.execute(
                "SELECT t.node_id FROM executions e JOIN tests t USING (test_key) ORDER BY e.rowid"
            )
        ]
        gates = db.execute("SELECT count(*) FROM gates").fetchone()[0]
        return Ledger(runs, records, gates)
    finally:
        db.close()


def integrity(path: Path) -> str:
    db = sqlite3.connect(path)
    try:
        return "; ".join(r[0] for r in db.execute("PRAGMA integrity_check"))
    finally:
        db.close()


def half_recorded(path: Path) -> list[str]:
    """Runs recorded in part: a final state without its exit status or end time, or a
    history of state changes that does not lead to the state the run has."""
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    problems = []
    try:
        for pk, run_id, state, status, end in db.execute(
            "SELECT pk, run_id, state, exit_status, finished_at FROM runs"
        ).fetchall():
            if state in ("passed", "failed", "errored") and None in (status, end):
                problems.append(f"{run_id} is {state} with exit status {status}, end {end}")
            at = "pending"
            for source, target in db.execute(
                "SELECT from_state, to_state FROM events"
                " WHERE run_pk = ? AND kind = 'run_state' ORDER BY seq",
                (pk,),
            ):
                if source != at:
                    problems.append(f"{run_id}: history moves from {source} while {at}")
                at = target
            if at != state:
                problems.append(f"{run_id}: history ends {at}, the run is {state}")
    finally:
        db.close()
    return problems


def kill_at(root: Path, at: str, *args: str) -> tuple[Ledger, str]:
    """Run ``pytest --uetf`` in ``root``, let it stop at ``at``, read the ledger, kill it.

    Returns what the ledger held at the moment of the kill and where the victim stood.
    """
    marker = root.parent / "stopped"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "UETF_", "COV_"))}
    env |= FAST | {"KILLTEST_MARKER": str(marker), "KILLTEST_AT": at}
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "pytest_uetf.plugin"]
    victim = subprocess.Popen(
        [*command, "--uetf", "-q", *args],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: the xdist workers die with it
    )
    deadline = time.monotonic() + 60
    while not marker.exists():
        if victim.poll() is not None:
            output = victim.stdout.read()  # type: ignore[union-attr]
            pytest.fail(f"the run ended before {at} (fewer statements now?): {output}")
        assert time.monotonic() < deadline, f"the run never reached {at}"
        time.sleep(0.005)
    where = marker.read_text()
    before = read(root / ".ledger" / "uetf.db")
    os.killpg(victim.pid, signal.SIGKILL)
    victim.communicate()
    assert victim.returncode == -signal.SIGKILL
    _no_survivors(victim.pid)
    return before, where


def _no_survivors(group: int) -> None:
    """Every process of the killed group is gone (xdist workers included)."""
    deadline = time.monotonic() + 10
    while _alive(group):
        assert time.monotonic() < deadline, "a process of the killed run is still alive"
        time.sleep(0.01)


def _alive(group: int) -> bool:
    """Whether a process of ``group`` still runs; a zombie no longer does (a container's
    first process may never reap the orphaned workers)."""
    if not Path("/proc/self/stat").exists():
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return False
        return True
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # gone while we looked
            continue
        state, _, pgrp = text[text.rindex(")") + 2 :].split()[:3]
        if int(pgrp) == group and state != "Z":
            return True
    return False


def reopened(root: Path, before: Ledger) -> Ledger:
    """Open the ledger again as a user does (``uetf doctor``) and check the promises:
    a live run is abandoned, a finished one kept, every committed record still there,
    and the file intact."""
    path = root / ".ledger" / "uetf.db"
    doctor = run_uetf(root, "doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "integrity       ok" in doctor.stdout
    assert "Traceback" not in doctor.stdout + doctor.stderr
    after = read(path)
    expected = {r: ("abandoned" if s in LIVE else s) for r, s in before.runs.items()}
    assert after.runs == expected
    assert after.records == before.records
    assert after.gates == before.gates
    assert integrity(path) == "ok"
    return after


def test_kill_during_collection_abandons_the_run(tmp_path: Path) -> None:
    """A run killed while a test module is being imported is abandoned, and the ledger is intact."""
    root = project(
        tmp_path,
        {
            "test_a.py": "def test_one():\n    pass\n",
            "test_b.py": ("from conftest import stop_here\nstop_here('import')\n"),
        },
    )
    before, _ = kill_at(root, "import")
    assert list(before.runs.values()) == ["collecting"]
    after = reopened(root, before)
    assert list(after.runs.values()) == ["abandoned"]


def test_kill_mid_batch_keeps_every_flushed_batch(tmp_path: Path) -> None:
    """Killed while the 26th test runs (batches of 10), the run keeps exactly the 20
    records of its two written batches and is abandoned."""
    tests = MANY.replace(
        "def test_25():\n    pass\n",
        "def test_25():\n    from conftest import stop_here\n    stop_here('test_25')\n",
    )
    root = project(tmp_path, {"test_many.py": tests})
    before, _ = kill_at(root, "test")
    assert list(before.runs.values()) == ["running"]
    assert before.records == [f"test_many.py::test_{i:02}" for i in range(20)]
    reopened(root, before)


def test_kill_inside_a_batch_write_keeps_the_batches_before(tmp_path: Path) -> None:
    """Killed inside the transaction writing the third batch, the run keeps the first
    two batches whole and nothing of the third."""
    root = project(tmp_path, {"test_many.py": MANY})
    before, where = kill_at(root, "sql:3:INSERT INTO executions")
    assert where.startswith("INSERT INTO executions")
    assert len(before.records) == 20
    reopened(root, before)


def test_kill_before_the_last_batch_is_written(tmp_path: Path) -> None:
    """Killed after the tests ran but before the run's end is written, the run keeps
    every full batch (the last, partial one was only in memory) and is abandoned."""
    root = project(tmp_path, {"test_many.py": MANY + "\ndef test_extra():\n    pass\n"})
    before, _ = kill_at(root, "sessionfinish")
    assert list(before.runs.values()) == ["running"]
    assert len(before.records) == 60
    reopened(root, before)


def test_kill_while_gating_abandons_the_run_with_its_records(tmp_path: Path) -> None:
    """Killed while a gate's verdict is being announced, the run is abandoned with
    every record and its judged gates kept."""
    root = project(tmp_path, {"test_many.py": MANY})
    before, _ = kill_at(root, "gate")
    assert list(before.runs.values()) == ["gating"]
    assert (len(before.records), before.gates) == (60, 1)
    reopened(root, before)


def test_kill_during_the_final_write_abandons_the_run(tmp_path: Path) -> None:
    """Killed inside the transaction that records the verdict, the run is abandoned
    (no half-written verdict) with every record kept."""
    root = project(tmp_path, {"test_many.py": MANY})
    before, where = kill_at(root, "sql:1:SET state = 'passed'")
    assert where.startswith("UPDATE runs SET state = 'passed'")
    assert list(before.runs.values()) == ["gating"]
    reopened(root, before)


def test_kill_during_the_final_write_leaves_a_consistent_history(tmp_path: Path) -> None:
    """Killed between the verdict's event and the verdict, the run's recorded history
    leads to the state it has (no move to passed that never took effect)."""
    root = project(tmp_path, {"test_many.py": MANY})
    before, _ = kill_at(root, "sql:1:SET state = 'passed'")
    reopened(root, before)
    assert half_recorded(root / ".ledger" / "uetf.db") == []


def test_kill_between_the_final_state_and_its_exit_status(tmp_path: Path) -> None:
    """Killed after the final state is written, the run has its exit status and end
    time too: a finished run is never recorded without them."""
    root = project(tmp_path, {"test_many.py": MANY})
    before, _ = kill_at(root, "committed:1:SET state = 'passed'")
    reopened(root, before)
    assert half_recorded(root / ".ledger" / "uetf.db") == []
    assert run_uetf(root, "gate", "last").returncode == 0


def test_kill_while_the_ledger_is_created_leaves_it_usable(tmp_path: Path) -> None:
    """Killed while the first run creates the ledger's tables, the file is left
    without any (nothing half-made) and the next run creates and records normally."""
    root = project(tmp_path, {"test_many.py": MANY})
    before, _ = kill_at(root, "sql:1:CREATE TABLE executions")
    assert before == Ledger({}, [], 0)
    reopened(root, before)
    again = run_pytest(
        root, "-p", "pytest_uetf.plugin", "--uetf", env=FAST | {"KILLTEST_MARKER": "unused"}
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert list(read(root / ".ledger" / "uetf.db").runs.values()) == ["passed"]


def test_kill_after_the_verdict_keeps_the_verdict(tmp_path: Path) -> None:
    """Killed after the verdict is recorded (in a run-end hook), the run stays passed
    with every record: a kill never undoes a finished run."""
    root = project(tmp_path, {"test_many.py": MANY})
    before, _ = kill_at(root, "run_end")
    assert list(before.runs.values()) == ["passed"]
    after = reopened(root, before)
    assert len(after.records) == 60


def test_kill_under_xdist_keeps_every_flushed_batch(tmp_path: Path) -> None:
    """Under ``-n 2``, killing the controller's process group inside its third batch
    write leaves no worker alive, the run abandoned and the two batches before it whole."""
    root = project(tmp_path, {"test_many.py": MANY})
    before, _ = kill_at(root, "sql:3:INSERT INTO executions", "-p", "xdist.plugin", "-n", "2")
    assert list(before.runs.values()) == ["running"]
    assert len(before.records) == 20
    assert len(set(before.records)) == 20
    reopened(root, before)


def statements_of_a_run() -> int:
    """How many statements a whole run of MANY issues on its ledger connection."""
    with tempfile.TemporaryDirectory() as folder:
        root = project(Path(folder), {"test_many.py": MANY})
        marker = Path(folder, "count")
        env = FAST | {"KILLTEST_MARKER": str(marker), "KILLTEST_AT": "sql:0"}
        done = run_pytest(root, "-p", "pytest_uetf.plugin", "--uetf", env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        return int(marker.read_text())


# A run of MANY on a new ledger issues about 205 statements on its connection, from
# creating the ledger to the verdict: a seeded handful of them, or with the sweep
# every one (counted first).
if os.environ.get("UETF_KILL_SWEEP") == "1":
    POINTS: Sequence[int] = range(1, statements_of_a_run() + 1)
else:
    POINTS = sorted(random.Random(19).sample(range(1, 200), 5))


@pytest.mark.parametrize("point", POINTS)
def test_kill_at_any_statement_loses_nothing_committed(
    tmp_path: Path, point: int, record_property: Callable[[str, object], None]
) -> None:
    """Killed before any one statement of the run's ledger connection (creating the
    ledger, a batch, a state change, the verdict), the next open keeps exactly what was
    committed, abandons a live run, and finds the file intact."""
    root = project(tmp_path, {"test_many.py": MANY})
    before, where = kill_at(root, f"sql:{point}")
    after = reopened(root, before)
    # For the figures (--junitxml): records committed at the kill and kept after it.
    record_property("kill_point", f"{point} {where[:40]!r}")
    record_property("records_committed", len(before.records))
    record_property("records_kept", len(after.records))
    record_property("states", f"{sorted(before.runs.values())} -> {sorted(after.runs.values())}")
    # A state change's event, the state and a final state's exit status are written
    # in one transaction: no kill leaves a half-recorded run.
    assert half_recorded(root / ".ledger" / "uetf.db") == []
