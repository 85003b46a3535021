"""Parsing gate declarations from the command line and pyproject.toml."""

from __future__ import annotations

import pytest

from uetf_core.errors import GateSpecError
from uetf_core.gates import GateSpec, parse_gate, parse_gate_table


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pass_rate>=100", GateSpec("pass_rate", ">=", 100.0)),
        ("pass_rate >= 99.5", GateSpec("pass_rate", ">=", 99.5)),
        ("max_failures<=0", GateSpec("max_failures", "<=", 0.0)),
        ("min_tests>10", GateSpec("min_tests", ">", 10.0)),
        ("max_duration<=5m", GateSpec("max_duration", "<=", 300.0)),
        ("max_test_duration<250ms", GateSpec("max_test_duration", "<", 0.25)),
        ("max_duration<=1h", GateSpec("max_duration", "<=", 3600.0)),
        ("min_tests==4", GateSpec("min_tests", "==", 4.0)),
    ],
)
def test_parse_gate(text: str, expected: GateSpec) -> None:
    """Well-formed declarations parse to the gate, operator and threshold."""
    assert parse_gate(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("pass_rat>=100", "unknown gate 'pass_rat'; did you mean 'pass_rate'?"),
        ("pass_rate=>100", "bad operator '=>'"),
        ("pass_rate=100", "bad operator '='"),
        ("pass_rate>=abc", "needs a number"),
        ("pass_rate>=101", "percentage"),
        ("min_tests>=-1", ">= 0"),
        ("max_duration<=5x", "suffixes ms, s, m, h"),
        ("pass_rate", "expected NAME OP VALUE"),
        ("min_tests>=nan", "finite"),
    ],
)
def test_bad_gate_is_one_clear_error(text: str, message: str) -> None:
    """A bad declaration raises GateSpecError naming the problem and the allowed forms."""
    with pytest.raises(GateSpecError) as info:
        parse_gate(text)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_table_forms() -> None:
    """pyproject.toml accepts a bare number, an 'OP VALUE' string and a table."""
    specs = parse_gate_table(
        {
            "pass_rate": 100,
            "max_failures": "< 3",
            "max_duration": "10m",
            "min_tests": {"threshold": 5, "mode": "warn"},
        }
    )
    assert specs == [
        GateSpec("pass_rate", ">=", 100.0),
        GateSpec("max_failures", "<", 3.0),
        GateSpec("max_duration", "<=", 600.0),
        GateSpec("min_tests", ">=", 5.0, "warn"),
    ]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"passrate": 100}, "unknown gate 'passrate'"),
        ({"pass_rate": True}, "needs a number"),
        ({"pass_rate": {"treshold": 3}}, "table takes keys threshold"),
        ({"pass_rate": {"threshold": 3, "mode": "loud"}}, "use 'fail' or 'warn'"),
        ({"pass_rate": [1]}, "needs a number"),
        ([], "must be a table"),
    ],
)
def test_bad_table_is_one_clear_error(table: object, message: str) -> None:
    """A wrong [tool.uetf.gates] entry names the gate and what to write instead."""
    with pytest.raises(GateSpecError, match=message):
        parse_gate_table(table)
