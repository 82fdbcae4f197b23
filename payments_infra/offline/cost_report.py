"""The cost estimate as ``make plan`` prints it: the minimal highly available bill, then each
control the stack adds to it, line by line, and a summary of what each part costs.

Every line of ``cost.estimate`` belongs to one ``Part``. The table lists the lines part by part
and ends with the subtotals: the minimal platform, then ``+`` each control, then the total (the
default bill). A control that is off (its setting, its lines all zero) is one row, with what it
would add if turned on (``if_on``), priced from the same functions with one of each.
"""

from __future__ import annotations

from collections.abc import Mapping

from payments_infra.components.network.endpoints import SERVICES
from payments_infra.offline.cost import (
    HOURS_PER_MONTH,
    NAT_GATEWAY,
    Profile,
    total,
)
from payments_infra.offline.cost_assumptions import (
    ESTIMATES_AS_OF,
    NON_PRODUCTION_AURORA_MIN_ACU,
    NON_PRODUCTION_NAT_GATEWAYS,
    NON_PRODUCTION_TASKS,
)
from payments_infra.offline.cost_controls import (
    ONE_OF_EACH,
    account_control_lines,
    endpoint_lines,
    endpoint_zones,
    log_archive_lines,
    log_archive_streams,
    logs_ingested_gb,
    stored_months,
)
from payments_infra.offline.graph import Graph
from payments_infra.offline.price_table import (
    PRICES_FILE,
    CostLine,
    Part,
    PriceTable,
    load_prices,
)

# The setting that turns each optional part on or off; the others are always built.
PART_SETTINGS: Mapping[Part, str] = {
    Part.VPC_ENDPOINTS: "payments:vpcEndpoints",
    Part.ACCOUNT_CONTROLS: "payments:accountControls",
    Part.LOG_ARCHIVE: "payments:logArchive",
}
# The platform's lines, by profile: the what-if's are not highly available (one NAT gateway,
# Aurora's writer alone).
PLATFORM_LABELS: Mapping[Profile, str] = {
    "production": "Minimal highly available platform",
    "non-production": "Platform at the what-if's sizes",
}

WIDTH = 101  # the header's: item 38, quantity 12, unit 24, unit price 10, monthly 12


def subtotals(lines: list[CostLine]) -> dict[Part, float]:
    """Each part's monthly cost, every part listed (0 for one with no line)."""
    return {part: total([line for line in lines if line.part == part]) for part in Part}


def minimal_total(lines: list[CostLine]) -> float:
    """The minimal highly available bill: the platform's lines alone."""
    return subtotals(lines)[Part.PLATFORM]


def is_off(lines: list[CostLine], part: Part) -> bool:
    """A part with a setting whose lines are all zero: turned off in this graph."""
    return part in PART_SETTINGS and all(line.monthly == 0 for line in lines if line.part == part)


def if_on(graph: Graph, prices: PriceTable | None = None) -> dict[Part, float]:
    """What each optional part would add to this graph's bill if turned on: the endpoints of
    ``SERVICES`` in each of the stack's zones, one of each account control, the log archive
    of every log group. An estimate for a part that is off; for one that is on, see its lines."""
    prices = prices or load_prices()
    zones = len(graph.stack_outputs.get("availability_zones", [])) or endpoint_zones(graph)
    endpoints = endpoint_lines(
        prices,
        zone_hours=len(SERVICES) * zones * HOURS_PER_MONTH,
        nat_gateways=bool(graph.of_type(NAT_GATEWAY)),
    )
    controls = account_control_lines(prices, ONE_OF_EACH, stored_months(graph))
    archive = log_archive_lines(prices, max(log_archive_streams(graph), 1), logs_ingested_gb(graph))
    return {
        Part.VPC_ENDPOINTS: total(endpoints),
        Part.ACCOUNT_CONTROLS: total(controls),
        Part.LOG_ARCHIVE: total(archive),
    }


def render(
    lines: list[CostLine],
    *,
    profile: Profile = "production",
    would_add: Mapping[Part, float] | None = None,
) -> str:
    """A fixed-width table, part by part, with the subtotals and the total in USD (two
    decimals); ``would_add``: what each part that is off would add (``if_on``)."""
    would_add = would_add or {}
    header = f"{'Item':<38} {'Quantity':>12}  {'Unit':<24} {'Unit price':>10} {'Monthly USD':>12}"
    rule = "-" * len(header)
    rows: list[str] = []
    platform = PLATFORM_LABELS[profile]
    for part in Part:
        own = [line for line in lines if line.part == part]
        heading = platform if part == Part.PLATFORM else _heading(part)
        if is_off(lines, part):
            rows.append(f"{heading}: off (what it would add: below)")
        elif own:
            rows += [f"{heading}:", *(_row(line) for line in own)]
    return "\n".join(
        [
            _title(profile),
            rule,
            header,
            rule,
            *rows,
            rule,
            *_summary(lines, platform, would_add),
            _amount_row("Total", total(lines)),
            *_footer(),
        ]
    )


def _title(profile: Profile) -> str:
    if profile == "production":
        return "Monthly cost estimate, us-east-1, production: the recorded graph"
    return (
        "Monthly cost estimate, us-east-1, NON-PRODUCTION WHAT-IF on the recorded graph:\n"
        f"{NON_PRODUCTION_NAT_GATEWAYS} NAT gateway, {NON_PRODUCTION_TASKS} Fargate task, "
        f"Aurora writer only at {NON_PRODUCTION_AURORA_MIN_ACU} ACU minimum.\n"
        "The stack does NOT offer these as settings today; what it deploys is unchanged."
    )


def _heading(part: Part) -> str:
    setting = PART_SETTINGS.get(part)
    return f"+ {part[0].upper()}{part[1:]}" + (f" ({setting})" if setting else "")


def _on_note(part: Part, would_add: Mapping[Part, float]) -> str:
    if part not in would_add:
        return ""
    return f"; on, about {would_add[part]:,.2f} a month more"


def _row(line: CostLine) -> str:
    return (
        f"{line.item:<38} {line.quantity:>12,.2f}  {line.unit:<24} "
        f"{_unit_price(line.unit_price):>10} {line.monthly:>12,.2f}"
    )


def _amount_row(label: str, amount: float) -> str:
    return f"{label:<{WIDTH - 13}} {amount:>12,.2f}"


def _summary(lines: list[CostLine], platform: str, would_add: Mapping[Part, float]) -> list[str]:
    """The platform's bill, then what each control adds to it."""
    parts = subtotals(lines)
    rows = [_amount_row(platform, parts[Part.PLATFORM])]
    for part in Part:
        if part == Part.PLATFORM:
            continue
        label = f"+ {part}"
        if is_off(lines, part):
            label += f": off{_on_note(part, would_add)}"
        rows.append(_amount_row(label, parts[part]))
    return rows


def _footer() -> list[str]:
    return [
        f"{HOURS_PER_MONTH} hours a month; list prices as of {load_prices().as_of} from "
        f"{PRICES_FILE.name} (re-check them).",
        "Usage is assumed, not measured (payments_infra/offline/cost_assumptions.py): "
        "(baseline) for light",
        "traffic; (estimate) for the account controls, which bill by the whole account "
        f"(estimated {ESTIMATES_AS_OF}).",
    ]


def _unit_price(value: float) -> str:
    """Two decimals at least, six at most: enough for hourly prices such as 0.004445."""
    whole, _, decimals = f"{value:.6f}".rstrip("0").partition(".")
    return f"{whole}.{decimals:0<2}"
