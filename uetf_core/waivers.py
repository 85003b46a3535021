"""Waivers: a committed, reviewed exception to a gate or to a test's failure, until a date.

``.uetf/waivers.toml`` (``[tool.uetf] waivers`` moves it) holds ``[[waiver]]``
tables, each naming one gate (``coverage``, ``path_coverage[src/**]``) or one
test (its node id), with an owner, a reason, an optional link and an expiry
date. A waiver applies while the run's date is on or before ``expires``; after
that it stops waiving and the run says so.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from uetf_core.errors import ConfigError

if TYPE_CHECKING:
    from typing import NamedTuple

    from uetf_core.documents import RunConfigDocument, WaiverDocument
else:  # the same classes, defined at a fraction of the cost: see uetf_core.namedtuples
    from uetf_core.namedtuples import NamedTuple

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

DEFAULT_PATH = ".uetf/waivers.toml"
KEYS = {"gate", "test", "owner", "reason", "link", "expires"}


class Waiver(NamedTuple):
    owner: str
    reason: str
    expires: dt.date
    gate: str | None = None
    test: str | None = None
    link: str | None = None

    @property
    def subject(self) -> str:
        return f"gate {self.gate}" if self.gate else f"test {self.test}"

    def active(self, today: dt.date) -> bool:
        return today <= self.expires

    def describe(self) -> str:
        link = f" ({self.link})" if self.link else ""
        return f"waived by {self.owner} until {self.expires.isoformat()}: {self.reason}{link}"

    def as_dict(self) -> WaiverDocument:
        return {
            "gate": self.gate,
            "test": self.test,
            "owner": self.owner,
            "reason": self.reason,
            "link": self.link,
            "expires": self.expires.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: WaiverDocument) -> Waiver:
        return cls(
            data["owner"],
            data["reason"],
            dt.date.fromisoformat(data["expires"]),
            data.get("gate"),
            data.get("test"),
            data.get("link"),
        )


def load_waivers(path: Path) -> tuple[Waiver, ...]:
    """The waivers in ``path`` (none if it does not exist); a bad entry is a usage error."""
    if not path.is_file():
        return ()
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the waivers ({exc})") from None
    unknown_top = set(data) - {"waiver"}
    if unknown_top:
        raise ConfigError(f"{path}: unknown table {sorted(unknown_top)[0]!r}; use [[waiver]]")
    entries = data.get("waiver", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: write each waiver as a [[waiver]] table")
    return tuple(_parse(entry, f"{path} waiver #{n}") for n, entry in enumerate(entries, 1))


def _parse(entry: object, where: str) -> Waiver:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: write it as a [[waiver]] table")
    unknown = set(entry) - KEYS
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {sorted(unknown)[0]!r}; allowed: {', '.join(sorted(KEYS))}"
        )
    if ("gate" in entry) == ("test" in entry):
        raise ConfigError(f"{where}: name exactly one of 'gate' or 'test'")
    for key in ("owner", "reason"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise ConfigError(f"{where}: '{key}' is required (a non-empty string)")
    expires = entry.get("expires")
    if isinstance(expires, str):
        try:
            expires = dt.date.fromisoformat(expires)
        except ValueError:
            expires = None
    if isinstance(expires, dt.datetime):
        expires = expires.date()
    if not isinstance(expires, dt.date):
        raise ConfigError(f"{where}: 'expires' must be a date like 2026-12-31")
    subject = entry.get("gate", entry.get("test"))
    if not isinstance(subject, str) or not subject.strip():
        raise ConfigError(f"{where}: 'gate' or 'test' must be a non-empty string")
    link = entry.get("link")
    if link is not None and not isinstance(link, str):
        raise ConfigError(f"{where}: 'link' must be a string")
    return Waiver(
        entry["owner"], entry["reason"], expires, entry.get("gate"), entry.get("test"), link
    )


def for_gate(waivers: Iterable[Waiver], name: str, path: str | None) -> Waiver | None:
    """The waiver naming this gate (``name`` or ``name[path]``), if any."""
    label = f"{name}[{path}]" if path else name
    for waiver in waivers:
        if waiver.gate in (label, name):  # a bare name waives every path of that gate
            return waiver
    return None


def waived_tests(
    waivers: Iterable[Waiver], failing: Iterable[str], today: dt.date
) -> tuple[dict[str, Waiver], list[str]]:
    """Failing tests an active waiver covers, and a note per expired waiver that matched."""
    by_test = {w.test: w for w in waivers if w.test}
    waived: dict[str, Waiver] = {}
    notes: list[str] = []
    for node_id in failing:
        waiver = by_test.get(node_id)
        if waiver is None:
            continue
        if waiver.active(today):
            waived[node_id] = waiver
        else:
            notes.append(expired_note(waiver))
    return waived, notes


def expired_note(waiver: Waiver) -> str:
    return (
        f"the waiver of {waiver.subject} by {waiver.owner} expired on"
        f" {waiver.expires.isoformat()}; it no longer waives"
    )


def from_config(config: RunConfigDocument) -> Sequence[Waiver]:
    return tuple(Waiver.from_dict(w) for w in config.get("waivers", ()))
