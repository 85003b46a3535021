"""Which gate a declaration names: readable before the rest of UETF is imported.

The plugin must decide whether coverage starts before it imports the rest of
``uetf_core`` (so that a project measuring UETF's own code sees every line of
it), and that depends on the gates declared. This module needs the standard
library alone; :mod:`uetf_core.gates.spec` parses declarations with the same
pattern, so the early look and the full parse never disagree on a name.
"""

from __future__ import annotations

import re

# NAME, an optional [PATH], OP, VALUE: ``pass_rate>=99``, ``path_coverage[src/**]>=80``.
# Compiled at its first use (re keeps it), not at every start: most runs declare no gate.
DECLARATION = r"^\s*([A-Za-z_][A-Za-z0-9_]*)(?:\[([^\]]+)\])?\s*([<>=!]{1,2})\s*(\S.*?)\s*$"

# The gates judged on measured coverage: declaring one starts coverage.py.
COVERAGE_GATES = frozenset({"coverage", "path_coverage", "patch_coverage", "coverage_drop"})


def gate_name(text: str) -> str | None:
    """The name of the gate ``text`` declares, or ``None`` when it cannot be read."""
    match = re.match(DECLARATION, text)
    return match.group(1) if match else None
