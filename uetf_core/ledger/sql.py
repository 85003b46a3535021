"""The ledger: one class over any connection, put together from its parts."""

from __future__ import annotations

from uetf_core.ledger.queries.costs import CostQueries
from uetf_core.ledger.queries.coverage import CoverageQueries
from uetf_core.ledger.queries.details import RunDetails
from uetf_core.ledger.queries.history import HistoryQueries
from uetf_core.ledger.queries.impact import ImpactQueries
from uetf_core.ledger.queries.runs import RunQueries
from uetf_core.ledger.queries.workstreams import Workstreams


class SqlLedger(
    Workstreams,
    RunQueries,
    HistoryQueries,
    RunDetails,
    CostQueries,
    CoverageQueries,
    ImpactQueries,
):
    """Runs and everything recorded about them, in a database reached by ``self.db``.

    Its writes (``writes``, through ``Workstreams``) and queries (``queries``) are
    written once; the back end is the connection it was given.
    """
