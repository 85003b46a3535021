"""pytest-uetf: the pytest plugin that records, gates and judges a run (``pytest --uetf``)."""

from uetf_core import __version__

__all__ = ["__version__"]
