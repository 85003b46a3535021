"""The ledger's schema as numbered migrations, applied in order, never edited once released.

Schema versions (``PRAGMA user_version`` in SQLite):

1. The first ledger: runs, their events, tasks, execution records, error
   captures, workers, gates, and the tables later features fill (routing,
   schedule, patches, costs, progress, tool results, workstreams, documents,
   validations).
2. Indexes to find live runs (abandoned-run checks at every open) and a run's
   events quickly.
3. Coverage per run (totals, and per file the statements and executed lines as
   coverage.py numbits) and the commit a run tested, to find baselines.

Later versions say what they change next to their SQL below.

A ledger whose version is higher than ``SCHEMA_VERSION`` was written by a newer
UETF and is refused, never downgraded or reset.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from uetf_core.ledger.connection import Connection, Row

# Tests are identified across runs by a 63-bit hash of their node id
# (see ids.test_key) so the per-record tables store an integer, not the id text.
MIGRATIONS: tuple[str, ...] = (
    # 1: the first ledger.
    """
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE runs (
        pk INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL UNIQUE,
        state TEXT NOT NULL,
        started_at REAL NOT NULL,
        finished_at REAL,
        heartbeat_at REAL NOT NULL,
        pid INTEGER NOT NULL,
        host TEXT NOT NULL,
        rootdir TEXT NOT NULL,
        uetf_version TEXT NOT NULL,
        exit_status INTEGER,
        end_reason TEXT,
        partial INTEGER NOT NULL DEFAULT 0,
        verdict TEXT,
        config_json TEXT
    );
    CREATE TABLE events (
        pk INTEGER PRIMARY KEY,
        run_pk INTEGER NOT NULL REFERENCES runs(pk),
        seq INTEGER NOT NULL,
        at REAL NOT NULL,
        kind TEXT NOT NULL,
        subject TEXT NOT NULL,
        from_state TEXT,
        to_state TEXT,
        data_json TEXT
    );
    CREATE TABLE tests (
        test_key INTEGER PRIMARY KEY,
        node_id TEXT NOT NULL
    );
    CREATE TABLE tasks (
        run_pk INTEGER NOT NULL REFERENCES runs(pk),
        test_key INTEGER NOT NULL,
        idx INTEGER NOT NULL,
        path TEXT NOT NULL,
        state TEXT NOT NULL,
        PRIMARY KEY (run_pk, test_key)
    ) WITHOUT ROWID;
    CREATE TABLE executions (
        run_pk INTEGER NOT NULL REFERENCES runs(pk),
        test_key INTEGER NOT NULL,
        attempt INTEGER NOT NULL,
        worker TEXT NOT NULL,
        outcome TEXT NOT NULL,
        setup_outcome TEXT,
        setup_duration REAL,
        call_outcome TEXT,
        call_duration REAL,
        teardown_outcome TEXT,
        teardown_duration REAL,
        duration REAL NOT NULL,
        started_at REAL NOT NULL,
        finished_at REAL NOT NULL,
        skip_reason TEXT,
        xfail_reason TEXT
    );
    CREATE INDEX executions_run ON executions(run_pk);
    CREATE TABLE error_captures (
        run_pk INTEGER NOT NULL REFERENCES runs(pk),
        node_id TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        phase TEXT NOT NULL,
        exc_type TEXT NOT NULL,
        message TEXT NOT NULL,
        path TEXT,
        lineno INTEGER,
        traceback TEXT NOT NULL,
        truncated INTEGER NOT NULL
    );
    CREATE INDEX error_captures_run ON error_captures(run_pk);
    CREATE TABLE workers (
        run_pk INTEGER NOT NULL REFERENCES runs(pk),
        worker_id TEXT NOT NULL,
        state TEXT NOT NULL,
        tests_run INTEGER NOT NULL DEFAULT 0,
        started_at REAL NOT NULL,
        stopped_at REAL,
        reason TEXT,
        PRIMARY KEY (run_pk, worker_id)
    );
    CREATE TABLE gates (
        run_pk INTEGER NOT NULL REFERENCES runs(pk),
        seq INTEGER NOT NULL,
        name TEXT NOT NULL,
        op TEXT NOT NULL,
        threshold REAL NOT NULL,
        value REAL,
        verdict TEXT NOT NULL,
        reason TEXT,
        mode TEXT NOT NULL,
        unit TEXT,
        path TEXT,
        PRIMARY KEY (run_pk, seq)
    );
    CREATE TABLE routing_decisions (
        run_pk INTEGER NOT NULL REFERENCES runs(pk),
        test_key INTEGER NOT NULL,
        target TEXT NOT NULL,
        strategy TEXT NOT NULL,
        estimate_seconds REAL,
        fallback INTEGER NOT NULL,
        fallback_reason TEXT,
        at REAL NOT NULL
    );
    CREATE TABLE schedule_entries (
        run_pk INTEGER NOT NULL REFERENCES runs(pk),
        test_key INTEGER NOT NULL,
        position INTEGER NOT NULL,
        priority REAL NOT NULL,
        constraint_text TEXT,
        reason TEXT NOT NULL
    );
    CREATE TABLE patches (
        run_pk INTEGER PRIMARY KEY REFERENCES runs(pk),
        state TEXT NOT NULL,
        base_ref TEXT NOT NULL,
        merge_base TEXT,
        head TEXT,
        diff_hash TEXT,
        files_json TEXT NOT NULL
    );
    CREATE TABLE costs (
        run_pk INTEGER NOT NULL REFERENCES runs(pk),
        scope TEXT NOT NULL,
        subject TEXT NOT NULL,
        name TEXT NOT NULL,
        amount REAL NOT NULL,
        unit TEXT NOT NULL
    );
    CREATE TABLE progress (
        run_pk INTEGER NOT NULL REFERENCES runs(pk),
        at REAL NOT NULL,
        done INTEGER NOT NULL,
        total INTEGER NOT NULL,
        elapsed_seconds REAL NOT NULL,
        eta_seconds REAL,
        outcomes_json TEXT NOT NULL
    );
    CREATE TABLE tool_results (
        run_pk INTEGER REFERENCES runs(pk),
        tool TEXT NOT NULL,
        argv_json TEXT NOT NULL,
        exit_code INTEGER,
        duration_seconds REAL NOT NULL,
        ok INTEGER NOT NULL,
        stderr_excerpt TEXT NOT NULL,
        at REAL NOT NULL
    );
    CREATE TABLE workstreams (
        workstream_id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        expect_shards INTEGER
    );
    CREATE TABLE phases (
        workstream_id TEXT NOT NULL REFERENCES workstreams(workstream_id),
        phase TEXT NOT NULL,
        state TEXT NOT NULL,
        PRIMARY KEY (workstream_id, phase)
    );
    CREATE TABLE steps (
        workstream_id TEXT NOT NULL REFERENCES workstreams(workstream_id),
        phase TEXT NOT NULL,
        step_id TEXT NOT NULL,
        run_id TEXT,
        shard TEXT,
        state TEXT NOT NULL,
        PRIMARY KEY (workstream_id, step_id)
    );
    CREATE TABLE dependencies (
        workstream_id TEXT NOT NULL REFERENCES workstreams(workstream_id),
        phase TEXT NOT NULL,
        depends_on TEXT NOT NULL,
        PRIMARY KEY (workstream_id, phase, depends_on)
    );
    CREATE TABLE documents (
        pk INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        format TEXT NOT NULL,
        path TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        run_ids_json TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE validations (
        run_pk INTEGER REFERENCES runs(pk),
        subject TEXT NOT NULL,
        schema_name TEXT NOT NULL,
        valid INTEGER NOT NULL,
        errors_json TEXT NOT NULL,
        at REAL NOT NULL,
        digest TEXT
    );
    """,
    # 2: finding live runs and a run's events quickly.
    """
    CREATE INDEX runs_state ON runs(state);
    CREATE INDEX events_run ON events(run_pk, seq);
    CREATE INDEX validations_digest ON validations(digest);
    """,
    # 3: coverage, and the commit each run tested.
    """
    CREATE TABLE coverage_totals (
        run_pk INTEGER PRIMARY KEY REFERENCES runs(pk),
        percent REAL NOT NULL,
        n_statements INTEGER NOT NULL,
        n_missing INTEGER NOT NULL,
        n_branches INTEGER NOT NULL,
        n_partial_branches INTEGER NOT NULL,
        core TEXT NOT NULL,
        branch INTEGER NOT NULL
    );
    CREATE TABLE coverage_files (
        run_pk INTEGER NOT NULL REFERENCES runs(pk),
        path TEXT NOT NULL,
        statements BLOB NOT NULL,
        executed BLOB NOT NULL,
        n_branches INTEGER NOT NULL,
        n_partial_branches INTEGER NOT NULL,
        n_missing_branches INTEGER NOT NULL,
        arcs_json TEXT,
        PRIMARY KEY (run_pk, path)
    ) WITHOUT ROWID;
    ALTER TABLE patches ADD COLUMN problem TEXT;
    ALTER TABLE runs ADD COLUMN partial_reason TEXT;
    ALTER TABLE runs ADD COLUMN head_commit TEXT;
    ALTER TABLE runs ADD COLUMN branch_name TEXT;
    CREATE INDEX runs_head ON runs(head_commit);
    """,
    # 4: coverage.py's static analysis of unchanged sources, reused across runs.
    """
    CREATE TABLE analysis_cache (
        key TEXT PRIMARY KEY,
        statements BLOB NOT NULL,
        excluded BLOB NOT NULL,
        multiline_json TEXT NOT NULL,
        used_at REAL NOT NULL
    ) WITHOUT ROWID;
    """,
    # 5: flakiness and history: outcome flips per run, tests' runs, branches' runs.
    """
    CREATE TABLE flips (
        run_pk INTEGER NOT NULL REFERENCES runs(pk),
        test_key INTEGER NOT NULL,
        kind TEXT NOT NULL,
        other_run_pk INTEGER,
        PRIMARY KEY (run_pk, test_key)
    ) WITHOUT ROWID;
    CREATE INDEX executions_test ON executions(test_key, run_pk);
    CREATE INDEX runs_branch ON runs(branch_name, started_at);
    CREATE INDEX runs_started ON runs(started_at);
    CREATE INDEX error_captures_node ON error_captures(node_id, run_pk);
    """,
    # 6: costs: each test's CPU seconds; custom costs found by run.
    """
    ALTER TABLE executions ADD COLUMN cpu_seconds REAL;
    CREATE INDEX costs_run ON costs(run_pk);
    CREATE INDEX progress_run ON progress(run_pk, at);
    """,
    # 7: one index on executions, by run then test. An index led by the test key
    # took each new record to a random page of an index as large as the history,
    # and cost more per run the more runs the ledger kept; this one grows at its
    # end, and a test's history is one seek per run.
    """
    DROP INDEX executions_test;
    DROP INDEX executions_run;
    CREATE INDEX executions_run_test ON executions(run_pk, test_key);
    """,
    # 8: a run's tasks in one row: the collected tests' keys in collection order
    # (a JSON array). A row per task cost every run start a b-tree insert per
    # collected test; a task's index is its
    # place in the list, its path the file part of its node id, and its state
    # was already read from the executions. ``collect_tasks`` moves the rows.
    """
    CREATE TABLE task_lists (
        run_pk INTEGER NOT NULL PRIMARY KEY REFERENCES runs(pk),
        size INTEGER NOT NULL,
        test_keys TEXT NOT NULL
    );
    """,
    # 9: a digest of the collected node ids (uetf_core.ids.collection_digest): a
    # run collected exactly as the newest one takes its keys from that run's list
    # instead of hashing each node id (the largest part of recording the
    # tasks). Older runs have none.
    """
    ALTER TABLE tasks ADD COLUMN collection_digest TEXT;
    """,
    # 10: on PostgreSQL, no foreign key from executions to runs. PostgreSQL checks
    # one with a query per inserted row, which more than doubled the server's work
    # to copy a run's records (73 ms against 33 ms for 5,000, measured); a record's
    # run is looked up in the transaction that writes it, and prune deletes a run's
    # records before the run. SQLite checks its key with one seek into runs (5-10%
    # of an insert) and keeps it: the step is PostgreSQL's alone
    # (ledger.postgres.SERVER_STEPS), nothing here.
    "",
    # 11: what a run judged. ``suite_key``: a digest of the selection that defines
    # the suite (the ini file's addopts and testpaths, the paths given), so a
    # baseline is only a run of the same suite; ``tree_state``: a digest of the
    # work tree's uncommitted changes ('' when clean), so a test is only called
    # flaky between runs of the same code. Older runs have neither: any suite,
    # and their commit alone.
    """
    ALTER TABLE runs ADD COLUMN suite_key TEXT;
    ALTER TABLE runs ADD COLUMN tree_state TEXT;
    """,
    # 12: why a run's coverage measured nothing (a source that matched no file),
    # a JSON array of one-line problems; NULL, as in older runs: none.
    """
    ALTER TABLE coverage_totals ADD COLUMN problems_json TEXT;
    """,
    # 13: no ledger password in a stored configuration. Runs recorded before
    # every form of a PostgreSQL URL's password was masked (``?password=``, the
    # keyword form) kept it in ``runs.config_json``; ``mask_stored_passwords``
    # rewrites those values masked. Nothing else changes.
    "",
    # 14: test impact analysis (docs/impact.md). Blocks and sets of blocks are
    # content-addressed by 63-bit digests, shared by every run that saw them, so
    # copying runs between ledgers needs no renumbering; a set is its sorted
    # block keys as delta-encoded varints. Per run: how dependencies were
    # recorded (``impact_runs``; ``complete`` 0: not usable as a baseline), each
    # test's set (``impact_tests``; NULL: no data), and, for a run that selected,
    # the decision (``impact_selections``) and each collected test's reason
    # (``impact_decisions``; NULL: not selected, so carried or, in shadow mode,
    # a test selection would have skipped); ``impact_flaky``: a failure whose code
    # did not change since the test passed in ``passed_run_id`` on the same
    # environment (``blocks``: how many blocks were compared). ``IF NOT EXISTS``:
    # a ledger set back to an older version by hand takes the migrations again.
    """
    CREATE TABLE IF NOT EXISTS impact_blocks (
        block_key INTEGER PRIMARY KEY,
        path TEXT NOT NULL,
        qualname TEXT NOT NULL,
        fingerprint TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS impact_sets (
        set_key INTEGER PRIMARY KEY,
        block_keys BLOB NOT NULL
    );
    CREATE TABLE IF NOT EXISTS impact_runs (
        run_pk INTEGER PRIMARY KEY REFERENCES runs(pk),
        mechanism TEXT NOT NULL,
        python TEXT NOT NULL,
        distributions TEXT NOT NULL,
        complete INTEGER NOT NULL,
        import_time_set INTEGER,
        imports_json TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS impact_tests (
        run_pk INTEGER NOT NULL REFERENCES runs(pk),
        test_key INTEGER NOT NULL,
        set_key INTEGER,
        PRIMARY KEY (run_pk, test_key)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS impact_selections (
        run_pk INTEGER PRIMARY KEY REFERENCES runs(pk),
        mode TEXT NOT NULL,
        baseline_run_id TEXT,
        whole_reason TEXT,
        whole_detail TEXT,
        selected INTEGER NOT NULL,
        unselected INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS impact_decisions (
        run_pk INTEGER NOT NULL REFERENCES runs(pk),
        test_key INTEGER NOT NULL,
        reason TEXT,
        detail TEXT,
        PRIMARY KEY (run_pk, test_key)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS impact_flaky (
        run_pk INTEGER NOT NULL REFERENCES runs(pk),
        test_key INTEGER NOT NULL,
        passed_run_id TEXT NOT NULL,
        blocks INTEGER NOT NULL,
        PRIMARY KEY (run_pk, test_key)
    ) WITHOUT ROWID;
    """,
    # 15: the runs each report covers, a row per run, so a run's reports are
    # found through an index on its id instead of by searching the JSON text of
    # every document. ``index_documents`` fills it from ``run_ids_json``, which
    # stays the document's own record of its runs.
    """
    CREATE TABLE IF NOT EXISTS document_runs (
        document_pk INTEGER NOT NULL REFERENCES documents(pk),
        run_id TEXT NOT NULL,
        PRIMARY KEY (document_pk, run_id)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS document_runs_run ON document_runs (run_id);
    """,
    # 16: the rest of what a run judged. ``python``: the interpreter's
    # implementation and major.minor version ("cpython 3.12"), so a baseline and a
    # flip are only taken from a run on the same Python; ``merge_base``: the
    # commit the run's change starts from, recorded even when no gate asks for the
    # change itself, so a failure is new or pre-existing whatever gates are
    # declared. Older runs have neither: any Python, and their patch's merge-base.
    # Added by ``add_run_columns``: SQLite has no ADD COLUMN IF NOT EXISTS, and a
    # ledger set back to an older version by hand takes the migrations again.
    "",
)

SCHEMA_VERSION = len(MIGRATIONS)


def keys_text(keys: list[int]) -> str:
    """A run's collected test keys as stored: a compact JSON array."""
    return json.dumps(keys, separators=(",", ":"))


def keys_of(row: Row | None) -> list[int]:
    """The test keys of a ``SELECT test_keys FROM tasks`` row; none for no row."""
    keys: list[int] = json.loads(row[0]) if row else []
    return keys


def collect_tasks(db: Connection) -> None:
    """Migration 8's data: each run's task rows become its one row of tasks.

    A run at a time, so that a ledger of thousands of runs is never held in
    memory at once."""
    runs = [row[0] for row in db.execute("SELECT DISTINCT run_pk FROM tasks").fetchall()]
    for run_pk in runs:
        keys = [
            row[0]
            for row in db.execute(
                "SELECT test_key FROM tasks WHERE run_pk = ? ORDER BY idx", (run_pk,)
            ).fetchall()
        ]
        db.execute(
            "INSERT INTO task_lists (run_pk, size, test_keys) VALUES (?, ?, ?)",
            (run_pk, len(keys), keys_text(keys)),
        )
    db.execute("DROP TABLE tasks")
    # Renamed only now: PostgreSQL names a table's key index after the table.
    db.execute("ALTER TABLE task_lists RENAME TO tasks")


# Work a migration needs beyond its SQL, run after it in the same transaction
# (both back ends give ``db.execute``/``executemany`` with ``?`` placeholders).
def mask_stored_passwords(db: Connection) -> None:
    """Migration 13's data: each stored configuration's ledger location, masked."""
    from uetf_core.redact import redact

    if db.ENGINE == "sqlite":  # overwrite the old text, not only unlink it
        db.execute("PRAGMA secure_delete = ON")
    rows = db.execute("SELECT pk, config_json FROM runs WHERE config_json IS NOT NULL").fetchall()
    for pk, text in rows:
        config = json.loads(text)
        location = config.get("ledger") if isinstance(config, dict) else None
        if isinstance(location, str) and redact(location) != location:
            config["ledger"] = redact(location)
            db.execute("UPDATE runs SET config_json = ? WHERE pk = ?", (json.dumps(config), pk))


def index_documents(db: Connection) -> None:
    """Migration 15's data, and the same after every write of documents: a
    ``document_runs`` row for each run of each document that has none yet."""
    rows = db.execute(
        "SELECT d.pk, d.run_ids_json FROM documents d WHERE NOT EXISTS"
        " (SELECT 1 FROM document_runs x WHERE x.document_pk = d.pk)"
    ).fetchall()
    pairs = [(pk, run_id) for pk, text in rows for run_id in dict.fromkeys(json.loads(text))]
    if pairs:
        db.executemany("INSERT INTO document_runs (document_pk, run_id) VALUES (?, ?)", pairs)


def add_run_columns(db: Connection) -> None:
    """Migration 16: ``runs.python`` and ``runs.merge_base``, unless the table has them."""
    if db.ENGINE == "sqlite":
        have = {row[1] for row in db.execute("PRAGMA table_info(runs)").fetchall()}
    else:
        have = {
            row[0]
            for row in db.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_name = 'runs' AND table_schema = current_schema()"
            ).fetchall()
        }
    for column in ("python", "merge_base"):
        if column not in have:
            db.execute(f"ALTER TABLE runs ADD COLUMN {column} TEXT")


AFTER: dict[int, Callable[[Connection], None]] = {
    8: collect_tasks,
    13: mask_stored_passwords,
    15: index_documents,
    16: add_run_columns,
}
