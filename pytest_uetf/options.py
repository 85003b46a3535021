"""Reading pytest's own options for what UETF needs to know about the session."""

from __future__ import annotations

import pytest


def partial_reason(config: pytest.Config) -> str | None:
    """Why this session runs only part of the suite (-k, -m, --lf, --deselect, node ids)."""
    option = config.option
    reasons = []
    if getattr(option, "keyword", ""):
        reasons.append(f"-k {option.keyword}")
    if getattr(option, "markexpr", ""):
        reasons.append(f"-m {option.markexpr}")
    if getattr(option, "lf", False):
        reasons.append("--lf")
    if getattr(option, "deselect", None):
        reasons.append("--deselect")
    if any("::" in str(arg) for arg in config.args):
        reasons.append("node ids")
    return ", ".join(reasons) or None
