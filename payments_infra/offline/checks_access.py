"""Graph-wide checks of access and transit: TLS to and behind the ALB, CloudFront, the
task count autoscaling owns, least-privilege policies, and service roles' confused-deputy keys.
"""

from __future__ import annotations

import json
from typing import Any

from payments_infra.aws.service_roles import WITHOUT_SOURCE_KEYS
from payments_infra.offline.checks_conventions import label
from payments_infra.offline.graph import Graph, Resource, revealed


def check_encryption_in_transit(graph: Graph) -> list[str]:
    """Listeners are HTTPS with a TLS 1.3 policy; load balancers reach targets over HTTPS."""
    problems = []
    for listener in graph.of_type("aws:lb/listener:Listener"):
        if listener.inputs.get("protocol") != "HTTPS":
            problems.append(
                f"{label(listener)} listens with {listener.inputs.get('protocol')} on "
                f"{listener.inputs.get('port')}; only HTTPS is allowed"
            )
        elif not str(listener.inputs.get("sslPolicy", "")).startswith("ELBSecurityPolicy-TLS13-"):
            problems.append(
                f"{label(listener)} uses TLS policy {listener.inputs.get('sslPolicy')}; "
                "a TLS 1.3 policy is required (unset means the 2016 policy)"
            )
    for group in graph.of_type("aws:lb/targetGroup:TargetGroup"):
        if group.inputs.get("protocol") != "HTTPS":
            problems.append(f"{label(group)} forwards with {group.inputs.get('protocol')}")
        health = group.inputs.get("healthCheck") or {}
        if health.get("protocol") != "HTTPS":
            problems.append(f"{label(group)} health-checks with {health.get('protocol')}")
    return problems


def _covers(certificate_name: str, host: str) -> bool:
    if certificate_name.startswith("*."):
        return host.split(".", 1)[-1] == certificate_name[2:]
    return host == certificate_name


def check_cloudfront(graph: Graph) -> list[str]:
    """Viewers get HTTPS only; custom origins are HTTPS (TLS 1.2) on a name a certificate of
    the stack covers, never an *.elb.amazonaws.com name; every distribution has a WAF."""
    certificate_names = [
        name
        for c in graph.of_type("aws:acm/certificate:Certificate")
        for name in [c.inputs.get("domainName"), *c.inputs.get("subjectAlternativeNames", [])]
        if name
    ]
    problems = []
    for distribution in graph.of_type("aws:cloudfront/distribution:Distribution"):
        # The origins are one secret input when an origin carries a secret header.
        inputs = revealed(distribution.inputs)
        behaviors = [
            inputs.get("defaultCacheBehavior") or {},
            *inputs.get("orderedCacheBehaviors", []),
        ]
        for behavior in behaviors:
            if behavior.get("viewerProtocolPolicy") not in ("redirect-to-https", "https-only"):
                problems.append(
                    f"{label(distribution)} serves {behavior.get('pathPattern', 'default')} "
                    f"over {behavior.get('viewerProtocolPolicy')}"
                )
        certificate = inputs.get("viewerCertificate") or {}
        if (
            certificate.get("acmCertificateArn")
            and certificate.get("minimumProtocolVersion") != "TLSv1.2_2021"
        ):
            problems.append(f"{label(distribution)} accepts TLS older than TLSv1.2_2021")
        if not inputs.get("webAclId"):
            problems.append(f"{label(distribution)} has no WAF web ACL")
        for origin in inputs.get("origins", []):
            custom = origin.get("customOriginConfig")
            if not custom:
                continue
            host = origin.get("domainName", "")
            if custom.get("originProtocolPolicy") != "https-only" or custom.get(
                "originSslProtocols"
            ) != ["TLSv1.2"]:
                problems.append(f"{label(distribution)} reaches {host} without HTTPS TLS 1.2")
            if host.endswith(".elb.amazonaws.com"):
                problems.append(
                    f"{label(distribution)} uses {host} as an HTTPS origin; no certificate "
                    "CloudFront trusts covers *.elb.amazonaws.com"
                )
            elif certificate_names and not any(_covers(n, host) for n in certificate_names):
                problems.append(
                    f"{label(distribution)} origin {host} is covered by none of the stack's "
                    f"certificates {certificate_names}"
                )
    return problems


def cloudfront_default_certificate(graph: Graph) -> list[str]:
    """Distributions on CloudFront's default certificate (``*.cloudfront.net``).

    CloudFront then forces the TLSv1 security policy, whatever ``minimumProtocolVersion``
    asks: viewers may still connect with TLS 1.0 and 1.1. Not a failed check (certificate
    mode 3 is a demo, and mode 2 may leave CloudFront on its own name), but not fit for
    production: ``make plan`` warns and the policy pack's advisory rule reports it.
    """
    return [
        f"{label(d)} uses CloudFront's default certificate, which forces the TLSv1 security "
        "policy: viewers may connect with TLS 1.0 and 1.1"
        for d in graph.of_type("aws:cloudfront/distribution:Distribution")
        if (d.inputs.get("viewerCertificate") or {}).get("cloudfrontDefaultCertificate")
    ]


def check_autoscaling_owns_task_count(graph: Graph) -> list[str]:
    """A scaled service ignores desiredCount after creation, or each deploy resets it."""
    if not graph.of_type("aws:appautoscaling/target:Target"):
        return []
    return [
        f"{label(s)} would reset its task count on every deploy (desiredCount not ignored)"
        for s in graph.of_type("aws:ecs/service:Service")
        if "desiredCount" not in s.ignore_changes
    ]


# Actions for which AWS accepts no resource but "*" (IAM service authorization reference).
ANY_RESOURCE_ACTIONS = {
    "ecr:GetAuthorizationToken",
    "ecs:DescribeTaskDefinition",
    "secretsmanager:GetRandomPassword",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "elasticloadbalancing:DescribeRules",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
}
POLICY_INPUTS = {
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/policy:Policy": "policy",
    "aws:iam/role:Role": "assumeRolePolicy",
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
    "aws:kms/key:Key": "policy",
}


def policy_documents(graph: Graph) -> list[tuple[Resource, dict[str, Any]]]:
    """Every IAM, bucket and key policy document in the graph, parsed."""
    documents = []
    for type_token, key in POLICY_INPUTS.items():
        for resource in graph.of_type(type_token):
            text = resource.inputs.get(key)
            if isinstance(text, str):
                documents.append((resource, json.loads(text)))
    return documents


def _as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else [value]


def check_least_privilege(graph: Graph) -> list[str]:
    """No Allow statement grants a wildcard action, or "*" resources where AWS has others."""
    problems = []
    for resource, document in policy_documents(graph):
        for statement in _as_list(document.get("Statement", [])):
            if statement.get("Effect") != "Allow":
                continue
            actions = [str(a) for a in _as_list(statement.get("Action", []))]
            wild = [a for a in actions if "*" in a]
            if wild:
                problems.append(f"{label(resource)} allows wildcard actions {wild}")
            # A key policy's "*" means the key itself; trust policies name no resource.
            if resource.type == "aws:kms/key:Key":
                continue
            if "*" in _as_list(statement.get("Resource", [])) and not set(actions) <= (
                ANY_RESOURCE_ACTIONS
            ):
                problems.append(f"{label(resource)} allows {actions} on every resource")
    return problems


# The keys that tie a service's use of a role to this account or to its resources: AWS's
# confused-deputy keys, and the external id Firehose passes (aws/policies.py,
# ACCOUNT_CONDITION_KEYS).
SOURCE_KEYS = ("aws:SourceAccount", "aws:SourceArn", "sts:ExternalId")


def _condition_keys(statement: dict[str, Any]) -> set[str]:
    return {key for operator in (statement.get("Condition") or {}).values() for key in operator}


def check_service_trusts(graph: Graph) -> list[str]:
    """Every role a service principal may assume says for which account or resource
    (``aws:SourceAccount``, ``aws:SourceArn``), unless the service is one of
    ``service_roles.WITHOUT_SOURCE_KEYS``, each with AWS's reason: without them another
    account's use of the same service could be steered into this role (the confused deputy)."""
    problems = []
    for role in graph.of_type("aws:iam/role:Role"):
        try:
            document = json.loads(str(revealed(role.inputs.get("assumeRolePolicy"))))
        except json.JSONDecodeError:
            problems.append(f"{label(role)}: its trust policy is not JSON")
            continue
        for statement in _as_list(document.get("Statement")):
            if statement.get("Effect") != "Allow":
                continue
            principal = statement.get("Principal")
            services = _as_list(principal.get("Service", [])) if isinstance(principal, dict) else []
            exempt = all(service in WITHOUT_SOURCE_KEYS for service in services)
            if services and not exempt and not _condition_keys(statement) & set(SOURCE_KEYS):
                problems.append(
                    f"{label(role)} trusts {', '.join(services)} without aws:SourceAccount or "
                    "aws:SourceArn: another account's use of the service could assume it"
                )
    return problems
