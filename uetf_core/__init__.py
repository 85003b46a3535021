"""UETF core: records test runs in a ledger and judges them with declarative gates.

Importable and usable without pytest; the pytest plugin (``pytest_uetf``) is a
thin adapter over this package.
"""

from __future__ import annotations

__version__ = "0.1.0"

# Public names are imported lazily (PEP 562) so ``import uetf_core`` stays cheap
# for pytest's start-up; each maps to the module that defines it.
_EXPORTS = {
    "ConfigError": "uetf_core.errors",
    "LedgerError": "uetf_core.errors",
    "TransitionError": "uetf_core.errors",
    "UetfError": "uetf_core.errors",
    "ExitCode": "uetf_core.exitcodes",
    "EventBus": "uetf_core.events",
    "RunRecorder": "uetf_core.run",
    "RunSession": "uetf_core.session",
    "RunState": "uetf_core.states",
    "TaskState": "uetf_core.states",
    "WorkerState": "uetf_core.states",
    "open_ledger": "uetf_core.ledger",
    "resolve_config": "uetf_core.config",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> object:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'uetf_core' has no attribute {name!r}")
