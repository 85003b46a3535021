"""``python -m uetf_core.cli``: the same as the ``uetf`` command."""

import sys

from uetf_core.cli import main

sys.exit(main())
