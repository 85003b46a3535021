"""The commit a run's change starts from, found cheaply for a run that reads no patch.

A failure is new or pre-existing against the baseline, the newest clean run at
the merge-base with the base branch, whatever gates are declared. A run that no
patch gate or option asks the whole change of (forty-odd milliseconds of git
there) still needs that one commit: here it costs one git process, or two off
the base branch, with the same choice of base as ``uetf_core.patch.detect_patch``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from uetf_core.config import validate_ref
from uetf_core.errors import ConfigError
from uetf_core.patch import Git, ToolSink, base_from_ci, fallback_base


def find_merge_base(
    cwd: Path,
    head: str | None,
    branch: str | None,
    env: Mapping[str, str] | None = None,
    sink: ToolSink | None = None,
) -> str | None:
    """The merge-base of ``head`` (HEAD, on ``branch``) with the base branch; ``None``
    when there is no HEAD, no base, or no common history (a shallow clone)."""
    if head is None:
        return None
    git = Git(cwd, sink)
    chosen = base_from_ci(os.environ if env is None else env)
    if chosen is None:
        chosen, commit = fallback_base(git, head, branch)
        if chosen is None:
            return None
        if commit == head:  # on the base branch itself: the change is empty
            return head
    try:
        validate_ref(chosen, "base ref")
    except ConfigError:  # a CI variable holding nonsense: no base, as detect_patch says
        return None
    merged = git.run("merge-base", chosen, "HEAD")
    found = merged.stdout.strip()
    return found if merged.returncode == 0 and found else None


__all__ = ["find_merge_base"]
