"""The configuration of a run, ``RunConfig``, with its stored ``run_config`` document,
and what the command line said, ``CliOptions``: made from ``uetf_core/settings.py`` by
``python docs/gen_reference.py``. Edit the settings, not this file
(tests/test_settings.py checks that it is current).

``uetf_core.config`` resolves a ``RunConfig`` from ``[tool.uetf]``, the environment
and the options.
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
