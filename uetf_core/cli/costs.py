"""``uetf costs``: what a run cost, in total and by test, module or worker."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from uetf_core.cli.common import (
    ledger_for,
    print_json,
    say,
    seconds,
)
from uetf_core.exitcodes import ExitCode
from uetf_core.ledger.queries.costs import group_label
from uetf_core.schemas import validate

if TYPE_CHECKING:
    from uetf_core.documents import CostGroup, CostsDocument

# The sort keys of ``uetf costs`` besides a custom cost's name, and what each sorts by.
COST_SORTS = {"wall": "wall_seconds", "cpu": "cpu_seconds", "memory": "peak_rss_mb"}


def _amount(value: float, unit: str) -> str:
    """An amount in its unit, for a person: seconds scaled, MB to one decimal, counts grouped."""
    if unit == "s":
        return seconds(value)
    if unit == "MB":
        return f"{value:,.1f} MB"
    number = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.4g}"
    return number if not unit else f"{number} {unit}"


def _cost_of(group: CostGroup, sort: str) -> float:
    """The figure ``sort`` orders groups by; a group without it sorts last."""
    field = COST_SORTS.get(sort, sort)
    value: float | None
    if field == "wall_seconds":
        value = group["wall_seconds"]
    elif field == "cpu_seconds":
        value = group["cpu_seconds"]
    else:
        custom = group["custom"].get(field)
        value = None if custom is None else custom["amount"]
    return -1.0 if value is None else float(value)


def costs(args: argparse.Namespace) -> int:
    """What a run cost: totals, then the costliest tests, modules or workers."""
    from uetf_core.costs import amounts
    from uetf_core.errors import ConfigError

    ledger = ledger_for(args)
    try:
        run = ledger.find_run(args.run)
        config = ledger.run_config(run["run_id"]) or {}
        totals = ledger.cost_totals(run["run_id"])
        money = amounts(totals, config.get("prices", {}))
        groups = ledger.costs_by(run["run_id"], args.by)
    finally:
        ledger.close()
    custom = sorted({name for group in groups for name in group["custom"]})
    if args.sort not in COST_SORTS and args.sort not in custom:
        known = ", ".join([*COST_SORTS, *custom])
        raise ConfigError(f"uetf costs --sort: no cost {args.sort!r} in this run; sort by {known}")
    groups.sort(key=lambda group: (-_cost_of(group, args.sort), group_label(group)))
    shown, more = groups[: args.top], max(0, len(groups) - args.top)
    units = {name: unit for name, (_, unit) in totals.items()}
    if args.json:
        document: CostsDocument = {
            "run_id": run["run_id"],
            "totals": {n: {"amount": a, "unit": units.get(n, n)} for n, a in money.items()},
            "by": args.by,
            "sort": args.sort,
            "top": args.top,
            "more": more,
            "groups": shown,
        }
        validate("costs", document, "uetf costs --json")
        print_json(document)
        return int(ExitCode.OK)
    say(f"run {run['run_id']}")
    for name, amount in money.items():
        say(f"  {name:<28} {_amount(amount, units.get(name, name)):>14}")
    print()
    say(f"{args.by:<56} {'tests':>7} {'wall':>10} {'cpu':>10}  custom")
    for group in shown:
        extra = ", ".join(
            f"{name}={_amount(value['amount'], '' if value['unit'] == name else value['unit'])}"
            for name, value in sorted(group["custom"].items())
        )
        label = group_label(group)
        label = label if len(label) <= 56 else "…" + label[-55:]
        say(
            f"{label:<56} {group['tests']:>7,} {seconds(group['wall_seconds']):>10}"
            f" {seconds(group['cpu_seconds']):>10}  {extra}"
        )
    if more:
        say(f"... {more:,} more (--top N shows more)")
    return int(ExitCode.OK)
