"""The table of settings makes the plugin's options, ``RunConfig`` and ``CliOptions``
(uetf_core/run_config.py) and schema/run_config.v1.json, and they are current; the
stored document is what it has been."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from uetf_core.config import KEYS, LIMITS, SELECT_MODES, CliOptions, RunConfig, resolve_config
from uetf_core.errors import ConfigError
from uetf_core.gates.spec import MODES, parse_gate
from uetf_core.planning import ORDERS, STRATEGIES
from uetf_core.settings import RECORDED, SETTINGS, TO_JSON, Setting, options, stored
from uetf_core.waivers import Waiver

ROOT = Path(__file__).parent.parent
SCHEMA = json.loads((ROOT / "schema" / "run_config.v1.json").read_text("utf-8"))
PROPERTIES = SCHEMA["properties"]
JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}


def generator(name: str) -> ModuleType:
    """A generator of docs/, loaded as the tests of docs/ load it."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "docs" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The stored run_config of three configurations, as the ledger writes it
# (json.dumps), spelled out: a change to RunConfig or the table that changes what a
# run stores fails here.
DEFAULTS = (
    '{"enabled": false, "ledger": "/repo/.ledger/uetf.db", "gate_mode": "fail",'
    ' "gates": [], "batch_size": 500, "flush_interval": 1.0, "stale_after": 3600.0,'
    ' "rootdir": "/repo", "sources": {}, "cov_source": [], "base": null,'
    ' "diff_file": null, "baseline": null, "min_patch_lines": 1, "reports": [],'
    ' "dist": null, "order": null, "select": "off", "impact_inputs": [], "shard": null,'
    ' "workstream": null, "phase": "test", "depends_on": [], "waivers": [], "prices": {},'
    ' "progress_file": null, "stall_timeout": 600.0, "progress_interval": 5.0}'
)
EVERY_FIELD_SET = (
    '{"enabled": true, "ledger": "postgresql://ci:***@db.example/uetf",'
    ' "gate_mode": "warn", "gates": [{"name": "pass_rate", "op": ">=", "threshold": 90.0,'
    ' "mode": "fail", "unit": "%", "path": null}, {"name": "max_duration", "op": "<=",'
    ' "threshold": 300.0, "mode": "fail", "unit": "s", "path": null}], "batch_size": 64,'
    ' "flush_interval": 0.25, "stale_after": 120.0, "rootdir": "/repo",'
    ' "sources": {"pyproject": "/repo/pyproject.toml", "cli": ["pass_rate>=90"],'
    ' "env": []}, "cov_source": ["pkg", "src/other"], "base": "origin/main",'
    ' "diff_file": "change.diff", "baseline": "20260101T000000-abcdef",'
    ' "min_patch_lines": 3, "reports": ["json", "html:out/r.html"], "dist": "duration",'
    ' "order": "failed-first", "select": "affected", "impact_inputs": ["data/*.json"],'
    ' "shard": "1/3", "workstream": "build-7", "phase": "unit", "depends_on": ["lint"],'
    ' "waivers": [{"gate": null, "test": "tests/test_x.py::test_y", "owner": "ana",'
    ' "reason": "flaky upstream", "link": "https://example.org/1",'
    ' "expires": "2027-01-31"}], "prices": {"cpu_seconds": 5e-05, "currency": "usd"},'
    ' "progress_file": "progress.json", "stall_timeout": 90.5, "progress_interval": 2.0}'
)
RESOLVED = (
    '{"enabled": false, "ledger": "postgresql://u:***@h:5432/led", "gate_mode": "fail",'
    ' "gates": [{"name": "coverage", "op": ">=", "threshold": 80.0, "mode": "fail",'
    ' "unit": "%", "path": null}, {"name": "min_tests", "op": ">=", "threshold": 5.0,'
    ' "mode": "warn", "unit": null, "path": null}, {"name": "pass_rate", "op": ">=",'
    ' "threshold": 100.0, "mode": "fail", "unit": "%", "path": null}], "batch_size": 100,'
    ' "flush_interval": 2.0, "stale_after": 3600.0, "rootdir": "ROOT",'
    ' "sources": {"pyproject": "ROOT/pyproject.toml", "cli": ["pass_rate>=100"],'
    ' "env": ["UETF_LEDGER"]}, "cov_source": ["pkg"], "base": "main", "diff_file": null,'
    ' "baseline": null, "min_patch_lines": 0, "reports": ["markdown"], "dist": "hash",'
    ' "order": null, "select": "record", "impact_inputs": ["*.toml"], "shard": "2/2",'
    ' "workstream": "w1", "phase": "integration", "depends_on": ["unit"], "waivers": [],'
    ' "prices": {"cpu_seconds": 0.001}, "progress_file": null, "stall_timeout": 45.0,'
    ' "progress_interval": 1.0}'
)


def every_field_set() -> RunConfig:
    """A configuration where no field has its default (and the ledger has a password)."""
    return RunConfig(
        rootdir=Path("/repo"),
        ledger="postgresql://ci:hunter2@db.example/uetf",
        enabled=True,
        gate_mode="warn",
        gates=(parse_gate("pass_rate>=90"), parse_gate("max_duration<=5m")),
        batch_size=64,
        flush_interval=0.25,
        stale_after=120.0,
        sources={"pyproject": "/repo/pyproject.toml", "cli": ["pass_rate>=90"], "env": []},
        cov_sources=("pkg", "src/other"),
        base="origin/main",
        diff_file="change.diff",
        baseline="20260101T000000-abcdef",
        min_patch_lines=3,
        reports=("json", "html:out/r.html"),
        dist="duration",
        order="failed-first",
        select="affected",
        impact_inputs=("data/*.json",),
        shard="1/3",
        workstream="build-7",
        phase="unit",
        depends_on=("lint",),
        waivers=(
            Waiver(
                owner="ana",
                reason="flaky upstream",
                expires=dt.date(2027, 1, 31),
                test="tests/test_x.py::test_y",
                link="https://example.org/1",
            ),
        ),
        prices={"cpu_seconds": 5e-05, "currency": "usd"},
        progress_file="progress.json",
        stall_timeout=90.5,
        progress_interval=2.0,
    )


def test_the_stored_document_is_unchanged(tmp_path: Path, validate: Any) -> None:
    """A configuration's stored document is byte for byte what UETF has always stored
    for it, and it satisfies the schema."""
    defaults = RunConfig(rootdir=Path("/repo"), ledger="/repo/.ledger/uetf.db").as_dict()
    table = {
        "gates": {"coverage": 80, "min_tests": {"threshold": 5, "mode": "warn"}},
        "batch_size": 100,
        "flush_interval": 2,
        "cov_source": ["pkg"],
        "min_patch_lines": 0,
        "reports": ["markdown"],
        "select": "record",
        "impact_inputs": ["*.toml"],
        "costs": {"cpu_seconds": 0.001},
        "stall_timeout": 30,
        "progress_interval": 1,
    }
    cli = CliOptions(
        gates=("pass_rate>=100",),
        base="main",
        dist="hash",
        phase="integration",
        depends_on=("unit",),
        stall_timeout=45.0,
        workstream="w1",
        shard="2/2",
    )
    env = {"UETF_LEDGER": "postgresql://u:pw@h:5432/led"}
    pyproject = tmp_path / "pyproject.toml"
    resolved = resolve_config(tmp_path, table, cli, env, pyproject).as_dict()
    for document, expected in [
        (defaults, DEFAULTS),
        (every_field_set().as_dict(), EVERY_FIELD_SET),
        (resolved, RESOLVED.replace("ROOT", str(tmp_path))),
    ]:
        assert json.dumps(document, allow_nan=False) == expected
        validate("run_config", document)


def test_the_generated_module_and_schema_are_current() -> None:
    """uetf_core/run_config.py and schema/run_config.v1.json are what
    docs/gen_run_config.py makes of the table now."""
    made = generator("gen_run_config")
    current = (ROOT / "uetf_core" / "run_config.py").read_text("utf-8")
    assert current == made.run_config_module(), "run python docs/gen_reference.py"
    current = (ROOT / "schema" / "run_config.v1.json").read_text("utf-8")
    assert current == made.schema_text(), "run python docs/gen_reference.py"


def test_the_plugins_option_table_is_current() -> None:
    """pytest_uetf/option_table.py is what docs/gen_reference.py makes of the table now."""
    from pytest_uetf.option_table import OPTIONS

    assert tuple((s.option, s.flags) for s in options()) == OPTIONS
    made = generator("gen_reference")
    current = made.OPTION_TABLE.read_text("utf-8")
    assert current == made.option_table(), "run python docs/gen_reference.py"


def test_a_run_reads_the_table_without_importing_it(tmp_path: Path) -> None:
    """Resolving a configuration, as the plugin does from pytest's options, reads the
    generated plain values: the table's module is for the generator and the tests."""
    code = """
import sys
from argparse import Namespace
from pathlib import Path
from pytest_uetf.plugin import _command_line
from uetf_core.config import CliOptions, resolve_config
from pytest_uetf.option_table import OPTIONS
# what pytest's parser gives when no option is given: each option's default
options = Namespace(**{o[2:].replace("-", "_"): f["default"] for o, f in OPTIONS})
cli = CliOptions(**_command_line(options))
resolve_config(Path(sys.argv[1]), {"batch_size": 7}, cli, env={})
print("uetf_core.settings" in sys.modules)
"""
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"


def test_every_stored_key_is_a_setting_or_a_recorded_fact() -> None:
    """Names are unique; the schema's properties are the table's settings and recorded
    facts, in the document's order; each recorded fact follows a key that exists."""
    names = [key.name for key in stored()]
    assert len(names) == len(set(names)) == len(SETTINGS) + len(RECORDED)
    assert list(PROPERTIES) == names
    fields = [key.field for key in stored() if key.field is not None]
    assert len(fields) == len(set(fields))
    assert all(key.to_json in TO_JSON for key in stored())


def test_the_document_holds_every_field_and_the_required_keys() -> None:
    """as_dict writes a key per RunConfig field, among them every key the schema requires
    (a workstream's verdict run adds the facts no RunConfig has)."""
    document = RunConfig(rootdir=Path("/p"), ledger="/p/.ledger/uetf.db").as_dict()
    assert set(document) == {key.name for key in stored() if key.field is not None}
    assert len(document) == len(RunConfig._fields)
    assert set(SCHEMA["required"]) <= set(document)
    assert set(PROPERTIES) - set(document) == {"expect_shards", "merged_steps"}


def test_command_line_options_are_the_tables() -> None:
    """A CliOptions field belongs to an option, and a repeatable option's is a sequence."""
    assert {s.cli for s in SETTINGS if s.cli} == set(CliOptions._fields)
    assert all(s.option for s in SETTINGS if s.cli)
    repeatable = {s.cli for s in options() if s.flags.get("action") == "append"}
    assert {name for name, value in CliOptions._field_defaults.items() if value == ()} == (
        repeatable
    )


@pytest.mark.parametrize("setting", [s for s in SETTINGS if s.limits], ids=lambda s: s.name)
def test_a_numbers_range_is_the_schemas(setting: Setting) -> None:
    """The range config.py checks is the range the schema states."""
    assert setting.limits is not None
    low, low_allowed, high = setting.limits
    prop = PROPERTIES[setting.name]
    assert prop["minimum" if low_allowed else "exclusiveMinimum"] == low
    assert prop["maximum"] == high
    assert LIMITS[setting.name] == setting.limits


@pytest.mark.parametrize("setting", [s for s in SETTINGS if s.key], ids=lambda s: s.name)
def test_a_keys_types_are_the_schemas(setting: Setting) -> None:
    """A [tool.uetf] key taking a plain value stores it as the schema's type says."""
    assert setting.key is not None
    assert KEYS[setting.key] == setting.kinds
    kinds = setting.kinds if isinstance(setting.kinds, tuple) else (setting.kinds,)
    if not all(kind in JSON_TYPES for kind in kinds) or setting.name == "waivers":
        return  # tables and lists, and the waivers file's path, are stored parsed
    prop = PROPERTIES[setting.name]
    stored_as = prop.get("type") or sorted({JSON_TYPES[type(v)] for v in prop["enum"] if v})
    stored_as = stored_as if isinstance(stored_as, list) else [stored_as]
    assert {JSON_TYPES[kind] for kind in kinds} - {"integer"} <= set(stored_as) | {"number"}


@pytest.mark.parametrize("setting", [s for s in SETTINGS if s.limits], ids=lambda s: s.name)
def test_a_number_is_read_from_its_key_and_checked(tmp_path: Path, setting: Setting) -> None:
    """resolve_config reads any number of the table alike: RunConfig's default, the key's
    value at the top of its range, and a value above it refused naming the key."""
    assert setting.limits is not None and setting.key is not None
    field = setting.field or setting.name
    _, _, high = setting.limits
    resolved = resolve_config(tmp_path, {}, CliOptions(), env={})
    assert getattr(resolved, field) == RunConfig._field_defaults[field]
    resolved = resolve_config(tmp_path, {setting.key: high}, CliOptions(), env={})
    assert getattr(resolved, field) == high
    assert type(getattr(resolved, field)) is (int if setting.kinds is int else float)
    with pytest.raises(ConfigError, match=f"key '{setting.key}' must be"):
        resolve_config(tmp_path, {setting.key: high + 1}, CliOptions(), env={})


def test_an_options_choices_are_what_the_configuration_accepts() -> None:
    """The choices pytest offers (and the schema allows) are those resolve_config takes."""
    choices = {s.name: s.flags["choices"] for s in options() if "choices" in s.flags}
    assert choices == {
        "gate_mode": MODES,
        "dist": STRATEGIES,
        "order": ORDERS,
        "select": SELECT_MODES,
    }


def test_pytest_offers_every_option_of_the_table(pytester: pytest.Pytester) -> None:
    """pytest --help lists each of the table's options in UETF's group."""
    result = pytester.runpytest("--help")
    help_text = result.stdout.str()
    assert "UETF: record, gate and judge the run" in help_text
    for setting in options():
        assert f"  {setting.option}" in help_text, setting.option
