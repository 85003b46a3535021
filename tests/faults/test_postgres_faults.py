"""PostgreSQL on a bad day: a wrong password, a URL that names no server, many writers.

The server stopped mid-run and restarted mid-run are covered in
tests/plugin/test_postgres.py (test_server_lost_mid_run_spools_the_whole_run,
test_server_restart_mid_run_loses_nothing, test_unreachable_server_spools_then_push);
a secret in every URL form in tests/faults/test_secrets.py.
"""

from __future__ import annotations

import multiprocessing
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import PG_PASSWORD, record_run, run_pytest, run_uetf
from uetf_core.ledger import Batch, NewRun, open_ledger
from uetf_core.records import ExecutionRecord, PhaseResult

FAST = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
WRONG = "not-the-Pa55word"


def _with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    return parts._replace(
        netloc=f"{parts.username}:{password}@{parts.hostname}:{parts.port}"
    ).geturl()


def _files(root: Path) -> list[str]:
    """Every path under ``root`` but SQLite's own -wal and -shm files."""
    return sorted(str(p) for p in root.rglob("*") if not p.name.endswith(("-wal", "-shm")))


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_wrong_password_is_one_line_and_exit_7(tmp_path: Path, postgres_url: str) -> None:
    """A wrong password is refused at once (no back-off: waiting will not change the
    server's answer), in one line naming what to check, exit 7, the password not shown;
    a run does not hide it in a spool either."""
    wrong = _with_password(postgres_url, WRONG)
    started = time.monotonic()
    done = run_uetf(tmp_path, "runs", "--ledger", wrong)
    assert time.monotonic() - started < 5  # the four retries alone would wait 7.5 s
    assert done.returncode == 7, done.stderr
    (line,) = done.stderr.splitlines()
    assert "password authentication failed" in line and "check the user, password" in line
    assert WRONG not in done.stdout + done.stderr and ":***@" in line
    (tmp_path / "test_a.py").write_text("def test_a(): pass\n")
    run = run_pytest(
        tmp_path, "-p", "pytest_uetf.plugin", "--uetf", f"--uetf-ledger={wrong}", env=FAST
    )
    assert run.returncode == 7, run.stdout + run.stderr
    assert "password authentication failed" in run.stdout + run.stderr
    assert WRONG not in run.stdout + run.stderr
    assert not (tmp_path / ".ledger" / "spool").exists()


def test_merge_into_a_server_sends_the_runs(tmp_path: Path, postgres_url: str) -> None:
    """uetf merge --into a postgresql:// URL sends the files' runs to that server, once."""
    recorded = record_run(tmp_path, ["t.py::a"], ["t.py::b"])
    recorded.ledger.close()
    source = str(tmp_path / ".ledger" / "uetf.db")
    done = run_uetf(tmp_path, "merge", "--into", postgres_url, source)
    assert done.returncode == 0, done.stderr
    assert "1 runs added" in done.stdout
    again = run_uetf(tmp_path, "merge", "--into", postgres_url, source)
    assert "0 runs added, 1 already present" in again.stdout
    shared = open_ledger(postgres_url)
    try:
        assert [r["run_id"] for r in shared.list_runs()] == [recorded.run_id]
        assert shared.totals(recorded.run_id).failed == 1
    finally:
        shared.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".ledger"]


@pytest.mark.parametrize(
    ("into", "status"),
    [
        (f"postgresql://u:{PG_PASSWORD}@127.0.0.1:{{port}}/db", 7),  # no server there
        (f"postgresql:/u:{PG_PASSWORD}@127.0.0.1:{{port}}/db", 4),  # a URL made a path
        (f"mysql://u:{PG_PASSWORD}@127.0.0.1:{{port}}/db", 4),  # no such back end
    ],
)
def test_a_url_is_a_server_or_an_error_never_a_file(tmp_path: Path, into: str, status: int) -> None:
    """merge --into a URL that reaches no server fails in one line and creates no file
    (a file named after the URL would keep its password on disk)."""
    recorded = record_run(tmp_path, ["t.py::a"], [])
    recorded.ledger.close()
    before = _files(tmp_path)
    into = into.format(port=_closed_port())
    done = run_uetf(
        tmp_path, "merge", "--into", into, ".ledger/uetf.db", env={"UETF_PG_RETRIES": "0"}
    )
    assert done.returncode == status, done.stdout + done.stderr
    assert len(done.stderr.splitlines()) == 1 and PG_PASSWORD not in done.stderr
    assert _files(tmp_path) == before
    for location in (into, "sqlite:" + into):
        shown = run_uetf(tmp_path, "runs", "--ledger", location, env={"UETF_PG_RETRIES": "0"})
        assert shown.returncode in (4, 7), shown.stdout + shown.stderr
    if status == 4:  # a bad setting stops a run before any test, in one line
        (tmp_path / "test_a.py").write_text("def test_a(): pass\n")
        before = _files(tmp_path)
        run = run_pytest(
            tmp_path, "-p", "pytest_uetf.plugin", "--uetf", f"--uetf-ledger={into}", env=FAST
        )
        assert run.returncode == 4, run.stdout + run.stderr
        assert "Traceback" not in run.stderr and PG_PASSWORD not in run.stdout + run.stderr
    assert _files(tmp_path) == before


WRITERS = 16
RECORDS = 300


def _writer(url: str, run_id: str) -> None:
    ok = PhaseResult("passed", 0.001)
    ledger = open_ledger(url)
    ledger.create_run(NewRun(run_id, "running", time.time(), 1, "h", "/r", "0", {}))
    ledger.add_tasks(run_id, [f"t.py::{run_id}_{i}" for i in range(RECORDS)])
    for start in range(0, RECORDS, 50):
        records = [
            ExecutionRecord(f"t.py::{run_id}_{i}", 1, "c", "passed", ok, ok, ok, 0.003, 1.0, 1.1)
            for i in range(start, start + 50)
        ]
        ledger.write_batch(run_id, Batch(records=records), time.time())
    ledger.close()


def test_sixteen_concurrent_writers_lose_nothing(postgres_url: str) -> None:
    """Sixteen processes writing batches into one new PostgreSQL ledger at once (the
    first of them migrating it) lose no record. Four writers on both back ends:
    tests/core/test_ledger.py::test_four_concurrent_writers_lose_nothing."""
    context = multiprocessing.get_context("fork")
    run_ids = [f"20261125T0000{i:02d}-0000{i:02d}" for i in range(WRITERS)]
    workers = [context.Process(target=_writer, args=(postgres_url, r)) for r in run_ids]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    ledger = open_ledger(postgres_url)
    try:
        assert sorted(r["run_id"] for r in ledger.list_runs()) == run_ids
        assert [ledger.totals(r).passed for r in run_ids] == [RECORDS] * WRITERS
    finally:
        ledger.close()


def test_a_ledger_made_while_waiting_for_the_migration_lock_is_seen(postgres_url: str) -> None:
    """A job that found no ledger, then waited while another job made it, reads the new
    ledger once it has the lock and makes nothing twice. (A name looked up in the
    server's catalogue cache before the wait was stale after it: "relation meta already
    exists", one of sixteen jobs failing now and then.)"""
    import psycopg  # the optional extra: imported where a server is there to use

    from uetf_core.ledger.migrations import SCHEMA_VERSION
    from uetf_core.ledger.postgres_db import PostgresDb
    from uetf_core.ledger.postgres_schema import MIGRATION_LOCK

    other = psycopg.connect(postgres_url, autocommit=True)
    opened: list[object] = []

    def open_while_locked() -> None:
        try:
            opened.append(PostgresDb(postgres_url))
        except Exception as exc:  # the failure is asserted in the test, not lost in a thread
            opened.append(exc)

    try:
        other.execute("BEGIN")
        other.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        waiter = threading.Thread(target=open_while_locked)
        waiter.start()
        deadline = time.monotonic() + 30
        while not other.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        ).fetchone()[0]:
            assert time.monotonic() < deadline and waiter.is_alive(), opened
            time.sleep(0.02)
        # The other job makes the ledger (its meta table is all the waiter reads first).
        other.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        other.execute("INSERT INTO meta VALUES ('schema_version', %s)", (str(SCHEMA_VERSION),))
        other.execute("COMMIT")
        waiter.join(30)
    finally:
        other.close()
    assert len(opened) == 1 and isinstance(opened[0], PostgresDb), opened
    opened[0].close()


def test_the_server_is_reported_by_uetf_doctor(postgres_url: str, tmp_path: Path) -> None:
    """uetf doctor on a PostgreSQL ledger names it without its password and checks it."""
    record_run(tmp_path, ["t.py::a"], [], ledger=postgres_url).ledger.close()
    done = run_uetf(tmp_path, "doctor", "--ledger", postgres_url)
    assert done.returncode == 0, done.stderr
    assert "integrity       ok" in done.stdout and PG_PASSWORD not in done.stdout
    assert ":***@" in done.stdout
