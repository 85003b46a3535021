"""Resolving the run configuration from pyproject.toml, the environment and options."""

from __future__ import annotations

from pathlib import Path

import pytest

from uetf_core.config import CliOptions, read_pyproject, resolve_config
from uetf_core.errors import ConfigError


def test_defaults(tmp_path: Path, validate) -> None:  # type: ignore[no-untyped-def]
    """With nothing configured the ledger is .ledger/uetf.db under the rootdir."""
    config = resolve_config(tmp_path, {}, CliOptions(), env={})
    assert config.ledger == str(tmp_path / ".ledger" / "uetf.db")
    assert config.gates == ()
    validate("run_config", config.as_dict())


def test_precedence(tmp_path: Path) -> None:
    """Command line beats UETF_LEDGER, which beats [tool.uetf] ledger."""
    table = {"ledger": "from-toml.db"}
    env = {"UETF_LEDGER": "/abs/from-env.db"}
    assert resolve_config(tmp_path, table, CliOptions(), env={}).ledger == str(
        tmp_path / "from-toml.db"
    )
    assert resolve_config(tmp_path, table, CliOptions(), env=env).ledger == "/abs/from-env.db"
    cli = CliOptions(ledger="/abs/cli.db")
    assert resolve_config(tmp_path, table, cli, env=env).ledger == "/abs/cli.db"


def test_cli_gate_replaces_toml_gate(tmp_path: Path, validate) -> None:  # type: ignore[no-untyped-def]
    """A --uetf-gate for a gate declared in pyproject.toml replaces it; others stay."""
    table = {"gates": {"pass_rate": 100, "min_tests": 3}}
    config = resolve_config(tmp_path, table, CliOptions(gates=("pass_rate>=90",)), env={})
    assert [(g.name, g.threshold) for g in config.gates] == [
        ("min_tests", 3.0),
        ("pass_rate", 90.0),
    ]
    validate("run_config", config.as_dict())


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"ledgr": "x"}, "unknown key 'ledgr'; did you mean 'ledger'?"),
        ({"enabled": "yes"}, "key 'enabled' must be bool"),
        ({"batch_size": True}, "key 'batch_size' must be int"),
        ({"batch_size": 0}, "must be greater than 0"),
        ({"flush_interval": -1}, "must be greater than 0"),
        ({"gate_mode": "loud"}, "is not 'fail' or 'warn'"),
        ({"gates": {"pass_rat": 1}}, "unknown gate 'pass_rat'"),
        ({"ledger": "  "}, "ledger location is empty"),
    ],
)
def test_bad_config_is_one_clear_error(tmp_path: Path, table: dict, message: str) -> None:
    """A wrong key or value raises ConfigError naming it, on one line."""
    with pytest.raises(ConfigError) as info:
        resolve_config(tmp_path, table, CliOptions(), env={})
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_read_pyproject(tmp_path: Path) -> None:
    """[tool.uetf] is read from the rootdir's pyproject.toml; a broken file is one error."""
    assert read_pyproject(tmp_path) == ({}, None)
    (tmp_path / "pyproject.toml").write_text('[tool.uetf]\nledger = "l.db"\n')
    assert read_pyproject(tmp_path)[0] == {"ledger": "l.db"}
    (tmp_path / "pyproject.toml").write_text("[tool.uetf\n")
    with pytest.raises(ConfigError, match="cannot read it as TOML"):
        read_pyproject(tmp_path)


def test_routing_order_and_prices_from_pyproject(tmp_path: Path) -> None:
    table = {
        "dist": "module",
        "order": "new-first",
        "costs": {"cpu_seconds": 0.1, "currency": "eur"},
    }
    config = resolve_config(tmp_path, table, CliOptions(), env={})
    assert (config.dist, config.order, config.prices["currency"]) == ("module", "new-first", "eur")
    assert resolve_config(tmp_path, table, CliOptions(dist="hash"), env={}).dist == "hash"
    for bad, message in (({"dist": "random"}, "dist 'random'"), ({"order": "alpha"}, "order")):
        with pytest.raises(ConfigError, match=message):
            resolve_config(tmp_path, bad, CliOptions(), env={})
    on_ci = resolve_config(tmp_path, {}, CliOptions(shard="1/2"), env={"CI_PIPELINE_ID": "77"})
    assert on_ci.workstream == "77"
