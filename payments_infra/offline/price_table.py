"""The AWS list prices the cost estimate uses (``prices_us_east_1.json``), and a priced line.

The file holds each price with its unit, its pricing page and the date it was read (``as_of``);
re-check them before relying on them. Each line also says what it pays for (``Part``): the
minimal highly available platform, or one of the controls added on top of it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

PRICES_FILE = Path(__file__).resolve().parent / "prices_us_east_1.json"


class Part(StrEnum):
    """What a line pays for. ``PLATFORM`` is the minimal highly available bill (three zones,
    three NAT gateways, the ALB, the tasks, Aurora's writer and reader, CloudFront, the
    secrets, the logs and alarms); every other part is a control the stack adds to it, priced
    on its own lines so that the estimate shows what each costs (cost_controls.py)."""

    PLATFORM = "minimal highly available platform"
    VPC_ENDPOINTS = "VPC interface endpoints"
    WAF = "WAF web ACLs"
    KMS_KEYS = "KMS customer-managed keys"
    FLOW_LOGS = "VPC flow logs"
    DNS_FIREWALL = "DNS Firewall and query logs"
    ACCOUNT_CONTROLS = "account controls"
    LOG_ARCHIVE = "log archive"


@dataclass(frozen=True)
class CostLine:
    """One line of the estimate: how much of what, at which price, per month (USD), for which
    part of the bill."""

    item: str
    quantity: float
    unit: str
    unit_price: float
    monthly: float
    part: Part = Part.PLATFORM


@dataclass(frozen=True)
class PriceTable:
    """The price file: each key's price in USD and the unit it is priced per."""

    usd: Mapping[str, float]
    unit: Mapping[str, str]
    as_of: str

    def line(self, item: str, quantity: float, key: str, part: Part = Part.PLATFORM) -> CostLine:
        """A line priced at ``key``; the quantity must be in that price's unit."""
        price = self.usd[key]
        return CostLine(item, quantity, self.unit[key], price, quantity * price, part)


def load_prices(path: Path = PRICES_FILE) -> PriceTable:
    """Read the price file (see its ``note``: the figures need re-checking against AWS)."""
    document = json.loads(path.read_text())
    prices = document["prices"]
    return PriceTable(
        usd={key: float(entry["usd"]) for key, entry in prices.items()},
        unit={key: str(entry["unit"]) for key, entry in prices.items()},
        as_of=str(document["as_of"]),
    )
