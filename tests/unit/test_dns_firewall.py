"""The VPC resolver, the way out security groups do not filter: a DNS Firewall that answers only
the names the stack needs, fails closed and logs every query (PCI DSS 1.3.2, 10.2.1). Each
check is shown failing on a broken graph, the stack rules too."""

from __future__ import annotations

import json

import pytest

from payments_infra.components.network.dns_firewall import (
    ENDPOINT_DOMAINS,
    query_log_delivery_policy,
)
from payments_infra.components.network.endpoints import SERVICES
from payments_infra.config import LOG_RETENTION_DAYS
from payments_infra.offline.api_model import check_api_rules
from payments_infra.offline.checks_dns import (
    ASSOCIATION,
    DOMAIN_LIST,
    FIREWALL_CONFIG,
    QUERY_LOG_ASSOCIATION,
    QUERY_LOG_CONFIG,
    RULE,
    check_dns_firewall,
    check_dns_query_logging,
)
from payments_infra.offline.graph import Graph, Resource
from payments_infra.offline.mocks import MOCK_ACCOUNT_ID, record_program
from policy.offline_validation import stack_args_for, stack_violations
from policy.rules import STACK_RULES
from tests.stacks import SUFFIX, VALID_CONFIG

FIREWALL_RULE = next(rule for rule in STACK_RULES if rule.name == "dns-firewall")
LOGGING_RULE = next(rule for rule in STACK_RULES if rule.name == "dns-query-logging")
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


def one(graph: Graph, type_token: str) -> Resource:
    (resource,) = graph.of_type(type_token)
    return resource


def rule(graph: Graph, action: str) -> Resource:
    (found,) = [r for r in graph.of_type(RULE) if r.inputs["action"] == action]
    return found


def domains_of(graph: Graph, found: Resource) -> list[str]:
    return list(graph.by_id(found.inputs["firewallDomainListId"]).inputs["domains"])


def test_every_endpoint_has_its_names_allowed() -> None:
    """A new VPC endpoint (endpoints.py) must say which names its callers resolve."""
    assert set(ENDPOINT_DOMAINS) == set(SERVICES)


def test_the_stacks_names_are_allowed_then_every_other_is_refused(graph: Graph) -> None:
    allow, block = rule(graph, "ALLOW"), rule(graph, "BLOCK")
    assert allow.inputs["priority"] < block.inputs["priority"]
    assert allow.inputs["firewallDomainRedirectionAction"] == "TRUST_REDIRECTION_DOMAIN"
    assert domains_of(graph, block) == ["*"]
    assert block.inputs["blockResponse"] == "NXDOMAIN"
    allowed = domains_of(graph, allow)
    for name in (
        "api.ecr.us-east-1.amazonaws.com",
        "*.dkr.ecr.us-east-1.amazonaws.com",
        "prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com",
        "logs.us-east-1.amazonaws.com",
        "secretsmanager.us-east-1.amazonaws.com",
        "*.us-east-1.rds.amazonaws.com",
        "*.ec2.internal",
    ):
        assert name in allowed


def test_the_group_is_attached_to_the_vpc_in_awss_range_and_fails_closed(graph: Graph) -> None:
    vpc = one(graph, "aws:ec2/vpc:Vpc")
    association = one(graph, ASSOCIATION)
    assert association.inputs["vpcId"] == vpc.id
    # AssociateFirewallRuleGroup: "The allowed values for Priority are between 100 and 9900".
    assert 100 <= association.inputs["priority"] <= 9900
    assert set(association.dependencies) >= {r.urn for r in graph.of_type(RULE)}
    config = one(graph, FIREWALL_CONFIG)
    assert (config.inputs["resourceId"], config.inputs["firewallFailOpen"]) == (vpc.id, "DISABLED")


def test_the_allow_list_setting_reaches_the_domain_list() -> None:
    extra = record_program(
        {**VALID_CONFIG, "payments:dnsAllowList": '["api.processor.example"]'}, stack="test"
    )
    assert domains_of(extra, rule(extra, "ALLOW"))[-1] == "api.processor.example"


def test_queries_are_logged_30_days_under_the_logs_key(graph: Graph) -> None:
    config = one(graph, QUERY_LOG_CONFIG)
    (group,) = [
        g for g in graph.of_type(LOG_GROUP) if g.outputs["arn"] == config.inputs["destinationArn"]
    ]
    assert group.inputs["name"] == f"/aws/route53resolver/dns-queries-{SUFFIX}"
    assert group.inputs["retentionInDays"] == LOG_RETENTION_DAYS
    assert (
        group.inputs["kmsKeyId"]
        == graph.by_urn(next(r.urn for r in graph if r.name == "logs-key-key")).outputs["arn"]
    )
    association = one(graph, QUERY_LOG_ASSOCIATION)
    assert association.inputs["resourceId"] == one(graph, "aws:ec2/vpc:Vpc").id


def test_only_this_accounts_log_delivery_may_write_to_that_group_alone(graph: Graph) -> None:
    policy = one(graph, "aws:cloudwatch/logResourcePolicy:LogResourcePolicy")
    group_arn = one(graph, QUERY_LOG_CONFIG).inputs["destinationArn"]
    assert policy.inputs["resourceArn"] == group_arn
    (statement,) = json.loads(policy.inputs["policyDocument"])["Statement"]
    assert statement["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
    assert statement["Resource"] == f"{group_arn}:log-stream:*"
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": MOCK_ACCOUNT_ID}
    assert policy.inputs["policyDocument"] == query_log_delivery_policy(MOCK_ACCOUNT_ID, group_arn)
    # The query log configuration waits for it: Resolver checks it may write when created.
    assert policy.urn in one(graph, QUERY_LOG_CONFIG).dependencies


def test_blocked_queries_are_counted_for_the_alarm(graph: Graph) -> None:
    metric_filter = one(graph, "aws:cloudwatch/logMetricFilter:LogMetricFilter")
    assert metric_filter.inputs["pattern"] == '{ $.firewall_rule_action = "BLOCK" }'
    assert metric_filter.inputs["logGroupName"] == f"/aws/route53resolver/dns-queries-{SUFFIX}"
    alarm = next(
        a
        for a in graph.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        if a.inputs["name"] == f"alarm-dns-blocked-{SUFFIX}"
    )
    transformation = metric_filter.inputs["metricTransformation"]
    assert (alarm.inputs["namespace"], alarm.inputs["metricName"]) == (
        transformation["namespace"],
        transformation["name"],
    )


def test_every_stack_passes_the_checks_and_the_rules(graph: Graph) -> None:
    without = record_program({**VALID_CONFIG, "payments:vpcEndpoints": "false"}, stack="test")
    for each in (graph, without):
        assert check_dns_firewall(each) == check_dns_query_logging(each) == []
        assert stack_violations(FIREWALL_RULE, stack_args_for(each)) == []
        assert stack_violations(LOGGING_RULE, stack_args_for(each)) == []


def assert_firewall_fails(graph: Graph, message: str) -> None:
    (problem,) = check_dns_firewall(graph)
    assert message in problem
    (violation,) = stack_violations(FIREWALL_RULE, stack_args_for(graph))
    assert "PCI DSS 1.3.2" in violation and message in violation


def test_a_vpc_without_the_association_fails(graph: Graph) -> None:
    broken = graph.without(one(graph, ASSOCIATION).urn)
    assert_firewall_fails(broken, "has no DNS Firewall rule group whose last rule blocks")


@pytest.mark.parametrize(
    "breaking",
    ["the block allows", "the block names one domain", "the allow comes last"],
)
def test_a_group_whose_last_rule_does_not_block_every_domain_fails(
    graph: Graph, breaking: str
) -> None:
    allow, block = rule(graph, "ALLOW"), rule(graph, "BLOCK")
    if breaking == "the block allows":
        block.inputs["action"] = "ALLOW"
    elif breaking == "the block names one domain":
        graph.by_id(block.inputs["firewallDomainListId"]).inputs["domains"] = ["*.attacker.example"]
    else:
        allow.inputs["priority"] = 300.0
    assert_firewall_fails(graph, "has no DNS Firewall rule group whose last rule blocks")


def test_a_vpc_that_fails_open_fails(graph: Graph) -> None:
    one(graph, FIREWALL_CONFIG).inputs["firewallFailOpen"] = "ENABLED"
    assert_firewall_fails(graph, "fails (firewallFailOpen ENABLED): fail closed")


@pytest.mark.parametrize("breaking", ["no association", "no destination"])
def test_a_vpc_whose_queries_are_not_logged_fails(graph: Graph, breaking: str) -> None:
    if breaking == "no association":
        graph = graph.without(one(graph, QUERY_LOG_ASSOCIATION).urn)
    else:
        config = one(graph, QUERY_LOG_CONFIG)
        del config.inputs["destinationArn"]
        del config.outputs["destinationArn"]  # the rule reads what the provider reports
    (problem,) = check_dns_query_logging(graph)
    assert "has no Resolver query logging" in problem
    (violation,) = stack_violations(LOGGING_RULE, stack_args_for(graph))
    assert "PCI DSS 10.2.1" in violation


def test_awss_own_rules_hold_the_domain_list(graph: Graph) -> None:
    """The API-model check reads the domains as UpdateFirewallDomains takes them."""
    assert check_api_rules(graph) == []
    allowed = graph.by_id(rule(graph, "ALLOW").inputs["firewallDomainListId"])
    allowed.inputs["domains"] = [*allowed.inputs["domains"], "a" * 256]
    (problem,) = check_api_rules(graph)
    assert "Domains" in problem and DOMAIN_LIST in problem
