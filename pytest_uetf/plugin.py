"""The pytest entry point: options, configuration, and the session object's lifetime.

Nothing here runs per test. When ``--uetf`` (or ``[tool.uetf] enabled``) is on,
a :class:`~pytest_uetf.session.UetfSession` is created on the controller,
registered, and kept in ``config.stash``; xdist workers never create one, so
they never open the ledger.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from uetf_core.config import CliOptions, read_pyproject, resolve_config
from uetf_core.errors import ConfigError, UetfError

if TYPE_CHECKING:
    pass

session_key = pytest.StashKey["UetfSession"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("uetf", "UETF: record, gate and judge the run")
    group.addoption(
        "--uetf",
        action="store_true",
        default=False,
        help="record this run in the ledger, evaluate the gates, exit with the verdict",
    )
    group.addoption(
        "--uetf-ledger",
        metavar="PATH",
        default=None,
        help="ledger location (default: $UETF_LEDGER, [tool.uetf] ledger, .ledger/uetf.db)",
    )
    group.addoption(
        "--uetf-gate",
        metavar="NAME OP VALUE",
        action="append",
        default=[],
        help="declare a gate, e.g. 'pass_rate>=100' or 'max_duration<=5m'; repeatable; "
        "replaces the same gate from [tool.uetf.gates]",
    )
    group.addoption(
        "--uetf-gate-mode",
        choices=("fail", "warn"),
        default=None,
        help="'fail': a violated gate fails the run (default); 'warn': report only",
    )


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from pytest_uetf import hooks

    pluginmanager.add_hookspecs(hooks)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    # Prevent opening the ledger on worker nodes (xdist): the controller records.
    if hasattr(config, "workerinput"):
        return
    try:
        table, pyproject = read_pyproject(config.rootpath)
        if not (config.option.uetf or table.get("enabled") is True):
            return
        cli = CliOptions(
            ledger=config.option.uetf_ledger,
            gates=tuple(config.option.uetf_gate),
            gate_mode=config.option.uetf_gate_mode,
        )
        run_config = resolve_config(config.rootpath, table, cli, os.environ, pyproject)
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    from pytest_uetf.session import UetfSession

    session = UetfSession(config, run_config)
    config.stash[session_key] = session
    config.pluginmanager.register(session, "uetf-session")


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(session_key, None)
    if session is not None:
        del config.stash[session_key]
        session.close()
        config.pluginmanager.unregister(session)


def exit_on(error: UetfError) -> None:
    """End the pytest session with the error's one line and its documented exit code."""
    pytest.exit(str(error), returncode=error.exit_code)
