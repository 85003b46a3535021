"""A healthy ledger on a bad day: a full disk, read-only media, no permission, a lock held
by another process, and ledger settings that name no usable place. Each gets its own
line naming the cause and the fix, never the advice to move a good file aside; commands
that only read work on a ledger they cannot write.

A full disk is made with SQLite's ``max_page_count`` on the run's own connection (no
root needed) and, where this process may mount, with a small tmpfs. Read-only media is
a tmpfs remounted read-only when running as root (root ignores file permissions), and
read-only permissions otherwise.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import run_pytest, run_uetf
from uetf_core.cli import main as uetf
from uetf_core.errors import LedgerLockedError
from uetf_core.ledger import NewRun, open_ledger, sqlite_file

FAST = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
ROOT = os.geteuid() == 0
MOVE_ASIDE = ("move it aside", "not a readable ledger", "damaged")


def pytest_uetf(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_pytest(root, "-p", "pytest_uetf.plugin", "--uetf", *args, env=FAST)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_one_line(output: str, expected: str) -> None:
    """``expected`` is said, no traceback is shown, and no advice to discard the file."""
    assert expected in output, output
    assert "Traceback" not in output and "INTERNALERROR" not in output, output
    assert not any(words in output for words in MOVE_ASIDE), output


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with a ledger of two real runs, one with a failure."""
    root = tmp_path_factory.mktemp("recorded")
    (root / "test_a.py").write_text("def test_a():\n    pass\n\n\ndef test_b():\n    assert 0\n")
    for _ in range(2):
        assert pytest_uetf(root).returncode == 1
    return root


def _tmpfs(path: Path, size: str) -> bool:
    path.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    return done.returncode == 0


@contextlib.contextmanager
def mounted(path: Path, size: str) -> Iterator[Path]:
    if not ROOT or not _tmpfs(path, size):
        pytest.skip("mounting a tmpfs needs root and the right to mount here")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


# -- a full disk ---------------------------------------------------------------

# Once 120 tests ran, the ledger may not grow: its size is its connection's limit.
FILL_CONFTEST = """
def pytest_runtest_logreport(report):
    import pytest
    if report.when == "teardown" and report.nodeid.endswith("[120]"):
        config = pytest.uetf_config
        db = config.pluginmanager.get_plugin("uetf-controller").run.recorder.ledger._db
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages}")


def pytest_configure(config):
    import pytest
    pytest.uetf_config = config
"""


def test_a_run_stopped_by_a_full_disk_ends_with_its_own_reason(tmp_path: Path) -> None:
    """A full disk stops the run with one line (exit 7); the run is errored with the
    reason 'ledger disk full', not interrupted, and keeps every batch written before."""
    (tmp_path / "pyproject.toml").write_text("[tool.uetf]\nbatch_size = 50\n")
    (tmp_path / "conftest.py").write_text(FILL_CONFTEST)
    (tmp_path / "test_many.py").write_text(
        "import pytest\n\n\n@pytest.mark.parametrize('i', range(1000))\n"
        "def test_many_with_a_long_name_to_need_pages_xxxxxxxxxxxxxxxxxxxxxxxxxxxxx(i):\n"
        "    pass\n"
    )
    result = pytest_uetf(tmp_path)
    assert result.returncode == 7, result.stdout + result.stderr
    assert_one_line(result.stdout + result.stderr, "ledger disk full")
    summary = json.loads(run_uetf(tmp_path, "show", "last", "--json").stdout)
    assert (summary["state"], summary["end_reason"]) == ("errored", "ledger disk full")
    db = sqlite3.connect(tmp_path / ".ledger" / "uetf.db")
    assert db.execute("SELECT count(*) FROM executions").fetchone()[0] >= 100
    assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_a_full_disk_keeps_the_ledger_readable(recorded: Path, tmp_path: Path) -> None:
    """On a disk with no byte left, a run and prune say the disk is full, and the
    commands that read still show the ledger."""
    with mounted(tmp_path / "disk", "512k") as disk:
        ledger = disk / "uetf.db"
        shutil.copyfile(recorded / ".ledger" / "uetf.db", ledger)
        filler = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)
        with contextlib.suppress(OSError):
            while True:
                os.write(filler, b"\0" * 4096)
        os.close(filler)
        result = pytest_uetf(recorded, f"--uetf-ledger={ledger}")
        assert result.returncode == 7
        assert_one_line(result.stdout + result.stderr, "ledger disk full")
        pruned = run_uetf(recorded, "prune", "--keep", "1", "--ledger", str(ledger))
        assert pruned.returncode == 7
        assert_one_line(pruned.stderr, "ledger disk full")
        shown = run_uetf(recorded, "runs", "--ledger", str(ledger))
        assert shown.returncode == 0, shown.stderr
        assert len(shown.stdout.splitlines()) == 3  # the header and both runs


# -- read-only media and permissions ------------------------------------------------

READING = (
    ["runs"],
    ["runs", "--json"],
    ["show", "last"],
    ["history", "test_a.py::test_b"],
    ["flaky"],
    ["costs", "last"],
    ["report", "last", "--format", "json"],
    ["gate", "last"],
    ["doctor"],
)


@pytest.fixture
def read_only(recorded: Path, tmp_path: Path) -> Iterator[Path]:
    """The recorded ledger on read-only media: a tmpfs remounted read-only as root,
    a folder and file without write permission otherwise."""
    if ROOT:
        with mounted(tmp_path / "media", "4m") as media:
            shutil.copyfile(recorded / ".ledger" / "uetf.db", media / "uetf.db")
            subprocess.run(["mount", "-o", "remount,ro", str(media)], check=True)
            yield media / "uetf.db"
        return
    folder = tmp_path / "media"
    folder.mkdir()
    shutil.copyfile(recorded / ".ledger" / "uetf.db", folder / "uetf.db")
    (folder / "uetf.db").chmod(0o444)
    folder.chmod(0o555)
    yield folder / "uetf.db"
    folder.chmod(0o755)


def test_commands_that_read_work_on_read_only_media(
    read_only: Path, recorded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """runs, show, history, flaky, costs, report, gate and doctor read a ledger on
    read-only media, and the file is left as it was."""
    before = digest(read_only)
    for argv in READING:
        status = uetf([*argv, "--ledger", str(read_only)])
        out, err = capsys.readouterr()
        # gate repeats the run's own exit status: a test of the run failed.
        assert status == (1 if argv[0] == "gate" else 0), (argv, err)
        assert "Traceback" not in err and out, argv
    assert digest(read_only) == before


def test_writing_to_read_only_media_names_the_media(read_only: Path, recorded: Path) -> None:
    """A run and prune on read-only media exit 7 with one line naming read-only media."""
    result = pytest_uetf(recorded, f"--uetf-ledger={read_only}")
    assert result.returncode == 7
    assert_one_line(result.stdout + result.stderr, "read-only media")
    pruned = run_uetf(recorded, "prune", "--keep", "1", "--ledger", str(read_only))
    assert pruned.returncode == 7
    assert_one_line(pruned.stderr, "read-only media")
    beside = pytest_uetf(recorded, f"--uetf-ledger={read_only.parent / 'new' / 'uetf.db'}")
    assert beside.returncode == 7
    assert_one_line(beside.stdout + beside.stderr, "read-only media")


def test_a_ledger_this_user_cannot_read_says_permission_denied(
    recorded: Path, tmp_path: Path
) -> None:
    """A ledger this user may not read is refused as a permission problem, not as a
    damaged file."""
    if ROOT:
        pytest.skip("root reads every file: permission is tested as another user")
    ledger = tmp_path / "private" / "uetf.db"
    ledger.parent.mkdir()
    shutil.copyfile(recorded / ".ledger" / "uetf.db", ledger)
    ledger.chmod(0o000)
    done = run_uetf(tmp_path, "runs", "--ledger", str(ledger))
    ledger.chmod(0o600)
    assert done.returncode == 7, done.stderr
    assert_one_line(done.stderr, "permission denied")


# -- a lock held by another process ----------------------------------------------

HOLD_LOCK = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(60)
"""


@pytest.fixture
def locked(recorded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the recorded ledger whose write lock another process holds; this
    process waits half a second for a lock instead of a minute."""
    ledger = tmp_path / "uetf.db"
    shutil.copyfile(recorded / ".ledger" / "uetf.db", ledger)
    monkeypatch.setattr(sqlite_file, "BUSY_TIMEOUT_S", 0.5)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(ledger)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        yield ledger
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_held_too_long_is_named_as_a_lock(
    locked: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A write that waits past the busy timeout fails with one line naming the lock;
    reading commands do not wait for it; the ledger is unchanged."""
    before = digest(locked)
    ledger = open_ledger(str(locked))
    try:
        started = time.monotonic()
        with pytest.raises(LedgerLockedError, match="locked by another process") as info:
            ledger.create_run(NewRun("20270101T000000-aaaaaa", "running", 0, 1, "h", "/", "0", {}))
        assert info.value.exit_code == 7
        assert time.monotonic() - started < 10
    finally:
        ledger.close()
    assert uetf(["prune", "--keep", "1", "--ledger", str(locked)]) == 7
    assert_one_line(capsys.readouterr().err, "locked by another process")
    assert uetf(["runs", "--ledger", str(locked)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3
    assert digest(locked) == before


def test_a_ledger_another_job_is_creating_is_waited_for(tmp_path: Path) -> None:
    """Jobs starting together on a fresh ledger: while one writes the new file (a write
    lock on it), another's open waits for it instead of failing at once with "locked"
    (SQLite answers turning a file to WAL without its busy handler)."""
    import threading

    path = tmp_path / "uetf.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("CREATE TABLE making (x)")
    releasing = threading.Timer(0.5, holder.execute, ("ROLLBACK",))
    releasing.start()
    try:
        started = time.monotonic()
        ledger = open_ledger(str(path))
        waited = time.monotonic() - started
        ledger.create_run(NewRun("20270101T000000-aaaaaa", "running", 0, 1, "h", "/", "0", {}))
        ledger.close()
    finally:
        releasing.join()
        holder.close()
    assert waited >= 0.4
    again = open_ledger(str(path))
    try:
        assert again.find_run("20270101T000000-aaaaaa")
    finally:
        again.close()


# -- ledger settings that name no usable place ------------------------------------------


def test_a_ledger_path_under_a_regular_file_is_a_usage_error(tmp_path: Path) -> None:
    """``--uetf-ledger=pyproject.toml/sub/uetf.db`` exits 4 with one line naming the file."""
    (tmp_path / "pyproject.toml").write_text("[tool.uetf]\n")
    (tmp_path / "test_a.py").write_text("def test_a():\n    pass\n")
    result = pytest_uetf(tmp_path, "--uetf-ledger=pyproject.toml/sub/uetf.db")
    assert result.returncode == 4, result.stdout + result.stderr
    assert_one_line(result.stdout + result.stderr, "pyproject.toml is a file, not a folder")


@pytest.mark.parametrize("where", ["option", "pyproject", "cli"])
def test_an_unknown_ledger_scheme_is_a_usage_error(tmp_path: Path, where: str) -> None:
    """``ledger = "mysql://x"``, as an option, in [tool.uetf] or to uetf, exits 4."""
    table = "[tool.uetf]\n" + ('ledger = "mysql://x"\n' if where == "pyproject" else "")
    (tmp_path / "pyproject.toml").write_text(table)
    (tmp_path / "test_a.py").write_text("def test_a():\n    pass\n")
    if where == "cli":
        result = run_uetf(tmp_path, "runs", "--ledger", "mysql://x")
    else:
        result = pytest_uetf(tmp_path, *(["--uetf-ledger=mysql://x"] if where == "option" else []))
    assert result.returncode == 4, result.stdout + result.stderr
    assert_one_line(result.stdout + result.stderr, "'mysql' is not supported")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("database or disk is full", "LedgerFullError"),
        ("database is locked", "LedgerLockedError"),
        ("attempt to write a readonly database", "LedgerReadOnlyError"),
        ("database disk image is malformed", "LedgerCorruptError"),
    ],
)
def test_an_error_without_its_code_is_told_by_sqlite_s_text(
    tmp_path: Path, text: str, error: str
) -> None:
    """Python 3.10's SQLite errors carry no result code (3.11 added it): the error is told
    by SQLite's own text for its code, so a full disk, a lock, read-only media and damage
    get the same line and exit code on every supported Python."""
    coded = sqlite3.OperationalError(text)
    assert getattr(coded, "sqlite_errorcode", None) is None  # as Python 3.10 raises it
    found = sqlite_file.ledger_error(tmp_path / "uetf.db", coded)
    assert type(found).__name__ == error
