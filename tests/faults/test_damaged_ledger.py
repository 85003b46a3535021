"""Damaged ledger files: a page overwritten with random bytes, a truncated file, a newer
schema version, a text file. Each is refused with one line (exit 7) by ``pytest --uetf``
and by every command that deletes or rewrites (``prune``, ``merge``, ``migrate``,
``push``), and is byte-identical afterwards. A zero-byte file is a new, empty ledger.

The ledger is made through the ledger's own writes, with enough runs that its pages
hold every kind of b-tree page; the damage is done to the bytes of the closed file.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import run_pytest
from uetf_core.cli import main as uetf
from uetf_core.errors import LedgerCorruptError
from uetf_core.ledger import Batch, NewRun, open_ledger, sqlite_file
from uetf_core.ledger.migrations import SCHEMA_VERSION

FAST = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
PAGE = 4096
RUNS = 30


def build_ledger(path: Path, runs: int = RUNS, tests: int = 60) -> None:
    """A ledger of ``runs`` finished runs of ``tests`` tests, closed (no WAL left)."""
    ledger = open_ledger(str(path))
    now = time.time() - runs * 60
    ids = [f"tests/test_m{i % 7}.py::test_{i}" for i in range(tests)]
    for r in range(runs):
        run_id = f"20260101T{r:06d}-{r:06x}"
        at = now + r * 60
        ledger.create_run(NewRun(run_id, "running", at, 1, "faults", "/faults", "0", {}))
        ledger.set_commit(run_id, f"{r:040x}", "main")
        ledger.add_tasks(run_id, ids)
        records = [
            (node_id, 1, "main", 0.001, 0.002, 0.001, at, at + 0.004, None) for node_id in ids
        ]
        ledger.write_batch(run_id, Batch(records=list(records)), at)
        ledger.set_run_state(run_id, "passed", finished_at=at + 1, exit_status=0)
    ledger.close()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "uetf.db"
    build_ledger(path)
    assert not Path(f"{path}-wal").exists()
    return path


def overwrite_page(number: int) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        data = bytearray(path.read_bytes())
        pages = len(data) // PAGE
        page = number if number > 0 else pages + number + 1  # -1: the last page
        noise = random.Random(page).randbytes(PAGE)
        data[(page - 1) * PAGE : page * PAGE] = noise
        path.write_bytes(bytes(data))

    return damage


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2 + 100])


def newer_version(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[60:64] = (SCHEMA_VERSION + 1).to_bytes(4, "big")  # the header's user_version
    path.write_bytes(bytes(data))


def text_file(path: Path) -> None:
    path.write_text("[tool.uetf]\nledger = 'this was never a database'\n" * 50)


DAMAGES = {
    "page 2 random": overwrite_page(2),
    "page 9 random": overwrite_page(9),
    "middle page random": overwrite_page(RUNS),
    "last page random": overwrite_page(-1),
    "truncated": truncate,
    "newer user_version": newer_version,
    "text file": text_file,
}
REFUSED = {
    "truncated": "damaged",
    "newer user_version": "newer than this UETF",
    "text file": "damaged (file is not a database)",
}


@pytest.fixture(params=sorted(DAMAGES))
def damaged(request: pytest.FixtureRequest, template: Path, tmp_path: Path) -> tuple[Path, str]:
    """A project whose ledger is damaged one way; the line that must refuse it."""
    path = tmp_path / ".ledger" / "uetf.db"
    path.parent.mkdir()
    shutil.copyfile(template, path)
    DAMAGES[request.param](path)
    return path, REFUSED.get(request.param, "the ledger is damaged")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_line(text: str, expected: str) -> None:
    lines = [line for line in text.splitlines() if expected in line]
    assert lines, text
    assert "Traceback" not in text


def test_a_run_refuses_a_damaged_ledger_untouched(damaged: tuple[Path, str]) -> None:
    """``pytest --uetf`` on a damaged ledger exits 7 with one line and writes nothing."""
    path, expected = damaged
    root = path.parent.parent
    (root / "test_a.py").write_text("def test_a():\n    pass\n")
    before = digest(path)
    result = run_pytest(root, "-p", "pytest_uetf.plugin", "--uetf", env=FAST)
    assert result.returncode == 7, result.stdout + result.stderr
    one_line(result.stdout + result.stderr, expected)
    assert digest(path) == before
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0


def _commands(path: Path, good: Path, tmp: Path) -> dict[str, list[str]]:
    return {
        "prune": ["prune", "--keep", "1", "--ledger", str(path)],
        "merge into it": ["merge", "--into", str(path), str(good)],
        "merge from it": ["merge", "--into", str(tmp / "merged.db"), str(path)],
        "migrate from it": ["migrate", "--from", f"sqlite:{path}", "--to", str(tmp / "to.db")],
        "migrate into it": ["migrate", "--from", f"sqlite:{good}", "--to", str(path)],
        "push from it": ["push", str(path), "--ledger", str(tmp / "to.db")],
        "push into it": ["push", str(good), "--ledger", str(path)],
    }


def test_destructive_commands_refuse_a_damaged_ledger_untouched(
    damaged: tuple[Path, str], template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """prune, merge, migrate and push, with the damaged file as target or source, exit 7
    with one line; the damaged file is byte-identical and no target received a run."""
    path, expected = damaged
    good = tmp_path / "good.db"
    shutil.copyfile(template, good)
    before = digest(path)
    for name, argv in _commands(path, good, tmp_path).items():
        status = uetf(argv)
        out, err = capsys.readouterr()
        assert status == 7, (name, out, err)
        one_line(err, expected)
        assert out == "", name
        assert digest(path) == before, name
    for made in ("merged.db", "to.db"):
        target = tmp_path / made
        if target.exists():  # created before the source was found damaged: empty
            assert sqlite3.connect(target).execute("SELECT count(*) FROM runs").fetchone()[0] == 0


def test_prune_of_a_damaged_ledger_deletes_nothing(template: Path, tmp_path: Path) -> None:
    """The issue's case: random bytes over page 2, then prune --keep 1 deletes no run."""
    path = tmp_path / "uetf.db"
    shutil.copyfile(template, path)
    overwrite_page(2)(path)
    assert uetf(["prune", "--keep", "1", "--ledger", str(path)]) == 7
    shutil.copyfile(template, path)
    assert uetf(["prune", "--keep", "1", "--ledger", str(path)]) == 0
    assert sqlite3.connect(path).execute("SELECT count(*) FROM runs").fetchone()[0] == 1


def test_damage_met_after_the_open_stops_every_write(template: Path, tmp_path: Path) -> None:
    """Damage the open check did not reach stops the write that meets it, and every
    write after it, with the same line."""
    path = tmp_path / "uetf.db"
    shutil.copyfile(template, path)
    db = sqlite3.connect(path)
    root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'runs'").fetchone()[0]
    db.close()
    ledger = open_ledger(str(path))
    try:
        # Another process damages the runs table's root page after this one opened it.
        with path.open("r+b") as raw:
            raw.seek((root - 1) * PAGE)
            raw.write(random.Random(7).randbytes(PAGE))
        ledger._db.execute("PRAGMA cache_size = 0")  # read the page again
        shutil.copyfile(path, tmp_path / "after.db")
        run = NewRun(
            "20270101T000000-ffffff", "running", time.time(), os.getpid(), "h", "/", "0", {}
        )
        with pytest.raises(LedgerCorruptError, match="the ledger is damaged") as first:
            ledger.create_run(run)
        with pytest.raises(LedgerCorruptError) as again:
            ledger.set_partial(run.run_id, "shard")
        assert str(again.value) == str(first.value)
        assert first.value.exit_code == 7
    finally:
        ledger.close()
    assert digest(path) == digest(tmp_path / "after.db")


def test_a_large_ledger_is_checked_table_by_table(
    template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the size checked whole, a run still finds damage in every table but the
    two that grow with each test; a command that deletes checks every page."""
    monkeypatch.setattr(sqlite_file, "FULL_CHECK_PAGES", 0)
    path = tmp_path / "uetf.db"
    shutil.copyfile(template, path)
    db = sqlite3.connect(path)
    root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'runs_state'").fetchone()[0]
    db.close()
    overwrite_page(root)(path)
    before = digest(path)
    with pytest.raises(LedgerCorruptError, match="the ledger is damaged"):
        open_ledger(str(path))
    assert digest(path) == before


def test_a_zero_byte_file_is_a_new_ledger(tmp_path: Path) -> None:
    """An empty file (made by touch, or a crash before the first commit) holds nothing to
    lose: a run makes it a ledger in place, and records into it."""
    root = tmp_path / "project"
    (root / ".ledger").mkdir(parents=True)
    path = root / ".ledger" / "uetf.db"
    path.touch()
    (root / "test_a.py").write_text("def test_a():\n    pass\n")
    result = run_pytest(root, "-p", "pytest_uetf.plugin", "--uetf", env=FAST)
    assert result.returncode == 0, result.stdout + result.stderr
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("SELECT state FROM runs").fetchall() == [("passed",)]
