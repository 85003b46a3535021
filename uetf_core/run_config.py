"""The configuration of a run, ``RunConfig``, with its stored ``run_config`` document,
what the command line said, ``CliOptions``, and what resolving them needs of the table
of settings: made from ``uetf_core/settings.py`` by ``python docs/gen_reference.py``.
Edit the settings, not this file (tests/test_settings.py checks that it is current).

Plain values, so that a run reads the table without importing it (each module
imported costs every start). ``uetf_core.config`` resolves a ``RunConfig`` from
``[tool.uetf]``, the environment and the options.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from uetf_core.metrics import NOTHING
from uetf_core.redact import redact

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path
    from typing import NamedTuple

    from uetf_core.documents import RunConfigDocument
    from uetf_core.gates.spec import GateSpec
    from uetf_core.waivers import Waiver
else:  # the same classes, defined at a fraction of the cost: see uetf_core.namedtuples
    from uetf_core.namedtuples import NamedTuple


class CliOptions(NamedTuple):
    """What the command line (plugin options or CLI flags) said, ``None`` when silent."""

    ledger: str | None = None
    gate_mode: str | None = None
    gates: Sequence[str] = ()
    cov_sources: Sequence[str] = ()
    base: str | None = None
    diff_file: str | None = None
    baseline: str | None = None
    reports: Sequence[str] = ()
    dist: str | None = None
    order: str | None = None
    select: str | None = None
    shard: str | None = None
    workstream: str | None = None
    phase: str | None = None
    depends_on: Sequence[str] = ()
    progress: str | None = None
    stall_timeout: float | None = None


class RunConfig(NamedTuple):
    """The resolved configuration of one run."""

    rootdir: Path
    ledger: str
    enabled: bool = False
    gate_mode: str = "fail"
    gates: tuple[GateSpec, ...] = ()
    batch_size: int = 500
    flush_interval: float = 1.0
    stale_after: float = 3600.0
    sources: Mapping[str, str | list[str] | None] = NOTHING
    cov_sources: tuple[str, ...] = ()
    base: str | None = None
    diff_file: str | None = None
    baseline: str | None = None
    min_patch_lines: int = 1
    reports: tuple[str, ...] = ()
    dist: str | None = None
    order: str | None = None
    select: str = "off"
    impact_inputs: tuple[str, ...] = ()
    shard: str | None = None
    workstream: str | None = None
    phase: str = "test"
    depends_on: tuple[str, ...] = ()
    waivers: tuple[Waiver, ...] = ()
    prices: Mapping[str, float | str] = NOTHING
    progress_file: str | None = None
    stall_timeout: float = 600.0
    progress_interval: float = 5.0

    def as_dict(self) -> RunConfigDocument:
        """The ``run_config`` document."""
        return {
            "enabled": self.enabled,
            "ledger": redact(self.ledger),
            "gate_mode": self.gate_mode,
            "gates": [item.as_dict() for item in self.gates],
            "batch_size": self.batch_size,
            "flush_interval": self.flush_interval,
            "stale_after": self.stale_after,
            "rootdir": str(self.rootdir),
            "sources": dict(self.sources),
            "cov_source": list(self.cov_sources),
            "base": self.base,
            "diff_file": self.diff_file,
            "baseline": self.baseline,
            "min_patch_lines": self.min_patch_lines,
            "reports": list(self.reports),
            "dist": self.dist,
            "order": self.order,
            "select": self.select,
            "impact_inputs": list(self.impact_inputs),
            "shard": self.shard,
            "workstream": self.workstream,
            "phase": self.phase,
            "depends_on": list(self.depends_on),
            "waivers": [item.as_dict() for item in self.waivers],
            "prices": dict(self.prices),
            "progress_file": self.progress_file,
            "stall_timeout": self.stall_timeout,
            "progress_interval": self.progress_interval,
        }


# Each [tool.uetf] key's TOML types.
KEYS: dict[str, type | tuple[type, ...]] = {
    "enabled": bool,
    "ledger": str,
    "gate_mode": str,
    "gates": dict,
    "batch_size": int,
    "flush_interval": (int, float),
    "stale_after": (int, float),
    "cov_source": list,
    "base": str,
    "min_patch_lines": int,
    "reports": list,
    "dist": str,
    "order": str,
    "select": str,
    "impact_inputs": list,
    "waivers": str,
    "costs": dict,
    "stall_timeout": (int, float),
    "progress_interval": (int, float),
}
# Each number's range: (lowest, whether the lowest itself is allowed, highest).
LIMITS: dict[str, tuple[float, bool, float]] = {
    "batch_size": (1, True, 1000000),
    "flush_interval": (0, False, 3600),
    "stale_after": (0, False, 31536000),
    "min_patch_lines": (0, True, 1000000),
    "stall_timeout": (0, False, 604800),
    "progress_interval": (0, False, 3600),
}
# Each number's [tool.uetf] key, RunConfig field, and CliOptions field and option
# if the command line gives it: resolved alike (uetf_core.config).
NUMBERS: tuple[tuple[str, str, str | None, str | None], ...] = (
    ("batch_size", "batch_size", None, None),
    ("flush_interval", "flush_interval", None, None),
    ("stale_after", "stale_after", None, None),
    ("min_patch_lines", "min_patch_lines", None, None),
    ("stall_timeout", "stall_timeout", "stall_timeout", "--uetf-stall-timeout"),
    ("progress_interval", "progress_interval", None, None),
)
# Each CliOptions field and where pytest keeps its option's value.
OPTION_DESTS: dict[str, str] = {
    "ledger": "uetf_ledger",
    "gate_mode": "uetf_gate_mode",
    "gates": "uetf_gate",
    "cov_sources": "uetf_cov",
    "base": "uetf_base",
    "diff_file": "uetf_diff_file",
    "baseline": "uetf_baseline",
    "reports": "uetf_report",
    "dist": "uetf_dist",
    "order": "uetf_order",
    "select": "uetf_select",
    "shard": "uetf_shard",
    "workstream": "uetf_workstream",
    "phase": "uetf_phase",
    "depends_on": "uetf_depends_on",
    "progress": "uetf_progress",
    "stall_timeout": "uetf_stall_timeout",
}
