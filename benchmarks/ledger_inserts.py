"""Ledger write throughput: batched execution records per second, bytes per record.

Run: python benchmarks/ledger_inserts.py [--records 100000] [--batch 500]

Writes synthetic execution records for one run through the same
``SqliteLedger.write_batch`` the plugin uses, in batches, into a fresh ledger;
prints records per second, and the ledger's size on disk per record. For a
reference in the same run it also times a bare ``executemany`` of the same
rows into a one-table SQLite file (the ceiling for this machine's SQLite).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import time
from pathlib import Path

from uetf_core.ledger import Batch, NewRun, open_ledger
from uetf_core.records import AnyRecord, PassedRow


def make_records(count: int, modules: int = 50) -> list[PassedRow]:
    """Passed tests, in the form the plugin records them."""
    now = time.time()
    return [
        (
            f"tests/test_mod_{i % modules:03d}.py::test_{i:05d}",
            1,
            "controller",
            0.0001,
            0.0001,
            0.0001,
            now,
            now,
            None,
        )
        for i in range(count)
    ]


def ledger_rate(folder: Path, records: list[PassedRow], batch: int) -> tuple[float, int]:
    path = folder / "bench.db"
    ledger = open_ledger(str(path))
    run_id = "20261125T000000-abcdef"
    ledger.create_run(NewRun(run_id, "running", time.time(), os.getpid(), "bench", "/", "0", {}))
    ledger.add_tasks(run_id, [r[0] for r in records])
    before = _size(path)
    start = time.perf_counter()
    for offset in range(0, len(records), batch):
        chunk: list[AnyRecord] = list(records[offset : offset + batch])
        ledger.write_batch(run_id, Batch(records=chunk), time.time())
    elapsed = time.perf_counter() - start
    ledger._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    ledger.close()
    return len(records) / elapsed, _size(path) - before


def raw_rate(folder: Path, records: list[PassedRow], batch: int) -> float:
    db = sqlite3.connect(folder / "raw.db", isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("CREATE TABLE r (node_id, attempt, worker, outcome, duration, started, finished)")
    rows = [(r[0], r[1], r[2], "passed", r[3] + r[4] + r[5], r[6], r[7]) for r in records]
    start = time.perf_counter()
    for offset in range(0, len(rows), batch):
        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT INTO r VALUES (?, ?, ?, ?, ?, ?, ?)", rows[offset : offset + batch])
        db.execute("COMMIT")
    elapsed = time.perf_counter() - start
    db.close()
    return len(rows) / elapsed


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    records = make_records(args.records)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rate, grown = ledger_rate(folder, records, args.batch)
        ceiling = raw_rate(folder, records, args.batch)
    print(f"UETF ledger inserts: {args.records} records in batches of {args.batch}")
    print(f"  ledger write_batch   {rate:>10,.0f} records/s")
    print(f"  bare executemany     {ceiling:>10,.0f} rows/s (ratio {rate / ceiling:.2f})")
    print(f"  ledger size          {grown / args.records:>10.1f} bytes per execution record")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
