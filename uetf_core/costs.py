"""Costs of a run in the units gates judge: seconds, declared units, and money from prices.

``[tool.uetf.costs]`` maps a cost name to its price per unit in one currency
(``currency``, default ``usd``): ``cpu_seconds = 0.00005`` prices CPU time,
``openai_tokens = 0.000002`` a declared cost. The priced total is added to
the currency's own cost (tests may declare ``uetf_cost.add("usd", 0.02)``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

from uetf_core.errors import ConfigError

if TYPE_CHECKING:
    from uetf_core.documents import Prices

DEFAULT_CURRENCY = "usd"


def check_prices(table: object, where: str) -> Prices:
    """The ``[tool.uetf.costs]`` table, checked: numbers, and an optional currency name."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: 'costs' must be a table of prices, e.g. cpu_seconds = 0.00005")
    prices: Prices = {}
    for name, value in table.items():
        if name == "currency":
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{where}: costs.currency must be a name such as 'usd'")
        elif (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not (math.isfinite(value) and value >= 0)
        ):
            raise ConfigError(
                f"{where}: the price costs.{name} must be a number >= 0 (per unit), got {value!r}"
            )
        prices[name] = value
    return prices


def amounts(
    totals: Mapping[str, tuple[float, str]], prices: Mapping[str, float | str]
) -> dict[str, float]:
    """Each cost's amount by name, plus money in the currency when prices are set."""
    found = {name: amount for name, (amount, _) in totals.items()}
    priced = {name: float(p) for name, p in prices.items() if name != "currency"}
    if priced:
        currency = str(prices.get("currency", DEFAULT_CURRENCY))
        money = sum(found.get(name, 0.0) * price for name, price in priced.items())
        found[currency] = round(found.get(currency, 0.0) + money, 6)
    return found
