"""The pack's rules, each mapped to a PCI DSS v4.0 requirement.

Where a graph-wide check of ``payments_infra/offline/checks.py`` decides from the resource's own
literal settings, the rule runs that same check on a one-resource graph (the resource and
its provider), so the pack and ``make plan`` cannot disagree. Where the check would need
values AWS computes (ids, ARNs, the routing between resources), which a preview does not
know yet, the rule checks only the literal settings, and the offline graph checks cover the
rest (docs/security.md, "Policy pack").

What no single resource shows (which security group the tasks use, whether the stack has VPC
endpoints) is a ``StackRule``: it runs the offline graph check on every resource of the stack.
It links resources by ids, which a preview of new resources does not know: it then reports that
it cannot run, runs after ``pulumi up``, and ``make plan`` runs the same check before any deploy.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from payments_infra.offline import (
    checks,
    checks_access,
    checks_data,
    checks_edge,
    checks_egress,
    checks_hardening,
)
from payments_infra.offline.graph import Graph, Resource, revealed

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


def hardening(*type_tokens: str) -> Validator:
    """The offline hardening check of these resource types, on the resource alone."""

    def validate(args: ResourceValidationArgs) -> list[str]:
        if args.resource_type not in type_tokens:
            return []
        (resource,) = as_graph(args).of_type(args.resource_type)
        return checks_hardening.SETTINGS[args.resource_type](resource)

    return validate


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
    # One resource at a time: a piece of the database that is protected must be protected
    # exactly; `make plan` holds the cluster, key and secret to it together.
    Rule(
        "destroyable",
        "12.5.1",
        "Nothing blocks a clean teardown, but a protected stack's data (payments:protectData): "
        "the database's cluster, key and secret, with deletion protection and a final snapshot",
        reuse(checks.check_destroyable),
    ),
    Rule(
        "least-privilege",
        "7.2.1",
        "No wildcard actions or resources in policies",
        reuse(checks.check_least_privilege),
    ),
    Rule(
        "waf-rules",
        "6.4.2",
        "Every web ACL has AWS's managed rule groups, a rate limit and a body-size rule that "
        "blocks what WAF cannot inspect",
        reuse(checks_edge.check_web_acl_rules),
    ),
    Rule(
        "alb-deny-by-default",
        "6.4.2",
        "ALB listeners answer 403 to whatever no rule forwards",
        reuse(checks_edge.check_listeners_deny_by_default),
    ),
    # Advisory: certificate mode 3 (the demo `make up` deploys without a domain) always has
    # it, and a mandatory rule would refuse that demo. Production stacks raise it to
    # mandatory with policy/production.json (docs/security.md, "Policy pack").
    Rule(
        "cloudfront-tls-production",
        "4.2.1",
        "CloudFront has a certificate of its own: on its default one it accepts TLS 1.0 "
        "(not fit for production)",
        reuse(checks_access.cloudfront_default_certificate),
        enforcement=EnforcementLevel.ADVISORY,
    ),
    Rule(
        "hsts-preload",
        "4.2.1",
        "CloudFront sends HSTS for a year, to every subdomain, with preload",
        hardening(checks_hardening.HEADERS_POLICY),
    ),
    Rule(
        "abort-incomplete-uploads",
        "3.2.1",
        "Bucket lifecycles abort incomplete multipart uploads (no invisible, billed parts)",
        hardening(checks_hardening.LIFECYCLE),
    ),
    Rule(
        "image-scanning",
        "6.3.1",
        "ECR repositories scan every pushed image and encrypt it with KMS",
        hardening(checks_hardening.REPOSITORY),
    ),
    Rule(
        "hardened-configuration",
        "2.2.1",
        "Aurora instances report OS metrics (enhanced monitoring); Lambda functions trace "
        "actively and have a reserved concurrency",
        hardening(checks_hardening.DB_INSTANCE, checks_hardening.FUNCTION),
    ),
    Rule(
        "audit-log-integrity",
        "10.3.4",
        "CloudTrail trails validate their log files (tampering is detectable)",
        hardening(checks_hardening.TRAIL),
    ),
)


def stack_graph(args: StackValidationArgs) -> Graph:
    """Every resource of the stack as a graph the checks can read: the engine hands a stack
    policy each resource's outputs, which hold its inputs and its ``id`` too."""
    return Graph(
        [
            Resource(
                urn=r.urn,
                type=r.resource_type,
                name=r.name,
                custom=True,
                parent="",
                provider="",
                inputs=dict(r.props),
                outputs=dict(r.props),
                id=str(r.props.get("id", "")),
            )
            for r in args.resources
        ],
        {},
    )


@dataclass(frozen=True)
class StackRule:
    """A rule over the whole stack (module docstring), declared like ``Rule``."""

    name: str
    requirement: str
    description: str
    check: Callable[[Graph], list[str]]
    enforcement: EnforcementLevel = EnforcementLevel.MANDATORY

    def policy(self) -> StackValidationPolicy:
        def validate(args: StackValidationArgs, report: ReportViolation) -> None:
            for problem in self.check(stack_graph(args)):
                report(f"PCI DSS {self.requirement}: {problem}", None)

        return StackValidationPolicy(
            name=self.name,
            description=f"{self.description} (PCI DSS v4.0 {self.requirement})",
            validate=validate,
            enforcement_level=self.enforcement,
        )


STACK_RULES = (
    StackRule(
        "task-egress-limited",
        "1.3.2",
        "With VPC endpoints, the API tasks send only to them, S3, the database and the "
        "allow-list: nothing to the whole Internet",
        checks_egress.check_task_egress,
    ),
    StackRule(
        "every-bucket-aborts-uploads",
        "3.2.1",
        "Every bucket has a lifecycle rule that aborts incomplete multipart uploads",
        checks_hardening.check_bucket_lifecycles,
    ),
    # Advisory: payments:dbRotationDays=0 is allowed (the plan warns). Production stacks
    # raise it to mandatory with policy/production.json.
    StackRule(
        "database-credentials-rotate",
        "8.3.9",
        "The database secret has a rotation schedule (at most a year) run by a function",
        checks_data.check_database_secret_rotation,
        enforcement=EnforcementLevel.ADVISORY,
    ),
)
POLICIES: tuple[Policy, ...] = (
    *(rule.policy() for rule in RULES),
    *(rule.policy() for rule in STACK_RULES),
)


def violations(rule: Rule, args: ResourceValidationArgs) -> list[str]:
    """What a rule reports for one resource (used by the tests and by `make plan`)."""
    found: list[str] = []
    rule.policy().validate(args, lambda message, _urn=None: found.append(message))  # type: ignore[misc]
    return found


def stack_violations(rule: StackRule, args: StackValidationArgs) -> list[str]:
    """What a stack rule reports for the whole stack (used by the tests)."""
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
    # The engine hands policies secret values in plain text (Pulumi's CrossGuard FAQ).
    props: dict[str, Any] = json.loads(
        json.dumps(revealed(resource.inputs), default=lambda _: "[asset]")
    )
    return ResourceValidationArgs(
        resource_type=resource.type,
        props=props,
        urn=resource.urn,
        name=resource.name,
        opts=options,
        provider=provider,
    )


def stack_args_for(graph: Graph) -> StackValidationArgs:
    """Stack validation arguments for a recorded graph, as the engine passes them after an
    update: each resource's inputs, the values the provider computed, and its id."""
    from pulumi_policy import PolicyResource, PolicyResourceOptions  # noqa: PLC0415

    options = PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=None,  # type: ignore[arg-type]
        additional_secret_outputs=[],
    )
    resources = [
        PolicyResource(
            resource_type=r.type,
            props=json.loads(
                json.dumps({**r.outputs, **r.inputs, "id": r.id}, default=lambda _: "[secret]")
            ),
            urn=r.urn,
            name=r.name,
            opts=options,
            provider=None,
            parent=None,
            dependencies=[],
            property_dependencies={},
        )
        for r in graph
        if r.custom
    ]
    return StackValidationArgs(resources)
