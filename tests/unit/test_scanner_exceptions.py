"""Every scanner finding the stack keeps is fixed or justified: docs/security.md's "Deliberate
exceptions" table names each Checkov finding by its ID, with its Security Hub control (or says
there is none), why it stands and what compensates."""

from __future__ import annotations

import re

import pytest

from payments_infra import REPO_ROOT
from payments_infra.offline.graph import Graph
from tests.graph_queries import named
from tests.stacks import SUFFIX

SECURITY = REPO_ROOT / "docs" / "security.md"
ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
# Each Checkov finding the stack is known to raise, and its Security Hub control (None: none).
FINDINGS: dict[str, str | None] = {
    "CKV2_AWS_62": "S3.11",  # S3 event notifications
    "CKV2_AWS_8": None,  # an AWS Backup plan for the Aurora cluster
    "CKV_AWS_272": None,  # Lambda code signing
    "CKV_AWS_310": "CloudFront.4",  # CloudFront origin failover
    "CKV_AWS_332": "ECS.10",  # the Fargate platform version, pinned on purpose
}


def exception_rows() -> list[list[str]]:
    """The rows of the "Deliberate exceptions" table, as cells."""
    text = SECURITY.read_text()
    section = text[text.index("## Deliberate exceptions") :]
    section = section[: section.index("\n## ", 1)]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    header, rule, *body = rows
    assert header == "| finding | why it stands | what compensates |"
    assert set(rule) <= set("|- ")
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in body]


@pytest.mark.parametrize("finding", sorted(FINDINGS))
def test_the_exceptions_table_names_the_finding_its_control_why_and_what_compensates(
    finding: str,
) -> None:
    rows = [row for row in exception_rows() if re.search(rf"\b{finding}\b", row[0])]

    assert len(rows) == 1, f"{finding}: one row of docs/security.md's exceptions, not {len(rows)}"
    (what, why, compensates) = rows[0]
    control = FINDINGS[finding]
    if control is None:
        assert "no Security Hub control" in what, finding
    else:
        assert re.search(rf"Security Hub {re.escape(control)}\b", what), finding
    assert len(why) > 20 and len(compensates) > 20, finding


def test_every_row_has_three_cells_and_each_checkov_id_in_it_is_known() -> None:
    for row in exception_rows():
        assert len(row) == 3, row[0][:60]
        for finding in re.findall(r"\bCKV2?_AWS_\d+\b", row[0]):
            # CKV_AWS_374 (geo restriction) predates this list: a row of its own.
            assert finding in FINDINGS or finding == "CKV_AWS_374", finding


def test_a_fixed_finding_has_no_exception_row_and_its_fix_is_in_the_graph(graph: Graph) -> None:
    # CKV_AWS_21 / Security Hub S3.14: the ALB's log bucket is versioned, old versions kept a day.
    assert not [row for row in exception_rows() if "CKV_AWS_21" in row[0]]
    bucket = named(graph, "aws:s3/bucket:Bucket", f"alb-logs-{SUFFIX}")
    (versioning,) = [
        v
        for v in graph.of_type("aws:s3/bucketVersioning:BucketVersioning")
        if v.inputs["bucket"] == bucket.inputs["bucket"]
    ]
    assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}
    (lifecycle,) = [
        c
        for c in graph.of_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
        if c.inputs["bucket"] == bucket.inputs["bucket"]
    ]
    (rule,) = lifecycle.inputs["rules"]
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": 1}


def test_the_origin_header_secret_rotates_so_ckv2_aws_57_is_fixed(dns_graph: Graph) -> None:
    # CKV2_AWS_57 / Security Hub SecretsManager.1: every secret rotates automatically. The
    # origin header's secret exists where CloudFront routes /api (mode 1 here); its rotation
    # is the stack's own function's (test_origin_rotation.py).
    assert not [row for row in exception_rows() if "CKV2_AWS_57" in row[0]]
    secrets = dns_graph.of_type("aws:secretsmanager/secret:Secret")
    rotated = {r.inputs["secretId"] for r in dns_graph.of_type(ROTATION)}
    assert rotated >= {s.id for s in secrets}, sorted(s.inputs["name"] for s in secrets)


def test_zones_pinned_by_id_is_fixed_for_every_subnet(graph: Graph) -> None:
    # CKV_AWS_394 (no Security Hub control): every subnet names its zone by ID, none by name;
    # Aurora's instances can only name theirs (RDS CreateDBInstance takes AvailabilityZone, no
    # ID), in the same zones, which the stack picked by ID (aws/provider.py).
    assert not [row for row in exception_rows() if "CKV_AWS_394" in row[0]]
    zone_ids = graph.stack_outputs["availability_zone_ids"]
    subnets = graph.of_type("aws:ec2/subnet:Subnet")
    assert subnets and {s.inputs.get("availabilityZoneId") for s in subnets} == set(zone_ids)
    assert not [s.name for s in subnets if "availabilityZone" in s.inputs]
