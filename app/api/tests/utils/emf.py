"""The API's metrics contract and Embedded Metric Format, as the metrics tests check them: the
contract (payments_api/metrics.json) read as the infrastructure reads it, what makes a log line
invalid EMF, the metrics a line declares, and what CloudWatch would extract from many lines.
"""

import json
import math
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

API_DIR = Path(__file__).resolve().parents[2]
# Read here as the infrastructure reads it, not through the module under test.
CONTRACT: dict[str, Any] = json.loads(
    (API_DIR / "payments_api" / "metrics.json").read_text(encoding="utf-8")
)
NAMESPACE: str = CONTRACT["namespace"]
# CloudWatch's units (MetricDatum; the EMF specification's JSON schema lists the same).
CLOUDWATCH_UNITS = {
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
    "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second",
    "Terabits/Second", "Count/Second", "None",
}  # fmt: skip
Key = tuple[str, tuple[tuple[str, str], ...]]  # (metric, ((dimension, value), ...))

# Route dimension values of the payment routes, as the API writes them (`METHOD path`).
POST = "POST /api/payments"
READ = "GET /api/payments/{payment_id}"
LIST = "GET /api/payments"


def emf_errors(record: dict[str, Any]) -> list[str]:
    """What makes `record` invalid EMF, per the specification: the `_aws` metadata (Timestamp
    in ms, CloudWatchMetrics) and each MetricDirective (`directive_errors`)."""
    aws = record.get("_aws")
    if not isinstance(aws, dict):
        return ["no _aws object"]
    errors = []
    timestamp = aws.get("Timestamp")
    if not isinstance(timestamp, int) or abs(timestamp / 1000 - time.time()) > 3600:
        errors.append(f"Timestamp {timestamp!r} is not now in milliseconds")
    directives = aws.get("CloudWatchMetrics")
    if not isinstance(directives, list) or not directives:
        return [*errors, "CloudWatchMetrics is not a non-empty array"]
    for directive in directives:
        errors += directive_errors(directive, record)
    return errors


def directive_errors(directive: Any, record: dict[str, Any]) -> list[str]:
    """A MetricDirective: Namespace (the contract's), Dimensions (DimensionSets of at most 30
    keys, each a string member of the line), Metrics (at most 100 {Name, Unit}, each a number
    member of the line, in a CloudWatch unit)."""
    if not isinstance(directive, dict) or set(directive) != {"Namespace", "Dimensions", "Metrics"}:
        return [f"malformed MetricDirective {directive!r}"]
    errors = []
    if directive["Namespace"] != NAMESPACE:
        errors.append(f"namespace {directive['Namespace']!r}")
    dimension_sets = directive["Dimensions"]
    if not isinstance(dimension_sets, list) or not dimension_sets:
        return [*errors, f"Dimensions {dimension_sets!r} is not a non-empty array"]
    for dimension_set in dimension_sets:
        if not isinstance(dimension_set, list) or len(dimension_set) > 30:
            errors.append(f"DimensionSet {dimension_set!r}")
            continue
        for name in dimension_set:
            value = record.get(name) if isinstance(name, str) else None
            if not isinstance(value, str) or not 0 < len(value) <= 1024:
                errors.append(f"dimension {name!r} has no string value: {value!r}")
    definitions = directive["Metrics"]
    if not isinstance(definitions, list) or not 0 < len(definitions) <= 100:
        return [*errors, f"Metrics {definitions!r}"]
    for definition in definitions:
        errors += definition_errors(definition, record)
    return errors


def definition_errors(definition: Any, record: dict[str, Any]) -> list[str]:
    """A MetricDefinition: Name and Unit (a CloudWatch unit), its value a finite number."""
    if not isinstance(definition, dict) or set(definition) != {"Name", "Unit"}:
        return [f"MetricDefinition {definition!r}"]
    errors = []
    if definition["Unit"] not in CLOUDWATCH_UNITS:
        errors.append(f"unit {definition['Unit']!r}")
    value = record.get(definition["Name"])
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors.append(f"metric {definition['Name']!r} has no number: {value!r}")
    elif not math.isfinite(value):
        errors.append(f"metric {definition['Name']!r} is not finite")
    return errors


def declared(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The line's metrics as its directives declare them: name -> unit and dimension sets
    (each metric declared once)."""
    found: dict[str, dict[str, Any]] = {}
    for directive in record["_aws"]["CloudWatchMetrics"]:
        for definition in directive["Metrics"]:
            assert definition["Name"] not in found, f"declared twice: {definition['Name']}"
            found[definition["Name"]] = {
                "unit": definition["Unit"],
                "dimensions": directive["Dimensions"],
            }
    return found


def aggregate(records: Iterable[dict[str, Any]]) -> tuple[Counter[Key], Counter[Key]]:
    """What CloudWatch would extract: per metric and dimension values, the sum and the
    number of values."""
    sums: Counter[Key] = Counter()
    samples: Counter[Key] = Counter()
    for record in records:
        for directive in record["_aws"]["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                dimensions = tuple((name, record[name]) for name in dimension_set)
                for definition in directive["Metrics"]:
                    key = (definition["Name"], dimensions)
                    sums[key] += record[definition["Name"]]
                    samples[key] += 1
    return sums, samples
