"""The interpreter and installed distributions a run's dependencies were recorded on.

Recorded blocks say nothing about code outside the project: a new Python or a new
version of any installed distribution can change any test's outcome, so selection
compares this with the baseline's and runs the whole suite when they differ.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
import sysconfig
from dataclasses import dataclass


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
    """Every installed distribution on sys.path, as its metadata folder names it.

    A ``name-version.dist-info`` (or ``.egg-info``) folder names the distribution and
    its version; listing the folders costs a few milliseconds where reading each
    distribution's metadata (``importlib.metadata``) cost a third of a second in an
    environment of a few hundred distributions, at every run that selects.
    """
    pins = []
    for folder in _site_folders():
        try:
            names = os.listdir(folder)
        except OSError:  # a zip file, a folder that is gone
            continue
        for name in names:
            if name.endswith((".dist-info", ".egg-info")):
                stem = name.rsplit(".", 1)[0]
                pins.append(stem.lower().replace("_", "-"))
    return pins


def _site_folders() -> list[str]:
    """The folders distributions are installed in: the interpreter's site folders and any
    site folder on sys.path (a virtualenv's), never the project's own folders, whose
    place on sys.path depends on how UETF was started."""
    found = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    found.update(p for p in sys.path if os.path.basename(p) in ("site-packages", "dist-packages"))
    return sorted(os.path.realpath(p) for p in found if p)


__all__ = ["Environment", "current_environment", "distributions_digest"]
