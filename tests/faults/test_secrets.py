"""A ledger password in every form libpq takes never leaves the connection.

For each form (a URL's userinfo, ``password=`` in its query, the same percent-encoded,
libpq's ``keyword=value`` string) a real run records into PostgreSQL with every report
and a progress file, a second run meets no server and spools, and then every ``uetf``
command runs against the ledger. The password is searched for in all they print, in
every file written under the project (reports, the progress file, the spool and other
SQLite files, byte for byte) and in every column of every table on the server: it is
found 0 times.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from conftest import PG_PASSWORD, git, new_database, record_run, run_pytest
from uetf_core.cli import main

FAST = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
ENCODED = "".join(f"%{byte:02X}" for byte in PG_PASSWORD.encode())
# The password as written in any of the forms, and as a driver would decode it.
NEEDLES = (PG_PASSWORD, ENCODED, ENCODED.lower())

FORMS: dict[str, Callable[[dict[str, Any]], str]] = {
    "userinfo": lambda s: (
        f"postgresql://{s['user']}:{PG_PASSWORD}@{s['host']}:{s['port']}/{s['db']}"
    ),
    "query": lambda s: (
        f"postgresql://{s['user']}@{s['host']}:{s['port']}/{s['db']}"
        f"?sslmode=disable&password={PG_PASSWORD}&application_name=t"
    ),
    "query-encoded": lambda s: (
        f"postgresql://{s['user']}@{s['host']}:{s['port']}/{s['db']}?pass%77ord={ENCODED}"
    ),
    "keywords": lambda s: (
        f"host={s['host']} port={s['port']} user={s['user']}"
        f" password='{PG_PASSWORD}' dbname={s['db']}"
    ),
}

PROJECT = {
    "calc/__init__.py": "",
    "calc/ops.py": "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n",
    "tests/test_ops.py": (
        "from calc.ops import add, sub\n\n\n"
        "def test_add():\n    assert add(1, 2) == 3\n\n\n"
        "def test_sub():\n    assert sub(3, 1) == 1, 'subtraction is wrong'\n"
    ),
}
REPORTS = ("json", "markdown", "html", "junit", "github", "cobertura")


def _leaks(text: str | bytes) -> list[str]:
    data = text if isinstance(text, bytes) else text.encode("utf-8", "replace")
    return [needle for needle in NEEDLES if needle.encode() in data]


def _server_rows(url: str) -> list[Any]:
    """Every value of every table of the ledger's database."""
    import psycopg

    values: list[Any] = []
    with psycopg.connect(url) as db:
        tables = db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
        for (table,) in tables:
            for row in db.execute(f"SELECT * FROM {table}"):
                values.extend(row)
    return values


def _project(root: Path) -> Path:
    root.mkdir()
    for name, text in PROJECT.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    git(root, "init", "-q", "-b", "main")
    git(root, "-c", "user.email=t@example.invalid", "-c", "user.name=t", "add", "-A")
    git(root, "-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-qm", "x")
    return root


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("form", sorted(FORMS))
def test_no_command_report_file_or_table_holds_the_password(
    form: str,
    tmp_path: Path,
    postgres_server: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every output, file and table of a run and of every uetf command, with the
    password in this form of the ledger location: the password is found 0 times."""
    server = urlsplit(postgres_server["url"])
    url = new_database(postgres_server["url"])
    parts = {"user": server.username, "host": server.hostname, "port": server.port}
    location = FORMS[form]({**parts, "db": url.rsplit("/", 1)[1]})
    away = FORMS[form]({**parts, "port": _closed_port(), "db": "nowhere"})
    root = _project(tmp_path / "project")
    out = tmp_path / "out"
    out.mkdir()
    printed: list[str] = []

    reports = [f"--uetf-report={kind}:{out / kind}" for kind in REPORTS]
    done = run_pytest(
        root,
        "-p",
        "pytest_uetf.plugin",
        "--uetf",
        f"--uetf-ledger={location}",
        "--uetf-cov=calc",
        f"--uetf-progress={out / 'progress.json'}",
        "--uetf-workstream=ci-7",
        *reports,
        env=FAST,
    )
    assert done.returncode == 1, done.stdout + done.stderr  # test_sub fails
    lines = done.stdout.splitlines()
    (first,) = [i for i, line in enumerate(lines) if line.startswith("uetf: run ")]
    final = lines[first] + lines[first + 1]  # the ledger may follow on an indented line
    assert "=***" in final or ":***@" in final, final
    spooled = run_pytest(
        root,
        "-p",
        "pytest_uetf.plugin",
        "--uetf",
        f"--uetf-ledger={away}",
        env=FAST | {"UETF_PG_RETRIES": "0"},
    )
    assert "uetf push" in spooled.stdout, spooled.stdout + spooled.stderr
    printed += [done.stdout, done.stderr, spooled.stdout, spooled.stderr]
    (spool,) = (root / ".ledger" / "spool").glob("*.db")
    local = record_run(tmp_path / "local", ["t.py::a"], ["t.py::b"])  # a SQLite ledger
    local.ledger.close()
    sqlite_file = tmp_path / "local" / ".ledger" / "uetf.db"

    for name in [k for k in os.environ if k.startswith(("UETF_", "PYTEST_ADDOPTS"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("UETF_PG_RETRIES", "0")
    monkeypatch.chdir(root)
    commands = [
        ["runs"],
        ["runs", "--json"],
        ["show", "last"],
        ["show", "last", "--json"],
        ["gate", "last"],
        ["gate", "--workstream", "ci-7", "--report", f"markdown:{out / 'ws.md'}"],
        ["watch", "last", "--timeout", "0.2", "--interval", "0.05"],
        ["costs", "last"],
        ["costs", "last", "--json"],
        ["flaky"],
        ["flaky", "--json"],
        ["history", "tests/test_ops.py::test_sub"],
        ["history", "tests/test_ops.py::test_sub", "--json"],
        ["plan", "--shards", "2"],
        ["plan", "--shards", "2", "--json"],
        ["report", "last", "--format", "markdown", "--format", f"html:{out / 'again.html'}"],
        ["coverage", "export", "last", str(out / ".coverage")],
        ["doctor"],
        ["prune", "--keep", "5", "--dry-run"],
        ["prune", "--keep", "5"],
        ["push", str(spool)],
    ]
    for argv in commands:
        status = main([*argv, "--ledger", location])
        captured = capsys.readouterr()
        assert status in (0, 1, 6), (argv, captured.out, captured.err)
        printed += [captured.out, captured.err]
    for argv in (
        ["migrate", "--from", f"sqlite:{sqlite_file}", "--to", location],
        ["merge", "--into", location, str(sqlite_file)],
        ["runs", "--ledger", away],  # an error line about the location
        [
            "runs",
            "--ledger",
            location.replace(PG_PASSWORD, "Wrong-Pa55").replace(ENCODED, "%41%42%43%44"),
        ],
    ):
        status = main(argv)
        captured = capsys.readouterr()
        printed += [captured.out, captured.err]
        assert status in (0, 7), (argv, captured.out, captured.err)

    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert len([p for p in written if p.parent == out]) >= len(REPORTS) + 3
    found = {
        "output": [n for text in printed for n in _leaks(text)],
        "files": [(str(p), n) for p in written for n in _leaks(p.read_bytes())],
        "tables": [
            n
            for value in _server_rows(url)
            for n in _leaks(value if isinstance(value, bytes) else str(value))
        ],
    }
    assert found == {"output": [], "files": [], "tables": []}
    assert "Wrong-Pa55" not in "".join(printed)
    assert "uetf: uetf:" not in "".join(printed)
