"""The zones (zone_offers.py): the ones `pulumi up` will choose in this account, worked out as
the program does, and what each offers the stack."""

from __future__ import annotations

import json
from typing import Any

from botocore.stub import Stubber

from payments_infra import REPO_ROOT
from payments_infra.config import StackConfig
from payments_infra.offline import preflight, zone_offers
from payments_infra.offline.stack_file import read_stack_config
from tests.aws_stubs import stubbed
from tests.preflight_stubs import ENDPOINT_SERVICES, SERVERLESS, ec2_zones, orderable, zone
from tests.stacks import VALID_CONFIG, WEB_DIST


def test_preflight_chooses_the_zones_as_the_program_does() -> None:
    client, stub = ec2_zones()
    with stub:
        zones, found = zone_offers.planned_zones(client, None)
    assert found == []
    assert zones == [zone("us-east-1b"), zone("us-east-1c"), zone("us-east-1d")]


def test_a_pinned_zone_the_account_lacks_is_named() -> None:
    client, stub = ec2_zones(pinned=True)
    with stub:
        zones, found = zone_offers.planned_zones(client, ("us-east-1a", "us-east-1b", "us-east-1g"))
    assert zones == []
    assert found == [
        "payments:availabilityZones names us-east-1g, which this account does not have in "
        "us-east-1 (it has us-east-1a, us-east-1b, us-east-1c, us-east-1d, us-east-1e, "
        "us-east-1f): pin zones from that list, then run again"
    ]


def test_a_pinned_limited_zone_stops_only_the_arm64_tasks_it_cannot_run() -> None:
    zones = [zone("us-east-1a"), zone("us-east-1b"), zone("us-east-1c")]
    assert zone_offers.pinned_zone_problems(zones, "ARM64") == [
        "payments:availabilityZones pins us-east-1a (use1-az3), and Fargate runs no ARM64 "
        "tasks there (ECS developer guide, 64-bit ARM workloads), while "
        "payments:apiCpuArchitecture is ARM64: pin another zone (aws ec2 "
        "describe-availability-zones shows each zone's ID), remove the setting so the stack "
        "chooses, or set payments:apiCpuArchitecture to X86_64"
    ]
    assert zone_offers.pinned_zone_problems(zones, "X86_64") == []


PLANNED = [zone("us-east-1b"), zone("us-east-1c"), zone("us-east-1d")]


def test_serverless_v2_offered_in_every_planned_zone_passes() -> None:
    client, stub = stubbed("rds")
    stub.add_response(
        "describe_orderable_db_instance_options",
        orderable({"17.4": ["us-east-1b", "us-east-1c"], "17.6": ["us-east-1c", "us-east-1d"]}),
        expected_params=SERVERLESS,
    )
    with stub:
        assert zone_offers.serverless_problems(client, PLANNED, "17") == []


def test_a_zone_without_serverless_v2_of_the_major_version_is_named() -> None:
    client, stub = stubbed("rds")
    stub.add_response(
        "describe_orderable_db_instance_options",
        # 16.x in us-east-1d does not count for 17.
        orderable({"16.8": ["us-east-1d"], "17.6": ["us-east-1b", "us-east-1c"]}),
        expected_params=SERVERLESS,
    )
    with stub:
        assert zone_offers.serverless_problems(client, PLANNED, "17") == [
            "Aurora PostgreSQL 17 Serverless v2 (db.serverless) is not offered in us-east-1d "
            "(use1-az2) in this account (RDS DescribeOrderableDBInstanceOptions): pin "
            "payments:availabilityZones to three zones that offer it, or choose another "
            "payments:dbEngineVersion, then run again"
        ]


def test_an_exact_engine_version_is_asked_for_exactly() -> None:
    client, stub = stubbed("rds")
    stub.add_response(
        "describe_orderable_db_instance_options",
        orderable({"17.4": ["us-east-1b", "us-east-1c", "us-east-1d"]}),
        expected_params={**SERVERLESS, "EngineVersion": "17.4"},
    )
    with stub:
        assert zone_offers.serverless_problems(client, PLANNED, "17.4") == []


def endpoint_services(offered: dict[str, list[str]]) -> tuple[Any, Stubber]:
    client, stub = stubbed("ec2")
    stub.add_response(
        "describe_vpc_endpoint_services",
        {
            "ServiceDetails": [
                {"ServiceName": name, "AvailabilityZones": zones} for name, zones in offered.items()
            ]
        },
        expected_params={"ServiceNames": list(offered)},
    )
    return client, stub


def test_interface_endpoints_offered_in_every_planned_zone_pass() -> None:
    all_three = ["us-east-1b", "us-east-1c", "us-east-1d"]
    services = {
        "com.amazonaws.us-east-1.ecr.api": all_three,
        "com.amazonaws.us-east-1.sts": all_three,
    }
    client, stub = endpoint_services(services)
    with stub:
        assert zone_offers.endpoint_problems(client, PLANNED, list(services)) == []


def test_an_interface_endpoint_missing_from_a_zone_is_named_with_the_zone() -> None:
    services = {
        "com.amazonaws.us-east-1.ecr.api": ["us-east-1b", "us-east-1c", "us-east-1d"],
        "com.amazonaws.us-east-1.ecr.dkr": ["us-east-1b", "us-east-1c"],
    }
    client, stub = endpoint_services(services)
    with stub:
        assert zone_offers.endpoint_problems(client, PLANNED, list(services)) == [
            "these VPC interface endpoints are not offered in the stack's zones: "
            "com.amazonaws.us-east-1.ecr.dkr in us-east-1d (use1-az2) (EC2 "
            "DescribeVpcEndpointServices): pin payments:availabilityZones to three zones that "
            "offer them, or set payments:vpcEndpoints to false, then run again"
        ]


def test_the_plan_names_its_interface_endpoint_services() -> None:
    config = read_stack_config(REPO_ROOT / "Pulumi.dev.yaml")
    config["payments:webDistDir"] = WEB_DIST
    services = zone_offers.interface_endpoint_services(preflight.planned_graph(config, "dev"))
    assert services == [f"com.amazonaws.us-east-1.{s}" for s in ENDPOINT_SERVICES]
    config["payments:vpcEndpoints"] = "false"
    assert zone_offers.interface_endpoint_services(preflight.planned_graph(config, "dev")) == []


def test_pinned_zones_are_checked_as_given_and_a_limited_one_is_named() -> None:
    pinned = ["us-east-1a", "us-east-1b", "us-east-1c"]  # us-east-1a is use1-az3 here
    config = StackConfig.from_mapping(
        {**VALID_CONFIG, "payments:availabilityZones": json.dumps(pinned)},
        project="payments",
        stack="test",
    )
    ec2, ec2_stub = ec2_zones(pinned=True)
    ec2_stub.add_response(
        "describe_vpc_endpoint_services",
        {
            "ServiceDetails": [
                {"ServiceName": "com.amazonaws.us-east-1.sts", "AvailabilityZones": pinned}
            ]
        },
        expected_params={"ServiceNames": ["com.amazonaws.us-east-1.sts"]},
    )
    rds, rds_stub = stubbed("rds")
    rds_stub.add_response(
        "describe_orderable_db_instance_options", orderable({"17.6": pinned}), SERVERLESS
    )
    with ec2_stub, rds_stub:
        [problem] = zone_offers.zone_problems(ec2, rds, config, ["com.amazonaws.us-east-1.sts"])
    assert problem.startswith("payments:availabilityZones pins us-east-1a (use1-az3), and Fargate")
    ec2_stub.assert_no_pending_responses()
    rds_stub.assert_no_pending_responses()
