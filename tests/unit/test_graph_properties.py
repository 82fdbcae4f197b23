"""Graph-wide properties over the whole program, and proof that each check can fail: here the
conventions every resource keeps (tags, names, an explicit provider, nothing that blocks a
destroy, log retention) and its IAM. Each tier's own are in test_graph_properties_network.py,
test_graph_properties_database.py and test_graph_properties_service.py."""

from __future__ import annotations

import json

import pytest

from payments_infra.offline.checks_conventions import aws_resources, effective_tags, is_taggable
from payments_infra.offline.graph import Graph, Resource
from payments_infra.offline.mocks import record_program
from tests.graph_checks import failing, first, subnet
from tests.stacks import SUFFIX, VALID_CONFIG


def test_every_graph_wide_check_passes_on_the_real_program(graph: Graph) -> None:
    assert failing(graph) == {}


def test_taggable_is_read_from_the_pulumi_aws_class() -> None:
    assert is_taggable("aws:ec2/vpc:Vpc")
    assert is_taggable("aws:iam/role:Role")
    assert not is_taggable("aws:ec2/route:Route")
    assert not is_taggable("aws:iam/rolePolicy:RolePolicy")


def test_every_taggable_resource_carries_all_required_tags(graph: Graph) -> None:
    taggable = [r for r in aws_resources(graph) if is_taggable(r.type)]
    assert len(taggable) >= 20
    for resource in taggable:
        tags = effective_tags(graph, resource)
        assert tags["Environment"] == "production", resource.name
        assert tags["CostCenter"] == "payments", resource.name
        assert tags["Project"] == "payments" and tags["Stack"] == "test", resource.name
        assert f"-{SUFFIX}" in tags["Name"], resource.name


def test_dropping_a_name_tag_fails_the_tag_check(graph: Graph) -> None:
    subnet(graph, "private", "us-east-1b").inputs["tags"] = {"Tier": "private"}
    problems = failing(graph)["tags on every taggable resource"]
    assert problems == [
        "aws:ec2/subnet:Subnet network-private-us-east-1b lacks required tags ['Name']"
    ]


def test_a_new_taggable_type_without_tags_is_caught(graph: Graph) -> None:
    provider = graph.of_type("pulumi:providers:aws")[0]
    graph.resources.append(
        Resource(
            urn="urn:new-sg",
            type="aws:ec2/securityGroup:SecurityGroup",
            name="new-sg",
            custom=True,
            parent="",
            provider=f"{provider.urn}::{provider.id}",
            inputs={"name": f"new-sg-{SUFFIX}"},
            id="new-sg-id",
        )
    )
    problems = failing(graph)["tags on every taggable resource"]
    assert problems == ["aws:ec2/securityGroup:SecurityGroup new-sg lacks required tags ['Name']"]


def test_a_provider_without_default_tags_fails_the_tag_check(graph: Graph) -> None:
    graph.of_type("pulumi:providers:aws")[0].inputs["defaultTags"] = "{}"
    assert len(failing(graph)["tags on every taggable resource"]) >= 20


def test_a_resource_on_the_default_provider_is_caught(graph: Graph) -> None:
    first(graph, "aws:ec2/vpc:Vpc").provider = ""
    assert "explicit provider" in failing(graph)


def test_a_name_over_its_aws_limit_is_caught(graph: Graph) -> None:
    role = first(graph, "aws:iam/role:Role")
    role.inputs["name"] = "r" * 65
    problems = failing(graph)["names and AWS limits"]
    assert any("IAM role name must be 1 to 64 characters" in p for p in problems)


def test_a_name_not_made_by_naming_py_is_caught(graph: Graph) -> None:
    first(graph, "aws:ec2/vpc:Vpc").inputs["tags"] = {"Name": "my-vpc"}
    assert any('"my-vpc"' in p for p in failing(graph)["names and AWS limits"])


def test_an_unnamed_resource_that_takes_a_name_is_caught(graph: Graph) -> None:
    del first(graph, "aws:cloudwatch/logGroup:LogGroup").inputs["name"]
    assert any("sets no name" in p for p in failing(graph)["names and AWS limits"])


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda r: setattr(r, "protect", True), "is protected"),
        (lambda r: setattr(r, "retain_on_delete", True), "is retained on delete"),
        (lambda r: r.inputs.__setitem__("skipDestroy", True), "skipDestroy"),
    ],
)
def test_anything_that_blocks_destroy_is_caught(graph: Graph, change, fragment: str) -> None:  # type: ignore[no-untyped-def]
    change(first(graph, "aws:cloudwatch/logGroup:LogGroup"))
    assert any(fragment in p for p in failing(graph)["destroyable"])


def test_log_retention_other_than_30_days_is_caught(graph: Graph) -> None:
    first(graph, "aws:cloudwatch/logGroup:LogGroup").inputs["retentionInDays"] = 90
    assert "log retention 30 days" in failing(graph)


@pytest.mark.parametrize(
    ("action", "resource", "fragment"),
    [
        ("s3:*", ["arn:aws:s3:::x"], "wildcard actions"),
        ("secretsmanager:GetSecretValue", "*", "on every resource"),
    ],
)
def test_a_wildcard_in_a_policy_is_caught(
    graph: Graph, action: str, resource: object, fragment: str
) -> None:
    policy = next(
        p for p in graph.of_type("aws:iam/rolePolicy:RolePolicy") if p.name == "api-task-policy"
    )
    document = json.loads(policy.inputs["policy"])
    document["Statement"].append({"Effect": "Allow", "Action": [action], "Resource": resource})
    policy.inputs["policy"] = json.dumps(document)
    assert any(fragment in p for p in failing(graph)["least-privilege policies"])


# Roles whose permissions AWS publishes as a managed policy (service_roles.py), and the one
# role whose service sends no confused-deputy keys (policies.trust_policy).
MANAGED_POLICIES = {
    "database-monitoring-role": "service-role/AmazonRDSEnhancedMonitoringRole",
    "account-config-role": "service-role/AWS_ConfigRole",
}
INLINE_TOO = {"account-config-role"}
# CloudTrail's and the Lambda functions' (service_roles.WITHOUT_SOURCE_KEYS says why).
UNCONDITIONED = {
    "account-trail-logs-role",
    "api-migrations-runner-role",
    "db-rotation-role",
    "alb-access-logs-forwarder-role",
}
# Firehose names the account as the external id when it assumes its delivery role.
BY_EXTERNAL_ID = {"log-archive-firehose-role"}


@pytest.mark.parametrize(
    "overrides",
    [{}, {"payments:logArchive": "s3"}, {"payments:accountControls": "true"}],
)
def test_every_role_is_a_service_role_with_one_inline_or_managed_policy(
    overrides: dict[str, str],
) -> None:
    # service_roles.py: one service of this account may assume it (confused-deputy
    # conditions), and it holds exactly one inline policy, or AWS's managed policy for it.
    graph = record_program({**VALID_CONFIG, **overrides}, stack="test")
    policies = graph.of_type("aws:iam/rolePolicy:RolePolicy")
    attachments = graph.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    # break-glass is the one role people assume (MFA): test_custody.py holds its trust.
    for role in [r for r in graph.of_type("aws:iam/role:Role") if r.name != "break-glass"]:
        (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        assert statement["Action"] == "sts:AssumeRole", role.name
        assert list(statement["Principal"]) == ["Service"], role.name
        if role.name in UNCONDITIONED:
            assert "Condition" not in statement, role.name
        else:
            account_key = "sts:ExternalId" if role.name in BY_EXTERNAL_ID else "aws:SourceAccount"
            assert statement["Condition"]["StringEquals"] == {account_key: "123456789012"}, (
                role.name
            )
        inline = [p.name for p in policies if p.inputs["role"] == role.id]
        managed = [
            a.inputs["policyArn"]
            for a in attachments
            if a.inputs["role"] == role.outputs.get("name", role.inputs["name"])
        ]
        if role.name in MANAGED_POLICIES:
            assert managed == [f"arn:aws:iam::aws:policy/{MANAGED_POLICIES[role.name]}"]
        else:
            assert managed == [], role.name
        if role.name not in MANAGED_POLICIES or role.name in INLINE_TOO:
            assert inline == [role.name.removesuffix("-role") + "-policy"], role.name
        else:
            assert inline == [], role.name
