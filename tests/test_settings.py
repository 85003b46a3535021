"""The table of settings, the run_config schema, RunConfig and the options agree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from uetf_core.config import KEYS, LIMITS, CliOptions, RunConfig
from uetf_core.settings import RECORDED, SETTINGS, options

SCHEMA = json.loads(
    (Path(__file__).parent.parent / "schema" / "run_config.v1.json").read_text("utf-8")
)
PROPERTIES = SCHEMA["properties"]
JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}


def test_every_stored_key_is_a_setting_or_a_recorded_fact() -> None:
    """The schema's properties are the table's settings and what a run records besides."""
    names = [s.name for s in SETTINGS]
    assert len(names) == len(set(names))
    assert set(PROPERTIES) == set(names) | set(RECORDED)
    assert not set(names) & set(RECORDED)


def test_the_stored_document_holds_every_setting() -> None:
    """RunConfig.as_dict writes every setting and recorded fact, and nothing else (a
    workstream's verdict run adds its two)."""
    document = RunConfig(rootdir=Path("/p"), ledger="/p/.ledger/uetf.db").as_dict()
    assert set(document) == set(PROPERTIES) - {"expect_shards", "merged_steps"}


def test_run_config_has_a_field_per_setting() -> None:
    """Each setting is a RunConfig field, under the name the table gives."""
    fields = {s.field for s in SETTINGS}
    assert fields <= set(RunConfig._fields)
    assert set(RunConfig._fields) - fields == {"rootdir", "sources"}


def test_command_line_options_are_the_tables() -> None:
    """CliOptions has exactly the fields the table's options fill."""
    assert {s.cli for s in SETTINGS if s.cli} == set(CliOptions._fields)
    assert all(s.option for s in SETTINGS if s.cli)


@pytest.mark.parametrize("setting", [s for s in SETTINGS if s.limits], ids=lambda s: s.name)
def test_a_numbers_range_is_the_schemas(setting) -> None:  # type: ignore[no-untyped-def]
    """The range config.py checks is the range the schema states."""
    low, low_allowed, high = setting.limits
    prop = PROPERTIES[setting.name]
    assert prop["minimum" if low_allowed else "exclusiveMinimum"] == low
    assert prop["maximum"] == high
    assert LIMITS[setting.name] == setting.limits


@pytest.mark.parametrize("setting", [s for s in SETTINGS if s.key], ids=lambda s: s.name)
def test_a_keys_types_are_the_schemas(setting) -> None:  # type: ignore[no-untyped-def]
    """A [tool.uetf] key taking a plain value stores it as the schema's type says."""
    assert KEYS[setting.key] == (setting.kinds, setting.meaning)
    kinds = setting.kinds if isinstance(setting.kinds, tuple) else (setting.kinds,)
    if not all(kind in JSON_TYPES for kind in kinds) or setting.name == "waivers":
        return  # tables and lists, and the waivers file's path, are stored parsed
    prop = PROPERTIES[setting.name]
    stored = prop.get("type") or sorted({JSON_TYPES[type(v)] for v in prop["enum"] if v})
    stored = stored if isinstance(stored, list) else [stored]
    assert {JSON_TYPES[kind] for kind in kinds} - {"integer"} <= set(stored) | {"number"}


@pytest.mark.parametrize(
    "setting", [s for s in options() if "choices" in s.flags], ids=lambda s: s.name
)
def test_an_options_choices_are_the_schemas(setting) -> None:  # type: ignore[no-untyped-def]
    """An option with choices allows exactly what the stored document may hold."""
    allowed = {value for value in PROPERTIES[setting.name]["enum"] if value is not None}
    assert set(setting.flags["choices"]) == allowed


def test_pytest_offers_every_option_of_the_table(pytester: pytest.Pytester) -> None:
    """pytest --help lists each of the table's options in UETF's group."""
    result = pytester.runpytest("--help")
    help_text = result.stdout.str()
    assert "UETF: record, gate and judge the run" in help_text
    for setting in options():
        assert f"  {setting.option}" in help_text, setting.option


def test_the_plugins_option_table_is_current() -> None:
    """pytest_uetf/option_table.py is what docs/gen_reference.py makes of the table now."""
    import importlib.util

    from pytest_uetf.option_table import OPTIONS

    assert tuple((s.option, s.flags) for s in options()) == OPTIONS
    docs = Path(__file__).parent.parent / "docs"
    spec = importlib.util.spec_from_file_location("gen_reference", docs / "gen_reference.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    current = module.OPTION_TABLE.read_text("utf-8")
    assert current == module.option_table(), "run python docs/gen_reference.py"
