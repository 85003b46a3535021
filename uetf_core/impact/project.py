"""Which source files belong to the project, decided once per file name.

A recorder asks this of every code object it sees first; the answer is cached by
``co_filename`` so the hot path is one dict lookup.
"""

from __future__ import annotations

import os
import site
import sysconfig
from pathlib import Path


def _installed_roots() -> tuple[str, ...]:
    """Folders holding installed code: never the project's, even inside its root (a venv).

    Not ``sys.prefix`` itself: a project may live under it (``/usr/src/...``).
    """
    found: set[str] = set()
    for name in ("stdlib", "platstdlib", "purelib", "platlib"):
        found.add(sysconfig.get_path(name))
    found.update(site.getsitepackages() if hasattr(site, "getsitepackages") else ())
    user = site.getusersitepackages() if hasattr(site, "getusersitepackages") else None
    if isinstance(user, str):
        found.add(user)
    return tuple(sorted(os.path.realpath(path) + os.sep for path in found if path))


class ProjectFiles:
    """Python files under ``root``, outside installed-code folders, by relative path."""

    def __init__(self, root: str | Path) -> None:
        self.root = os.path.realpath(root) + os.sep
        # A venv or a tox folder inside the project is installed code, not the project's.
        self._outside = tuple(p for p in _installed_roots() if not self.root.startswith(p))
        self._cache: dict[str, str | None] = {}

    def relative(self, filename: str) -> str | None:
        """``filename`` (as code objects name it) relative to the root, or None if not ours."""
        try:
            return self._cache[filename]
        except KeyError:
            pass
        found = self._decide(filename)
        self._cache[filename] = found
        return found

    def _decide(self, filename: str) -> str | None:
        if not filename.endswith(".py"):  # "<string>", "<frozen ...>", generated code
            return None
        path = os.path.realpath(filename)
        if not path.startswith(self.root):
            return None
        if any(path.startswith(folder) for folder in self._outside):
            return None
        return path[len(self.root) :].replace(os.sep, "/")
