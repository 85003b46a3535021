"""A SQLite ledger file before and around its connection: the read-only probe that
refuses a damaged, foreign or newer file untouched, the one-line errors for each
cause of a failure, and the ledger's folder.

Discipline: the file is probed read-only before anything is written, so a
ledger that is corrupt, not a ledger, or newer than this UETF is refused and
left byte-identical.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from uetf_core.errors import (
    LedgerAccessError,
    LedgerCorruptError,
    LedgerError,
    LedgerFullError,
    LedgerLockedError,
    LedgerReadOnlyError,
    LedgerSettingError,
)
from uetf_core.ledger.migrations import SCHEMA_VERSION

APPLICATION_ID = 0x55455446  # "UETF": marks a SQLite file as a ledger
BUSY_TIMEOUT_S = 60.0


# SQLite's primary result codes (sqlite3.h); an exception's ``sqlite_errorcode``
# carries one in its low byte.
_BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 5, 6, 8, 10, 11, 13, 14, 26

# How much of the file a run checks before its first write. The whole file when it
# has at most this many pages (1 MiB at 4 KiB a page, a few milliseconds: a
# quick_check measured 44 ms for 8 MB and 2.8 s for the 776 MB of 5 million records,
# and 4 MiB put the recording overhead of 5,000 quick tests at its 1.03x limit);
# beyond, every table but the two that grow with each test of each run, which a run
# only appends to and reads the newest pages of (6 ms on the 776 MB ledger). Those
# pages are checked by SQLite as they are read (cell_size_check), and damage met
# then stops the writes with the same line.
FULL_CHECK_PAGES = 256
GROWING_TABLES = ("executions", "tasks")


def damaged_message(path: Path, detail: str) -> str:
    """The one line for a damaged ledger, at open and wherever the damage is met later."""
    return (
        f"{path}: the ledger is damaged ({detail}); it was left untouched: "
        "restore it from a backup, or move it aside and point --uetf-ledger elsewhere"
    )


def _writable(path: Path) -> bool:
    """Whether this process may write the file and its folder (False on read-only media)."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def _disk_full(path: Path) -> bool:
    """Whether the disk holding ``path`` has no room left for a page of WAL."""
    try:
        stats = os.statvfs(path.parent)
    except OSError:
        return False
    return stats.f_bavail * stats.f_frsize < 64 * 1024


# SQLite's own text for each primary result code (sqlite3_errstr), which is what an
# error says on Python 3.10, whose sqlite3 errors carry no code.
_CODE_OF_TEXT = {
    "database is locked": _BUSY,
    "database table is locked": _LOCKED,
    "attempt to write a readonly database": _READONLY,
    "disk I/O error": _IOERR,
    "database disk image is malformed": _CORRUPT,
    "database or disk is full": _FULL,
    "unable to open database file": _CANTOPEN,
    "file is not a database": _NOTADB,
}


def _primary_code(exc: sqlite3.Error) -> int:
    """SQLite's primary result code of ``exc``: from the error (Python 3.11 and later),
    else from SQLite's fixed text for it; 0 when neither tells."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return int(code) & 0xFF
    return _CODE_OF_TEXT.get(str(exc), 0)


def ledger_error(path: Path, exc: sqlite3.Error) -> LedgerError:
    """The one-line error for a SQLite failure on ``path``: its cause, and the fix.

    A damaged file is told from a full disk, read-only media, permission denied and
    a lock held by another process: only damage calls for moving the file aside.
    """
    code = _primary_code(exc)
    if code in (_CORRUPT, _NOTADB):
        return LedgerCorruptError(damaged_message(path, str(exc)))
    # A full disk fails the shared-memory file's creation as an I/O error.
    if code == _FULL or (code in (_IOERR, _CANTOPEN) and _disk_full(path)):
        return LedgerFullError(
            f"{path}: ledger disk full ({exc}); what was recorded before is kept: "
            "free space on that disk (or point --uetf-ledger at another) and run again"
        )
    if code in (_BUSY, _LOCKED):
        return LedgerLockedError(
            f"{path}: the ledger is locked by another process (waited {BUSY_TIMEOUT_S:g} s); "
            "let that process finish ('uetf runs' shows live runs) and run again"
        )
    if path.exists() and not os.access(path, os.R_OK):
        return LedgerAccessError(
            f"{path}: permission denied reading the ledger; give this user read and write "
            "permission on the file and its folder, or point --uetf-ledger elsewhere"
        )
    if code == _READONLY or (code == _CANTOPEN and path.exists() and not _writable(path)):
        return LedgerReadOnlyError(
            f"{path}: the ledger is on read-only media or not writable by this user; "
            "commands that only read it still work: make the file and its folder writable, "
            "or point --uetf-ledger at a writable path"
        )
    if code == _IOERR:
        return LedgerError(
            f"{path}: the disk reported an input/output error on the ledger ({exc}); "
            "check the disk and run again"
        )
    return LedgerError(f"{path}: ledger operation failed: {exc}")


def connect_read_only(path: Path) -> sqlite3.Connection:
    """A connection that cannot write ``path``; on read-only media, an immutable one.

    A WAL ledger opened read-only needs its shared-memory file, which read-only
    media or a full disk cannot create: there the file is opened as immutable,
    exact when nothing can change it (a WAL left by a crash there is not read).
    """
    uri = path.resolve().as_uri()
    db: sqlite3.Connection | None = None
    try:
        db = sqlite3.connect(
            f"{uri}?mode=ro",
            uri=True,
            timeout=BUSY_TIMEOUT_S,
            isolation_level=None,
            check_same_thread=False,
        )
        db.execute("SELECT 1 FROM sqlite_master LIMIT 1")  # the file is opened lazily
        return db
    except sqlite3.Error as exc:
        if db is not None:
            db.close()
        # Read-only media, or a full disk, cannot take the shared-memory file.
        error = ledger_error(path, exc)
        if not isinstance(error, (LedgerReadOnlyError, LedgerFullError)):
            raise error from None
    db = sqlite3.connect(
        f"{uri}?immutable=1", uri=True, isolation_level=None, check_same_thread=False
    )
    try:
        db.execute("SELECT 1 FROM sqlite_master LIMIT 1")
    except sqlite3.Error as exc:
        db.close()
        raise ledger_error(path, exc) from None
    return db


def problems(db: sqlite3.Connection, whole: bool) -> list[str]:
    """What SQLite's quick_check finds: over the whole file, or as a run affords it."""
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    if whole or pages <= FULL_CHECK_PAGES:
        rows = db.execute("PRAGMA quick_check").fetchall()
    else:
        tables = db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).fetchall()
        rows = []
        for (table,) in tables:
            if table not in GROWING_TABLES:
                rows += db.execute(f'PRAGMA quick_check("{table}")').fetchall()
    return [str(row[0]) for row in rows if row[0] != "ok"]


def probe(path: Path, check: str = "none", db: sqlite3.Connection | None = None) -> int:
    """The schema version of an existing file, read without writing; 0 for an empty file.

    ``check``: ``"none"``, ``"run"`` (what a run affords) or ``"whole"`` (quick_check
    over every page, before a command that deletes or rewrites). ``db``: a read-only
    connection to use (and keep open) instead of one of its own.
    """
    if path.stat().st_size == 0:
        return 0  # an empty file is a new ledger: nothing in it to lose
    reader = db or connect_read_only(path)
    try:
        # One read transaction: another process may be creating this ledger right
        # now, and its tables and its application id must be seen from one snapshot.
        reader.execute("BEGIN")
        app_id = reader.execute("PRAGMA application_id").fetchone()[0]
        version = reader.execute("PRAGMA user_version").fetchone()[0]
        tables = reader.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        found = problems(reader, check == "whole") if check != "none" else []
        reader.execute("COMMIT")
    except sqlite3.Error as exc:
        raise ledger_error(path, exc) from None
    finally:
        if db is None:
            reader.close()
    if found:
        raise LedgerCorruptError(damaged_message(path, found[0]))
    if app_id != APPLICATION_ID and (app_id != 0 or tables):
        message = (
            f"{path}: this SQLite file is not a UETF ledger; it was left untouched: "
            "point --uetf-ledger (or UETF_LEDGER) at another path"
        )
        raise LedgerError(message)
    if version > SCHEMA_VERSION:
        message = (
            f"{path}: the ledger has schema version {version}, newer than this UETF "
            f"understands ({SCHEMA_VERSION}); upgrade uetf (pip install -U uetf). "
            "The ledger was left untouched"
        )
        raise LedgerError(message)
    return int(version)


def create_folder(folder: Path) -> None:
    """Create the ledger's folder with a .gitignore, so the ledger is never committed."""
    blocker = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        message = (
            f"ledger path {folder}: {blocker} is a file, not a folder; point --uetf-ledger "
            "(or ledger in [tool.uetf]) at a path inside a folder"
        )
        raise LedgerSettingError(message)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        ignore = folder / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# Created by uetf: the ledger is local data, not source.\n*\n")
    except OSError as exc:
        where = Path(exc.filename) if exc.filename else folder
        if exc.errno == errno.EROFS:
            message = (
                f"{where}: cannot create the ledger's folder on read-only media; "
                "point --uetf-ledger at a writable path"
            )
            raise LedgerReadOnlyError(message) from None
        message = (
            f"{where}: cannot create the ledger's folder ({exc.strerror}); make its parent "
            "writable or point --uetf-ledger at a writable path"
        )
        raise LedgerAccessError(message) from None
