"""Fixtures shared by UETF's own tests; enables pytester for the plugin's tests."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["pytester"]


@pytest.fixture
def validate() -> Callable[[str, Any], None]:
    """Assert that a document validates against the shipped schema of that name."""
    from uetf_core.schemas import errors_of

    def check(name: str, document: Any) -> None:
        problems = errors_of(name, document)
        assert not problems, f"{name}: {problems[:3]}"

    return check


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` (no shell) and return its output."""
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout


def run_pytest(
    cwd: Path,
    *args: str,
    timeout: float = 180,
    env: dict[str, str] | None = None,
    autoload: bool = False,
) -> subprocess.CompletedProcess[str]:
    """pytest in a fresh process in ``cwd``, free of this session's xdist and UETF variables.

    ``env`` adds variables (a CI's, say) to that clean environment. The process
    loads UETF (and xdist, when the arguments ask for workers) and no other
    installed plugin, as a project that names its plugins does: a second each
    spared. ``autoload=True`` loads every installed plugin, for the tests of how
    UETF lives among them.
    """
    clean = ("PYTEST_", "COV_", "UETF_", "GITHUB_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(clean)} | (env or {})
    # Tests edit a project's sources between runs, often one character for another
    # within a second: Python's and pytest's caches of compiled code key on the
    # source's mtime in whole seconds and its size, and would run the old code.
    # The projects' code is never cached; what is cached already is still read.
    env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    named: list[str] = []
    if not autoload and env.setdefault("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1"):
        named = ["-p", "pytest_uetf.plugin"]
        named_xdist = any(a in ("xdist", "xdist.plugin") for a in args)
        if not named_xdist and any(_asks_for_workers(arg) for arg in args):
            named += ["-p", "xdist.plugin"]
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *named, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def _asks_for_workers(arg: str) -> bool:
    """Whether a pytest argument is one of xdist's (``-n 2``, ``-n2``, ``--dist``...)."""
    return (
        arg in ("-n", "--dist", "-d", "--tx")
        or arg.startswith(("--numprocesses", "--dist=", "--tx=", "--max-worker-restart"))
        or (arg.startswith("-n") and arg[2:].isdigit())
    )


def run_uetf(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The ``uetf`` command in a fresh process in ``cwd``, free of this session's variables."""
    clean = ("PYTEST_", "UETF_", "GITHUB_")
    base = {k: v for k, v in os.environ.items() if not k.startswith(clean)}
    return subprocess.run(
        [sys.executable, "-m", "uetf_core.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=base | (env or {}),
    )


def uetf_summary(root: Path) -> Any:
    """``uetf show last --json`` of the ledger in ``root``, parsed."""
    import json

    done = run_uetf(root, "show", "last", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def git_project(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    """Make a real git repository in tmp_path with the given files committed."""

    def make(files: dict[str, str]) -> Path:
        return make_repo(tmp_path / "project", files)

    return make


def make_repo(root: Path, files: dict[str, str]) -> Path:
    """A real git repository at ``root`` (on ``main``) with ``files`` committed."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.invalid")
    git(root, "config", "user.name", "UETF tests")
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    return root


def record_run(
    root: Path,
    passing: Sequence[str],
    failing: Sequence[str],
    gates: Sequence[str] = ("pass_rate>=100",),
    traceback_lines: int = 20,
    **cli: Any,
) -> Any:
    """Record one finished run in ``root``'s ledger with uetf_core alone (no pytest).

    ``passing`` and ``failing`` are node ids; ``cli`` are more CliOptions
    (a shard, a workstream). Drives the run session as the plugin does, and
    returns its RunRecorder; close its ledger when done.
    """
    from uetf_core.config import CliOptions, resolve_config
    from uetf_core.records import ErrorCapture, ExecutionRecord, PhaseResult
    from uetf_core.session import RunSession

    config = resolve_config(root, {}, CliOptions(gates=tuple(gates), **cli), env={})
    run = RunSession(config, root)
    recorder = run.begin()
    run.collected([*passing, *failing])
    run.start_tests()
    run.worker_ready("controller")
    ok = PhaseResult("passed", 0.001)
    for i, node_id in enumerate(passing):
        run.record(
            ExecutionRecord(
                node_id,
                1,
                "controller",
                "passed",
                ok,
                ok,
                ok,
                0.003 + i * 1e-6,
                1.0,
                1.1,
                cpu=0.002,
            )
        )
    bad = PhaseResult("failed", 0.002)
    for node_id in failing:
        trace = "\n".join(f"{node_id}:{n}: in frame {n}" for n in range(traceback_lines))
        error = ErrorCapture.bounded(
            node_id,
            1,
            "call",
            "AssertionError",
            f"{node_id} went wrong",
            "tests/test_x.py",
            7,
            trace,
        )
        run.record(
            ExecutionRecord(
                node_id, 1, "controller", "failed", ok, bad, ok, 0.004, 1.0, 1.1, error=error
            )
        )
    run.finish(1 if failing else 0)
    return recorder


# -- a real PostgreSQL server for the ledger's second back end ---------------------------

PG_PASSWORD = "s3cret-Pa55"  # tests check it never appears in output, reports or the ledger


def _pg_bindir() -> Path | None:
    import shutil

    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return candidates[-1].parent if candidates else None


@contextlib.contextmanager
def postgres_instance() -> Iterator[dict[str, Any]]:
    """Start a PostgreSQL server: initdb into a temporary folder, a free port; stop it after.

    Also used by benchmarks/postgres.py. Runs the server as the postgres user when
    started as root (initdb refuses root).
    """
    import shutil
    import socket
    import tempfile

    bindir = _pg_bindir()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL's pg_ctl is not installed (Debian: postgresql)")
    root = Path(tempfile.mkdtemp(prefix="uetf-pg-"))
    (root / "pw").write_text(PG_PASSWORD)
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
        shutil.chown(root / "pw", "postgres")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    subprocess.run(
        [
            *as_user,
            str(bindir / "initdb"),
            "-D",
            str(root / "data"),
            "-U",
            "uetf",
            f"--pwfile={root / 'pw'}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
        ],
        check=True,
        capture_output=True,
    )
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
    )
    pg_ctl = [*as_user, str(bindir / "pg_ctl"), "-D", str(root / "data")]
    subprocess.run(
        [*pg_ctl, "-o", options, "-w", "-l", str(root / "log"), "start"],
        check=True,
        capture_output=True,
    )
    try:
        yield {
            "url": f"postgresql://uetf:{PG_PASSWORD}@127.0.0.1:{port}",
            "bindir": bindir,
            "data": root / "data",
            "as_user": as_user,
            "options": options,
            "root": root,
        }
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def new_database(server_url: str) -> str:
    """A new, empty database on the server, as a ledger URL."""
    import uuid

    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return f"{server_url}/{name}"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[dict[str, Any]]:
    """This session's PostgreSQL server. Skipped where PostgreSQL is not installed, unless
    UETF_REQUIRE_POSTGRES is set (CI installs Debian's postgresql and sets it)."""
    if _pg_bindir() is None:
        if os.environ.get("UETF_REQUIRE_POSTGRES"):
            pytest.fail("UETF_REQUIRE_POSTGRES is set but PostgreSQL's pg_ctl is not installed")
        pytest.skip("PostgreSQL is not installed (CI installs Debian's postgresql)")
    pytest.importorskip("psycopg")
    with postgres_instance() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: dict[str, Any]) -> str:
    """A new, empty database on the session's server, as a ledger URL (with its password)."""
    return new_database(postgres_server["url"])


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a ledger test puts its ledger: one suite, run on both back ends."""
    if request.param == "sqlite":
        return str(tmp_path / "l.db")
    return str(request.getfixturevalue("postgres_url"))
