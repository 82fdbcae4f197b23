"""How the pack's per-resource rules decide on one resource (rules.py declares the rules).

Where a graph-wide check of ``payments_infra/offline/checks.py`` decides from the resource's own
literal settings, the rule runs that same check on a one-resource graph (the resource and
its provider), so the pack and ``make plan`` cannot disagree. Where the check would need
values AWS computes (ids, ARNs, the routing between resources), which a preview does not
know yet, the rule checks only the literal settings, and the offline graph checks cover the
rest (docs/security.md, "Policy pack").
"""

from __future__ import annotations

from collections.abc import Callable

from pulumi_policy import ResourceValidationArgs

from payments_infra.offline import checks_conventions, checks_hardening
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
    return checks_conventions.check_log_retention(as_graph(args))
