"""The files GitLab reads from a job's ``artifacts:reports``: JUnit XML and Cobertura XML.

JUnit is written from the ledger's records (the last attempt of each test);
Cobertura by coverage.py's own XML reporter over the run's stored data, so
GitLab shows the same coverage the gates judged.
"""

from __future__ import annotations

import os
import re
import tempfile
import xml.etree.ElementTree as ET
from typing import Any

from uetf_core.errors import ConfigError
from uetf_core.ledger.base import Ledger
from uetf_core.reports.escape import plain

# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text: object) -> str:
    return _NOT_XML.sub("", plain(text))


def _names(node_id: str) -> tuple[str, str]:
    """classname and name as pytest's own junitxml writes them."""
    parts = node_id.split("::")
    module = parts[0]
    if module.endswith(".py"):
        module = module[:-3]
    classname = ".".join([module.replace("/", ".").replace("\\", "."), *parts[1:-1]])
    return classname, parts[-1] if len(parts) > 1 else parts[0]


def render_junit(ledger: Ledger, run_id: str, report: dict[str, Any]) -> str:
    """The run as one JUnit ``testsuite``."""
    final: dict[str, dict[str, Any]] = {}
    for record in ledger.records(run_id):
        known = final.get(record["node_id"])
        if known is None or record["attempt"] > known["attempt"]:
            final[record["node_id"]] = record
    totals = report["totals"]
    suite = ET.Element(
        "testsuite",
        name="uetf",
        tests=str(len(final)),
        failures=str(totals["failed"]),
        errors=str(totals["errors"]),
        skipped=str(totals["skipped"] + totals["xfailed"]),
        time=f"{report['duration_seconds'] or 0:.3f}",
        timestamp=report["started_at"],
    )
    ET.SubElement(ET.SubElement(suite, "properties"), "property", name="uetf_run_id", value=run_id)
    for record in final.values():
        classname, name = _names(record["node_id"])
        case = ET.SubElement(
            suite,
            "testcase",
            classname=_xml(classname),
            name=_xml(name),
            time=f"{record['duration']:.6f}",
        )
        outcome = record["outcome"]
        error = record["error"]
        message = _xml(f"{error['exc_type']}: {error['message']}") if error else outcome
        text = _xml(error["traceback"]) if error else None
        if outcome == "failed":
            ET.SubElement(case, "failure", message=message[:1000]).text = text
        elif outcome == "error":
            ET.SubElement(case, "error", message=message[:1000]).text = text
        elif outcome in ("skipped", "xfailed"):
            reason = record["skip_reason"] or record["xfail_reason"] or outcome
            ET.SubElement(case, "skipped", message=_xml(reason)[:1000])
    for failure in report["failures"]:  # collection errors have no record
        if failure["node_id"] not in final and failure["outcome"] == "error":
            classname, name = _names(failure["node_id"])
            case = ET.SubElement(suite, "testcase", classname=_xml(classname), name=_xml(name))
            ET.SubElement(case, "error", message=_xml(failure["message"] or "error")).text = _xml(
                failure["traceback"] or ""
            )
    ET.indent(suite)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
    )


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
