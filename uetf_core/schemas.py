"""Loading the JSON Schemas shipped with UETF and validating against them.

The schemas live in the package ``uetf_core.schema`` (the repository's
``schema/`` folder) and are read with ``importlib.resources`` so a wheel works
as well as a checkout. Validation runs at configuration, at run end and in
tests, never per test; jsonschema is imported lazily to keep start-up light.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from typing import TYPE_CHECKING, Any

from uetf_core.errors import SchemaValidationError
from uetf_core.lazy_pattern import LazyPattern
from uetf_core.timeutil import iso, utcnow

if TYPE_CHECKING:
    from importlib.abc import Traversable

    from jsonschema.protocols import Validator


def schema_id(name: str) -> str:
    """The ``$id`` of the schema called ``name`` (``run_summary`` -> urn)."""
    return f"urn:uetf:schema:{name}.v1"


def _schema_folder() -> Traversable:
    # Imported here: most runs find their configuration's validation in the
    # ledger and read no schema, and the import costs every pytest start.
    from importlib import resources

    try:
        return resources.files("uetf_core.schema")
    except ModuleNotFoundError:
        # A source checkout imports uetf_core from the working tree, where the
        # schemas sit beside it in schema/ rather than inside it as in a wheel.
        return resources.files("uetf_core").joinpath("..").joinpath("schema")


@functools.cache
def load_all() -> dict[str, dict[str, Any]]:
    """Every shipped schema, keyed by its short name (``run_summary``)."""
    found: dict[str, dict[str, Any]] = {}
    for entry in _schema_folder().iterdir():
        if entry.name.endswith(".v1.json"):
            found[entry.name.removesuffix(".v1.json")] = json.loads(entry.read_text("utf-8"))
    return found


@functools.cache
def validator(name: str) -> Validator:
    """A format-checking 2020-12 validator for schema ``name``, refs resolved."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    schemas = load_all()
    if name not in schemas:
        raise SchemaValidationError(
            f"no schema named {name!r}; known: {', '.join(sorted(schemas))}"
        )
    registry: Registry[Any] = Registry().with_resources(
        (doc["$id"], Resource.from_contents(doc)) for doc in schemas.values()
    )
    return Draft202012Validator(schemas[name], registry=registry, format_checker=_formats())


_RFC3339 = LazyPattern(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def is_rfc3339(value: object) -> bool:
    """Whether ``value`` is an RFC 3339 date-time (non-strings pass, as JSON Schema says)."""
    if not isinstance(value, str):
        return True
    if not _RFC3339.match(value):
        return False
    try:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return True


def _formats() -> Any:
    # jsonschema checks "date-time" only when an optional extra is installed;
    # this check from the standard library makes validation the same everywhere.
    from jsonschema import FormatChecker

    checker = FormatChecker()
    checker.checks("date-time")(is_rfc3339)
    return checker


def errors_of(name: str, document: Any) -> list[dict[str, str]]:
    """Every violation of schema ``name`` by ``document`` as ``{path, message}``."""
    found = []
    for error in validator(name).iter_errors(document):
        path = "/".join(str(part) for part in error.absolute_path) or "(root)"
        found.append({"path": path, "message": error.message})
    return found


def validation_record(name: str, document: Any, subject: str) -> dict[str, Any]:
    """A ``validation_record`` document describing the check of ``document``."""
    problems = errors_of(name, document)
    return {
        "subject": subject,
        "schema": name,
        "valid": not problems,
        "errors": problems,
        "at": iso(utcnow()),
    }


def digest(name: str, document: Any) -> str:
    """A digest of ``document`` and the schema it is checked against.

    Equal digests mean an equal verdict, so a ledger can remember that a
    configuration was valid and spare the next run the jsonschema import.
    """
    from uetf_core import __version__

    # One schema's text, not every schema parsed: this runs at every run's start.
    schema = _schema_folder().joinpath(f"{name}.v1.json").read_text("utf-8")
    payload = json.dumps([__version__, schema, document], sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def validate(name: str, document: Any, subject: str = "document") -> None:
    """Raise ``SchemaValidationError`` with the first violation, if any."""
    problems = errors_of(name, document)
    if problems:
        first = problems[0]
        message = (
            f"{subject} does not match schema {name}: at {first['path']}: {first['message']}"
            + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
        )
        raise SchemaValidationError(message)
