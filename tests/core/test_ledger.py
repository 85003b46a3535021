"""The SQLite ledger: creation, migrations, refusals, batches, abandoned runs, concurrency."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import sqlite3
import time
from pathlib import Path

import pytest

from uetf_core import ids
from uetf_core.errors import LedgerError, RunNotFoundError
from uetf_core.ledger import SCHEMA_VERSION, Batch, NewRun, open_ledger
from uetf_core.ledger.migrations import MIGRATIONS
from uetf_core.ledger.sqlite import APPLICATION_ID, SqliteLedger
from uetf_core.records import (
    AnyRecord,
    ErrorCapture,
    Event,
    ExecutionRecord,
    PassedRow,
    PhaseResult,
    full_record,
)


def new_run(run_id: str = "20261125T000000-aaaaaa", pid: int | None = None) -> NewRun:
    return NewRun(run_id, "pending", time.time(), pid or os.getpid(), "testhost", "/r", "0", {})


def record(node_id: str, outcome: str = "passed", attempt: int = 1) -> ExecutionRecord:
    now = time.time()
    phase = PhaseResult("passed", 0.001)
    return ExecutionRecord(
        node_id, attempt, "controller", outcome, phase, phase, phase, 0.003, now, now
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_new_ledger_gets_folder_gitignore_and_current_version(tmp_path: Path) -> None:
    """Opening a missing path creates it at the current schema version with a .gitignore."""
    ledger = open_ledger(str(tmp_path / ".ledger" / "uetf.db"))
    assert ledger.schema_version() == SCHEMA_VERSION
    assert "*" in (tmp_path / ".ledger" / ".gitignore").read_text()
    db = sqlite3.connect(tmp_path / ".ledger" / "uetf.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID


def test_migration_from_version_1_keeps_data(tmp_path: Path) -> None:
    """A version-1 ledger with a run is migrated forward and the run is still there."""
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0])
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    db.execute("PRAGMA user_version = 1")
    db.execute(
        "INSERT INTO runs (run_id, state, started_at, heartbeat_at, pid, host, rootdir,"
        " uetf_version) VALUES ('20261125T000000-bbbbbb', 'passed', 1, 1, 1, 'h', '/r', '0')"
    )
    db.commit()
    db.close()
    ledger = open_ledger(str(path))
    assert ledger.schema_version() == SCHEMA_VERSION
    assert [r["run_id"] for r in ledger.list_runs()] == ["20261125T000000-bbbbbb"]
    indexes = {row[0] for row in ledger._query("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "runs_state" in indexes


def _ledger_at(location: str, version: int, rows: list[str]) -> None:
    """A ledger as UETF wrote it at schema ``version``, with ``rows`` inserted."""
    statements = [sql for migration in MIGRATIONS[:version] for sql in migration.split(";")]
    if location.startswith("postgresql"):
        import psycopg

        from uetf_core.ledger.postgres import migration_ddl

        with psycopg.connect(location, autocommit=True) as pg:
            for sql in migration_ddl(";".join(statements)).split(";"):
                if sql.strip():
                    pg.execute(sql)
            pg.execute(f"INSERT INTO meta VALUES ('schema_version', '{version}')")
            for sql in rows:  # keys are given in the rows, as in SQLite
                pg.execute(sql)
        return
    db = sqlite3.connect(location)
    db.executescript(";".join(statements))
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    db.execute(f"PRAGMA user_version = {version}")
    for sql in rows:
        db.execute(sql)
    db.commit()
    db.close()


def _ledger_at_version_7(location: str) -> None:
    """A ledger as UETF wrote it before a run's tasks became one row, with two runs."""
    rows = [
        "INSERT INTO runs (run_id, state, started_at, heartbeat_at, pid, host, rootdir,"
        f" uetf_version) VALUES ('20261125T000000-{n}{n}{n}{n}{n}{n}', 'passed', 1, 1, 1,"
        " 'h', '/r', '0')"
        for n in "ab"
    ]
    rows += ["INSERT INTO tests VALUES (1, 't.py::one'), (2, 't.py::two'), (3, 'u.py::three')"]
    # The second run collected three tests, in an order other than their keys'.
    rows += [
        f"INSERT INTO tasks VALUES ({run}, {key}, {idx}, 'x', 'pending')"
        for run, key, idx in [(1, 1, 0), (2, 3, 0), (2, 1, 1), (2, 2, 2)]
    ]
    _ledger_at(location, 7, rows)


def test_migration_to_one_row_of_tasks_keeps_every_run_s_tasks(ledger_location: str) -> None:
    """Version 8 stores a run's tasks as one row: each run keeps its tests, in order."""
    _ledger_at_version_7(ledger_location)
    ledger = open_ledger(ledger_location)
    assert ledger.schema_version() == SCHEMA_VERSION
    first, second = "20261125T000000-aaaaaa", "20261125T000000-bbbbbb"
    assert [t["node_id"] for t in ledger.tasks(first)] == ["t.py::one"]
    tasks = ledger.tasks(second)
    assert [(t["node_id"], t["index"], t["path"]) for t in tasks] == [
        ("u.py::three", 0, "u.py"),
        ("t.py::one", 1, "t.py"),
        ("t.py::two", 2, "t.py"),
    ]
    assert ledger.totals(second).collected == 3
    # A run started after the migration writes its tasks the new way.
    run_id = "20261125T000000-cccccc"
    ledger.create_run(new_run(run_id))
    ledger.add_tasks(run_id, ["t.py::two", "t.py::one"])
    assert [t["node_id"] for t in ledger.tasks(run_id)] == ["t.py::two", "t.py::one"]


def test_a_runs_reports_are_found_by_its_id_after_the_migration_and_after(
    ledger_location: str,
) -> None:
    """Version 15 indexes each report by the runs it covers: reports written before the
    migration and after are found by run id, and only by the runs they name (a run id
    that is part of another's is no match)."""
    first, second, third = "20261125T000000-aaaaaa", "20261125T000000-bbbbbb", "20261125T0"
    rows = [
        "INSERT INTO documents (kind, format, path, sha256, size_bytes, run_ids_json,"
        f" created_at) VALUES ('gate_report', '{fmt}', 'r.{fmt}', '{fmt}', 1, '{ids}', 1)"
        for fmt, ids in [("json", f'["{first}"]'), ("html", f'["{first}", "{second}"]')]
    ]
    _ledger_at(ledger_location, 14, rows)
    ledger = open_ledger(ledger_location)
    try:
        assert ledger.schema_version() == SCHEMA_VERSION
        assert [d["format"] for d in ledger.documents(first)] == ["json", "html"]
        assert [d["format"] for d in ledger.documents(second)] == ["html"]
        assert ledger.documents(third) == []
        ledger.add_document(
            {
                "kind": "gate_report",
                "format": "markdown",
                "path": "r.md",
                "sha256": "md",
                "size_bytes": 1,
                "run_ids": [second],
                "created_at": "2026-11-25T00:00:00Z",
            }
        )
        assert [d["format"] for d in ledger.documents(second)] == ["html", "markdown"]
        assert [d["run_ids"] for d in ledger.documents(second)] == [[first, second], [second]]
        assert [d["format"] for d in ledger.documents(first)] == ["json", "html"]
        # One index row per run a report names, written by the migration and by the write.
        assert ledger.db.query("SELECT count(*) FROM document_runs")[0][0] == 4
    finally:
        ledger.close()


def test_newer_ledger_is_refused_and_untouched(tmp_path: Path) -> None:
    """A ledger from a newer UETF is refused with one line and left byte-identical."""
    path = tmp_path / "new.db"
    open_ledger(str(path)).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.execute("PRAGMA journal_mode = DELETE")
    db.close()
    before = digest(path)
    with pytest.raises(LedgerError, match="newer than this UETF") as info:
        open_ledger(str(path))
    assert info.value.exit_code == 7
    assert digest(path) == before


@pytest.mark.parametrize(
    "content",
    [b"this is not a database at all" * 100, b"SQLite format 3\x00" + b"\xff" * 4000],
)
def test_garbage_file_is_refused_and_untouched(tmp_path: Path, content: bytes) -> None:
    """A file that is not SQLite, or is a damaged one, is refused and left as it was."""
    path = tmp_path / "uetf.db"
    path.write_bytes(content)
    with pytest.raises(LedgerError, match="left untouched"):
        open_ledger(str(path))
    assert path.read_bytes() == content


def test_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    """Another program's SQLite database is not mistaken for a ledger."""
    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (x)")
    db.commit()
    db.close()
    before = digest(path)
    with pytest.raises(LedgerError, match="not a UETF ledger"):
        open_ledger(str(path))
    assert digest(path) == before


def test_unknown_url_scheme_is_refused(tmp_path: Path) -> None:
    """A URL for a back end this release lacks is one clear error."""
    with pytest.raises(LedgerError, match="not supported"):
        open_ledger("mysql://host/db")


def test_tasks_once_each_in_collection_order(ledger_location: str) -> None:
    """A node id collected twice is one task, at its first place; the rest keep their order."""
    ledger = open_ledger(ledger_location)
    run_id = "20261125T000000-eeeeee"
    ledger.create_run(new_run(run_id))
    ledger.add_tasks(run_id, ["t.py::z", "t.py::a", "t.py::z", "u.py::m"])
    tasks = ledger.tasks(run_id)
    assert [(t["node_id"], t["index"]) for t in tasks] == [
        ("t.py::z", 0),
        ("t.py::a", 1),
        ("u.py::m", 3),
    ]
    assert ledger.totals(run_id).as_dict()["collected"] == 3


def test_a_run_writes_only_the_tests_the_newest_run_did_not_have(ledger_location: str) -> None:
    """Each test is stored once; a suite collected as before writes no test again."""
    ledger = open_ledger(ledger_location)
    first, second, third = (f"20261125T000000-{c * 6}" for c in "abc")
    ledger.create_run(new_run(first))
    ledger.add_tasks(first, ["t.py::a", "t.py::b"])
    ledger.close()
    ledger = open_ledger(ledger_location)  # a new process knows no test yet
    statements: list[str] = []
    if isinstance(ledger, SqliteLedger):  # SQLite: see what is sent
        ledger.db.raw.set_trace_callback(statements.append)
    ledger.create_run(new_run(second))
    ledger.add_tasks(second, ["t.py::b", "t.py::a"])
    assert not [sql for sql in statements if "INTO tests" in sql]
    ledger.create_run(new_run(third))
    ledger.add_tasks(third, ["t.py::b", "t.py::c", "t.py::a"])
    assert [t["node_id"] for t in ledger.tasks(third)] == ["t.py::b", "t.py::c", "t.py::a"]
    assert [t["node_id"] for t in ledger.tasks(first)] == ["t.py::a", "t.py::b"]
    stored = [row[0] for row in ledger._query("SELECT node_id FROM tests ORDER BY node_id")]
    assert stored == ["t.py::a", "t.py::b", "t.py::c"]
    if statements:
        assert [sql for sql in statements if "INTO tests" in sql]  # c was new


def test_a_run_collected_as_the_newest_takes_its_keys(ledger_location: str) -> None:
    """The same collection in a new process: the newest run's keys, in its order, with
    their digest stored; another order or another test is keyed afresh."""
    collected = ["t.py::a", "t.py::b", "t.py::a", "u.py::c"]
    first, second, third = (f"20261125T000000-{c * 6}" for c in "abc")
    ledger = open_ledger(ledger_location)
    ledger.create_run(new_run(first))
    ledger.add_tasks(first, collected)
    ledger.close()
    ledger = open_ledger(ledger_location)  # a new process knows no key yet
    ledger.create_run(new_run(second))
    ledger.add_tasks(second, collected)
    assert ledger._known_keys == {node_id: ids.test_key(node_id) for node_id in collected}
    assert [(t["node_id"], t["index"]) for t in ledger.tasks(second)] == [
        ("t.py::a", 0),
        ("t.py::b", 1),
        ("u.py::c", 3),
    ]
    assert ledger.totals(second).collected == 3
    ledger.write_batch(second, Batch(records=[record("u.py::c")]), time.time())
    assert [r["node_id"] for r in ledger.records(second)] == ["u.py::c"]
    digests = [row[0] for row in ledger._query("SELECT collection_digest FROM tasks")]
    assert digests == [ids.collection_digest(collected)] * 2
    # The same tests in another order, one more: not the newest run's collection.
    changed = ["u.py::c", "t.py::b", "t.py::d", "t.py::a"]
    ledger.create_run(new_run(third))
    ledger.add_tasks(third, changed)
    assert [t["node_id"] for t in ledger.tasks(third)] == changed
    assert ledger._known_keys["t.py::d"] == ids.test_key("t.py::d")
    assert ids.collection_digest(changed) != ids.collection_digest(collected)


def test_a_write_rolled_back_leaves_the_next_one_whole(ledger_location: str) -> None:
    """What a failed transaction made (PostgreSQL's staging table included) is not
    assumed by the next write: the tasks are written after a rollback."""
    ledger = open_ledger(ledger_location)
    run_id = "20261125T000000-ffffff"
    ledger.create_run(new_run(run_id))
    with pytest.raises(RuntimeError), ledger.transaction():
        ledger.add_tasks(run_id, ["t.py::a", "t.py::b"])
        raise RuntimeError("the batch failed half way")
    assert ledger.tasks(run_id) == []
    ledger.add_tasks(run_id, ["t.py::a", "t.py::b"])
    ledger.write_batch(run_id, Batch(records=[record("t.py::c")]), time.time())
    assert [t["node_id"] for t in ledger.tasks(run_id)] == ["t.py::a", "t.py::b"]
    assert [r["node_id"] for r in ledger.records(run_id)] == ["t.py::c"]


def test_mixed_batch_keeps_order_and_every_field(ledger_location: str) -> None:
    """Passed records (written with their constants inline) and the others, interleaved,
    come back in the order they were added, with every value as given."""
    ledger = open_ledger(ledger_location)
    run_id = "20261125T000000-dddddd"
    ledger.create_run(new_run(run_id))
    ok = PhaseResult("passed", 0.25)

    def passed(node_id: str, attempt: int = 1) -> ExecutionRecord:
        return ExecutionRecord(
            node_id,
            attempt,
            "gw1",
            "passed",
            ok,
            PhaseResult("passed", 0.5),
            ok,
            1.0,
            10.0,
            11.0,
            cpu=0.125,
        )

    rerun = ExecutionRecord(
        "t.py::d", 1, "gw0", "rerun", ok, PhaseResult("failed", 0.5), ok, 1.0, 12.0, 13.0
    )
    skipped = ExecutionRecord(
        "t.py::s",
        1,
        "gw0",
        "skipped",
        PhaseResult("skipped", 0.0),
        None,
        None,
        0.0,
        14.0,
        14.5,
        skip_reason="no network",
    )
    xpassed = ExecutionRecord(
        "t.py::x", 1, "gw1", "xpassed", ok, ok, ok, 0.75, 15.0, 16.0, xfail_reason="bug 7"
    )
    # What the plugin adds for a test whose three phases passed: a PassedRow.
    compact: PassedRow = ("t.py::e", 1, "gw1", 0.25, 0.5, 0.25, 10.0, 11.0, 0.125)
    order: list[AnyRecord] = [
        passed("t.py::a"),
        compact,
        passed("t.py::b"),
        rerun,
        passed("t.py::d", 2),
        skipped,
        ("t.py::f", 3, "gw0", 0.125, 0.0, 0.375, 20.0, 20.5, None),
        xpassed,
        passed("t.py::c"),
    ]
    ledger.write_batch(run_id, Batch(records=order), time.time())
    records = ledger.records(run_id)
    full = [full_record(r) for r in order]
    assert [(r["node_id"], r["attempt"], r["outcome"]) for r in records] == [
        (r.node_id, r.attempt, r.outcome) for r in full
    ]
    assert records[1] == {**records[0], "node_id": "t.py::e", "run_id": run_id}
    assert records[6]["duration"] == 0.5 and records[6]["cpu_seconds"] is None
    assert records[6]["teardown"] == {"outcome": "passed", "duration": 0.375}
    first = records[0]
    assert first["worker"] == "gw1" and first["cpu_seconds"] == 0.125
    assert first["setup"] == {"outcome": "passed", "duration": 0.25}
    assert first["call"] == {"outcome": "passed", "duration": 0.5}
    assert first["duration"] == 1.0 and first["skip_reason"] is None
    assert records[3]["call"] == {"outcome": "failed", "duration": 0.5}
    assert records[5]["skip_reason"] == "no network" and records[5]["call"] is None
    assert records[7]["xfail_reason"] == "bug 7"
    assert ledger.totals(run_id).as_dict()["passed"] == 6  # t.py::d passed on its retry


def test_batch_roundtrip(ledger_location: str, validate) -> None:  # type: ignore[no-untyped-def]
    """A batch of records, errors, events and workers is written and read back valid."""
    ledger = open_ledger(ledger_location)
    run_id = "20261125T000000-cccccc"
    ledger.create_run(new_run(run_id))
    ledger.add_tasks(run_id, ["t.py::a", "t.py::b"])
    error = ErrorCapture.bounded("t.py::b", 1, "call", "AssertionError", "no", "t.py", 3, "tb")
    failed = ExecutionRecord(
        "t.py::b",
        1,
        "controller",
        "failed",
        None,
        PhaseResult("failed", 0.1),
        None,
        0.1,
        1.0,
        2.0,
        error=error,
    )
    batch = Batch(records=[record("t.py::a"), failed], errors=[error])
    batch.events.append((0, Event(time.time(), "note", "x", data={"k": 1})))
    batch.workers["controller"] = {"state": "busy", "tests_run": 2, "started_at": time.time()}
    ledger.write_batch(run_id, batch, time.time())
    assert ledger.totals(run_id).as_dict()["failed"] == 1
    records = ledger.records(run_id)
    assert [r["outcome"] for r in records] == ["passed", "failed"]
    assert records[1]["error"]["exc_type"] == "AssertionError"
    for document in records:
        validate("test_execution_record", document)
    for task in ledger.tasks(run_id):
        validate("task", task)
    assert {t["state"] for t in ledger.tasks(run_id)} == {"passed", "failed"}
    for event in ledger.events(run_id):
        validate("execution_event", event)
    for worker in ledger.workers(run_id):
        validate("worker_state", {**worker})
    validate("run_state", ledger.find_run(run_id))


def test_failed_transaction_rolls_back(ledger_location: str) -> None:
    """An error inside a transaction leaves nothing of it behind; nesting joins the outer one."""
    ledger = open_ledger(ledger_location)
    with pytest.raises(RuntimeError), ledger.transaction() as db:
        db.execute("INSERT INTO meta VALUES ('a', '1')")
        with ledger.transaction() as inner:
            inner.execute("INSERT INTO meta VALUES ('b', '2')")
        raise RuntimeError("boom")
    keys = {row[0] for row in ledger._query("SELECT key FROM meta")}
    assert not {"a", "b"} & keys


def test_find_run_by_prefix_last_and_unknown(ledger_location: str) -> None:
    """Runs are found by 'last', a unique prefix or the full id; others are one error."""
    ledger = open_ledger(ledger_location)
    with pytest.raises(RunNotFoundError, match="no runs yet"):
        ledger.find_run("last")
    ledger.create_run(new_run("20261125T000000-aaaaaa"))
    ledger.create_run(new_run("20261125T000001-abbbbb"))
    assert ledger.find_run("last")["run_id"] == "20261125T000001-abbbbb"
    assert ledger.find_run("20261125T000000")["run_id"] == "20261125T000000-aaaaaa"
    with pytest.raises(RunNotFoundError, match="ambiguous"):
        ledger.find_run("20261125")
    with pytest.raises(RunNotFoundError, match="no run"):
        ledger.find_run("nope")


def test_dead_process_run_is_abandoned(ledger_location: str) -> None:
    """A live run whose pid is gone on this host is marked abandoned with a reason."""
    ledger = open_ledger(ledger_location)
    child = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(0,))
    child.start()
    child.join()
    ledger.create_run(new_run("20261125T000000-dddddd", pid=child.pid))
    ledger.create_run(new_run("20261125T000000-eeeeee"))  # ours, alive
    assert ledger.reap_abandoned("testhost", time.time(), 3600) == ["20261125T000000-dddddd"]
    run = ledger.find_run("20261125T000000-dddddd")
    assert run["state"] == "abandoned"
    assert "is gone" in run["end_reason"]
    assert ledger.find_run("20261125T000000-eeeeee")["state"] == "pending"
    assert ledger.events("20261125T000000-dddddd")[-1]["to_state"] == "abandoned"


def test_silent_run_on_another_host_is_abandoned(ledger_location: str) -> None:
    """A run from another host is abandoned only once its heartbeat is stale."""
    ledger = open_ledger(ledger_location)
    ledger.create_run(new_run("20261125T000000-ffffff"))
    assert ledger.reap_abandoned("elsewhere", time.time(), 3600) == []
    assert ledger.reap_abandoned("elsewhere", time.time() + 7200, 3600) == [
        "20261125T000000-ffffff"
    ]


def _writer(path: str, run_id: str, count: int) -> None:
    ledger = open_ledger(path)
    ledger.create_run(new_run(run_id))
    ledger.add_tasks(run_id, [f"t.py::{run_id}_{i}" for i in range(count)])
    for start in range(0, count, 50):
        batch = Batch(records=[record(f"t.py::{run_id}_{i}") for i in range(start, start + 50)])
        ledger.write_batch(run_id, batch, time.time())
    ledger.close()


def test_four_concurrent_writers_lose_nothing(ledger_location: str) -> None:
    """Four processes writing batches into one new ledger at once lose no record."""
    path = ledger_location
    context = multiprocessing.get_context("spawn")
    run_ids = [f"20261125T00000{i}-00000{i}" for i in range(4)]
    workers = [context.Process(target=_writer, args=(path, r, 1000)) for r in run_ids]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    ledger = open_ledger(path)
    assert sorted(r["run_id"] for r in ledger.list_runs()) == run_ids
    for run_id in run_ids:
        assert ledger.totals(run_id).passed == 1000


def test_a_nul_in_a_message_is_stored_on_both_back_ends(ledger_location: str) -> None:
    """A failure message or traceback holding NUL (PostgreSQL's text cannot) is written,
    with NUL shown as \\x00 on both back ends, instead of failing the batch."""
    ledger = open_ledger(ledger_location)
    ledger.create_run(new_run())
    error = ErrorCapture.bounded(
        "t.py::x", 1, "call", "ValueError", "bad\x00byte", "t.py", 1, "tb\x00"
    )
    ok, bad = PhaseResult("passed", 0.01), PhaseResult("failed", 0.01)
    failed = ExecutionRecord("t.py::x", 1, "c", "failed", ok, bad, ok, 0.03, 1.0, 1.1, error=error)
    ledger.write_batch(new_run().run_id, Batch(records=[failed], errors=[error]), time.time())
    (stored,) = ledger.error_captures(new_run().run_id)
    ledger.close()
    assert stored["message"] == "bad\\x00byte" and stored["traceback"] == "tb\\x00"


def test_text_utf8_cannot_encode_is_stored_escaped_on_both_back_ends(ledger_location: str) -> None:
    """A lone surrogate (an undecodable file name's bytes as Python decodes them) in a
    message, a path or a node id is stored escaped; the batch and its tests are kept."""
    ledger = open_ledger(ledger_location)
    run_id = new_run().run_id
    ledger.create_run(new_run())
    node_id = "t_caf\udce9.py::x"
    ledger.add_tasks(run_id, [node_id, "t.py::ok"])
    error = ErrorCapture.bounded(
        node_id, 1, "call", "FileNotFoundError", "no 'caf\udce9.txt'", "t_caf\udce9.py", 1, "tb"
    )
    ok, bad = PhaseResult("passed", 0.01), PhaseResult("failed", 0.01)
    failed = ExecutionRecord(node_id, 1, "c", "failed", ok, bad, ok, 0.03, 1.0, 1.1, error=error)
    passed = ("t.py::ok", 1, "c", 0.01, 0.01, 0.01, 1.0, 1.1, None)
    ledger.write_batch(run_id, Batch(records=[failed, passed], errors=[error]), time.time())
    (stored,) = ledger.error_captures(run_id)
    totals = ledger.totals(run_id)
    ledger.close()
    assert stored["message"] == "no 'caf\\udce9.txt'"
    assert stored["node_id"] == "t_caf\\udce9.py::x" and stored["path"] == "t_caf\\udce9.py"
    assert (totals.failed, totals.passed) == (1, 1)
