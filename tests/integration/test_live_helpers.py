"""The live tests' pure helpers, checked without AWS (botocore's Stubber answers the calls).

These run with or without a deployed stack: they check parsing and paging logic only.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.integration.live_helpers import (
    admits_https_from_anywhere,
    api_origin_domain,
    db_cluster_identifier,
    environment_suffix,
    expected_log_groups,
    has_event_since,
    live_payment_reference,
    missing_api_key,
    stack_alarms,
    stack_protects_data,
    task_attachment_detail,
    unfinished_rotations,
    web_acl_name_and_id,
)

OUTPUTS = {
    "ecs_cluster_name": "ecs-cluster-prod1",
    "db_cluster_endpoint": "aurora-cluster-prod1.cluster-abc123.us-east-1.rds.amazonaws.com",
    "flow_log_group_name": "/aws/vpc/flow-logs-prod1",
    "alb_access_log_group_name": "/aws/alb/access/alb-prod1",
}


def _client(service: str) -> Any:
    import botocore.session  # noqa: PLC0415

    return botocore.session.get_session().create_client(
        service,
        region_name="us-east-1",
        aws_access_key_id="stubbed",
        aws_secret_access_key="stubbed",  # never sent: Stubber answers every call
    )


def test_suffix_and_cluster_id_come_from_the_outputs() -> None:
    assert environment_suffix("ecs-cluster-prod-eu1") == "prod-eu1"
    assert db_cluster_identifier(OUTPUTS["db_cluster_endpoint"]) == "aurora-cluster-prod1"
    with pytest.raises(ValueError, match="ecs-cluster-<suffix>"):
        environment_suffix("cluster-prod1")


def test_expected_log_groups_follow_the_naming_scheme() -> None:
    assert expected_log_groups(OUTPUTS) == {
        "vpc-flow-logs": "/aws/vpc/flow-logs-prod1",
        "api": "/ecs/api-prod1",
        "alb-access": "/aws/alb/access/alb-prod1",
        "rds-postgresql": "/aws/rds/cluster/aurora-cluster-prod1/postgresql",
    }


def test_web_acl_arn_is_split_into_name_and_id() -> None:
    arn = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/web-acl-prod1/1a2b-3c4d"
    assert web_acl_name_and_id(arn) == ("web-acl-prod1", "1a2b-3c4d")
    with pytest.raises(ValueError, match="not a WAFv2 web ACL ARN"):
        web_acl_name_and_id("arn:aws:waf::123456789012:webacl/1a2b")


def test_api_origin_is_found_only_through_the_api_behaviour() -> None:
    items = [{"Id": "web", "DomainName": "b.s3.amazonaws.com"}]
    items.append({"Id": "api", "DomainName": "api.example.com"})
    origins = {"Quantity": 2, "Items": items}
    wired = {
        "Origins": origins,
        "CacheBehaviors": {
            "Quantity": 1,
            "Items": [{"PathPattern": "/api/*", "TargetOriginId": "api"}],
        },
    }
    assert api_origin_domain(wired) == "api.example.com"
    assert api_origin_domain({"Origins": origins, "CacheBehaviors": {"Quantity": 0}}) is None


def test_only_a_rule_open_to_every_ipv4_address_on_443_counts_as_open() -> None:
    anywhere = [{"CidrIp": "0.0.0.0/0"}]
    assert admits_https_from_anywhere(
        [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": anywhere}]
    )
    assert not admits_https_from_anywhere(
        [
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "PrefixListIds": [{}]},
            {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": anywhere},
        ]
    )


def test_task_eni_details_are_read_from_the_eni_attachment() -> None:
    task = {
        "taskArn": "arn:task",
        "attachments": [
            {
                "type": "ElasticNetworkInterface",
                "details": [
                    {"name": "subnetId", "value": "subnet-1"},
                    {"name": "networkInterfaceId", "value": "eni-1"},
                ],
            }
        ],
    }
    assert task_attachment_detail(task, "subnetId") == "subnet-1"
    assert task_attachment_detail(task, "networkInterfaceId") == "eni-1"
    with pytest.raises(KeyError, match="privateDnsName"):
        task_attachment_detail(task, "privateDnsName")


def test_payment_reference_can_never_hold_a_card_number() -> None:
    key = uuid.UUID("41111111-1111-4111-9111-111111111111")
    reference = live_payment_reference(key)
    assert reference.startswith("live-test-") and len(reference) <= 64
    # The API's detector joins digit groups separated by spaces or hyphens only.
    runs = re.findall(r"[0-9]+(?:[ -][0-9]+)*", reference)
    assert max(len(re.sub(r"[ -]", "", run)) for run in runs) < 13


def test_event_search_follows_empty_pages_until_an_event() -> None:
    from botocore.stub import Stubber  # noqa: PLC0415

    logs = _client("logs")
    first = {"logGroupName": "/g", "startTime": 1000, "limit": 1}
    with Stubber(logs) as stub:
        stub.add_response("filter_log_events", {"events": [], "nextToken": "t1"}, first)
        stub.add_response(
            "filter_log_events",
            {"events": [{"message": "hello", "timestamp": 1001}]},
            {**first, "nextToken": "t1"},
        )
        assert has_event_since(logs, "/g", 1000) is True
        stub.add_response("filter_log_events", {"events": []}, first)
        assert has_event_since(logs, "/g", 1000) is False
        stub.assert_no_pending_responses()


def test_stack_alarms_are_those_ending_with_the_suffix_over_every_page() -> None:
    from botocore.stub import Stubber  # noqa: PLC0415

    cloudwatch = _client("cloudwatch")
    request = {"AlarmNamePrefix": "alarm-", "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]}
    with Stubber(cloudwatch) as stub:
        stub.add_response(
            "describe_alarms",
            {
                "MetricAlarms": [{"AlarmName": "alarm-db-cpu-prod1"}],
                "CompositeAlarms": [{"AlarmName": "alarm-x-other"}],
                "NextToken": "n",
            },
            request,
        )
        stub.add_response(
            "describe_alarms",
            {"MetricAlarms": [{"AlarmName": "alarm-nat-ports-us-east-1a-prod1"}]},
            {**request, "NextToken": "n"},
        )
        names = [a["AlarmName"] for a in stack_alarms(cloudwatch, "prod1")]
    assert names == ["alarm-db-cpu-prod1", "alarm-nat-ports-us-east-1a-prod1"]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"prod": 'payments:environmentSuffix: prod1\n  payments:protectData: "true"'}, True),
        ({"prod": "payments:environmentSuffix: prod1\n  payments:protectData: true"}, True),
        ({"prod": "payments:environmentSuffix: prod1"}, False),  # the default
        ({"dev": 'payments:environmentSuffix: dev1\n  payments:protectData: "true"'}, None),
        ({"prod": "payments:environmentSuffix: prod1\n  payments:protectData: maybe"}, None),
        (
            {
                "prod": 'payments:environmentSuffix: prod1\n  payments:protectData: "true"',
                "copy": "payments:environmentSuffix: prod1",
            },
            None,  # two files claim the suffix and disagree
        ),
    ],
)
def test_whether_the_stack_protects_its_data_comes_from_its_stack_file(
    tmp_path: Path, files: dict[str, str], expected: bool | None
) -> None:
    for stack, config in files.items():
        (tmp_path / f"Pulumi.{stack}.yaml").write_text(f"config:\n  {config}\n")
    (tmp_path / "Pulumi.broken.yaml").write_text("config: [\n")  # skipped, not fatal
    assert stack_protects_data(tmp_path, "prod1") is expected


def test_a_rotation_is_unfinished_while_a_version_is_pending_and_not_current() -> None:
    finished = {"v2": ["AWSCURRENT", "AWSPENDING"], "v1": ["AWSPREVIOUS"]}
    assert unfinished_rotations(finished) == []
    assert unfinished_rotations({"v2": ["AWSCURRENT"], "v1": ["AWSPREVIOUS"]}) == []
    started = {"v3": ["AWSPENDING"], "v2": ["AWSCURRENT"], "v1": ["AWSPREVIOUS"]}
    assert unfinished_rotations(started) == ["v3"]


def test_verify_without_an_api_key_fails_on_a_protected_stack_and_skips_on_a_demo() -> None:
    outcome, reason = missing_api_key(True)
    assert outcome == "fail"
    assert reason.endswith("the stack protects its data, so verify needs the key")
    for demo in (False, None):  # None: the stack file could not be found
        outcome, reason = missing_api_key(demo)
        assert outcome == "skip"
        assert reason.startswith("no API key: set PAYMENTS_API_KEY")
