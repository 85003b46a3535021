"""The PostgreSQL ledger with a real server: a whole run, secrets, restarts, spool, migrate."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import PG_PASSWORD, record_run, run_pytest, run_uetf
from uetf_core.ledger import Batch, NewRun, open_ledger
from uetf_core.ledger.migrations import SCHEMA_VERSION
from uetf_core.records import ExecutionRecord, PhaseResult

TESTS = """\
def test_one(): pass
def test_two(): pass
def test_three(): pass
def test_four(): assert 2 + 2 == 5
"""


def everything_in(url: str) -> str:
    """Every value of every table of the ledger database, as text."""
    import psycopg

    dump = []
    with psycopg.connect(url) as db:
        tables = [
            r[0]
            for r in db.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            )
        ]
        for table in tables:
            for row in db.execute(f"SELECT * FROM {table}"):
                dump.append(" ".join(str(v) for v in row))
    return "\n".join(dump)


def test_a_run_on_postgresql_keeps_the_password_out(
    pytester: pytest.Pytester, postgres_url: str, validate
) -> None:  # type: ignore[no-untyped-def]
    pytester.makepyfile(test_demo=TESTS)
    reports = pytester.path / "out"
    done = run_pytest(
        pytester.path,
        "--uetf",
        f"--uetf-ledger={postgres_url}",
        "-n",
        "2",
        f"--uetf-report=json:{reports / 'r.json'}",
        f"--uetf-report=markdown:{reports / 'r.md'}",
        f"--uetf-report=html:{reports / 'r.html'}",
        "--uetf-gate=min_tests>=1",
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "postgresql://uetf:***@" in done.stdout
    shown = run_uetf(pytester.path, "show", "last", "--json", "--ledger", postgres_url)
    assert shown.returncode == 0, shown.stderr
    summary = json.loads(shown.stdout)
    validate("run_summary", summary)
    assert (summary["totals"]["passed"], summary["totals"]["failed"]) == (3, 1)
    listed = run_uetf(pytester.path, "runs", "--ledger", postgres_url)
    for text in (
        done.stdout,
        done.stderr,
        shown.stdout,
        listed.stdout,
        listed.stderr,
        everything_in(postgres_url),
        *(path.read_text() for path in reports.iterdir()),
    ):
        assert PG_PASSWORD not in text


def test_server_restart_mid_run_loses_nothing(postgres_server: Any, postgres_url: str) -> None:
    ledger = open_ledger(postgres_url)
    run_id = "20261126T000000-abcdef"
    ledger.create_run(NewRun(run_id, "running", time.time(), os.getpid(), "h", "/r", "0", {}))
    ok = PhaseResult("passed", 0.01)

    def batch(start: int) -> Batch:
        return Batch(
            records=[
                ExecutionRecord(f"t.py::t{i}", 1, "c", "passed", ok, ok, ok, 0.03, 1.0, 1.1)
                for i in range(start, start + 100)
            ]
        )

    ledger.write_batch(run_id, batch(0), time.time())
    server = postgres_server
    subprocess.run(
        [
            *server["as_user"],
            str(server["bindir"] / "pg_ctl"),
            "-D",
            str(server["data"]),
            "-o",
            server["options"],
            "-m",
            "fast",
            "-w",
            "-l",
            str(server["root"] / "log"),
            "restart",
        ],
        check=True,
        capture_output=True,
    )
    ledger.write_batch(run_id, batch(100), time.time())  # on a new connection
    assert ledger.totals(run_id).passed == 200
    ledger.close()


def _record_foreign_keys(url: str) -> list[str]:
    import psycopg

    with psycopg.connect(url) as db:
        return [
            row[0]
            for row in db.execute(
                "SELECT conname FROM pg_constraint"
                " WHERE conrelid = 'executions'::regclass AND contype = 'f'"
            )
        ]


def test_records_on_postgresql_are_not_checked_against_runs_row_by_row(
    postgres_url: str, tmp_path: Path
) -> None:
    """Migration 10: PostgreSQL checks a foreign key with a query per inserted record,
    so its executions table has none; a ledger of version 9 loses it on opening, with
    its records; a SQLite ledger keeps its (one seek per insert)."""
    import psycopg

    ledger = open_ledger(postgres_url)
    assert _record_foreign_keys(postgres_url) == []
    run_id = "20261127T000000-abcdef"
    ledger.create_run(NewRun(run_id, "running", time.time(), os.getpid(), "h", "/r", "0", {}))
    ok = PhaseResult("passed", 0.01)
    records = [
        ExecutionRecord(f"t.py::t{i}", 1, "c", "passed", ok, ok, ok, 0.03, 1.0, 1.1)
        for i in range(3)
    ]
    ledger.write_batch(run_id, Batch(records=records), time.time())
    ledger.close()
    # The ledger as version 9 left it: the key back, the version one lower.
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute("ALTER TABLE executions ADD FOREIGN KEY (run_pk) REFERENCES runs(pk)")
        db.execute("UPDATE meta SET value = '9' WHERE key = 'schema_version'")
        # and without what later versions added (11: what a run judged; 12: coverage problems).
        db.execute("ALTER TABLE runs DROP COLUMN suite_key, DROP COLUMN tree_state")
        db.execute("ALTER TABLE coverage_totals DROP COLUMN problems_json")
    assert len(_record_foreign_keys(postgres_url)) == 1
    ledger = open_ledger(postgres_url)
    assert ledger.schema_version() == SCHEMA_VERSION
    assert _record_foreign_keys(postgres_url) == []
    assert ledger.totals(run_id).passed == 3
    ledger.close()
    local = tmp_path / "l.db"
    open_ledger(str(local)).close()
    with sqlite3.connect(local) as db:
        keys = db.execute("PRAGMA foreign_key_list(executions)").fetchall()
    assert [(row[2], row[3], row[4]) for row in keys] == [("runs", "run_pk", "pk")]


def test_a_current_ledger_opens_without_waiting_for_the_migration_lock(
    postgres_url: str,
) -> None:
    """The jobs of a build start at once: a ledger already at this schema version is
    opened without the migration lock, so they do not queue for it one by one."""
    import threading

    import psycopg

    from uetf_core.ledger.postgres import _MIGRATION_LOCK

    open_ledger(postgres_url).close()  # the schema, made once
    opened: list[bool] = []

    def open_it() -> None:
        open_ledger(postgres_url).close()
        opened.append(True)

    with psycopg.connect(postgres_url, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))  # a migrating job
        opener = threading.Thread(target=open_it, daemon=True)
        opener.start()
        opener.join(timeout=10)
        assert opened == [True]
        other.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))
    opener.join(timeout=10)


def test_unreachable_server_spools_then_push(pytester: pytest.Pytester, postgres_url: str) -> None:
    pytester.makepyfile(test_demo=TESTS)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    away = f"postgresql://uetf:{PG_PASSWORD}@127.0.0.1:{closed}/nowhere"
    done = run_pytest(
        pytester.path, "--uetf", f"--uetf-ledger={away}", env={"UETF_PG_RETRIES": "0"}
    )
    # The tests' own verdict, recorded locally: one failure.
    assert done.returncode == 1, done.stdout + done.stderr
    assert PG_PASSWORD not in done.stdout + done.stderr
    (line,) = [text for text in done.stdout.splitlines() if "uetf push" in text]
    spool = line.rsplit("uetf push ", 1)[1].strip()
    pushed = run_uetf(pytester.path, "push", spool, "--ledger", postgres_url)
    assert pushed.returncode == 0 and "1 runs sent" in pushed.stdout, pushed.stderr
    again = run_uetf(pytester.path, "push", spool, "--ledger", postgres_url)
    assert "0 runs sent, 1 already there" in again.stdout
    ledger = open_ledger(postgres_url)
    try:
        run_id = ledger.find_run("last")["run_id"]
        assert (ledger.totals(run_id).passed, ledger.totals(run_id).failed) == (3, 1)
        assert len(ledger.error_captures(run_id)) == 1
    finally:
        ledger.close()


def test_migrate_a_sqlite_ledger(tmp_path: Path, postgres_url: str) -> None:
    first = record_run(tmp_path, ["t.py::a", "t.py::b"], ["t.py::c"])
    first.ledger.close()
    path = tmp_path / ".ledger" / "uetf.db"
    done = run_uetf(tmp_path, "migrate", "--from", f"sqlite:{path}", "--to", postgres_url)
    assert done.returncode == 0, done.stderr
    assert "1 runs copied" in done.stdout and PG_PASSWORD not in done.stdout
    assert (
        "0 runs copied, 1 already there"
        in run_uetf(tmp_path, "migrate", "--from", f"sqlite:{path}", "--to", postgres_url).stdout
    )
    shown = run_uetf(tmp_path, "show", first.run_id, "--json", "--ledger", postgres_url)
    assert json.loads(shown.stdout)["totals"]["failed"] == 1


def test_without_psycopg_one_line_says_what_to_install(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['psycopg'] = None\n"
        "from uetf_core.cli import main\n"
        "sys.exit(main(['runs', '--ledger', 'postgresql://u:p@127.0.0.1:1/x']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 4
    assert (
        done.stderr.strip()
        == "uetf: a postgresql:// ledger needs psycopg: pip install 'uetf[postgres]'"
    )


STOPPING = """\
import os, subprocess, time

def test_1(): pass
def test_2(): pass

def test_3_server_goes_away():
    subprocess.run(os.environ["STOP_SERVER"], shell=True, check=True, capture_output=True)
    time.sleep(1.2)  # past the flush interval: the next record's batch meets no server

def test_4(): pass
def test_5(): assert False, "still judged"
def test_6(): pass
"""


def test_server_lost_mid_run_spools_the_whole_run(
    pytester: pytest.Pytester, postgres_server: Any, postgres_url: str
) -> None:
    pytester.makepyfile(test_gone=STOPPING)
    server = postgres_server
    pg_ctl = [*server["as_user"], str(server["bindir"] / "pg_ctl"), "-D", str(server["data"])]
    stop = " ".join([*pg_ctl, "-m", "fast", "-w", "stop"])
    try:
        done = run_pytest(
            pytester.path,
            "--uetf",
            f"--uetf-ledger={postgres_url}",
            "-p",
            "no:randomly",
            env={"STOP_SERVER": stop, "UETF_PG_RETRIES": "0"},
        )
    finally:
        subprocess.run(
            [*pg_ctl, "-o", server["options"], "-w", "-l", str(server["root"] / "log"), "start"],
            check=True,
            capture_output=True,
        )
    # The verdict is the tests': one failure, judged on all six tests in the spool.
    assert done.returncode == 1, done.stdout + done.stderr
    assert PG_PASSWORD not in done.stdout + done.stderr
    (line,) = [text for text in done.stdout.splitlines() if "uetf push" in text]
    spool = line.rsplit("uetf push ", 1)[1].strip()
    local = open_ledger(spool)
    run_id = local.find_run("last")["run_id"]
    assert (local.totals(run_id).passed, local.totals(run_id).failed) == (5, 1)
    local.close()
    pushed = run_uetf(pytester.path, "push", spool, "--ledger", postgres_url)
    assert pushed.returncode == 0 and "1 runs sent" in pushed.stdout, pushed.stdout + pushed.stderr
    shared = open_ledger(postgres_url)
    try:
        (run,) = shared.list_runs()
        assert run["run_id"] == run_id and run["state"] == "failed"
        assert (shared.totals(run_id).passed, shared.totals(run_id).failed) == (5, 1)
    finally:
        shared.close()
