"""Graph-wide checks: the conventions every resource must meet, proven over the whole graph.

Each check takes the recorded ``Graph`` (recording.py) and returns the list of offenders,
each as a sentence naming the resource and the rule; an empty list means it passes. The
offline plan prints them as pass/fail lines and the tests assert them, so a resource a later
tier adds is held to the same rules without a new test.
"""

from __future__ import annotations

import importlib
import inspect
import json
import keyword
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from payments_infra import naming
from payments_infra.config import LOG_RETENTION_DAYS
from payments_infra.creation_order import check_creation_order
from payments_infra.keys import KEY_DELETION_WINDOW_DAYS
from payments_infra.recording import Graph, Resource, SecretValue
from payments_infra.tagging import REQUIRED_TAG_KEYS, REQUIRED_TAGS

EXPLICIT_PROVIDER_NAME = "aws-provider"


@dataclass(frozen=True)
class CheckResult:
    name: str
    problems: list[str]

    @property
    def passed(self) -> bool:
        return not self.problems


def _label(resource: Resource) -> str:
    return f"{resource.type} {resource.name}"


def aws_resources(graph: Graph) -> list[Resource]:
    """The AWS resources in the graph (not components, providers or other packages)."""
    return [r for r in graph if r.custom and r.type.startswith("aws:")]


@cache
def args_fields(type_token: str) -> frozenset[str]:
    """The snake_case input names of a pulumi_aws resource type, read from its ``*Args`` class.

    ``aws:ec2/vpc:Vpc`` -> ``pulumi_aws.ec2.VpcArgs``. Reading the SDK, not a list of our
    own, is what lets a new resource type be held to the rules without anyone listing it.
    """
    _, module_path, class_name = type_token.split(":")
    module_name = module_path.split("/")[0]
    if keyword.iskeyword(module_name):  # aws:lambda/... lives in pulumi_aws.lambda_
        module_name += "_"
    module = importlib.import_module(
        "pulumi_aws" if module_name == "index" else f"pulumi_aws.{module_name}"
    )
    # Where a nested input type took the name, the resource's own class is "...InitArgs"
    # (aws.s3.BucketServerSideEncryptionConfigurationInitArgs).
    args_class = getattr(module, f"{class_name}InitArgs", None) or getattr(
        module, f"{class_name}Args"
    )
    return frozenset(inspect.signature(args_class.__init__).parameters) - {"self", "__self__"}


def is_taggable(type_token: str) -> bool:
    return "tags" in args_fields(type_token)


def _provider_default_tags(provider: Resource | None) -> dict[str, str]:
    if provider is None:
        return {}
    raw = provider.inputs.get("defaultTags") or "{}"
    parsed = json.loads(raw) if isinstance(raw, str) else raw
    return dict(parsed.get("tags") or {})


def effective_tags(graph: Graph, resource: Resource) -> dict[str, str]:
    """The tags AWS will store: the provider's default tags, overridden by the resource's."""
    return {**_provider_default_tags(graph.provider_of(resource)), **resource.tags}


def check_tags(graph: Graph) -> list[str]:
    problems = []
    for resource in aws_resources(graph):
        if not is_taggable(resource.type):
            continue
        tags = effective_tags(graph, resource)
        missing = [key for key in REQUIRED_TAG_KEYS if not tags.get(key)]
        if missing:
            problems.append(f"{_label(resource)} lacks required tags {missing}")
        wrong = {k: tags[k] for k, v in REQUIRED_TAGS.items() if k in tags and tags[k] != v}
        if wrong:
            problems.append(f"{_label(resource)} has {wrong}; required {REQUIRED_TAGS}")
    return problems


def check_explicit_provider(graph: Graph) -> list[str]:
    return [
        f"{_label(r)} is not created through the stack's explicit aws provider "
        f"(region and default tags would not apply)"
        for r in aws_resources(graph)
        if (provider := graph.provider_of(r)) is None or provider.name != EXPLICIT_PROVIDER_NAME
    ]


# The AWS rule each physically named resource type's ``name`` input must meet.
NAME_RULES: dict[str, naming.NameRule] = {
    "aws:cloudwatch/logGroup:LogGroup": naming.LOG_GROUP,
    "aws:iam/role:Role": naming.IAM_ROLE,
    "aws:iam/rolePolicy:RolePolicy": naming.IAM_POLICY,
    "aws:lb/loadBalancer:LoadBalancer": naming.ALB,
    "aws:lb/targetGroup:TargetGroup": naming.TARGET_GROUP,
    "aws:s3/bucket:Bucket": naming.S3_BUCKET,
    "aws:sns/topic:Topic": naming.SNS_TOPIC,
    "aws:secretsmanager/secret:Secret": naming.SECRET,
    "aws:ecr/repository:Repository": naming.ECR_REPOSITORY,
    "aws:ecs/cluster:Cluster": naming.ECS_NAME,
    "aws:ecs/service:Service": naming.ECS_NAME,
    "aws:lambda/function:Function": naming.LAMBDA_FUNCTION,
    "aws:kms/alias:Alias": naming.KMS_ALIAS,
    "aws:sqs/queue:Queue": naming.SQS_QUEUE,
    "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream": naming.FIREHOSE_STREAM,
    "aws:cloudwatch/metricAlarm:MetricAlarm": naming.ALARM,
    "aws:cloudfront/function:Function": naming.CLOUDFRONT_NAME,
    "aws:cloudfront/originAccessControl:OriginAccessControl": naming.CLOUDFRONT_NAME,
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy": naming.CLOUDFRONT_NAME,
    "aws:cloudwatch/logDeliverySource:LogDeliverySource": naming.LOG_DELIVERY,
    "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination": naming.LOG_DELIVERY,
    "aws:serverlessrepository/cloudFormationStack:CloudFormationStack": (
        naming.CLOUDFORMATION_STACK
    ),
    "aws:ec2/securityGroup:SecurityGroup": naming.SECURITY_GROUP,
    "aws:rds/subnetGroup:SubnetGroup": naming.RDS_GROUP,
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": naming.RDS_GROUP,
}
# RDS and WAF call their name input something else.
NAME_INPUTS: dict[str, tuple[str, naming.NameRule]] = {
    "aws:cloudwatch/dashboard:Dashboard": ("dashboardName", naming.DASHBOARD),
    "aws:rds/cluster:Cluster": ("clusterIdentifier", naming.RDS_IDENTIFIER),
    "aws:rds/clusterInstance:ClusterInstance": ("identifier", naming.RDS_IDENTIFIER),
    "aws:wafv2/webAcl:WebAcl": ("name", naming.WAF_NAME),
}


# EC2 refuses security-group and rule descriptions with other characters (up to 255).
SECURITY_GROUP_DESCRIPTION = re.compile(r"[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]{0,255}")
DESCRIBED_TYPES = {
    "aws:ec2/securityGroup:SecurityGroup",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
}


def check_descriptions(graph: Graph) -> list[str]:
    """Security groups and rules carry a description in the characters EC2 accepts."""
    problems = []
    for resource in aws_resources(graph):
        if resource.type not in DESCRIBED_TYPES:
            continue
        text = resource.inputs.get("description")
        if not text:
            problems.append(f"{_label(resource)} has no description")
        elif not SECURITY_GROUP_DESCRIPTION.fullmatch(text):
            problems.append(f"{_label(resource)}: description has characters EC2 refuses: {text!r}")
    return problems


# Whose "name" is a DNS name set by ACM or the customer's domain, not one of ours.
DNS_NAMED_TYPES = {"aws:route53/record:Record"}


def check_names(graph: Graph, suffix: str, availability_zones: list[str]) -> list[str]:
    """Every physical name comes from naming.py, ends with the suffix and meets its AWS rule."""
    catalogue = {name for name, _ in naming.all_names(suffix, availability_zones)}
    problems = []
    for resource in aws_resources(graph):
        if resource.type in DNS_NAMED_TYPES:
            continue
        names: list[tuple[str, naming.NameRule]] = []
        if "Name" in resource.tags:
            names.append((resource.tags["Name"], naming.TAG_VALUE))
        key, rule = NAME_INPUTS.get(resource.type, ("name", NAME_RULES.get(resource.type)))
        if key in resource.inputs:
            names.append((resource.inputs[key], rule or naming.TAG_VALUE))
        elif "name" in args_fields(resource.type) or key != "name":
            problems.append(f"{_label(resource)} sets no {key}: AWS or Pulumi would invent one")
        for name, name_rule in names:
            problems += [f"{_label(resource)}: {p}" for p in name_rule.problems(name)]
            if name not in catalogue:
                problems.append(
                    f'{_label(resource)} is named "{name}", which is not a naming.py name '
                    f"for suffix {suffix}"
                )
    return problems


def check_log_retention(graph: Graph) -> list[str]:
    return [
        f"{_label(r)} keeps logs {r.inputs.get('retentionInDays')} days; "
        f"required {LOG_RETENTION_DAYS}"
        for r in graph.of_type("aws:cloudwatch/logGroup:LogGroup")
        if r.inputs.get("retentionInDays") != LOG_RETENTION_DAYS
    ]


# Per type: (input, the value `pulumi destroy` needs, why). DESIGN.md §4.
DESTROY_SETTINGS: dict[str, list[tuple[str, Callable[[Any], bool], str]]] = {
    "aws:cloudwatch/logGroup:LogGroup": [
        ("skipDestroy", lambda v: not v, "must not be set (the group would outlive the stack)"),
        ("deletionProtectionEnabled", lambda v: not v, "must be off"),
    ],
    "aws:s3/bucket:Bucket": [("forceDestroy", bool, "must be true (delete with objects)")],
    "aws:ecr/repository:Repository": [("forceDelete", bool, "must be true (delete with images)")],
    "aws:rds/cluster:Cluster": [
        ("skipFinalSnapshot", bool, "must be true"),
        ("deletionProtection", lambda v: not v, "must be off"),
    ],
    "aws:rds/clusterInstance:ClusterInstance": [],
    "aws:secretsmanager/secret:Secret": [
        ("recoveryWindowInDays", lambda v: v == 0, "must be 0 (the name is reusable at once)"),
    ],
    "aws:kms/key:Key": [
        ("deletionWindowInDays", lambda v: v == KEY_DELETION_WINDOW_DAYS, "must be 7, the minimum")
    ],
    "aws:lb/loadBalancer:LoadBalancer": [
        ("enableDeletionProtection", lambda v: not v, "must be off"),
    ],
}


def check_destroyable(graph: Graph) -> list[str]:
    problems = []
    for resource in graph:
        if resource.protect:
            problems.append(f"{_label(resource)} is protected")
        if resource.retain_on_delete:
            problems.append(f"{_label(resource)} is retained on delete")
        for key, is_ok, rule in DESTROY_SETTINGS.get(resource.type, []):
            if not is_ok(resource.inputs.get(key)):
                problems.append(f"{_label(resource)}: {key} {rule}; got {resource.inputs.get(key)}")
    return problems


@dataclass(frozen=True)
class SubnetRouting:
    """One subnet with where its default route leads."""

    subnet: Resource
    availability_zone: str
    declared_tier: str
    target_type: str  # "internet_gateway", "nat_gateway", "missing NAT gateway" or "none"
    nat_zone: str | None  # for a NAT target: the zone of the subnet the NAT sits in


def subnet_routing(graph: Graph) -> list[SubnetRouting]:
    """Follow each subnet's route-table association to its default route's target."""
    table_of_subnet = {
        a.inputs["subnetId"]: a.inputs["routeTableId"]
        for a in graph.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
        if "subnetId" in a.inputs
    }
    default_route = {
        r.inputs["routeTableId"]: r
        for r in graph.of_type("aws:ec2/route:Route")
        if r.inputs.get("destinationCidrBlock") == "0.0.0.0/0"
    }
    by_id = {r.id: r for r in graph if r.custom}
    routing = []
    for subnet in graph.of_type("aws:ec2/subnet:Subnet"):
        route = default_route.get(table_of_subnet.get(subnet.id, ""))
        target, nat_zone = "none", None
        if route is not None and route.inputs.get("gatewayId"):
            target = "internet_gateway"
        elif route is not None and route.inputs.get("natGatewayId"):
            # A route to a NAT gateway that is not in the graph leads nowhere.
            nat = by_id.get(route.inputs["natGatewayId"])
            nat_subnet = by_id.get(nat.inputs.get("subnetId", "")) if nat else None
            target = "nat_gateway" if nat else "missing NAT gateway"
            nat_zone = nat_subnet.inputs["availabilityZone"] if nat_subnet else None
        routing.append(
            SubnetRouting(
                subnet,
                subnet.inputs["availabilityZone"],
                subnet.tags.get("Tier", "?"),
                target,
                nat_zone,
            )
        )
    return routing


TIER_TARGET = {"public": "internet_gateway", "private": "nat_gateway"}


def check_zone_layout(graph: Graph, availability_zones: list[str]) -> list[str]:
    """Each zone has one public and one private subnet, and each routes as its tier says."""
    problems = []
    routing = subnet_routing(graph)
    for zone in availability_zones:
        for tier in ("public", "private"):
            found = [s for s in routing if s.availability_zone == zone and s.declared_tier == tier]
            if len(found) != 1:
                problems.append(f"zone {zone} has {len(found)} {tier} subnets; required 1")
    for s in routing:
        if s.availability_zone not in availability_zones:
            problems.append(f"{_label(s.subnet)} is in {s.availability_zone}, not a stack zone")
        if TIER_TARGET.get(s.declared_tier) != s.target_type:
            problems.append(
                f"{_label(s.subnet)} is tagged {s.declared_tier} but its default route "
                f"goes to {s.target_type}"
            )
    return problems


def check_private_placement(graph: Graph) -> list[str]:
    """Private subnets reach out only through a NAT in their own zone; nothing gets a public IP."""
    problems = []
    public_subnet_ids = {
        s.subnet.id for s in subnet_routing(graph) if s.target_type == "internet_gateway"
    }
    for s in subnet_routing(graph):
        if s.declared_tier == "private" and s.nat_zone != s.availability_zone:
            problems.append(
                f"{_label(s.subnet)} (private, {s.availability_zone}) routes to "
                f"{s.target_type} in zone {s.nat_zone}; required a NAT gateway in its own zone"
            )
        if s.subnet.inputs.get("mapPublicIpOnLaunch"):
            problems.append(f"{_label(s.subnet)} gives instances public IPs on launch")
    for nat in graph.of_type("aws:ec2/natGateway:NatGateway"):
        if nat.inputs.get("subnetId") not in public_subnet_ids:
            problems.append(f"{_label(nat)} is not in a public subnet")
    return problems


def check_zone_loss(graph: Graph, availability_zones: list[str]) -> list[str]:
    """Losing any one zone leaves the others routed and the ALB with public subnets in 2 zones."""
    problems = []
    routing = subnet_routing(graph)
    for lost in availability_zones:
        survivors = [s for s in routing if s.availability_zone != lost]
        for s in survivors:
            if s.declared_tier == "private" and (s.nat_zone in (None, lost)):
                problems.append(
                    f"losing {lost} cuts egress of {_label(s.subnet)} "
                    f"(its NAT gateway is in {s.nat_zone})"
                )
        public_zones = {s.availability_zone for s in survivors if s.declared_tier == "public"}
        if len(public_zones) < 2:
            problems.append(
                f"losing {lost} leaves public subnets in {sorted(public_zones)}; an ALB needs 2"
            )
    return problems


def check_encryption_at_rest(graph: Graph) -> list[str]:
    """Data stores and secrets use a customer-managed key; keys rotate (PCI DSS 3.5, 3.6)."""
    problems = []
    for cluster in graph.of_type("aws:rds/cluster:Cluster"):
        if cluster.inputs.get("storageEncrypted") is not True or not cluster.inputs.get("kmsKeyId"):
            problems.append(f"{_label(cluster)} is not encrypted with a customer-managed key")
    for instance in graph.of_type("aws:rds/clusterInstance:ClusterInstance"):
        if instance.inputs.get("performanceInsightsEnabled") and not instance.inputs.get(
            "performanceInsightsKmsKeyId"
        ):
            problems.append(f"{_label(instance)} keeps Performance Insights under an AWS key")
    for secret in graph.of_type("aws:secretsmanager/secret:Secret"):
        if not secret.inputs.get("kmsKeyId"):
            problems.append(f"{_label(secret)} is not encrypted with a customer-managed key")
    for key in graph.of_type("aws:kms/key:Key"):
        if key.inputs.get("enableKeyRotation") is not True:
            problems.append(f"{_label(key)} does not rotate")
    for group in graph.of_type("aws:cloudwatch/logGroup:LogGroup"):
        if not group.inputs.get("kmsKeyId"):
            problems.append(f"{_label(group)} is not encrypted with the logs key")
    for topic in graph.of_type("aws:sns/topic:Topic"):
        if not topic.inputs.get("kmsMasterKeyId"):
            problems.append(f"{_label(topic)} is not encrypted with a customer-managed key")
    return problems


def check_tls_to_database(graph: Graph) -> list[str]:
    """Every cluster uses a parameter group that refuses connections without TLS."""
    forcing = {
        group.inputs.get("name")
        for group in graph.of_type("aws:rds/clusterParameterGroup:ClusterParameterGroup")
        if {"name": "rds.force_ssl", "value": "1"}
        in [{k: p.get(k) for k in ("name", "value")} for p in group.inputs.get("parameters", [])]
    }
    return [
        f"{_label(c)} uses parameter group {c.inputs.get('dbClusterParameterGroupName')}, "
        "which does not set rds.force_ssl = 1"
        for c in graph.of_type("aws:rds/cluster:Cluster")
        if c.inputs.get("dbClusterParameterGroupName") not in forcing
    ]


def check_database_private(graph: Graph) -> list[str]:
    """No database instance is public, and DB subnet groups hold private subnets only."""
    problems = [
        f"{_label(r)} is publicly accessible"
        for r in [
            *graph.of_type("aws:rds/cluster:Cluster"),
            *graph.of_type("aws:rds/clusterInstance:ClusterInstance"),
        ]
        if r.inputs.get("publiclyAccessible")
    ]
    private_ids = {s.subnet.id for s in subnet_routing(graph) if s.target_type == "nat_gateway"}
    for group in graph.of_type("aws:rds/subnetGroup:SubnetGroup"):
        public = [i for i in group.inputs.get("subnetIds", []) if i not in private_ids]
        if public:
            problems.append(f"{_label(group)} includes subnets that are not private: {public}")
    return problems


def check_database_zones(graph: Graph) -> list[str]:
    """Every cluster has instances placed explicitly in at least two zones (failover target)."""
    problems = []
    for cluster in graph.of_type("aws:rds/cluster:Cluster"):
        zones = {
            i.inputs.get("availabilityZone")
            for i in graph.of_type("aws:rds/clusterInstance:ClusterInstance")
            if i.inputs.get("clusterIdentifier") == cluster.id
        }
        if None in zones or len(zones) < 2:
            problems.append(f"{_label(cluster)} has instances in zones {sorted(map(str, zones))}")
    return problems


def check_no_open_ingress(graph: Graph) -> list[str]:
    """Nothing admits the whole Internet but a load balancer on 443 (PCI DSS 1.3)."""
    load_balancer_groups = {
        group_id
        for alb in graph.of_type("aws:lb/loadBalancer:LoadBalancer")
        for group_id in alb.inputs.get("securityGroups", [])
    }
    problems = []
    for rule in graph.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"):
        inputs = rule.inputs
        if inputs.get("cidrIpv4") != "0.0.0.0/0" and inputs.get("cidrIpv6") != "::/0":
            continue
        https_to_alb = (
            inputs.get("securityGroupId") in load_balancer_groups
            and inputs.get("ipProtocol") == "tcp"
            and inputs.get("fromPort") == inputs.get("toPort") == 443
        )
        if not https_to_alb:
            problems.append(f"{_label(rule)} admits the whole Internet, and not to an ALB on 443")
    for group in graph.of_type("aws:ec2/securityGroup:SecurityGroup"):
        if group.inputs.get("ingress"):
            problems.append(f"{_label(group)} has inline ingress rules; use rule resources")
    return problems


def _strings(value: object) -> list[str]:
    """Every string inside a plain (not secret) value."""
    if isinstance(value, SecretValue):
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


SENSITIVE_KEY = re.compile(r"password|secret|private|token", re.IGNORECASE)


def _secret_strings(
    value: object, inside_secret: bool = False, sensitive: bool = True
) -> list[str]:
    """The strings the program marked secret.

    The engine pushes secretness up to the enclosing object or list (a registry entry with
    a password becomes secret as a whole), so inside a secret object only strings under a
    key that says it is sensitive count; the address beside a password is not a secret.
    """
    if isinstance(value, SecretValue):
        return _secret_strings(value.value, inside_secret=True, sensitive=True)
    if isinstance(value, str):
        return [value] if inside_secret and sensitive else []
    if isinstance(value, dict):
        return [
            text
            for key, item in value.items()
            for text in _secret_strings(
                item, inside_secret, sensitive=bool(SENSITIVE_KEY.search(str(key)))
            )
        ]
    if isinstance(value, list):
        return [text for item in value for text in _secret_strings(item, inside_secret, sensitive)]
    return []


def check_no_plain_secrets(graph: Graph) -> list[str]:
    """No value the program marked secret shows up in a plain input or a stack output."""
    secrets = {
        fragment
        for resource in graph
        for value in _secret_strings(resource.inputs)
        for fragment in _secret_fragments(value)
    }
    problems = []
    for resource in graph:
        for text in _strings(resource.inputs):
            if any(secret in text for secret in secrets):
                problems.append(f"{_label(resource)} has a secret value in a plain input")
                break
    for key, value in graph.stack_outputs.items():
        if any(secret in text for text in _strings(value) for secret in secrets):
            problems.append(f"stack output {key} shows a secret value")
    return problems


def _secret_fragments(value: str) -> list[str]:
    """What to look for of a secret: the value itself, or, for a JSON document such as the
    database secret (whose host and port are public), its password."""
    try:
        document = json.loads(value)
    except ValueError:
        return [value] if len(value) >= 8 else []
    if isinstance(document, dict):
        return [str(document["password"])] if "password" in document else []
    return [value]


def check_encryption_in_transit(graph: Graph) -> list[str]:
    """Listeners are HTTPS with a TLS 1.3 policy; load balancers reach targets over HTTPS."""
    problems = []
    for listener in graph.of_type("aws:lb/listener:Listener"):
        if listener.inputs.get("protocol") != "HTTPS":
            problems.append(
                f"{_label(listener)} listens with {listener.inputs.get('protocol')} on "
                f"{listener.inputs.get('port')}; only HTTPS is allowed"
            )
        elif not str(listener.inputs.get("sslPolicy", "")).startswith("ELBSecurityPolicy-TLS13-"):
            problems.append(
                f"{_label(listener)} uses TLS policy {listener.inputs.get('sslPolicy')}; "
                "a TLS 1.3 policy is required (unset means the 2016 policy)"
            )
    for group in graph.of_type("aws:lb/targetGroup:TargetGroup"):
        if group.inputs.get("protocol") != "HTTPS":
            problems.append(f"{_label(group)} forwards with {group.inputs.get('protocol')}")
        health = group.inputs.get("healthCheck") or {}
        if health.get("protocol") != "HTTPS":
            problems.append(f"{_label(group)} health-checks with {health.get('protocol')}")
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
        inputs = distribution.inputs
        behaviors = [
            inputs.get("defaultCacheBehavior") or {},
            *inputs.get("orderedCacheBehaviors", []),
        ]
        for behavior in behaviors:
            if behavior.get("viewerProtocolPolicy") not in ("redirect-to-https", "https-only"):
                problems.append(
                    f"{_label(distribution)} serves {behavior.get('pathPattern', 'default')} "
                    f"over {behavior.get('viewerProtocolPolicy')}"
                )
        certificate = inputs.get("viewerCertificate") or {}
        if (
            certificate.get("acmCertificateArn")
            and certificate.get("minimumProtocolVersion") != "TLSv1.2_2021"
        ):
            problems.append(f"{_label(distribution)} accepts TLS older than TLSv1.2_2021")
        if not inputs.get("webAclId"):
            problems.append(f"{_label(distribution)} has no WAF web ACL")
        for origin in inputs.get("origins", []):
            custom = origin.get("customOriginConfig")
            if not custom:
                continue
            host = origin.get("domainName", "")
            if custom.get("originProtocolPolicy") != "https-only" or custom.get(
                "originSslProtocols"
            ) != ["TLSv1.2"]:
                problems.append(f"{_label(distribution)} reaches {host} without HTTPS TLS 1.2")
            if host.endswith(".elb.amazonaws.com"):
                problems.append(
                    f"{_label(distribution)} uses {host} as an HTTPS origin; no certificate "
                    "CloudFront trusts covers *.elb.amazonaws.com"
                )
            elif certificate_names and not any(_covers(n, host) for n in certificate_names):
                problems.append(
                    f"{_label(distribution)} origin {host} is covered by none of the stack's "
                    f"certificates {certificate_names}"
                )
    return problems


def check_tasks_private(graph: Graph) -> list[str]:
    """ECS services run in private subnets with no public IP."""
    private_ids = {s.subnet.id for s in subnet_routing(graph) if s.target_type == "nat_gateway"}
    problems = []
    for service in graph.of_type("aws:ecs/service:Service"):
        network = service.inputs.get("networkConfiguration") or {}
        if network.get("assignPublicIp"):
            problems.append(f"{_label(service)} gives its tasks public IPs")
        outside = [i for i in network.get("subnets", []) if i not in private_ids]
        if outside or not network.get("subnets"):
            problems.append(f"{_label(service)} runs tasks outside the private subnets: {outside}")
    return problems


def check_autoscaling_owns_task_count(graph: Graph) -> list[str]:
    """A scaled service ignores desiredCount after creation, or each deploy resets it."""
    if not graph.of_type("aws:appautoscaling/target:Target"):
        return []
    return [
        f"{_label(s)} would reset its task count on every deploy (desiredCount not ignored)"
        for s in graph.of_type("aws:ecs/service:Service")
        if "desiredCount" not in s.ignore_changes
    ]


# Actions for which AWS accepts no resource but "*" (IAM service authorization reference).
ANY_RESOURCE_ACTIONS = {"ecr:GetAuthorizationToken"}
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
                problems.append(f"{_label(resource)} allows wildcard actions {wild}")
            # A key policy's "*" means the key itself; trust policies name no resource.
            if resource.type == "aws:kms/key:Key":
                continue
            if "*" in _as_list(statement.get("Resource", [])) and not set(actions) <= (
                ANY_RESOURCE_ACTIONS
            ):
                problems.append(f"{_label(resource)} allows {actions} on every resource")
    return problems


def implicit_log_groups(graph: Graph) -> list[tuple[Resource, str]]:
    """Each resource that makes AWS create a log group by itself, with that group's name."""
    owners: list[tuple[Resource, str]] = []
    for cluster in graph.of_type("aws:rds/cluster:Cluster"):
        for log_type in cluster.inputs.get("enabledCloudwatchLogsExports", []):
            identifier = cluster.inputs["clusterIdentifier"]
            owners.append((cluster, f"/aws/rds/cluster/{identifier}/{log_type}"))
    for cluster in graph.of_type("aws:ecs/cluster:Cluster"):
        settings = {x.get("name"): x.get("value") for x in cluster.inputs.get("settings", [])}
        if settings.get("containerInsights") in ("enabled", "enhanced"):
            name = cluster.inputs["name"]
            owners.append((cluster, f"/aws/ecs/containerinsights/{name}/performance"))
    for function in graph.of_type("aws:lambda/function:Function"):
        logging = function.inputs.get("loggingConfig") or {}
        default = f"/aws/lambda/{function.inputs.get('name')}"
        owners.append((function, logging.get("logGroup") or default))
    # Functions deployed from the Serverless Application Repository (the rotation function).
    for stack in graph.of_type("aws:serverlessrepository/cloudFormationStack:CloudFormationStack"):
        function_name = (stack.inputs.get("parameters") or {}).get("functionName")
        owners.append((stack, f"/aws/lambda/{function_name}"))
    return owners


def check_implicit_log_groups(graph: Graph) -> list[str]:
    """Log groups AWS would create itself, with no expiry, exist in the stack beforehand."""
    log_groups = {
        g.inputs.get("name"): g for g in graph.of_type("aws:cloudwatch/logGroup:LogGroup")
    }
    problems = []
    for owner, name in implicit_log_groups(graph):
        group = log_groups.get(name)
        if group is None:
            problems.append(f"{_label(owner)} makes AWS create {name}, which the stack lacks")
        elif group.urn not in owner.dependencies:
            problems.append(f"{_label(owner)} does not wait for its log group {name}")
    return problems


def run_checks(graph: Graph, suffix: str, availability_zones: list[str]) -> list[CheckResult]:
    """Every graph-wide check, in the order the plan prints them."""
    return [
        CheckResult("tags on every taggable resource", check_tags(graph)),
        CheckResult("explicit provider", check_explicit_provider(graph)),
        CheckResult("names and AWS limits", check_names(graph, suffix, availability_zones)),
        CheckResult("security-group descriptions", check_descriptions(graph)),
        CheckResult("destroyable", check_destroyable(graph)),
        CheckResult(f"log retention {LOG_RETENTION_DAYS} days", check_log_retention(graph)),
        CheckResult("zone layout", check_zone_layout(graph, availability_zones)),
        CheckResult("private placement", check_private_placement(graph)),
        CheckResult("survives losing any one zone", check_zone_loss(graph, availability_zones)),
        CheckResult("encryption at rest with customer keys", check_encryption_at_rest(graph)),
        CheckResult("TLS forced on the database", check_tls_to_database(graph)),
        CheckResult("database private", check_database_private(graph)),
        CheckResult("database in two zones", check_database_zones(graph)),
        CheckResult("no ingress from the whole Internet", check_no_open_ingress(graph)),
        CheckResult("no secret in a plain value", check_no_plain_secrets(graph)),
        CheckResult("log groups AWS would create exist first", check_implicit_log_groups(graph)),
        CheckResult("HTTPS with TLS 1.3 to and behind the ALB", check_encryption_in_transit(graph)),
        CheckResult("tasks private, no public IP", check_tasks_private(graph)),
        CheckResult("CloudFront HTTPS, verified origins, WAF", check_cloudfront(graph)),
        CheckResult("autoscaling owns the task count", check_autoscaling_owns_task_count(graph)),
        CheckResult("least-privilege policies", check_least_privilege(graph)),
        CheckResult("creation order AWS needs", check_creation_order(graph)),
    ]
