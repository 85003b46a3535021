"""Redacting a ledger location, and telling a server's location from a file's."""

from __future__ import annotations

import pytest

from uetf_core.errors import ConfigError, LedgerError
from uetf_core.ledger.location import as_url, is_postgres, sqlite_path
from uetf_core.redact import redact, scrub, secrets_of

SECRET = "S3cret-x"


@pytest.mark.parametrize(
    ("location", "redacted"),
    [
        ("postgresql://u:S3cret-x@h:5/db", "postgresql://u:***@h:5/db"),
        ("postgres://u:S3cret-x@h", "postgres://u:***@h"),
        ("postgresql://u:S3%63ret-x@h/db", "postgresql://u:***@h/db"),
        ("postgresql://u:S3cret-x@h1:5,h2:6/db", "postgresql://u:***@h1:5,h2:6/db"),
        ("postgresql://u:pw@x?S3cret-x@h/db", "postgresql://u:***@h/db"),
        ("postgresql://u@h/db?password=S3cret-x", "postgresql://u@h/db?password=***"),
        ("postgresql://u@h/db?PassWord=S3cret-x&x=1", "postgresql://u@h/db?PassWord=***&x=1"),
        ("postgresql://u@h/db?pass%77ord=S3cret-x", "postgresql://u@h/db?pass%77ord=***"),
        ("postgresql://u@h/db?sslpassword=S3cret-x", "postgresql://u@h/db?sslpassword=***"),
        ("postgresql://u@h/db?passwrd=S3cret-x", "postgresql://u@h/db?passwrd=***"),
        ("postgresql://h?password=a@S3cret-x", "postgresql://h?password=***"),
        ("postgresql:/u:S3cret-x@h/db", "postgresql:/u:***@h/db"),
        ("host=h password=S3cret-x dbname=d", "host=h password=*** dbname=d"),
        ("host=h password = 'S3cret-x y' user=u", "host=h password = *** user=u"),
        ("host=h password='S3cret-x \\' y' user=u", "host=h password=*** user=u"),
        ("host=h sslpassword=S3cret-x", "host=h sslpassword=***"),
        ("host=h password='S3cret-x", "host=h password=***"),
    ],
)
def test_every_form_of_a_secret_is_masked(location: str, redacted: str) -> None:
    """Each way a libpq connection string carries a password is masked, the rest kept."""
    assert redact(location) == redacted
    assert SECRET not in redact(location)


@pytest.mark.parametrize(
    "location",
    [
        "/tmp/ledger/uetf.db",
        "relative/uetf.db",
        "sqlite:///tmp/a:b@c.db",
        "postgresql://u@h:5/db?sslmode=require&passfile=/home/u/.pgpass",
        "host=h passfile=/home/u/.pgpass",
    ],
)
def test_a_location_without_a_secret_is_unchanged(location: str) -> None:
    """Paths, and a passfile (a file name, not a secret), are shown as given."""
    assert redact(location) == location


def test_scrub_masks_a_secret_a_driver_message_repeats() -> None:
    """A message quoting the password back (libpq does, for a bad escape) loses it."""
    location = "postgresql://u:S3%zzcret@h/db"
    message = f'invalid percent-encoded token: "S3%zzcret" in {location}'
    assert scrub(message, location) == (
        'invalid percent-encoded token: "***" in postgresql://u:***@h/db'
    )
    assert secrets_of("host=h password='a b'") == ["'a b'", "a b"]


@pytest.mark.parametrize(
    ("location", "server"),
    [
        ("postgresql://u@h/db", True),
        ("POSTGRES://u@h/db", True),
        ("host=h dbname=d password='a b'", True),
        ("dbname=d", True),
        ("/tmp/x.db", False),
        ("a=b", False),
        ("data/run=3/uetf.db", False),
        ("sqlite:x.db", False),
    ],
)
def test_a_server_is_told_from_a_file(location: str, server: bool) -> None:
    """URLs and libpq's keyword form are servers; paths, even with '=', are files."""
    assert is_postgres(location) is server


def test_the_keyword_form_becomes_the_same_url() -> None:
    """host=... password='a b' is the URL of the same parameters, which libpq reads alike."""
    url = as_url("host=127.0.0.1 port=5432 password='a b\\'c' dbname=x")
    assert url == "postgresql://?host=127.0.0.1&port=5432&password=a%20b%27c&dbname=x"


@pytest.mark.parametrize(
    ("location", "error"),
    [
        ("postgresql:/u:S3cret-x@127.0.0.1:1/db", ConfigError),
        ("postgres:/h/db", ConfigError),
        ("https:/x", ConfigError),
        ("mysql://u:S3cret-x@h/db", ConfigError),
    ],
)
def test_a_url_is_never_a_file_name(location: str, error: type[Exception]) -> None:
    """A URL-shaped location that names no server UETF knows is refused as a bad
    setting (exit 4), not taken for a path; the refusal does not repeat its password."""
    with pytest.raises(error) as refused:
        sqlite_path(location)
    assert isinstance(refused.value, LedgerError)  # to the code that opens a ledger
    assert refused.value.exit_code == 4
    assert SECRET not in str(refused.value)


def test_sqlite_locations_name_their_file() -> None:
    """sqlite:PATH and sqlite://PATH name PATH; a plain path is itself."""
    assert sqlite_path("sqlite:a/b.db") == "a/b.db"
    assert sqlite_path("sqlite:///tmp/b.db") == "/tmp/b.db"
    assert sqlite_path("c:/x.db") == "c:/x.db"  # one letter: a drive, not a scheme
