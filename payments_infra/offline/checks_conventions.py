"""Graph-wide checks of the platform's conventions: tags, provider, names, descriptions,
log retention, destroyability (or, with payments:protectData, the data's exact protection),
and log groups AWS would otherwise create itself.

Each check takes the recorded ``Graph`` (graph.py, filled by mocks.py) and returns its
offenders, each as a sentence naming the resource and the rule; an empty list means it
passes (checks.py runs them all). What a rule applies to is read from the graph and from
pulumi_aws itself, so a resource a later tier adds is held to the same rules without a new
test.
"""

from __future__ import annotations

import importlib
import inspect
import json
import keyword
import re
from collections.abc import Callable
from functools import cache
from typing import Any

from payments_infra.aws.keys import KEY_DELETION_WINDOW_DAYS
from payments_infra.aws.provider import PROVIDER_NAME
from payments_infra.aws.tagging import (
    ENVIRONMENT_TAG,
    ENVIRONMENTS,
    REQUIRED_TAG_KEYS,
    REQUIRED_TAGS,
)
from payments_infra.config import LOG_RETENTION_DAYS, name_rules, naming
from payments_infra.offline.graph import Graph, Resource


def label(resource: Resource) -> str:
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
            problems.append(f"{label(resource)} lacks required tags {missing}")
        wrong = {k: tags[k] for k, v in REQUIRED_TAGS.items() if k in tags and tags[k] != v}
        if wrong:
            problems.append(f"{label(resource)} has {wrong}; required {REQUIRED_TAGS}")
        if tags.get(ENVIRONMENT_TAG) and tags[ENVIRONMENT_TAG] not in ENVIRONMENTS:
            problems.append(
                f"{label(resource)} has {ENVIRONMENT_TAG}={tags[ENVIRONMENT_TAG]}; "
                f"required one of {', '.join(ENVIRONMENTS)}"
            )
    return problems


def check_explicit_provider(graph: Graph) -> list[str]:
    return [
        f"{label(r)} is not created through the stack's explicit aws provider "
        f"(region and default tags would not apply)"
        for r in aws_resources(graph)
        if (provider := graph.provider_of(r)) is None or provider.name != PROVIDER_NAME
    ]


# The AWS rule each physically named resource type's ``name`` input must meet.
NAME_RULES: dict[str, name_rules.NameRule] = {
    "aws:cloudwatch/logGroup:LogGroup": name_rules.LOG_GROUP,
    "aws:iam/role:Role": name_rules.IAM_ROLE,
    "aws:iam/rolePolicy:RolePolicy": name_rules.IAM_POLICY,
    "aws:lb/loadBalancer:LoadBalancer": name_rules.ALB,
    "aws:lb/targetGroup:TargetGroup": name_rules.TARGET_GROUP,
    "aws:s3/bucket:Bucket": name_rules.S3_BUCKET,
    "aws:sns/topic:Topic": name_rules.SNS_TOPIC,
    "aws:secretsmanager/secret:Secret": name_rules.SECRET,
    "aws:ecr/repository:Repository": name_rules.ECR_REPOSITORY,
    "aws:ecs/cluster:Cluster": name_rules.ECS_NAME,
    "aws:ecs/service:Service": name_rules.ECS_NAME,
    "aws:lambda/function:Function": name_rules.LAMBDA_FUNCTION,
    "aws:kms/alias:Alias": name_rules.KMS_ALIAS,
    "aws:sqs/queue:Queue": name_rules.SQS_QUEUE,
    "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream": name_rules.FIREHOSE_STREAM,
    "aws:cloudwatch/metricAlarm:MetricAlarm": name_rules.ALARM,
    "aws:cloudfront/function:Function": name_rules.CLOUDFRONT_NAME,
    "aws:cloudfront/originAccessControl:OriginAccessControl": name_rules.CLOUDFRONT_NAME,
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy": name_rules.CLOUDFRONT_NAME,
    "aws:cloudwatch/logDeliverySource:LogDeliverySource": name_rules.LOG_DELIVERY,
    "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination": name_rules.LOG_DELIVERY,
    "aws:ec2/securityGroup:SecurityGroup": name_rules.SECURITY_GROUP,
    "aws:rds/subnetGroup:SubnetGroup": name_rules.RDS_GROUP,
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": name_rules.RDS_GROUP,
    "aws:cloudtrail/trail:Trail": name_rules.CLOUDTRAIL_TRAIL,
    "aws:cfg/recorder:Recorder": name_rules.CONFIG_NAME,
    "aws:cfg/recorderStatus:RecorderStatus": name_rules.CONFIG_NAME,
    "aws:cfg/deliveryChannel:DeliveryChannel": name_rules.CONFIG_NAME,
}
# RDS and WAF call their name input something else.
NAME_INPUTS: dict[str, tuple[str, name_rules.NameRule]] = {
    "aws:cloudwatch/dashboard:Dashboard": ("dashboardName", name_rules.DASHBOARD),
    "aws:rds/cluster:Cluster": ("clusterIdentifier", name_rules.RDS_IDENTIFIER),
    "aws:rds/clusterInstance:ClusterInstance": ("identifier", name_rules.RDS_IDENTIFIER),
    "aws:wafv2/webAcl:WebAcl": ("name", name_rules.WAF_NAME),
    "aws:wafv2/ruleGroup:RuleGroup": ("name", name_rules.WAF_NAME),
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
            problems.append(f"{label(resource)} has no description")
        elif not SECURITY_GROUP_DESCRIPTION.fullmatch(text):
            problems.append(f"{label(resource)}: description has characters EC2 refuses: {text!r}")
    return problems


# Named after the arrow of the diagram they draw (naming.arrow_name), not from the catalogue.
SECURITY_GROUP_RULE_TYPES = {
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
}
# Whose "name" is a DNS name set by ACM or the customer's domain, not one of ours.
DNS_NAMED_TYPES = {"aws:route53/record:Record"}


def check_names(graph: Graph, suffix: str, availability_zones: list[str]) -> list[str]:
    """Every physical name comes from naming.py, ends with the suffix and meets its AWS rule."""
    catalogue = {name for name, _ in naming.all_names(suffix, availability_zones)}
    problems = []
    for resource in aws_resources(graph):
        if resource.type in DNS_NAMED_TYPES:
            continue
        names: list[tuple[str, name_rules.NameRule]] = []
        if "Name" in resource.tags:
            names.append((resource.tags["Name"], name_rules.TAG_VALUE))
        key, rule = NAME_INPUTS.get(resource.type, ("name", NAME_RULES.get(resource.type)))
        if key in resource.inputs:
            names.append((resource.inputs[key], rule or name_rules.TAG_VALUE))
        elif "name" in args_fields(resource.type) or key != "name":
            problems.append(f"{label(resource)} sets no {key}: AWS or Pulumi would invent one")
        for name, name_rule in names:
            problems += [f"{label(resource)}: {p}" for p in name_rule.problems(name)]
            if name not in catalogue and not (
                resource.type in SECURITY_GROUP_RULE_TYPES and naming.is_arrow_name(name, suffix)
            ):
                problems.append(
                    f'{label(resource)} is named "{name}", which is not a naming.py name '
                    f"for suffix {suffix}"
                )
    return problems


def check_log_retention(graph: Graph) -> list[str]:
    return [
        f"{label(r)} keeps logs {r.inputs.get('retentionInDays')} days; "
        f"required {LOG_RETENTION_DAYS}"
        for r in graph.of_type("aws:cloudwatch/logGroup:LogGroup")
        if r.inputs.get("retentionInDays") != LOG_RETENTION_DAYS
    ]


SettingRule = tuple[str, Callable[[Any], bool], str]
# Per type: (input, the value `pulumi destroy` needs, why): nothing may block a destroy.
DESTROY_SETTINGS: dict[str, list[SettingRule]] = {
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


def _final_snapshot_identifier(value: Any) -> bool:
    return isinstance(value, str) and not name_rules.RDS_IDENTIFIER.problems(value)


# payments:protectData (components/database/database.py): a protected stack keeps its data through a
# destroy. These resources, and no others, are then protected (Pulumi's `protect`), each found
# by its type and the naming.py name it carries (input or Name tag), with these settings
# instead of DESTROY_SETTINGS'; an unprotected stack protects nothing at all.
PROTECTED_DATA: dict[str, tuple[str, naming.PhysicalName]] = {
    # type -> (the input holding the name, the naming.py entry)
    "aws:rds/cluster:Cluster": ("clusterIdentifier", naming.Names.db_cluster),
    "aws:kms/key:Key": ("Name tag", naming.Names.db_kms_key),
    "aws:kms/alias:Alias": ("name", naming.Names.db_kms_alias),
    "aws:secretsmanager/secret:Secret": ("name", naming.Names.db_master_secret),
}
PROTECTED_SETTINGS: dict[str, list[SettingRule]] = {
    "aws:rds/cluster:Cluster": [
        ("deletionProtection", bool, "must be on"),
        ("skipFinalSnapshot", lambda v: not v, "must be off (a final snapshot on delete)"),
        (
            "finalSnapshotIdentifier",
            _final_snapshot_identifier,
            "must name the final snapshot (an RDS identifier of up to 63 characters)",
        ),
    ],
    "aws:kms/key:Key": DESTROY_SETTINGS["aws:kms/key:Key"],
    "aws:secretsmanager/secret:Secret": [
        (
            "recoveryWindowInDays",
            lambda v: v == KEY_DELETION_WINDOW_DAYS,
            f"must be {KEY_DELETION_WINDOW_DAYS}, the key's deletion window",
        ),
    ],
}


def holds_the_data(resource: Resource) -> bool:
    """The database's cluster, key, key alias or secret: what payments:protectData protects."""
    found = PROTECTED_DATA.get(resource.type)
    if found is None:
        return False
    source, entry = found
    name = resource.tags.get("Name") if source == "Name tag" else resource.inputs.get(source)
    return isinstance(name, str) and name.startswith(f"{entry.prefix}-")


# Retained on delete on purpose, with why a destroy still leaves nothing of it behind.
RETAINED_BY_DESIGN: dict[str, str] = {
    # components/api/image.py: the provider's delete removes the pushed image from ECR, which a
    # rollback (payments:apiImageTag) may still run; the repository's force_delete takes it.
    "docker-build:index:Image": "its images go with the ECR repository (force_delete)",
}


def check_destroyable(graph: Graph) -> list[str]:
    """Nothing blocks a destroy, but the data of a protected stack, protected exactly.

    The graph says which it is: protected when any of the data carries Pulumi's ``protect``
    (on a policy's one-resource graph, when that resource does). Then every piece of the data
    in the graph must carry all of PROTECTED_SETTINGS, and nothing else any protection.
    """
    data = [r for r in graph if holds_the_data(r)]
    protected = any(r.protect for r in data)
    kept_urns = {r.urn for r in data} if protected else set()
    problems = []
    for resource in graph:
        kept = resource.urn in kept_urns
        if kept and not resource.protect:
            problems.append(
                f"{label(resource)} is not protected, while the rest of the database is "
                "(payments:protectData protects the cluster, its key and the secret together)"
            )
        elif resource.protect and not kept:
            problems.append(
                f"{label(resource)} is protected (only the database's cluster, key and secret "
                "may be, all together, with payments:protectData)"
            )
        if resource.retain_on_delete and resource.type not in RETAINED_BY_DESIGN:
            problems.append(f"{label(resource)} is retained on delete")
        rules = (PROTECTED_SETTINGS if kept else DESTROY_SETTINGS).get(resource.type, [])
        where = " in a protected stack" if kept else ""
        for key, is_ok, rule in rules:
            if not is_ok(resource.inputs.get(key)):
                problems.append(
                    f"{label(resource)}: {key} {rule}{where}; got {resource.inputs.get(key)}"
                )
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
            problems.append(f"{label(owner)} makes AWS create {name}, which the stack lacks")
        elif group.urn not in owner.dependencies:
            problems.append(f"{label(owner)} does not wait for its log group {name}")
    return problems
