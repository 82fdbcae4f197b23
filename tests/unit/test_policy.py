"""The PCI policy pack: every rule passes on the real program and fails on a broken resource."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from pulumi_policy import EnforcementLevel

from payments_infra import REPO_ROOT
from payments_infra.offline.graph import Graph, Resource
from payments_infra.offline.mocks import record_program
from policy.offline_validation import args_for, stack_args_for, stack_violations, violations
from policy.rules import POLICIES, RULES, STACK_RULES, Rule, StackRule
from tests.graph_queries import mandatory_rule_violations
from tests.stacks import VALID_CONFIG

RULE = {rule.name: rule for rule in RULES}
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"


def test_every_rule_names_its_pci_requirement() -> None:
    assert len(POLICIES) == len(RULES) + len(STACK_RULES) >= 10
    rules: list[Rule | StackRule] = [*RULES, *STACK_RULES]
    for policy, rule in zip(POLICIES, rules, strict=True):
        assert f"PCI DSS v4.0 {rule.requirement}" in policy.description


def test_every_rule_passes_on_every_resource_of_the_real_program(graph: Graph) -> None:
    # Advisory rules flag the demo on purpose (certificate mode 3): test_edge_cloudfront_tls.py.
    assert mandatory_rule_violations(graph) == {}


def first(graph: Graph, type_token: str) -> Resource:
    return graph.of_type(type_token)[0]


def broken(
    graph: Graph, type_token: str, change: Callable[[dict[str, Any]], None]
) -> tuple[Resource, Graph]:
    copied = copy.deepcopy(graph)
    resource = first(copied, type_token)
    change(resource.inputs)
    return resource, copied


@pytest.mark.parametrize(
    ("rule", "type_token", "change", "message"),
    [
        (
            "encryption-at-rest",
            "aws:rds/cluster:Cluster",
            lambda i: i.update(storageEncrypted=False),
            "storage must be encrypted",
        ),
        (
            "encryption-at-rest",
            "aws:kms/key:Key",
            lambda i: i.update(enableKeyRotation=False),
            "must rotate",
        ),
        (
            "encryption-in-transit",
            "aws:lb/listener:Listener",
            lambda i: i.update(protocol="HTTP", port=80),
            "only HTTPS",
        ),
        (
            "encryption-in-transit",
            "aws:lb/targetGroup:TargetGroup",
            lambda i: i.update(protocol="HTTP"),
            "forwards with HTTP",
        ),
        (
            "database-tls",
            "aws:rds/clusterParameterGroup:ClusterParameterGroup",
            lambda i: i.update(parameters=[]),
            "rds.force_ssl",
        ),
        (
            "no-public-compute",
            "aws:rds/clusterInstance:ClusterInstance",
            lambda i: i.update(publiclyAccessible=True),
            "publicly accessible",
        ),
        (
            "no-public-compute",
            "aws:ecs/service:Service",
            lambda i: i["networkConfiguration"].update(assignPublicIp=True),
            "public IP",
        ),
        (
            "no-open-ingress",
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            lambda i: i.update(cidrIpv4="0.0.0.0/0", fromPort=22, toPort=22),
            "only TCP 443",
        ),
        (
            "log-retention",
            "aws:cloudwatch/logGroup:LogGroup",
            lambda i: i.update(retentionInDays=7),
            "keeps logs 7 days",
        ),
        ("required-tags", "aws:ec2/vpc:Vpc", lambda i: i.update(tags={}), "lacks required tags"),
        (
            "destroyable",
            "aws:rds/cluster:Cluster",
            lambda i: i.update(deletionProtection=True),
            "deletionProtection",
        ),
        (
            "least-privilege",
            "aws:iam/rolePolicy:RolePolicy",
            lambda i: i.update(
                policy='{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'
            ),
            "wildcard actions",
        ),
        (
            "hsts-preload",
            "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy",
            lambda i: i["securityHeadersConfig"]["strictTransportSecurity"].update(preload=False),
            "preload",
        ),
        (
            "abort-incomplete-uploads",
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
            lambda i: i["rules"][0].pop("abortIncompleteMultipartUpload"),
            "does not abort incomplete multipart uploads",
        ),
        (
            "image-scanning",
            "aws:ecr/repository:Repository",
            lambda i: i.update(imageScanningConfiguration={"scanOnPush": False}),
            "does not scan images on push",
        ),
        (
            "image-scanning",
            "aws:ecr/repository:Repository",
            lambda i: i.update(encryptionConfigurations=[{"encryptionType": "AES256"}]),
            "not encrypted with KMS",
        ),
        (
            "hardened-configuration",
            "aws:rds/clusterInstance:ClusterInstance",
            lambda i: i.update(monitoringInterval=0),
            "no enhanced monitoring",
        ),
        (
            "hardened-configuration",
            "aws:lambda/function:Function",
            lambda i: i.pop("tracingConfig"),
            "does not trace actively",
        ),
        (
            "hardened-configuration",
            "aws:lambda/function:Function",
            lambda i: i.pop("reservedConcurrentExecutions"),
            "no reserved concurrency",
        ),
    ],
)
def test_each_rule_fails_on_a_broken_resource_with_its_message(
    graph: Graph, rule: str, type_token: str, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    resource, copied = broken(graph, type_token, change)
    found = violations(RULE[rule], args_for(resource, copied))
    assert found, f"{rule} did not notice the change to {resource.name}"
    assert any(message in f for f in found), found
    assert all(f.startswith(f"PCI DSS {RULE[rule].requirement}: ") for f in found)


def test_a_protected_resource_fails_the_destroyable_rule(graph: Graph) -> None:
    copied = copy.deepcopy(graph)
    vpc = first(copied, "aws:ec2/vpc:Vpc")
    vpc.protect = True
    assert any("is protected" in f for f in violations(RULE["destroyable"], args_for(vpc, copied)))


def test_the_alb_https_rule_open_to_the_internet_passes(graph: Graph) -> None:
    rule: Rule = RULE["no-open-ingress"]
    open_443 = [
        r
        for r in graph.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.inputs.get("cidrIpv4") == "0.0.0.0/0"
    ]
    assert open_443 and all(violations(rule, args_for(r, graph)) == [] for r in open_443)


STACK_RULE = {rule.name: rule for rule in STACK_RULES}


def test_every_stack_rule_passes_on_the_real_program(graph: Graph) -> None:
    args = stack_args_for(graph)
    assert {rule.name: stack_violations(rule, args) for rule in STACK_RULES} == {
        rule.name: [] for rule in STACK_RULES
    }


def test_task_egress_to_the_whole_internet_with_endpoints_fails_its_stack_rule(
    graph: Graph,
) -> None:
    (rule,) = [r for r in graph.of_type(EGRESS) if r.name == "api-tasks-to-vpce-logs-egress"]
    for values in (rule.inputs, rule.outputs):  # as the program sends it, as AWS returns it
        del values["referencedSecurityGroupId"]
        values["cidrIpv4"] = "0.0.0.0/0"
    found = stack_violations(STACK_RULE["task-egress-limited"], stack_args_for(graph))
    assert len(found) == 1 and found[0].startswith("PCI DSS 1.3.2: ")
    assert "api-tasks-to-vpce-logs-egress" in found[0] and "to 0.0.0.0/0" in found[0]


def test_without_endpoints_https_anywhere_passes_the_task_egress_rule() -> None:
    open_graph = record_program({**VALID_CONFIG, "payments:vpcEndpoints": "false"}, stack="test")
    assert any(r.inputs.get("cidrIpv4") == "0.0.0.0/0" for r in open_graph.of_type(EGRESS))
    rule = STACK_RULE["task-egress-limited"]
    assert stack_violations(rule, stack_args_for(open_graph)) == []


def test_the_trail_rules_pass_on_account_controls_and_catch_unvalidated_log_files() -> None:
    controls = record_program({**VALID_CONFIG, "payments:accountControls": "true"}, stack="test")
    found = {
        (rule.name, resource.name): problems
        for resource in controls
        if resource.custom
        for rule in RULES
        if rule.enforcement == EnforcementLevel.MANDATORY
        if (problems := violations(rule, args_for(resource, controls)))
    }
    assert found == {}
    trail, copied = broken(
        controls, "aws:cloudtrail/trail:Trail", lambda i: i.update(enableLogFileValidation=False)
    )
    assert violations(RULE["audit-log-integrity"], args_for(trail, copied)) == [
        "PCI DSS 10.3.4: aws:cloudtrail/trail:Trail account-trail does not validate its log "
        "files (enableLogFileValidation)"
    ]


def test_a_bucket_without_an_aborting_lifecycle_fails_its_stack_rule(graph: Graph) -> None:
    lifecycle = graph.of_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")[0]
    found = stack_violations(
        STACK_RULE["every-bucket-aborts-uploads"], stack_args_for(graph.without(lifecycle.urn))
    )
    assert len(found) == 1 and found[0].startswith("PCI DSS 3.2.1: aws:s3/bucket:Bucket ")
    assert found[0].endswith("keeps incomplete multipart uploads: no lifecycle rule aborts them")


def test_a_database_secret_without_rotation_fails_its_stack_rule(graph: Graph) -> None:
    rule = STACK_RULE["database-credentials-rotate"]
    assert rule.enforcement == EnforcementLevel.ADVISORY  # dbRotationDays=0 is allowed
    assert stack_violations(rule, stack_args_for(graph)) == []
    without = record_program({**VALID_CONFIG, "payments:dbRotationDays": "0"}, stack="test")
    assert sorted(stack_violations(rule, stack_args_for(without))) == sorted(
        f"PCI DSS 8.3.9: aws:secretsmanager/secret:Secret database-{role}-credentials never "
        "rotates: no rotation schedule (payments:dbRotationDays is 0)"
        for role in ("master", "app", "keys")
    )


@pytest.mark.parametrize("role", ["master", "app", "keys"])
def test_any_database_secret_left_without_its_rotation_fails_the_stack_rule(
    graph: Graph, role: str
) -> None:
    (schedule,) = [
        r
        for r in graph.of_type("aws:secretsmanager/secretRotation:SecretRotation")
        if r.name == f"db-rotation-{role}"
    ]
    found = stack_violations(
        STACK_RULE["database-credentials-rotate"], stack_args_for(graph.without(schedule.urn))
    )
    assert len(found) == 1
    assert found[0].startswith(
        f"PCI DSS 8.3.9: aws:secretsmanager/secret:Secret database-{role}-credentials never rotates"
    )


def test_a_database_secret_rotated_less_than_yearly_fails_its_stack_rule(graph: Graph) -> None:
    (schedule,) = [
        r
        for r in graph.of_type("aws:secretsmanager/secretRotation:SecretRotation")
        if r.name == "db-rotation-app"
    ]
    schedule.inputs["rotationRules"] = {"automaticallyAfterDays": 400}
    found = stack_violations(STACK_RULE["database-credentials-rotate"], stack_args_for(graph))
    assert found == [
        "PCI DSS 8.3.9: aws:secretsmanager/secretRotation:SecretRotation "
        "db-rotation-app must rotate aws:secretsmanager/secret:Secret "
        "database-app-credentials every 1 to 365 days; got 400"
    ]


def test_production_makes_the_rotation_rule_mandatory() -> None:
    config = json.loads((REPO_ROOT / "policy" / "production.json").read_text())
    assert config["database-credentials-rotate"] == "mandatory"
