"""Graph-wide properties over the whole program, and proof that each check can fail."""

from __future__ import annotations

import json

import pytest

from payments_infra.offline import checks
from payments_infra.offline.checks_conventions import aws_resources, effective_tags, is_taggable
from payments_infra.offline.checks_network import subnet_routing
from payments_infra.offline.graph import Graph, Resource
from payments_infra.offline.mocks import MOCK_PASSWORD, record_program
from tests.stacks import SUFFIX, VALID_CONFIG, ZONES


def failing(graph: Graph) -> dict[str, list[str]]:
    return {r.name: r.problems for r in checks.run_checks(graph, SUFFIX, ZONES) if not r.passed}


def first(graph: Graph, type_token: str, **inputs: object) -> Resource:
    return next(
        r for r in graph.of_type(type_token) if all(r.inputs.get(k) == v for k, v in inputs.items())
    )


def subnet(graph: Graph, tier: str, zone: str) -> Resource:
    return next(
        s
        for s in graph.of_type("aws:ec2/subnet:Subnet")
        if s.tags["Tier"] == tier and s.inputs["availabilityZone"] == zone
    )


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


def test_a_subnet_moved_to_another_zone_is_caught(graph: Graph) -> None:
    subnet(graph, "public", "us-east-1c").inputs["availabilityZone"] = "us-east-1a"
    assert any("us-east-1c has 0 public subnets" in p for p in failing(graph)["zone layout"])


def test_a_subnet_changing_tier_is_caught(graph: Graph) -> None:
    subnet(graph, "private", "us-east-1a").inputs["tags"]["Tier"] = "public"
    assert "zone layout" in failing(graph)


def test_a_removed_nat_gateway_is_caught(graph: Graph) -> None:
    nat = graph.of_type("aws:ec2/natGateway:NatGateway")[1]
    broken = failing(graph.without(nat.urn))
    assert "private placement" in broken and "survives losing any one zone" in broken


def test_a_nat_gateway_moved_to_another_zones_subnet_is_caught(graph: Graph) -> None:
    nat_a = first(
        graph, "aws:ec2/natGateway:NatGateway", subnetId=subnet(graph, "public", "us-east-1a").id
    )
    nat_a.inputs["subnetId"] = subnet(graph, "public", "us-east-1b").id
    broken = failing(graph)
    assert any("us-east-1a" in p for p in broken["private placement"])
    assert any("losing us-east-1b cuts egress" in p for p in broken["survives losing any one zone"])


def test_a_nat_gateway_in_a_private_subnet_is_caught(graph: Graph) -> None:
    nat = graph.of_type("aws:ec2/natGateway:NatGateway")[0]
    nat.inputs["subnetId"] = subnet(graph, "private", "us-east-1b").id
    assert any("is not in a public subnet" in p for p in failing(graph)["private placement"])


def test_a_private_route_to_the_internet_gateway_is_caught(graph: Graph) -> None:
    igw = graph.of_type("aws:ec2/internetGateway:InternetGateway")[0]
    route = next(r for r in graph.of_type("aws:ec2/route:Route") if r.inputs.get("natGatewayId"))
    del route.inputs["natGatewayId"]
    route.inputs["gatewayId"] = igw.id
    broken = failing(graph)
    assert "private placement" in broken and "zone layout" in broken


def test_a_subnet_handing_out_public_ips_is_caught(graph: Graph) -> None:
    subnet(graph, "public", "us-east-1a").inputs["mapPublicIpOnLaunch"] = True
    assert any("public IPs" in p for p in failing(graph)["private placement"])


@pytest.mark.parametrize("lost", ZONES)
def test_losing_any_one_zone_leaves_the_others_routed_and_two_public_zones(
    graph: Graph, lost: str
) -> None:
    survivors = [s for s in subnet_routing(graph) if s.availability_zone != lost]
    private = [s for s in survivors if s.declared_tier == "private"]
    assert len(private) == 2
    assert all(
        s.target_type == "nat_gateway" and s.nat_zone == s.availability_zone for s in private
    )
    assert len({s.availability_zone for s in survivors if s.declared_tier == "public"}) == 2


def test_public_subnets_in_only_two_zones_fail_the_zone_loss_check(graph: Graph) -> None:
    # With public subnets in a and b only, losing either leaves one zone: an ALB needs two.
    public_c = subnet(graph, "public", "us-east-1c")
    public_c.inputs["availabilityZone"] = "us-east-1a"
    assert any("an ALB needs 2" in p for p in failing(graph)["survives losing any one zone"])


def test_an_unencrypted_cluster_is_caught(graph: Graph) -> None:
    first(graph, "aws:rds/cluster:Cluster").inputs["storageEncrypted"] = False
    assert "encryption at rest with customer keys" in failing(graph)


def test_a_secret_under_the_aws_managed_key_is_caught(graph: Graph) -> None:
    del first(graph, "aws:secretsmanager/secret:Secret").inputs["kmsKeyId"]
    assert "encryption at rest with customer keys" in failing(graph)


def test_a_key_without_rotation_is_caught(graph: Graph) -> None:
    first(graph, "aws:kms/key:Key").inputs["enableKeyRotation"] = False
    assert any(
        "does not rotate" in p for p in failing(graph)["encryption at rest with customer keys"]
    )


def test_a_parameter_group_without_forced_tls_is_caught(graph: Graph) -> None:
    group = first(graph, "aws:rds/clusterParameterGroup:ClusterParameterGroup")
    group.inputs["parameters"] = [
        p for p in group.inputs["parameters"] if p["name"] != "rds.force_ssl"
    ]
    assert "TLS forced on the database" in failing(graph)


def test_a_public_database_instance_is_caught(graph: Graph) -> None:
    first(graph, "aws:rds/clusterInstance:ClusterInstance").inputs["publiclyAccessible"] = True
    assert "database private" in failing(graph)


def test_a_public_subnet_in_the_db_subnet_group_is_caught(graph: Graph) -> None:
    group = first(graph, "aws:rds/subnetGroup:SubnetGroup")
    group.inputs["subnetIds"] = [
        *group.inputs["subnetIds"],
        subnet(graph, "public", "us-east-1a").id,
    ]
    assert any("not private" in p for p in failing(graph)["database private"])


def test_ingress_from_the_whole_internet_to_the_database_is_caught(graph: Graph) -> None:
    rule = graph.by_urn(next(r.urn for r in graph if r.name == "database-ingress-from-api-tasks"))
    del rule.inputs["referencedSecurityGroupId"]
    rule.inputs["cidrIpv4"] = "0.0.0.0/0"
    assert "no ingress from the whole Internet" in failing(graph)


def test_a_password_in_a_plain_input_is_caught(graph: Graph) -> None:
    first(graph, "aws:secretsmanager/secret:Secret").inputs["description"] = MOCK_PASSWORD
    assert "no secret in a plain value" in failing(graph)


def test_a_password_in_a_stack_output_is_caught(graph: Graph) -> None:
    graph.stack_outputs["db_url"] = f"postgresql://u:{MOCK_PASSWORD}@h/db"
    assert any("db_url" in p for p in failing(graph)["no secret in a plain value"])


def test_an_rds_export_without_its_log_group_is_caught(graph: Graph) -> None:
    group = next(
        g
        for g in graph.of_type("aws:cloudwatch/logGroup:LogGroup")
        if "/aws/rds/" in g.inputs["name"]
    )
    assert "log groups AWS would create exist first" in failing(graph.without(group.urn))


def test_a_cluster_that_does_not_wait_for_its_log_group_is_caught(graph: Graph) -> None:
    first(graph, "aws:rds/cluster:Cluster").dependencies.clear()
    assert any(
        "does not wait" in p for p in failing(graph)["log groups AWS would create exist first"]
    )


@pytest.mark.parametrize(
    ("type_token", "key", "value"),
    [
        ("aws:rds/cluster:Cluster", "skipFinalSnapshot", False),
        ("aws:rds/cluster:Cluster", "deletionProtection", True),
        ("aws:secretsmanager/secret:Secret", "recoveryWindowInDays", 7),
        ("aws:kms/key:Key", "deletionWindowInDays", 30),
    ],
)
def test_database_settings_that_block_destroy_are_caught(
    graph: Graph, type_token: str, key: str, value: object
) -> None:
    first(graph, type_token).inputs[key] = value
    assert any(key in p for p in failing(graph)["destroyable"])


def test_a_reader_in_the_writers_zone_is_caught(graph: Graph) -> None:
    for instance in graph.of_type("aws:rds/clusterInstance:ClusterInstance"):
        instance.inputs["availabilityZone"] = "us-east-1a"
    assert "database in two zones" in failing(graph)


def test_a_plain_http_listener_is_caught(graph: Graph) -> None:
    listener = first(graph, "aws:lb/listener:Listener")
    listener.inputs.update(port=80, protocol="HTTP")
    assert any(
        "only HTTPS" in p for p in failing(graph)["HTTPS with TLS 1.3 to and behind the ALB"]
    )


def test_a_listener_left_on_the_2016_policy_is_caught(graph: Graph) -> None:
    del first(graph, "aws:lb/listener:Listener").inputs["sslPolicy"]
    assert "HTTPS with TLS 1.3 to and behind the ALB" in failing(graph)


def test_a_plain_http_target_group_is_caught(graph: Graph) -> None:
    first(graph, "aws:lb/targetGroup:TargetGroup").inputs["protocol"] = "HTTP"
    assert "HTTPS with TLS 1.3 to and behind the ALB" in failing(graph)


def test_tasks_with_public_ips_are_caught(graph: Graph) -> None:
    network = first(graph, "aws:ecs/service:Service").inputs["networkConfiguration"]
    network["assignPublicIp"] = True
    assert "tasks private, no public IP" in failing(graph)


def test_tasks_in_public_subnets_are_caught(graph: Graph) -> None:
    network = first(graph, "aws:ecs/service:Service").inputs["networkConfiguration"]
    network["subnets"] = [subnet(graph, "public", "us-east-1a").id]
    assert "tasks private, no public IP" in failing(graph)


def test_a_service_whose_count_a_deploy_would_reset_is_caught(graph: Graph) -> None:
    first(graph, "aws:ecs/service:Service").ignore_changes.clear()
    assert "autoscaling owns the task count" in failing(graph)


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


def test_container_insights_without_its_log_group_is_caught(graph: Graph) -> None:
    group = next(
        g
        for g in graph.of_type("aws:cloudwatch/logGroup:LogGroup")
        if "containerinsights" in g.inputs["name"]
    )
    assert "log groups AWS would create exist first" in failing(graph.without(group.urn))


def test_internet_ingress_to_anything_but_the_alb_on_443_is_caught(graph: Graph) -> None:
    rule = next(
        r
        for r in graph.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.inputs.get("cidrIpv4") == "0.0.0.0/0"
    )
    rule.inputs.update(fromPort=80, toPort=80)
    assert "no ingress from the whole Internet" in failing(graph)


def test_a_description_ec2_would_refuse_is_caught(graph: Graph) -> None:
    first(graph, "aws:ec2/securityGroup:SecurityGroup").inputs["description"] = "CloudFront's"
    assert "security-group descriptions" in failing(graph)


SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
RULE_TYPES = {
    "ingress": "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "egress": "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
}


def group_rules(graph: Graph) -> list[tuple[str, Resource]]:
    return [(way, r) for way, token in RULE_TYPES.items() for r in graph.of_type(token)]


def test_every_rule_belongs_to_the_component_that_owns_its_group(graph: Graph) -> None:
    owner = {g.id: g.parent for g in graph.of_type(SECURITY_GROUP)}
    strays = [
        rule.name
        for _, rule in group_rules(graph)
        if rule.parent != owner[rule.inputs["securityGroupId"]]
    ]
    assert strays == [], "rules made by a component that does not own their group"


@pytest.mark.parametrize("overrides", [{}, {"payments:dbRotationDays": "30"}])
def test_every_rule_between_groups_comes_with_its_mirror(overrides: dict[str, str]) -> None:
    # allow() makes both halves: egress from one group, ingress into the other, same port.
    graph = record_program({**VALID_CONFIG, **overrides}, stack="test")
    halves = {
        (
            way,
            rule.inputs["securityGroupId"],
            rule.inputs["referencedSecurityGroupId"],
            rule.inputs["fromPort"],
        )
        for way, rule in group_rules(graph)
        if "referencedSecurityGroupId" in rule.inputs
    }
    mirror = {"ingress": "egress", "egress": "ingress"}
    lonely = [h for h in halves if (mirror[h[0]], h[2], h[1], h[3]) not in halves]
    assert len(halves) >= 4 and lonely == []


# Roles whose permissions AWS publishes as a managed policy (service_roles.py), and the one
# role whose service sends no confused-deputy keys (policies.trust_policy).
MANAGED_POLICIES = {
    "database-monitoring-role": "service-role/AmazonRDSEnhancedMonitoringRole",
    "account-config-role": "service-role/AWS_ConfigRole",
}
INLINE_TOO = {"account-config-role"}
UNCONDITIONED = {"account-trail-logs-role"}
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
    for role in graph.of_type("aws:iam/role:Role"):
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
