"""The interpreter and installed distributions a run's dependencies were recorded on.

Recorded blocks say nothing about code outside the project: a new Python or a new
version of any installed distribution can change any test's outcome, so selection
compares this with the baseline's and runs the whole suite when they differ.
"""

from __future__ import annotations

import hashlib
import platform
from dataclasses import dataclass
from importlib import metadata


@dataclass(frozen=True)
class Environment:
    """``python``: implementation and version; ``distributions``: a digest of name==version."""

    python: str
    distributions: str


def current_environment() -> Environment:
    """This interpreter's :class:`Environment`."""
    python = f"{platform.python_implementation()} {platform.python_version()}"
    return Environment(python, distributions_digest(_installed()))


def distributions_digest(pins: list[str]) -> str:
    """An order-free digest of ``name==version`` lines."""
    text = "\n".join(sorted(set(pins)))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _installed() -> list[str]:
    pins = []
    for dist in metadata.distributions():
        name = dist.metadata["Name"] if dist.metadata else None
        if name:
            pins.append(f"{name.lower().replace('_', '-')}=={dist.version}")
    return pins


__all__ = ["Environment", "current_environment", "distributions_digest"]
