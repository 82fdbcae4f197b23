"""Lambda concurrency (lambda_concurrency.py): what the plan reserves must leave the 100
unreserved that Lambda keeps."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber

from payments_infra import REPO_ROOT
from payments_infra.offline import lambda_concurrency, preflight
from payments_infra.offline.stack_file import read_stack_config
from tests.aws_stubs import stubbed
from tests.stacks import WEB_DIST

FORWARDER = {"alb-log-forwarder-dev1": 5}


def lambda_stub(unreserved: int, held: int | None) -> tuple[Any, Stubber]:
    client, stub = stubbed("lambda")
    stub.add_response(
        "get_account_settings",
        {
            "AccountLimit": {
                "ConcurrentExecutions": 1000,
                "UnreservedConcurrentExecutions": unreserved,
            }
        },
    )
    if held is None:
        stub.add_client_error(
            "get_function_concurrency", "ResourceNotFoundException", http_status_code=404
        )
    else:
        stub.add_response(
            "get_function_concurrency",
            {"ReservedConcurrentExecutions": held},
            expected_params={"FunctionName": "alb-log-forwarder-dev1"},
        )
    return client, stub


@pytest.mark.parametrize(
    ("unreserved", "held", "fails"),
    [
        (1000, None, False),  # a new stack in a usual account
        (105, None, False),  # exactly 100 left
        (104, None, True),
        (10, None, True),  # a new account's starting quota
        (100, 5, False),  # a second `make up`: the stack already holds its 5
    ],
)
def test_reserved_concurrency_must_leave_100_unreserved(
    unreserved: int, held: int | None, fails: bool
) -> None:
    client, stub = lambda_stub(unreserved, held)
    with stub:
        found = lambda_concurrency.concurrency_problems(client, FORWARDER)
    assert bool(found) == fails
    if fails:
        assert found == [
            f"Lambda's unreserved concurrency in us-east-1 is {unreserved}, the stack reserves 5 "
            "more (alb-log-forwarder-dev1) and Lambda keeps 100 unreserved: ask for a higher "
            "'Concurrent executions' quota in Service Quotas (new accounts start low), then "
            "run again"
        ]


def test_the_plan_says_what_each_function_reserves() -> None:
    config = read_stack_config(REPO_ROOT / "Pulumi.dev.yaml")
    config["payments:webDistDir"] = WEB_DIST
    reserved = lambda_concurrency.reserved_concurrency(preflight.planned_graph(config, "dev"))
    assert reserved["alb-log-forwarder-dev1"] == 5
