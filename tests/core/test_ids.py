"""Identifiers: run ids, test keys and the host name a run records."""

from __future__ import annotations

import re
import socket
import time

from uetf_core.ids import host_name, new_run_id
from uetf_core.ids import test_key as key_of  # not collected as a test


def test_run_ids_sort_by_time_and_differ_within_one_second() -> None:
    now = time.time()
    ids = {new_run_id(now) for _ in range(50)}
    assert len(ids) > 45  # 6 random hex digits: a clash in 50 draws is rare
    assert all(re.fullmatch(r"\d{8}T\d{6}-[0-9a-f]{6}", run_id) for run_id in ids)
    assert new_run_id(now) < new_run_id(now + 2)


def test_test_keys_are_stable_signed_63_bit_integers() -> None:
    key = key_of("tests/test_a.py::test_one[x-1]")
    assert key == key_of("tests/test_a.py::test_one[x-1]")
    assert 0 <= key < 2**63
    assert key != key_of("tests/test_a.py::test_one[x-2]")
    assert isinstance(key_of("tests/ünïcode.py::test_\udcff"), int)  # a lone surrogate


def test_host_name_is_what_socket_reports() -> None:
    assert host_name() == socket.gethostname()
