"""The pack's rules, each mapped to a PCI DSS v4.0 requirement.

Where a graph-wide check of ``payments_infra/offline/checks.py`` decides from the resource's own
literal settings, the rule runs that same check on a one-resource graph (the resource and
its provider), so the pack and ``make plan`` cannot disagree. Where the check would need
values AWS computes (ids, ARNs, the routing between resources), which a preview does not
know yet, the rule checks only the literal settings, and the offline graph checks cover the
rest (docs/security.md, "Policy pack").
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from payments_infra.offline import checks
from payments_infra.offline.graph import Graph, Resource

Validator = Callable[[ResourceValidationArgs], list[str]]


def as_graph(args: ResourceValidationArgs) -> Graph:
    """The resource under validation, with its provider, as a graph the checks can read."""
    resources = []
    provider_ref = ""
    if args.provider is not None:
        provider_urn = args.provider.urn
        resources.append(
            Resource(
                urn=provider_urn,
                type=args.provider.resource_type,
                name=args.provider.name,
                custom=True,
                parent="",
                provider="",
                inputs=dict(args.provider.props),
                id="provider",
            )
        )
        provider_ref = f"{provider_urn}::provider"
    resources.append(
        Resource(
            urn=args.urn,
            type=args.resource_type,
            name=args.name,
            custom=True,
            parent="",
            provider=provider_ref,
            inputs=dict(args.props),
            protect=bool(args.opts.protect),
            ignore_changes=list(args.opts.ignore_changes or []),
        )
    )
    return Graph(resources, {})


def reuse(check: Callable[[Graph], list[str]]) -> Validator:
    return lambda args: check(as_graph(args))


def encryption_at_rest(args: ResourceValidationArgs) -> list[str]:
    props, kind = args.props, args.resource_type
    if kind == "aws:rds/cluster:Cluster" and props.get("storageEncrypted") is not True:
        return [f"{args.name}: Aurora storage must be encrypted (storageEncrypted)"]
    if kind == "aws:kms/key:Key" and props.get("enableKeyRotation") is not True:
        return [f"{args.name}: customer-managed keys must rotate (enableKeyRotation)"]
    if (
        kind
        == "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ):
        rules = props.get("rules") or []
        algorithms = [
            (r.get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm") for r in rules
        ]
        if not algorithms or not all(
            a in ("AES256", "aws:kms", "aws:kms:dsse") for a in algorithms
        ):
            return [f"{args.name}: the bucket needs default server-side encryption"]
    return []


def database_tls(args: ResourceValidationArgs) -> list[str]:
    if args.resource_type != "aws:rds/clusterParameterGroup:ClusterParameterGroup":
        return []
    parameters = {p.get("name"): p.get("value") for p in args.props.get("parameters") or []}
    if parameters.get("rds.force_ssl") != "1":
        return [f"{args.name}: the cluster parameter group must set rds.force_ssl = 1"]
    return []


def no_public_compute(args: ResourceValidationArgs) -> list[str]:
    props, kind = args.props, args.resource_type
    if kind in ("aws:rds/clusterInstance:ClusterInstance", "aws:rds/cluster:Cluster") and props.get(
        "publiclyAccessible"
    ):
        return [f"{args.name}: the database must not be publicly accessible"]
    if kind == "aws:ecs/service:Service" and (props.get("networkConfiguration") or {}).get(
        "assignPublicIp"
    ):
        return [f"{args.name}: tasks must not get public IP addresses"]
    if kind == "aws:ec2/subnet:Subnet" and props.get("mapPublicIpOnLaunch"):
        return [f"{args.name}: subnets must not hand out public IPs on launch"]
    return []


def no_open_ingress(args: ResourceValidationArgs) -> list[str]:
    """Only HTTPS (TCP 443) may be open to the whole Internet (the ALB's listener)."""
    if args.resource_type != "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
        return []
    props = args.props
    if props.get("cidrIpv4") != "0.0.0.0/0" and props.get("cidrIpv6") != "::/0":
        return []
    if props.get("ipProtocol") == "tcp" and props.get("fromPort") == props.get("toPort") == 443:
        return []
    return [f"{args.name}: only TCP 443 may be open to 0.0.0.0/0 or ::/0"]


def log_retention(args: ResourceValidationArgs) -> list[str]:
    if args.resource_type != "aws:cloudwatch/logGroup:LogGroup":
        return []
    return checks.check_log_retention(as_graph(args))


@dataclass(frozen=True)
class Rule:
    """One rule of the pack, declared once: docs/security.md's table is generated from these."""

    name: str
    requirement: str
    description: str
    validate: Validator
    enforcement: EnforcementLevel = EnforcementLevel.MANDATORY

    def policy(self) -> ResourceValidationPolicy:
        def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
            for problem in self.validate(args):
                report(f"PCI DSS {self.requirement}: {problem}", None)

        return ResourceValidationPolicy(
            name=self.name,
            description=f"{self.description} (PCI DSS v4.0 {self.requirement})",
            validate=validate,
            enforcement_level=self.enforcement,
        )


RULES = (
    Rule(
        "encryption-at-rest", "3.5.1", "Stored data is encrypted; keys rotate", encryption_at_rest
    ),
    Rule(
        "encryption-in-transit",
        "4.2.1",
        "HTTPS-only listeners with a TLS 1.3 policy, HTTPS targets, CloudFront HTTPS",
        reuse(lambda g: checks.check_encryption_in_transit(g) + checks.check_cloudfront(g)),
    ),
    Rule("database-tls", "4.2.1", "The database refuses connections without TLS", database_tls),
    Rule(
        "no-public-compute",
        "1.4.4",
        "No public IP on tasks, subnets or the database",
        no_public_compute,
    ),
    Rule("no-open-ingress", "1.3.1", "Nothing but HTTPS is open to the Internet", no_open_ingress),
    Rule("log-retention", "10.5.1", "Every log group keeps its logs the set time", log_retention),
    Rule(
        "required-tags",
        "12.5.1",
        "Every taggable resource carries the inventory tags",
        reuse(checks.check_tags),
    ),
    Rule(
        "destroyable", "12.5.1", "Nothing blocks a clean teardown", reuse(checks.check_destroyable)
    ),
    Rule(
        "least-privilege",
        "7.2.1",
        "No wildcard actions or resources in policies",
        reuse(checks.check_least_privilege),
    ),
)
POLICIES = tuple(rule.policy() for rule in RULES)


def violations(rule: Rule, args: ResourceValidationArgs) -> list[str]:
    """What a rule reports for one resource (used by the tests and by `make plan`)."""
    found: list[str] = []
    rule.policy().validate(args, lambda message, _urn=None: found.append(message))  # type: ignore[misc]
    return found


def args_for(resource: Resource, graph: Graph) -> ResourceValidationArgs:
    """Validation arguments for a recorded resource, as the engine would pass them."""
    from pulumi_policy import PolicyProviderResource, PolicyResourceOptions  # noqa: PLC0415

    provider_resource = graph.provider_of(resource) if resource.provider else None
    provider = (
        PolicyProviderResource(
            resource_type=provider_resource.type,
            props=provider_resource.inputs,
            urn=provider_resource.urn,
            name=provider_resource.name,
        )
        if provider_resource
        else None
    )
    options = PolicyResourceOptions(
        protect=resource.protect,
        ignore_changes=resource.ignore_changes,
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=None,  # type: ignore[arg-type]
        additional_secret_outputs=[],
    )
    props: dict[str, Any] = json.loads(json.dumps(resource.inputs, default=lambda _: "[secret]"))
    return ResourceValidationArgs(
        resource_type=resource.type,
        props=props,
        urn=resource.urn,
        name=resource.name,
        opts=options,
        provider=provider,
    )
