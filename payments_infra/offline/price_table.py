"""The AWS list prices the cost estimate uses (``prices_us_east_1.json``), and a priced line.

The file holds each price with its unit, its pricing page and the date it was read (``as_of``);
re-check them before relying on them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PRICES_FILE = Path(__file__).resolve().parent / "prices_us_east_1.json"


@dataclass(frozen=True)
class CostLine:
    """One line of the estimate: how much of what, at which price, per month (USD)."""

    item: str
    quantity: float
    unit: str
    unit_price: float
    monthly: float


@dataclass(frozen=True)
class PriceTable:
    """The price file: each key's price in USD and the unit it is priced per."""

    usd: Mapping[str, float]
    unit: Mapping[str, str]
    as_of: str

    def line(self, item: str, quantity: float, key: str) -> CostLine:
        """A line priced at ``key``; the quantity must be in that price's unit."""
        price = self.usd[key]
        return CostLine(item, quantity, self.unit[key], price, quantity * price)


def load_prices(path: Path = PRICES_FILE) -> PriceTable:
    """Read the price file (see its ``note``: the figures need re-checking against AWS)."""
    document = json.loads(path.read_text())
    prices = document["prices"]
    return PriceTable(
        usd={key: float(entry["usd"]) for key, entry in prices.items()},
        unit={key: str(entry["unit"]) for key, entry in prices.items()},
        as_of=str(document["as_of"]),
    )
