"""Preflight: each missing piece of a deploy is one sentence that says what to do.

Here, what preflight itself decides: the stack file before anything else, and what ``up`` asks
of the account about the plan. Each check is tested with its module: test_aws_access.py,
test_local_tools.py, test_bucket_owners.py, test_lambda_concurrency.py,
test_account_controls_check.py, test_base_image.py, test_zone_offers.py and others."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from payments_infra.offline import preflight
from tests.aws_stubs import stubbed
from tests.preflight_stubs import (
    ENDPOINT_SERVICES,
    SERVERLESS,
    controls_stubs,
    ec2_zones,
    orderable,
)
from tests.stacks import WEB_DIST


def test_missing_stack_file_stops_before_any_other_check(tmp_path: Path) -> None:
    assert preflight.problems("prod", "up", root=tmp_path) == [
        "Pulumi.prod.yaml does not exist: copy Pulumi.dev.yaml to Pulumi.prod.yaml and set "
        "payments:environmentSuffix"
    ]


def test_empty_stack_name_is_one_sentence(tmp_path: Path) -> None:
    [problem] = preflight.problems("", "up", root=tmp_path)
    assert problem.startswith("STACK must be a stack name such as dev")


def test_up_asks_about_the_controls_and_concurrency_the_plan_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "Pulumi.dev.yaml").write_text(
        "config:\n"
        "  payments:environmentSuffix: dev1\n"
        "  aws:region: us-east-1\n"
        f"  payments:webDistDir: {WEB_DIST}\n"
        '  payments:accountControls: "true"\n'
    )
    controls, stubs = controls_stubs(detectors=[("d-1234", {})])
    s3, s3_stub = stubbed("s3")
    for _ in range(4):  # alb-logs, cloudtrail-logs, config-history, frontend: all free
        s3_stub.add_client_error("head_bucket", "404", http_status_code=404)
    functions = PlentyOfConcurrency()
    # The zones: chosen in this account (us-east-1a is use1-az3 there), each offering the lot.
    ec2, ec2_stub = ec2_zones()
    planned = ["us-east-1b", "us-east-1c", "us-east-1d"]
    services = [f"com.amazonaws.us-east-1.{s}" for s in ENDPOINT_SERVICES]
    ec2_stub.add_response(
        "describe_vpc_endpoint_services",
        {"ServiceDetails": [{"ServiceName": s, "AvailabilityZones": planned} for s in services]},
        expected_params={"ServiceNames": services},
    )
    rds, rds_stub = stubbed("rds")
    rds_stub.add_response(
        "describe_orderable_db_instance_options", orderable({"17.6": planned}), SERVERLESS
    )
    clients = {
        "s3": s3,
        "lambda": functions,
        "ec2": ec2,
        "rds": rds,
        "guardduty": controls.guardduty,
        "securityhub": controls.securityhub,
        "config": controls.config,
        "cloudtrail": controls.cloudtrail,
    }
    monkeypatch.setattr(preflight, "aws_client", clients.__getitem__)
    for stub in [*stubs, s3_stub, ec2_stub, rds_stub]:
        stub.activate()
    [problem] = preflight._planned_problems(tmp_path, "dev")
    ec2_stub.assert_no_pending_responses()
    rds_stub.assert_no_pending_responses()
    assert problem.startswith(
        "payments:accountControls is true, but this account already has a GuardDuty "
        "detector (d-1234) in us-east-1"
    )
    assert "alb-log-forwarder-dev1" in functions.asked


class PlentyOfConcurrency:
    """A Lambda client of an account with the usual quota, whatever functions it is asked
    about (the plan may hold more than the forwarder)."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def get_account_settings(self) -> dict[str, Any]:
        return {"AccountLimit": {"UnreservedConcurrentExecutions": 1000}}

    def get_function_concurrency(self, FunctionName: str) -> dict[str, Any]:  # noqa: N803
        self.asked.append(FunctionName)
        return {}
