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
        ({"batch_size": 0}, "key 'batch_size' must be a whole number >= 1"),
        ({"flush_interval": -1}, "key 'flush_interval' must be a finite number > 0"),
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


NON_FINITE = [float("nan"), float("inf"), float("-inf")]


@pytest.mark.parametrize(
    "key", ["flush_interval", "stale_after", "stall_timeout", "progress_interval"]
)
@pytest.mark.parametrize("value", [*NON_FINITE, 0, -1, 10**400, 1e300])
def test_a_number_out_of_range_is_refused(tmp_path: Path, key: str, value: float) -> None:
    """NaN, infinity, zero, a negative and a huge value of a seconds key: one line naming
    the key and its range (flush_interval = nan once turned every write off)."""
    with pytest.raises(ConfigError) as caught:
        resolve_config(tmp_path, {key: value}, CliOptions(), env={})
    message = str(caught.value)
    assert f"key {key!r} must be a finite number > 0 and <= " in message
    assert "\n" not in message and caught.value.exit_code == 4


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("batch_size", 10**20),
        ("batch_size", 0),
        ("min_patch_lines", -1),
        ("min_patch_lines", 10**7),
    ],
)
def test_a_whole_number_out_of_range_is_refused(tmp_path: Path, key: str, value: int) -> None:
    """batch_size = 100000000000000000000 and the like: refused with the allowed range."""
    with pytest.raises(ConfigError, match=f"key {key!r} must be a whole number >= "):
        resolve_config(tmp_path, {key: value}, CliOptions(), env={})


def test_toml_nan_is_refused(tmp_path: Path) -> None:
    """``flush_interval = nan`` as TOML writes it (a float TOML allows) is a usage error."""
    (tmp_path / "pyproject.toml").write_text("[tool.uetf]\nflush_interval = nan\n")
    table, path = read_pyproject(tmp_path)
    with pytest.raises(ConfigError, match="'flush_interval' must be a finite number"):
        resolve_config(tmp_path, table, CliOptions(), env={}, pyproject=path)


@pytest.mark.parametrize("value", [*NON_FINITE, 0.0, 1e9])
def test_stall_timeout_option_is_checked(tmp_path: Path, value: float) -> None:
    """--uetf-stall-timeout=nan (or inf, 0, a billion seconds) names the option."""
    with pytest.raises(ConfigError, match=r"^uetf: --uetf-stall-timeout must be "):
        resolve_config(tmp_path, {}, CliOptions(stall_timeout=value), env={})


def test_bounds_are_allowed(tmp_path: Path, validate) -> None:  # type: ignore[no-untyped-def]
    """The highest value of every numeric key is accepted and validates against the schema."""
    from uetf_core.config import LIMITS

    table = {key: int(high) for key, (_, _, high) in LIMITS.items()}
    config = resolve_config(tmp_path, table, CliOptions(), env={})
    assert config.flush_interval == 3600 and config.batch_size == 1_000_000
    validate("run_config", config.as_dict())


def test_schema_states_the_ranges() -> None:
    """run_config.v1.json gives each numeric key the same bounds as the code."""
    from uetf_core.config import LIMITS
    from uetf_core.schemas import load_all

    properties = load_all()["run_config"]["properties"]
    for key, (low, low_allowed, high) in LIMITS.items():
        entry = properties[key]
        assert entry["minimum" if low_allowed else "exclusiveMinimum"] == low, key
        assert entry["maximum"] == high, key


@pytest.mark.parametrize(
    ("gate", "message"),
    [
        ("max_failures<=1.5", "gate 'max_failures' is a count: give a whole number"),
        ("min_tests>=2.5", "gate 'min_tests' is a count"),
        ("new_failures<=0.1", "gate 'new_failures' is a count"),
        ("test_count_drop<=nan", "needs a finite number >= 0"),
        ("max_flaky<=inf", "needs a finite number >= 0"),
        ("pass_rate>=nan", "needs a finite number >= 0"),
        ("max_duration<=1e400s", "needs a finite number >= 0"),
    ],
)
def test_gate_threshold_must_be_finite_and_whole_for_counts(
    tmp_path: Path, gate: str, message: str
) -> None:
    """A gate threshold of nan or inf is refused; a gate that counts needs a whole number."""
    with pytest.raises(ConfigError, match=message):
        resolve_config(tmp_path, {}, CliOptions(gates=(gate,)), env={})


@pytest.mark.parametrize("shard", ["1/99999999999999", "1/10001", "0/4", "5/4", "x/4", "1/"])
def test_shard_out_of_range_is_one_line(tmp_path: Path, shard: str) -> None:
    """--uetf-shard=1/99999999999999 is a usage error naming the limit, not a MemoryError."""
    with pytest.raises(ConfigError, match="--uetf-shard") as caught:
        resolve_config(tmp_path, {}, CliOptions(shard=shard, workstream="w"), env={})
    assert "\n" not in str(caught.value)
