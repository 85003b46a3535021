"""The files GitLab reads from a job's ``artifacts:reports``: JUnit XML and Cobertura XML.

JUnit is written from the ledger's records (the last attempt of each test);
Cobertura by coverage.py's own XML reporter over the run's stored data, so
GitLab shows the same coverage the gates judged.
"""

from __future__ import annotations

import os
import re
import tempfile
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape, quoteattr

from uetf_core.errors import ConfigError
from uetf_core.ledger.base import Ledger
from uetf_core.reports.escape import plain

if TYPE_CHECKING:
    from uetf_core.documents import ErrorDocument
    from uetf_core.report_documents import GateReport

# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text: object) -> str:
    value = str(text)
    if not (value.isascii() and value.isprintable()):  # most names: nothing to remove
        value = _NOT_XML.sub("", plain(value))
    return value


def _names(node_id: str) -> tuple[str, str]:
    """classname and name as pytest's own junitxml writes them."""
    parts = node_id.split("::")
    module = parts[0]
    if module.endswith(".py"):
        module = module[:-3]
    classname = ".".join([module.replace("/", ".").replace("\\", "."), *parts[1:-1]])
    return classname, parts[-1] if len(parts) > 1 else parts[0]


def _case(node_id: str, seconds: float | None, inner: str = "") -> str:
    classname, name = _names(node_id)
    time_attr = f' time="{seconds:.6f}"' if seconds is not None else ""
    head = (
        f"<testcase classname={quoteattr(_xml(classname))} name={quoteattr(_xml(name))}{time_attr}"
    )
    return f"{head}>{inner}</testcase>" if inner else f"{head} />"


def _problem(tag: str, message: str, text: str | None) -> str:
    body = escape(_xml(text)) if text else ""
    return f"<{tag} message={quoteattr(_xml(message)[:1000])}>{body}</{tag}>"


def render_junit(ledger: Ledger, run_id: str, report: GateReport) -> str:
    """The run as one JUnit ``testsuite`` (written as text: ElementTree is 3x slower here)."""
    errors: dict[tuple[str, int], ErrorDocument] = {}
    for capture in ledger.error_captures(run_id):
        errors.setdefault((capture["node_id"], capture["attempt"]), capture)
    results = ledger.final_results(run_id)
    # JUnit has no place for a failure's kind; its message carries it, so a waived
    # or pre-existing failure does not read as a new one in GitLab's test view.
    kinds = {f["node_id"]: f["classification"] for f in report["failures"]}
    totals = report["totals"]
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<testsuite name="uetf" tests="{len(results)}" failures="{totals["failed"]}"'
        f' errors="{totals["errors"]}" skipped="{totals["skipped"] + totals["xfailed"]}"'
        f' time="{report["duration_seconds"] or 0:.3f}"'
        f" timestamp={quoteattr(report['started_at'])}>",
        f'<properties><property name="uetf_run_id" value="{run_id}" /></properties>',
    ]
    seen = set()
    for node_id, attempt, outcome, duration, reason in results:
        seen.add(node_id)
        inner = ""
        if outcome in ("failed", "error"):
            error = errors.get((node_id, attempt))
            message = f"{error['exc_type']}: {error['message']}" if error else outcome
            kind = kinds.get(node_id, "new")
            message = message if kind == "new" else f"[{kind}] {message}"
            tag = "failure" if outcome == "failed" else "error"
            inner = _problem(tag, message, error["traceback"] if error else None)
        elif outcome in ("skipped", "xfailed"):
            inner = f"<skipped message={quoteattr(_xml(reason or outcome)[:1000])} />"
        lines.append(_case(node_id, duration, inner))
    for failure in report["failures"]:  # collection errors have no record
        if failure["node_id"] not in seen and failure["outcome"] == "error":
            problem = _problem("error", failure["message"] or "error", failure["traceback"])
            lines.append(_case(failure["node_id"], None, problem))
    lines.append("</testsuite>")
    return "\n".join(lines) + "\n"


def render_cobertura(ledger: Ledger, run_id: str, rootdir: str) -> str:
    """The run's coverage in the Cobertura form, written by coverage.py's XML reporter."""
    import coverage

    from uetf_core.measure import export

    stored = ledger.coverage(run_id)
    if stored is None:
        raise ConfigError(
            f"run {run_id} measured no coverage; run pytest --uetf with --uetf-cov or cov_source"
        )
    with tempfile.TemporaryDirectory(prefix="uetf-cobertura-") as scratch:
        data = os.path.join(scratch, "data")
        export({f["path"]: f for f in stored["files"]}, rootdir, data)
        out = os.path.join(scratch, "coverage.xml")
        previous = os.getcwd()
        os.chdir(rootdir)  # the project's coverage configuration and relative paths
        try:
            cov = coverage.Coverage(data_file=data)
            cov.load()
            cov.xml_report(outfile=out, ignore_errors=True)
        except coverage.CoverageException as exc:
            raise ConfigError(f"cobertura report: {exc}") from None
        finally:
            os.chdir(previous)
        with open(out, encoding="utf-8") as written:
            return written.read()
