"""Graph-wide checks of egress: where the API tasks may send (PCI DSS 1.3.2), and that what
runs in the VPC can still reach AWS once private DNS sends its calls to the VPC endpoints.

Both apply only when the graph has interface endpoints (payments:vpcEndpoints, the default);
without them the tasks reach AWS through the NAT gateways, 443 to any address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from payments_infra.components.network.endpoints import FUNCTION_ENDPOINTS, TASK_ENDPOINTS
from payments_infra.config import REQUIRED_REGION as REGION
from payments_infra.config.limits import MIN_EGRESS_PREFIX
from payments_infra.offline.checks_conventions import label
from payments_infra.offline.graph import Graph, Resource

HTTPS = 443
DEFAULT_DB_PORT = 5432
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
ECS_SERVICE = "aws:ecs/service:Service"
LAMBDA_FUNCTION = "aws:lambda/function:Function"
AURORA_CLUSTER = "aws:rds/cluster:Cluster"


def interface_endpoints(graph: Graph) -> list[Resource]:
    return [
        e for e in graph.of_type(VPC_ENDPOINT) if e.inputs.get("vpcEndpointType") == "Interface"
    ]


def endpoint_groups(graph: Graph) -> set[str]:
    """The security groups of the interface endpoints."""
    return {g for e in interface_endpoints(graph) for g in e.inputs.get("securityGroupIds") or []}


def gateway_prefix_lists(graph: Graph) -> set[str]:
    """The prefix lists of the gateway endpoints (S3): an output AWS computes."""
    return {
        str(e.outputs.get("prefixListId") or e.inputs.get("prefixListId"))
        for e in graph.of_type(VPC_ENDPOINT)
        if e.inputs.get("vpcEndpointType") == "Gateway"
        and (e.outputs.get("prefixListId") or e.inputs.get("prefixListId"))
    }


def service_groups(service: Resource) -> list[str]:
    """The security groups an ECS service gives its tasks."""
    return list((service.inputs.get("networkConfiguration") or {}).get("securityGroups") or [])


def rules_on(graph: Graph, type_token: str, groups: Iterable[str]) -> list[Resource]:
    """The rule resources of ``type_token`` on any of ``groups``."""
    wanted = set(groups)
    return [r for r in graph.of_type(type_token) if r.inputs.get("securityGroupId") in wanted]


def _opens(rule: Resource, port: int) -> bool:
    inputs = rule.inputs
    if inputs.get("ipProtocol") in ("-1", -1):
        return True
    low, high = inputs.get("fromPort"), inputs.get("toPort")
    return (
        inputs.get("ipProtocol") == "tcp"
        and isinstance(low, int | float)
        and isinstance(high, int | float)
        and low <= port <= high
    )


def _database_ports(graph: Graph) -> dict[str, int]:
    """Each Aurora security group and the port its cluster listens on."""
    return {
        group: int(cluster.inputs.get("port") or DEFAULT_DB_PORT)
        for cluster in graph.of_type(AURORA_CLUSTER)
        for group in cluster.inputs.get("vpcSecurityGroupIds") or []
    }


def _destination_problem(
    rule: Resource, endpoints: set[str], prefix_lists: set[str], databases: dict[str, int]
) -> str | None:
    """Why an egress rule of the tasks is not one of the allowed destinations, or None."""
    inputs = rule.inputs
    low, high = inputs.get("fromPort"), inputs.get("toPort")
    if inputs.get("ipProtocol") != "tcp" or low is None or low != high:
        return f"protocol {inputs.get('ipProtocol')} ports {low}-{high}; only one TCP port a rule"
    port = int(low)
    if group := inputs.get("referencedSecurityGroupId"):
        return _group_problem(group, port, endpoints, databases)
    if prefix_list := inputs.get("prefixListId"):
        if prefix_list in prefix_lists and port == HTTPS:
            return None
        return f"to prefix list {prefix_list} on {port}; only the S3 gateway's, on {HTTPS}"
    return _cidr_problem(inputs)


def _group_problem(
    group: str, port: int, endpoints: set[str], databases: dict[str, int]
) -> str | None:
    if group in endpoints:
        what, expected = "the VPC endpoints", HTTPS
    elif group in databases:
        what, expected = "the database", databases[group]
    else:
        return f"to security group {group}, neither the VPC endpoints' nor the database's"
    return None if port == expected else f"to {what} on {port}, not {expected}"


def _cidr_problem(inputs: dict[str, Any]) -> str | None:
    cidr = inputs.get("cidrIpv4")
    if not cidr:
        return f"to {inputs.get('cidrIpv6')}; the allow-list names IPv4 destinations only"
    network = ipaddress.IPv4Network(cidr, strict=False)
    if network.is_global and network.prefixlen >= MIN_EGRESS_PREFIX:
        return None  # an allow-listed internet destination
    return (
        f"to {cidr}; only allow-listed public destinations of /{MIN_EGRESS_PREFIX} or narrower "
        "(payments:egressAllowList)"
    )


def check_task_egress(graph: Graph) -> list[str]:
    """With VPC endpoints, the API tasks send only to them (443), S3's prefix list (443), the
    database (its port) and the allow-list; nothing to the whole Internet (PCI DSS 1.3.2)."""
    if not interface_endpoints(graph):
        return []
    endpoints, prefix_lists = endpoint_groups(graph), gateway_prefix_lists(graph)
    databases = _database_ports(graph)
    problems = []
    for service in graph.of_type(ECS_SERVICE):
        groups = service_groups(service)
        for group in graph.of_type(SECURITY_GROUP):
            if group.id in groups and group.inputs.get("egress"):
                problems.append(f"{label(group)} has inline egress rules; use rule resources")
        for rule in rules_on(graph, EGRESS_RULE, groups):
            problem = _destination_problem(rule, endpoints, prefix_lists, databases)
            if problem:
                problems.append(f"{label(rule)} lets the tasks of {label(service)} send {problem}")
    return problems


def _clients(graph: Graph) -> list[tuple[Resource, list[str], tuple[str, ...]]]:
    """What runs in the VPC and calls AWS, with its security groups and the endpoint services
    it calls (endpoints.py): ECS services and the Lambda functions attached to the VPC."""
    clients: list[tuple[Resource, list[str], tuple[str, ...]]] = [
        (s, service_groups(s), TASK_ENDPOINTS) for s in graph.of_type(ECS_SERVICE)
    ]
    for function in graph.of_type(LAMBDA_FUNCTION):
        groups = (function.inputs.get("vpcConfig") or {}).get("securityGroupIds") or []
        if groups:
            clients.append((function, list(groups), FUNCTION_ENDPOINTS))
    return clients


def endpoint_service(endpoint: Resource) -> str:
    """The AWS service of an endpoint, e.g. ``ecr.api``."""
    return str(endpoint.inputs.get("serviceName", "")).removeprefix(f"com.amazonaws.{REGION}.")


def check_endpoint_clients(graph: Graph) -> list[str]:
    """With private DNS on the VPC endpoints, AWS's API names resolve to them for everything in
    the VPC: each ECS service and VPC Lambda function must be able to send on 443 to the
    endpoint of each service it calls, and be let in by that endpoint's group; ECS tasks must
    also reach S3's prefix list (image layers)."""
    private_dns = [e for e in interface_endpoints(graph) if e.inputs.get("privateDnsEnabled")]
    if not private_dns:
        return []
    groups_of = {
        endpoint_service(e): set(e.inputs.get("securityGroupIds") or []) for e in private_dns
    }
    prefix_lists = gateway_prefix_lists(graph)
    problems = []
    for client, groups, calls in _clients(graph):
        egress = [rule for rule in rules_on(graph, EGRESS_RULE, groups) if _opens(rule, HTTPS)]
        anywhere = any(rule.inputs.get("cidrIpv4") == "0.0.0.0/0" for rule in egress)
        for service in [s for s in calls if s in groups_of]:
            endpoint = groups_of[service]
            if not anywhere and not any(
                rule.inputs.get("referencedSecurityGroupId") in endpoint for rule in egress
            ):
                problems.append(
                    f"{label(client)} cannot send to the {service} endpoint on {HTTPS}: its "
                    "calls to AWS resolve to it (private DNS)"
                )
            if not any(
                rule.inputs.get("referencedSecurityGroupId") in groups
                for rule in rules_on(graph, INGRESS_RULE, endpoint)
                if _opens(rule, HTTPS)
            ):
                problems.append(
                    f"{label(client)} is not let in by the {service} endpoint's security group "
                    f"on {HTTPS}: its calls to AWS would time out"
                )
        reaches_s3 = any(rule.inputs.get("prefixListId") in prefix_lists for rule in egress)
        if client.type == ECS_SERVICE and not anywhere and not reaches_s3:
            problems.append(
                f"{label(client)} cannot reach S3's gateway prefix list on {HTTPS}: "
                "ECR serves image layers from S3"
            )
    return problems
