"""Task egress (PCI DSS 1.3.2): the VPC endpoints, where the API tasks may send, and the checks
that hold both, read from the recorded graph of the real program."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from payments_infra.components.network.endpoints import SERVICES
from payments_infra.offline.checks_egress import check_endpoint_clients, check_task_egress
from payments_infra.offline.checks_network import subnet_routing
from payments_infra.offline.creation_order import vpc_endpoints
from payments_infra.offline.graph import Graph, Resource
from payments_infra.offline.mocks import MOCK_ACCOUNT_ID, MOCK_S3_PREFIX_LIST_ID, record_program
from policy.offline_validation import stack_args_for, stack_violations
from policy.rules import STACK_RULES
from tests.graph_queries import named, only, security_group_rules
from tests.stacks import SUFFIX, VALID_CONFIG

ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
ALLOW_LIST = {"payments:egressAllowList": '["52.94.10.0/24:443", "54.239.10.0/24:8443"]'}
NO_ENDPOINTS = {"payments:vpcEndpoints": "false"}
TASK_EGRESS_RULE = next(rule for rule in STACK_RULES if rule.name == "task-egress-limited")


@pytest.fixture(scope="module")
def allow_list_graph() -> Graph:
    """Endpoints on (the default) and two allow-listed destinations. Never mutate it."""
    return record_program({**VALID_CONFIG, **ALLOW_LIST}, stack="test")


@pytest.fixture(scope="module")
def open_graph() -> Graph:
    """payments:vpcEndpoints=false with the same allow-list. Never mutate it."""
    return record_program({**VALID_CONFIG, **NO_ENDPOINTS, **ALLOW_LIST}, stack="test")


def group(graph: Graph, name: str) -> Resource:
    return named(graph, GROUP, f"{name}-{SUFFIX}")


def endpoint_group(graph: Graph, service: str) -> Resource:
    return group(graph, f"vpce-{service.replace('.', '-')}-sg")


def interface_endpoints(graph: Graph) -> list[Resource]:
    return [e for e in graph.of_type(ENDPOINT) if e.inputs["vpcEndpointType"] == "Interface"]


def gateway_endpoint(graph: Graph) -> Resource:
    (endpoint,) = [e for e in graph.of_type(ENDPOINT) if e.inputs["vpcEndpointType"] == "Gateway"]
    return endpoint


# -- defaults: endpoints on ---------------------------------------------------------------------


def test_with_defaults_the_tasks_send_only_to_the_endpoints_s3_and_the_database(
    graph: Graph,
) -> None:
    tasks, db = group(graph, "api-tasks-sg"), group(graph, "db-sg")
    assert security_group_rules(graph, EGRESS, tasks) == {
        *(("tcp", 443, 443, endpoint_group(graph, s).id) for s in SERVICES),
        ("tcp", 443, 443, MOCK_S3_PREFIX_LIST_ID),
        ("tcp", 5432, 5432, db.id),
    }
    assert not tasks.inputs.get("egress")
    everywhere = {"0.0.0.0/0", "::/0"}
    assert not [
        r.name
        for r in graph.of_type(EGRESS)
        if r.inputs.get("cidrIpv4") in everywhere and r.inputs["securityGroupId"] == tasks.id
    ]


def test_the_s3_rule_names_the_prefix_list_of_the_gateway_endpoint(graph: Graph) -> None:
    (rule,) = [r for r in graph.of_type(EGRESS) if r.inputs.get("prefixListId")]
    gateway = gateway_endpoint(graph)
    assert rule.inputs["prefixListId"] == gateway.outputs["prefixListId"]
    assert gateway.urn in rule.dependencies
    assert gateway.inputs["serviceName"] == "com.amazonaws.us-east-1.s3"


def test_every_interface_endpoint_is_in_the_private_subnets_with_private_dns_and_its_group(
    graph: Graph,
) -> None:
    endpoints = interface_endpoints(graph)
    private = sorted(r.subnet.id for r in subnet_routing(graph) if r.declared_tier == "private")
    assert len(private) == 3  # one network interface per zone
    assert sorted(e.inputs["serviceName"] for e in endpoints) == sorted(
        f"com.amazonaws.us-east-1.{service}" for service in SERVICES
    )
    # No KMS or STS endpoint: nothing in the VPC calls them (test_endpoint_callers.py).
    assert set(SERVICES) == {"ecr.api", "ecr.dkr", "logs", "secretsmanager"}
    vpc = only(graph, "aws:ec2/vpc:Vpc")
    for endpoint in endpoints:
        assert endpoint.inputs["vpcId"] == vpc.id, endpoint.name
        assert sorted(endpoint.inputs["subnetIds"]) == private, endpoint.name
        assert endpoint.inputs["privateDnsEnabled"] is True, endpoint.name
        service = endpoint.inputs["serviceName"].removeprefix("com.amazonaws.us-east-1.")
        # A group of its own: who may reach one endpoint says nothing of the others.
        assert endpoint.inputs["securityGroupIds"] == [endpoint_group(graph, service).id]
        assert endpoint.tags["Name"].startswith("vpce-") and endpoint.tags["Name"].endswith(SUFFIX)


def test_each_endpoint_admits_only_principals_of_this_account(graph: Graph) -> None:
    for endpoint in interface_endpoints(graph):
        (statement,) = json.loads(endpoint.inputs["policy"])["Statement"]
        assert statement["Effect"] == "Allow", endpoint.name
        assert statement["Condition"] == {
            "StringEquals": {"aws:PrincipalAccount": MOCK_ACCOUNT_ID}
        }, endpoint.name


@pytest.mark.parametrize("service", SERVICES)
def test_each_endpoints_group_admits_443_from_its_callers_only_and_sends_nowhere(
    graph: Graph, service: str
) -> None:
    endpoints, tasks = endpoint_group(graph, service), group(graph, "api-tasks-sg")
    # The API tasks call all four; the rotation function, the one function in the VPC,
    # Secrets Manager only.
    functions = [
        security_group
        for f in graph.of_type("aws:lambda/function:Function")
        for security_group in (f.inputs.get("vpcConfig") or {}).get("securityGroupIds", [])
    ]
    callers = [tasks.id, *(functions if service == "secretsmanager" else [])]
    assert security_group_rules(graph, INGRESS, endpoints) == {
        ("tcp", 443, 443, client) for client in callers
    }
    assert security_group_rules(graph, EGRESS, endpoints) == set()
    assert not endpoints.inputs.get("ingress") and not endpoints.inputs.get("egress")
    assert endpoints.parent == only(graph, "payments:network:SecurityGroups").urn
    assert check_endpoint_clients(graph) == []


def test_the_service_starts_after_the_endpoints_and_the_rules_that_reach_them(
    graph: Graph,
) -> None:
    service = only(graph, "aws:ecs/service:Service")
    prerequisites = [*graph.of_type(ENDPOINT)]
    prerequisites += [
        r
        for r in [*graph.of_type(EGRESS), *graph.of_type(INGRESS)]
        if r.name == "api-tasks-to-s3-egress" or r.name.startswith("api-tasks-to-vpce-")
    ]
    assert len(prerequisites) == 5 + 1 + 8  # 4 interface endpoints and S3's, 9 rules
    assert {r.name for r in prerequisites if r.urn not in service.dependencies} == set()


# -- the allow-list ------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["allow_list_graph", "open_graph"])
def test_allow_list_entries_are_egress_rules_with_their_ports(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    graph: Graph = request.getfixturevalue(fixture)
    tasks = group(graph, "api-tasks-sg")
    found = security_group_rules(graph, EGRESS, tasks)
    assert {("tcp", 443, 443, "52.94.10.0/24"), ("tcp", 8443, 8443, "54.239.10.0/24")} <= found
    allowed = [r for r in graph.of_type(EGRESS) if r.name.startswith("api-tasks-to-allowed-")]
    assert len(allowed) == 2
    for rule in allowed:
        assert "payments:egressAllowList" in rule.inputs["description"]
        assert rule.tags["Name"] == f"{rule.name.removesuffix('-egress')}-{SUFFIX}"


def test_the_allow_list_with_endpoints_adds_only_its_destinations(allow_list_graph: Graph) -> None:
    tasks = group(allow_list_graph, "api-tasks-sg")
    peers = {peer for *_, peer in security_group_rules(allow_list_graph, EGRESS, tasks)}
    assert "0.0.0.0/0" not in peers and len(peers) == 8  # 4 endpoints, S3, db, 2 entries
    assert check_task_egress(allow_list_graph) == []


def test_an_entry_given_twice_is_one_rule() -> None:
    twice = {"payments:egressAllowList": '["52.94.10.0/24:443", "52.94.10.0/24:443"]'}
    graph = record_program({**VALID_CONFIG, **twice}, stack="test")
    allowed = [r for r in graph.of_type(EGRESS) if r.name.startswith("api-tasks-to-allowed-")]
    assert [r.inputs["cidrIpv4"] for r in allowed] == ["52.94.10.0/24"]


# -- payments:vpcEndpoints=false ------------------------------------------------------------------


def test_without_endpoints_there_are_none_and_https_anywhere_is_back(open_graph: Graph) -> None:
    assert interface_endpoints(open_graph) == []
    assert open_graph.of_type("payments:network:VpcEndpoints") == []
    assert [g for g in open_graph.of_type(GROUP) if g.inputs["name"].startswith("vpce-")] == []
    tasks, db = group(open_graph, "api-tasks-sg"), group(open_graph, "db-sg")
    assert security_group_rules(open_graph, EGRESS, tasks) == {
        ("tcp", 443, 443, "0.0.0.0/0"),
        ("tcp", 5432, 5432, db.id),
        ("tcp", 443, 443, "52.94.10.0/24"),
        ("tcp", 8443, 8443, "54.239.10.0/24"),
    }
    # The free S3 gateway endpoint stays: image layers keep off the NAT gateways.
    assert gateway_endpoint(open_graph).inputs["serviceName"] == "com.amazonaws.us-east-1.s3"
    assert check_task_egress(open_graph) == [] and check_endpoint_clients(open_graph) == []
    # Nothing to wait for: the tasks leave through the NAT gateways.
    assert vpc_endpoints(open_graph, only(open_graph, "aws:ecs/service:Service")) == []


# -- the checks fail when they should -------------------------------------------------------------


def about_the_service(problems: list[str]) -> list[str]:
    return [p for p in problems if p.startswith("aws:ecs/service:Service api-service ")]


def tasks_rule(graph: Graph, name: str) -> Resource:
    (rule,) = [r for r in graph.of_type(EGRESS) if r.name == name]
    return rule


def test_https_anywhere_with_endpoints_fails_the_task_egress_check(graph: Graph) -> None:
    rule = tasks_rule(graph, "api-tasks-to-vpce-logs-egress")
    del rule.inputs["referencedSecurityGroupId"]
    rule.inputs["cidrIpv4"] = "0.0.0.0/0"
    (problem,) = check_task_egress(graph)
    assert "api-tasks-to-vpce-logs-egress" in problem and "to 0.0.0.0/0" in problem


@pytest.mark.parametrize(
    ("rule_name", "change", "message"),
    [
        (
            "api-tasks-to-vpce-logs-egress",
            {"fromPort": 80, "toPort": 80},
            "endpoints on 80, not 443",
        ),
        ("api-tasks-to-db-egress", {"fromPort": 22, "toPort": 22}, "database on 22, not 5432"),
        ("api-tasks-to-s3-egress", {"prefixListId": "pl-other"}, "only the S3 gateway's"),
        ("api-tasks-to-db-egress", {"referencedSecurityGroupId": "sg-x"}, "security group sg-x"),
        ("api-tasks-to-s3-egress", {"ipProtocol": "-1"}, "only one TCP port a rule"),
    ],
)
def test_a_destination_outside_the_list_fails_the_task_egress_check(
    graph: Graph, rule_name: str, change: dict[str, Any], message: str
) -> None:
    tasks_rule(graph, rule_name).inputs.update(change)
    (problem,) = check_task_egress(graph)
    assert message in problem


@pytest.mark.parametrize("cidr", ["10.0.0.0/8", "52.0.0.0/8", "52.94.10.0/23"])
def test_a_private_or_wide_cidr_fails_the_task_egress_check(
    allow_list_graph: Graph, cidr: str
) -> None:
    graph = copy.deepcopy(allow_list_graph)
    rule = tasks_rule(graph, "api-tasks-to-allowed-52.94.10.0_24-port-443-egress")
    for values in (rule.inputs, rule.outputs):  # as the program sends it, as AWS returns it
        values["cidrIpv4"] = cidr
    (problem,) = check_task_egress(graph)
    assert f"to {cidr}; only allow-listed public destinations of /24" in problem
    (violation,) = stack_violations(TASK_EGRESS_RULE, stack_args_for(graph))
    assert violation.startswith("PCI DSS 1.3.2: ") and f"to {cidr}" in violation


def test_inline_egress_on_the_tasks_group_fails_the_task_egress_check(graph: Graph) -> None:
    group(graph, "api-tasks-sg").inputs["egress"] = [{"cidrBlocks": ["0.0.0.0/0"]}]
    assert any("inline egress" in p for p in check_task_egress(graph))


@pytest.mark.parametrize("service", SERVICES)
def test_tasks_an_endpoint_they_call_does_not_let_in_fail_the_reach_check(
    graph: Graph, service: str
) -> None:
    name = f"api-tasks-to-vpce-{service.replace('.', '-')}-ingress"
    (ingress,) = [r for r in graph.of_type(INGRESS) if r.name == name]
    problems = about_the_service(check_endpoint_clients(graph.without(ingress.urn)))
    assert problems == [
        f"aws:ecs/service:Service api-service is not let in by the {service} endpoint's "
        "security group on 443: its calls to AWS would time out"
    ]


def test_tasks_without_the_s3_rule_fail_the_reach_check(graph: Graph) -> None:
    without_s3 = graph.without(tasks_rule(graph, "api-tasks-to-s3-egress").urn)
    problems = about_the_service(check_endpoint_clients(without_s3))
    assert len(problems) == 1 and "S3's gateway prefix list" in problems[0]


def test_a_vpc_function_the_endpoints_do_not_let_in_fails_the_reach_check(graph: Graph) -> None:
    # What a function in the private subnets (such as a rotation function) needs once private
    # DNS sends its Secrets Manager calls to the endpoints.
    function = Resource(
        urn="urn:pulumi:test::payments::aws:lambda/function:Function::fn",
        type="aws:lambda/function:Function",
        name="fn",
        custom=True,
        parent="",
        provider="",
        inputs={"vpcConfig": {"securityGroupIds": ["fn-sg-id"], "subnetIds": ["a"]}},
        id="fn-id",
    )
    graph.resources.append(function)
    problems = [
        p for p in check_endpoint_clients(graph) if p.startswith("aws:lambda/function:Function fn ")
    ]
    assert len(problems) == 2
    assert any("cannot send to the secretsmanager endpoint" in p for p in problems)
    assert any("not let in" in p for p in problems)
