"""The connection layer: each back end's dialect, said once, behaves alike on both."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from uetf_core.errors import LedgerError
from uetf_core.ledger import Ledger, NewRun, open_ledger
from uetf_core.ledger.connection import in_chunks, literal
from uetf_core.ledger.postgres import PostgresLedger
from uetf_core.ledger.sql import SqlLedger
from uetf_core.ledger.sqlite import SqliteLedger


def new_run() -> NewRun:
    return NewRun("20261207T000000-aaaaaa", "pending", 0.0, 1, "h", "/r", "0", {})


@pytest.fixture
def ledger(ledger_location: str) -> Iterator[Ledger]:
    opened = open_ledger(ledger_location)
    yield opened
    opened.close()


def test_both_back_ends_are_one_ledger_class(ledger: Ledger) -> None:
    """SQLite's and PostgreSQL's ledgers are the same class over another connection."""
    assert isinstance(ledger, SqlLedger)
    assert isinstance(ledger, SqliteLedger | PostgresLedger)
    assert ledger.db.location == ledger.location
    assert ledger.may_go_away is isinstance(ledger, PostgresLedger)


def test_bulk_insert_writes_constants_and_keeps_the_order(ledger: Ledger) -> None:
    """``insert_rows`` sends each row's values and the constant columns once; more rows
    than one statement holds arrive whole, in order."""
    rows = [(key, f"t.py::test_{key}") for key in range(1, 251)]
    ledger.create_run(new_run())
    pk = ledger.db.query("SELECT pk FROM runs")[0][0]
    with ledger.transaction() as db:
        db.insert_rows("tests", ("test_key", "node_id"), rows)
        db.insert_rows(
            "schedule_entries",
            ("test_key", "position", "priority"),
            [(key, key, 0.5) for key, _ in rows],
            constants=(("run_pk", pk), ("constraint_text", None), ("reason", "it's first")),
        )
    stored = ledger.db.query("SELECT test_key, node_id FROM tests ORDER BY test_key")
    assert [tuple(row) for row in stored] == rows
    entries = ledger.db.query(
        "SELECT run_pk, test_key, constraint_text, reason FROM schedule_entries ORDER BY position"
    )
    assert [tuple(row) for row in entries] == [(pk, key, None, "it's first") for key, _ in rows]


def test_insert_ignoring_conflicts_keeps_the_first_row(ledger: Ledger) -> None:
    """A row whose key is there is skipped, in bulk and one at a time; the rest go in."""
    with ledger.transaction() as db:
        db.insert_rows("tests", ("test_key", "node_id"), [(1, "a"), (2, "b")], ignore=True)
        db.insert_rows("tests", ("test_key", "node_id"), [(2, "B"), (3, "c")], ignore=True)
        db.execute(db.insert_ignore("tests", ("test_key", "node_id")), (3, "C"))
    with pytest.raises(LedgerError), ledger.transaction() as db:
        db.insert_rows("tests", ("test_key", "node_id"), [(1, "again")])
    stored = ledger.db.query("SELECT test_key, node_id FROM tests ORDER BY test_key")
    assert [tuple(row) for row in stored] == [(1, "a"), (2, "b"), (3, "c")]


def test_text_utf8_cannot_encode_is_escaped_by_every_write(ledger: Ledger) -> None:
    """A lone surrogate (a folder or argument named in bytes that were not UTF-8) is
    written escaped by ``execute``, ``executemany`` and ``insert_rows``, each row once;
    the other rows and the rest of the transaction are kept as they are."""
    odd = "proj\udce9"
    ledger.create_run(NewRun("20261207T000000-bbbbbb", "pending", 0.0, 1, "h", odd, "0", {}))
    with ledger.transaction() as db:
        db.insert_rows("tests", ("test_key", "node_id"), [(1, "a"), (2, odd), (3, "é")])
        db.executemany(
            "INSERT INTO tests (test_key, node_id) VALUES (?, ?)",
            [(4, "b"), (5, "ü"), (6, odd + "/t.py"), (7, "c"), (8, odd)],
        )
        db.execute("INSERT INTO tests (test_key, node_id) VALUES (?, ?)", (9, odd))
    stored = ledger.db.query("SELECT test_key, node_id FROM tests ORDER BY test_key")
    escaped = "proj\\udce9"
    assert [tuple(row) for row in stored] == [
        (1, "a"),
        (2, escaped),
        (3, "é"),
        (4, "b"),
        (5, "ü"),
        (6, escaped + "/t.py"),
        (7, "c"),
        (8, escaped),
        (9, escaped),
    ]
    assert ledger.db.query("SELECT rootdir FROM runs")[0][0] == escaped


def test_upsert_replaces_the_row_of_the_same_key(ledger: Ledger) -> None:
    """An upsert of a key that is there replaces its row; of a new key, adds one."""
    columns = ("key", "statements", "excluded", "multiline_json", "used_at")
    with ledger.transaction() as db:
        for row in (("k1", b"\x01", b"", "{}", 1.0), ("k1", b"\x02", b"", "{}", 2.0)):
            db.execute(db.upsert("analysis_cache", columns, ("key",)), row)
        db.execute(db.upsert("analysis_cache", columns, ("key",)), ("k2", b"", b"", "{}", 3.0))
    stored = ledger.db.query("SELECT key, used_at FROM analysis_cache ORDER BY key")
    assert [tuple(row) for row in stored] == [("k1", 2.0), ("k2", 3.0)]


def test_null_safe_equality_and_find_are_the_dialects_own(ledger: Ledger) -> None:
    """``IS`` matches NULL with NULL; ``FIND`` gives a 1-based position, 0 when absent."""
    ledger.create_run(new_run())
    db = ledger.db
    unnamed = f"SELECT count(*) FROM runs WHERE branch_name {db.IS} ?"
    assert [db.query(unnamed, (branch,))[0][0] for branch in (None, "main")] == [1, 0]
    assert [*db.query(f"SELECT {db.FIND}('ab::c', '::'), {db.FIND}('ab', '::')")[0]] == [3, 0]


def test_a_percent_sign_in_a_statement_is_sent_as_written(ledger: Ledger) -> None:
    """The parameter marker is the one thing a dialect rewrites; ``%`` stays ``%``."""
    rows = ledger.db.query("SELECT '100%' || ?, ? LIKE 'a%'", ("!", "abc"))
    assert [*rows[0]] in (["100%!", 1], ["100%!", True])


def test_tables_and_columns_are_read_from_the_database(ledger: Ledger) -> None:
    """What copies whole runs reads: the tables with a run key, and a table's columns
    without the engine's own keys."""
    assert {"executions", "tasks", "gates", "error_captures"} <= set(ledger.db.run_tables())
    assert "runs" not in ledger.db.run_tables()
    assert ledger.db.columns("gates")[:3] == ["run_pk", "seq", "name"]
    assert "pk" not in ledger.db.columns("events")
    assert "rowid" not in ledger.db.columns("executions")


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "NULL"), (7, "7"), ("passed", "'passed'"), ("it's", "'it''s'")],
)
def test_a_constant_is_written_as_sql(value: int | str | None, text: str) -> None:
    """A constant column's value, as the statement carries it."""
    assert literal(value) == text


def test_in_lists_are_cut_to_what_every_engine_takes() -> None:
    """An IN list of any length, in slices of at most 500 parameters."""
    chunks = list(in_chunks(list(range(1203))))
    assert [len(chunk) for chunk, _ in chunks] == [500, 500, 203]
    assert chunks[-1][1] == ", ".join("?" * 203)


def test_a_sqlite_ledger_attaches_another_file_for_the_time_of_a_with(tmp_path: Path) -> None:
    """``attached`` makes another ledger readable as ``src``, and detaches it after."""
    other = SqliteLedger(tmp_path / "other.db")
    with other.transaction() as db:
        db.execute("INSERT INTO tests (test_key, node_id) VALUES (?, ?)", (5, "x"))
    other.close()
    ledger = SqliteLedger(tmp_path / "main.db")
    with ledger.attached(tmp_path / "other.db"):
        assert ledger.db.query("SELECT node_id FROM src.tests")[0][0] == "x"
    with pytest.raises(LedgerError):
        ledger.db.query("SELECT node_id FROM src.tests")
    ledger.close()
