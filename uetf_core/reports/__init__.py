"""Reports of a run for the people who merge: markdown, GitHub, JSON, HTML, JUnit, Cobertura.

Each is rendered from the ledger alone (see :mod:`uetf_core.reports.document`),
so the plugin at the end of a run and ``uetf report`` later write the same
files. Every file written is recorded in the ledger as ``doc_metadata``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from uetf_core.errors import ConfigError
from uetf_core.ledger.base import Ledger
from uetf_core.timeutil import iso

if TYPE_CHECKING:
    from uetf_core.documents import DocumentMetadata
    from uetf_core.report_documents import GateReport

# format: (doc_metadata kind, doc_metadata format, default file name)
FORMATS: dict[str, tuple[str, str, str]] = {
    "markdown": ("markdown", "markdown", "uetf-report.md"),
    "github": ("github_summary", "markdown", ""),
    "json": ("gate_report", "json", "uetf-report.json"),
    "html": ("html", "html", "uetf-report.html"),
    "junit": ("junit", "xml", "junit.xml"),
    "cobertura": ("cobertura", "xml", "coverage.xml"),
}
STDOUT = "-"


@dataclass(frozen=True)
class ReportSpec:
    """One ``FORMAT[:PATH]`` request; ``path`` ``None`` means the default place."""

    format: str
    path: str | None = None

    def __str__(self) -> str:
        return self.format + (f":{self.path}" if self.path else "")


def parse_report_spec(text: str) -> ReportSpec:
    """``markdown`` or ``html:out/report.html``; an unknown format is a usage error."""
    name, sep, path = text.partition(":")
    name = name.strip().lower()
    if name not in FORMATS:
        raise ConfigError(
            f"unknown report format {name!r} in {text!r}; use FORMAT[:PATH] with FORMAT one of "
            + ", ".join(FORMATS)
        )
    if sep and not path.strip():
        raise ConfigError(f"report {text!r} names no path after ':'; give FORMAT or FORMAT:PATH")
    return ReportSpec(name, path.strip() or None)


@dataclass
class Written:
    """What writing the reports did: files written, lines for the terminal, notes."""

    files: list[DocumentMetadata] = field(default_factory=list)
    stdout: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def render(ledger: Ledger, run_id: str, fmt: str, report: GateReport, rootdir: str) -> str:
    """The text of one report format."""
    if fmt in ("markdown", "github"):
        from uetf_core.reports.markdown import render_markdown

        return render_markdown(report)
    if fmt == "json":
        from uetf_core.schemas import validate

        validate("gate_report", report, subject=f"gate report of run {run_id}")
        return json.dumps(report, indent=2, sort_keys=True, allow_nan=False) + "\n"
    if fmt == "html":
        from uetf_core.reports.html import render_html

        return render_html(report, rootdir)
    if fmt == "junit":
        from uetf_core.reports.gitlab import render_junit

        return render_junit(ledger, run_id, report)
    from uetf_core.reports.gitlab import render_cobertura

    return render_cobertura(ledger, run_id, rootdir)


def write_reports(
    ledger: Ledger,
    run_id: str,
    specs: Sequence[ReportSpec],
    default_dir: Path,
    env: Mapping[str, str] | None = None,
    default_stdout: bool = False,
) -> Written:
    """Render and write each requested report of ``run_id``; record each file in the ledger.

    A spec without a path goes to ``default_dir`` (or to standard output when
    ``default_stdout``). ``github`` appends to ``$GITHUB_STEP_SUMMARY`` and,
    on GitHub Actions or to standard output, returns its annotations as lines
    for standard output.
    """
    from uetf_core.reports.document import build_report

    env = os.environ if env is None else env
    report = build_report(ledger, run_id)
    rootdir = ledger.find_run(run_id)["rootdir"]
    done = Written()
    for spec in specs:
        kind, doc_format, default_name = FORMATS[spec.format]
        text = render(ledger, run_id, spec.format, report, rootdir)
        path = spec.path
        append = False
        if spec.format == "github":
            from uetf_core.reports.github import workflow_commands

            # Annotations are commands to GitHub's runner: in a local terminal
            # they are noise, so they are printed on GitHub Actions, or when the
            # report itself goes to standard output (github:-).
            commands = workflow_commands(report)
            path = path or env.get("GITHUB_STEP_SUMMARY") or None
            append = True
            left_out = []
            if env.get("GITHUB_ACTIONS") == "true" or path == STDOUT:
                done.stdout.extend(commands)
            elif commands:
                left_out.append(f"{len(commands)} annotation{'s' if len(commands) != 1 else ''}")
            if path is None:
                left_out.append("the step summary")
            if left_out:
                done.notes.append(
                    f"github report: not on GitHub Actions; {' and '.join(left_out)} left out"
                    " (github:PATH writes the summary, github:- prints both)"
                )
            if path is None:
                continue
        elif path is None:
            path = STDOUT if default_stdout else str(_default_folder(default_dir) / default_name)
        if path == STDOUT:
            from uetf_core.terminal import inert_document

            done.stdout.extend(inert_document(spec.format, text))
            continue
        target = Path(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "a" if append else "w", encoding="utf-8", newline="\n") as out:
                if append and target.stat().st_size:
                    out.write("\n")
                out.write(text)
        except OSError as exc:
            raise ConfigError(
                f"cannot write the {spec.format} report to {path}: {exc.strerror or exc}"
            ) from None
        data = text.encode("utf-8")
        document: DocumentMetadata = {
            "kind": kind,
            "format": doc_format,
            "path": str(target.resolve()),
            "sha256": hashlib.sha256(data).hexdigest(),
            "size_bytes": len(data),
            "run_ids": [run_id],
            "created_at": iso(time.time()),
        }
        ledger.add_document(document)
        done.files.append(document)
    return done


def _default_folder(folder: Path) -> Path:
    """The default reports folder; under ``.ledger`` it inherits the ledger's .gitignore."""
    folder.mkdir(parents=True, exist_ok=True)
    ignore = folder.parent / ".gitignore"
    if folder.parent.name == ".ledger" and not ignore.exists():
        ignore.write_text("# Created by uetf: the ledger is local data, not source.\n*\n")
    return folder


def print_lines(lines: Sequence[str]) -> None:
    """Write ``lines`` to standard output (the CLI's path; the plugin uses pytest's writer)."""
    for line in lines:
        sys.stdout.write(line + "\n")
