"""What importing UETF costs every recording run, in instructions (valgrind).

Run: python benchmarks/import_cost.py

Runs ``pytest --uetf`` on a one-test suite (as targets.py makes it; the second
run, as the first validates the configuration) and lists the modules it imports
that ``pytest -p no:uetf`` does not; then counts,
under cachegrind with one hash seed, a Python that imports pytest and the
listed modules from outside UETF (sqlite3, for one) with and without UETF's
own. The difference is what UETF's modules cost to import, apart from the
rest of a run: the figure docs/performance.md follows from change to change.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from targets import generate_one_test

LIST = """
import json, sys
import pytest
before = set(sys.modules)
pytest.main(sys.argv[1:])
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def imported(root: Path, *args: str) -> set[str]:
    """The modules one pytest run imports after pytest itself."""
    done = subprocess.run(
        [sys.executable, "-c", LIST, "-q", "-p", "no:cacheprovider", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def instructions(code: str, env: dict[str, str]) -> int:
    with tempfile.TemporaryDirectory() as logs:
        subprocess.run(
            [
                "valgrind",
                "--tool=cachegrind",
                "--cache-sim=no",
                "--cachegrind-out-file=/dev/null",
                f"--log-file={logs}/%p.log",
                sys.executable,
                "-c",
                code,
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        for log in Path(logs).iterdir():
            for line in log.read_text().splitlines():
                if "I   refs:" in line:
                    return int(line.split(":")[1].replace(",", ""))
    raise SystemExit("valgrind reported no count")


def main() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "suite"
        root.mkdir()
        generate_one_test(root)
        imported(root, "--uetf")  # the ledger's first run validates the configuration
        extra = imported(root, "--uetf") - imported(root, "-p", "no:uetf")
    ours = sorted(m for m in extra if m.split(".")[0] in ("uetf_core", "pytest_uetf"))
    theirs = sorted(m for m in extra if m not in ours and not m.startswith("_"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONHASHSEED"] = "0"
    base = "import " + ", ".join(["pytest", *theirs])
    full = f"{base}; import {', '.join(ours)}"
    subprocess.run([sys.executable, "-c", full], env=env, check=True)  # bytecode written
    without, with_uetf = instructions(base, env), instructions(full, env)
    print(f"{len(ours)} UETF modules imported by a recording run (besides {', '.join(theirs)})")
    print(f"importing them: {(with_uetf - without) / 1e6:.1f} million instructions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
