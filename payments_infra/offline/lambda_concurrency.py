"""Preflight of `make up`: the Lambda concurrency the plan reserves leaves the unreserved
concurrency AWS insists on (new accounts start with a quota too low to reserve any).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from payments_infra.config import REQUIRED_REGION

if TYPE_CHECKING:
    from payments_infra.offline.graph import Graph

# Lambda refuses a reservation that leaves fewer unreserved (Lambda developer guide,
# "Configuring reserved concurrency").
LAMBDA_MIN_UNRESERVED = 100


def reserved_concurrency(graph: Graph) -> dict[str, int]:
    """Function name -> the concurrency the plan reserves for it."""
    return {
        str(f.inputs["name"]): int(f.inputs["reservedConcurrentExecutions"])
        for f in graph.of_type("aws:lambda/function:Function")
        if isinstance(f.inputs.get("reservedConcurrentExecutions"), int | float)
    }


def concurrency_problems(lambda_client: Any, reserved: Mapping[str, int]) -> list[str]:
    """What the plan reserves, less what this stack already holds, must leave 100."""
    from botocore.exceptions import ClientError  # noqa: PLC0415

    if not reserved:
        return []
    limit = lambda_client.get_account_settings()["AccountLimit"]
    unreserved = int(limit["UnreservedConcurrentExecutions"])
    more = 0
    for name, wanted in reserved.items():
        try:
            held = lambda_client.get_function_concurrency(FunctionName=name)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
            held = {}
        more += max(wanted - int(held.get("ReservedConcurrentExecutions", 0)), 0)
    if unreserved - more >= LAMBDA_MIN_UNRESERVED:
        return []
    return [
        f"Lambda's unreserved concurrency in {REQUIRED_REGION} is {unreserved}, the stack "
        f"reserves {more} more ({', '.join(sorted(reserved))}) and Lambda keeps "
        f"{LAMBDA_MIN_UNRESERVED} unreserved: ask for a higher 'Concurrent executions' quota "
        "in Service Quotas (new accounts start low), then run again"
    ]
