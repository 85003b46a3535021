"""pytest-uetf: the pytest plugin that records, gates and judges a run (``pytest --uetf``).

The framework lives in ``uetf_core``; this package only adapts pytest's hooks.
It imports nothing of ``uetf_core`` at import time, so that coverage, started
early, measures all of it.
"""
