"""The plugin's reading of options and configuration before uetf_core is imported."""

from __future__ import annotations

from pytest_uetf import plugin
from uetf_core.gates.catalog import COVERAGE_GATES, GATES


def test_early_coverage_gate_list_matches_the_catalog() -> None:
    """The plugin's early copy of the coverage gates is the catalog's, gate for gate."""
    assert set(plugin._COVERAGE_GATES) == COVERAGE_GATES
    assert set(GATES) >= COVERAGE_GATES
