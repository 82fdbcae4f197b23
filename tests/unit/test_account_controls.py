"""AccountControls (payments:accountControls): CloudTrail, GuardDuty, Security Hub with PCI
DSS, AWS Config, read from the recorded graph."""

from __future__ import annotations

import json
from typing import Any

import pytest

from payments_infra.offline.checks import run_checks
from payments_infra.offline.graph import Graph, Resource
from payments_infra.offline.mocks import record_program
from tests.graph_queries import named, only
from tests.stacks import SUFFIX, VALID_CONFIG, ZONES

ACCOUNT = "123456789012"
TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/trail-{SUFFIX}"
CONTROL_TYPES = (
    "aws:cloudtrail/trail:Trail",
    "aws:guardduty/detector:Detector",
    "aws:securityhub/account:Account",
    "aws:securityhub/standardsSubscription:StandardsSubscription",
    "aws:cfg/recorder:Recorder",
    "aws:cfg/deliveryChannel:DeliveryChannel",
    "aws:cfg/recorderStatus:RecorderStatus",
)


@pytest.fixture(scope="module")
def controls() -> Graph:
    return record_program({**VALID_CONFIG, "payments:accountControls": "true"}, stack="test")


def statements(resource: Resource, key: str = "policy") -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in json.loads(resource.inputs[key])["Statement"]}


def test_they_are_off_by_default(recorded_graph: Graph) -> None:
    assert [r.type for r in recorded_graph if r.type in CONTROL_TYPES] == []
    assert not [r for r in recorded_graph if r.type == "payments:account:AccountControls"]


def test_with_the_setting_each_control_is_made_once_in_one_component(controls: Graph) -> None:
    (component,) = controls.of_type("payments:account:AccountControls")
    for type_token in CONTROL_TYPES:
        (resource,) = controls.of_type(type_token)
        assert resource.parent == component.urn, type_token


def test_every_graph_wide_check_passes_with_them(controls: Graph) -> None:
    # Names from naming.py, tags, destroyable (buckets force-destroy), encryption, 30-day
    # logs, least privilege, hardening.
    failed = {r.name: r.problems for r in run_checks(controls, SUFFIX, ZONES) if not r.passed}
    assert failed == {}


def test_the_trail_records_management_events_everywhere_and_validates_its_files(
    controls: Graph,
) -> None:
    trail = only(controls, "aws:cloudtrail/trail:Trail").inputs
    assert trail["name"] == f"trail-{SUFFIX}"
    assert trail["enableLogFileValidation"] is True and trail["enableLogging"] is True
    assert trail["isMultiRegionTrail"] is True and trail["includeGlobalServiceEvents"] is True
    assert trail["eventSelectors"] == [{"includeManagementEvents": True, "readWriteType": "All"}]


def test_the_trail_encrypts_its_files_with_a_key_only_cloudtrail_may_use_for_it(
    controls: Graph,
) -> None:
    key = named(controls, "aws:kms/key:Key", f"audit-key-{SUFFIX}")
    assert only(controls, "aws:cloudtrail/trail:Trail").inputs["kmsKeyId"] == key.outputs["arn"]
    assert key.inputs["enableKeyRotation"] is True and key.inputs["deletionWindowInDays"] == 7
    policy = statements(key)
    encrypt = policy["CloudTrailEncryptsThisAccountsLogFiles"]
    assert encrypt["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert encrypt["Action"] == ["kms:GenerateDataKey"]
    assert encrypt["Condition"] == {
        "StringEquals": {"aws:SourceArn": TRAIL_ARN},
        "StringLike": {
            "kms:EncryptionContext:aws:cloudtrail:arn": f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"
        },
    }
    read = policy["TheAccountReadsTheLogFiles"]
    assert read["Action"] == ["kms:Decrypt", "kms:ReEncryptFrom"]
    assert named(controls, "aws:kms/alias:Alias", f"alias/audit-{SUFFIX}")


def test_the_trail_bucket_admits_only_this_trail_over_tls_and_keeps_a_year(
    controls: Graph,
) -> None:
    bucket = named(controls, "aws:s3/bucket:Bucket", f"cloudtrail-logs-{SUFFIX}")
    assert bucket.inputs["forceDestroy"] is True
    trail = only(controls, "aws:cloudtrail/trail:Trail")
    assert trail.inputs["s3BucketName"] == bucket.inputs["bucket"]
    (policy,) = [
        p
        for p in controls.of_type("aws:s3/bucketPolicy:BucketPolicy")
        if p.inputs["bucket"] == bucket.inputs["bucket"]
    ]
    document = statements(policy)
    assert document["DenyInsecureTransport"]["Effect"] == "Deny"
    write = document["CloudTrailWritesThisAccountsFiles"]
    assert write["Resource"] == [f"{bucket.outputs['arn']}/AWSLogs/{ACCOUNT}/*"]
    assert write["Condition"]["StringEquals"] == {
        "s3:x-amz-acl": "bucket-owner-full-control",
        "aws:SourceArn": TRAIL_ARN,
    }
    assert document["CloudTrailChecksTheBucket"]["Action"] == ["s3:GetBucketAcl"]
    # CloudTrail checks the bucket policy when the trail is created.
    assert policy.urn in trail.dependencies
    (lifecycle,) = [
        lc
        for lc in controls.of_type(
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
        )
        if lc.inputs["bucket"] == bucket.inputs["bucket"]
    ]
    (rule,) = lifecycle.inputs["rules"]
    assert rule["expiration"] == {"days": 365}
    assert rule["transitions"] == [{"days": 90, "storageClass": "GLACIER_IR"}]


def test_the_trail_sends_its_events_to_a_30_day_log_group_through_its_role(
    controls: Graph,
) -> None:
    group = named(controls, "aws:cloudwatch/logGroup:LogGroup", f"/aws/cloudtrail/trail-{SUFFIX}")
    assert group.inputs["retentionInDays"] == 30 and group.inputs["kmsKeyId"]
    trail = only(controls, "aws:cloudtrail/trail:Trail")
    assert trail.inputs["cloudWatchLogsGroupArn"] == f"{group.outputs['arn']}:*"
    role = named(controls, "aws:iam/role:Role", f"cloudtrail-logs-role-{SUFFIX}")
    assert trail.inputs["cloudWatchLogsRoleArn"] == role.outputs["arn"]
    # CloudTrail sends no confused-deputy keys when it assumes this role (CloudTrail user
    # guide): conditions on them would refuse every delivery.
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust == {
        "Effect": "Allow",
        "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
    policy = named(controls, "aws:iam/rolePolicy:RolePolicy", f"cloudtrail-logs-policy-{SUFFIX}")
    assert json.loads(policy.inputs["policy"])["Statement"] == [
        {
            "Sid": "DeliverTheTrailsEvents",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [f"{group.outputs['arn']}:log-stream:{ACCOUNT}_CloudTrail_*"],
        }
    ]
    assert policy.urn in trail.dependencies


def test_guardduty_is_on_and_publishes_findings_every_15_minutes(controls: Graph) -> None:
    detector = only(controls, "aws:guardduty/detector:Detector").inputs
    assert detector["enable"] is True
    assert detector["findingPublishingFrequency"] == "FIFTEEN_MINUTES"
    assert detector["tags"] == {"Name": f"guardduty-{SUFFIX}"}


def test_security_hub_runs_the_pci_dss_standard_and_only_it(controls: Graph) -> None:
    hub = only(controls, "aws:securityhub/account:Account")
    assert hub.inputs["enableDefaultStandards"] is False
    assert hub.inputs["controlFindingGenerator"] == "SECURITY_CONTROL"
    subscription = only(controls, "aws:securityhub/standardsSubscription:StandardsSubscription")
    assert subscription.inputs["standardsArn"] == (
        "arn:aws:securityhub:us-east-1::standards/pci-dss/v/4.0.1"
    )
    # After the hub exists, and after Config records: its controls are Config rules.
    status = only(controls, "aws:cfg/recorderStatus:RecorderStatus")
    assert {hub.urn, status.urn} <= set(subscription.dependencies)


def test_config_records_everything_and_delivers_to_its_bucket_in_order(controls: Graph) -> None:
    recorder = only(controls, "aws:cfg/recorder:Recorder")
    assert recorder.inputs["name"] == f"config-recorder-{SUFFIX}"
    assert recorder.inputs["recordingGroup"] == {
        "allSupported": True,
        "includeGlobalResourceTypes": True,
    }
    role = named(controls, "aws:iam/role:Role", f"config-recorder-role-{SUFFIX}")
    assert recorder.inputs["roleArn"] == role.outputs["arn"]
    (attachment,) = [
        a
        for a in controls.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.inputs["role"] == role.inputs["name"]
    ]
    assert attachment.inputs["policyArn"] == "arn:aws:iam::aws:policy/service-role/AWS_ConfigRole"
    assert attachment.urn in recorder.dependencies
    bucket = named(controls, "aws:s3/bucket:Bucket", f"config-history-{SUFFIX}")
    deliver = statements(
        named(controls, "aws:iam/rolePolicy:RolePolicy", f"config-recorder-policy-{SUFFIX}")
    )["DeliverHistoryAndSnapshots"]
    assert deliver["Resource"] == [f"{bucket.outputs['arn']}/AWSLogs/{ACCOUNT}/*"]
    channel = only(controls, "aws:cfg/deliveryChannel:DeliveryChannel")
    assert channel.inputs["name"] == f"config-delivery-{SUFFIX}"
    assert channel.inputs["s3BucketName"] == bucket.inputs["bucket"]
    # AWS Config takes a channel only once a recorder exists, and records only with one.
    assert recorder.urn in channel.dependencies
    status = only(controls, "aws:cfg/recorderStatus:RecorderStatus")
    assert status.inputs == {"isEnabled": True, "name": recorder.inputs["name"]}
    assert channel.urn in status.dependencies


def test_the_log_archive_takes_the_trails_log_group_last() -> None:
    graph = record_program(
        {**VALID_CONFIG, "payments:accountControls": "true", "payments:logArchive": "s3"},
        stack="test",
    )
    filters = {
        int(f.name.rsplit("-", 1)[1]): f.inputs["logGroup"]
        for f in graph.of_type("aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter")
    }
    # Last, so every other group's filter keeps its name (they are named by their place).
    assert filters[max(filters)] == f"/aws/cloudtrail/trail-{SUFFIX}"
