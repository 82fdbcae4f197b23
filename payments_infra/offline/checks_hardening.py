"""Graph-wide checks of the hardening an assessor's scanner asks for.

``check_hardening`` reads each resource's own literal settings (the policy pack runs it on
one resource at a time): Aurora instances report OS metrics (enhanced monitoring); Lambda
functions trace actively and have a reserved concurrency; ECR repositories scan on push and
use KMS; the response headers policy sends HSTS with ``preload``; every bucket lifecycle
aborts incomplete multipart uploads; trails validate their log files.

``check_hardening_links`` needs the rest of the graph, or values AWS computes: every bucket
has such a lifecycle; the monitoring role carries AWS's policy for it; repositories, trails
and function environments use a customer-managed key of the stack; a tracing function's
role may send traces.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from payments_infra.offline.checks_conventions import label
from payments_infra.offline.graph import Graph, Resource

BUCKET = "aws:s3/bucket:Bucket"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
DB_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
FUNCTION = "aws:lambda/function:Function"
REPOSITORY = "aws:ecr/repository:Repository"
HEADERS_POLICY = "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"
TRAIL = "aws:cloudtrail/trail:Trail"
KMS_KEY = "aws:kms/key:Key"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"

RDS_MONITORING_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
TRACE_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
# The preload list's minimum (hstspreload.org): a year.
HSTS_PRELOAD_MIN_AGE = 31536000


def aborts_incomplete_uploads(lifecycle: dict[str, Any]) -> bool:
    """An enabled rule over the whole bucket aborts incomplete multipart uploads."""
    for rule in lifecycle.get("rules") or []:
        prefix = (rule.get("filter") or {}).get("prefix", "")
        days = (rule.get("abortIncompleteMultipartUpload") or {}).get("daysAfterInitiation")
        if rule.get("status") == "Enabled" and not prefix and days and days >= 1:
            return True
    return False


def _monitoring(instance: Resource) -> list[str]:
    if (instance.inputs.get("monitoringInterval") or 0) <= 0:
        return [f"{label(instance)} has no enhanced monitoring (monitoringInterval)"]
    return []


def _function(function: Resource) -> list[str]:
    problems = []
    if (function.inputs.get("tracingConfig") or {}).get("mode") != "Active":
        problems.append(f"{label(function)} does not trace actively (tracingConfig.mode)")
    reserved = function.inputs.get("reservedConcurrentExecutions")
    if not isinstance(reserved, int | float) or reserved < 1:  # the engine sends numbers as floats
        problems.append(
            f"{label(function)} has no reserved concurrency (reservedConcurrentExecutions); "
            f"got {reserved}"
        )
    return problems


def _repository(repository: Resource) -> list[str]:
    problems = []
    if not (repository.inputs.get("imageScanningConfiguration") or {}).get("scanOnPush"):
        problems.append(f"{label(repository)} does not scan images on push")
    encryption = repository.inputs.get("encryptionConfigurations") or [{}]
    if encryption[0].get("encryptionType") != "KMS":
        problems.append(f"{label(repository)} is not encrypted with KMS")
    return problems


def _headers(policy: Resource) -> list[str]:
    hsts = (policy.inputs.get("securityHeadersConfig") or {}).get("strictTransportSecurity") or {}
    if not (
        hsts.get("preload")
        and hsts.get("includeSubdomains")
        and (hsts.get("accessControlMaxAgeSec") or 0) >= HSTS_PRELOAD_MIN_AGE
    ):
        return [f"{label(policy)} does not send HSTS for a year with includeSubDomains; preload"]
    return []


def _lifecycle(lifecycle: Resource) -> list[str]:
    if not aborts_incomplete_uploads(lifecycle.inputs):
        return [f"{label(lifecycle)} does not abort incomplete multipart uploads"]
    return []


def _trail(trail: Resource) -> list[str]:
    if trail.inputs.get("enableLogFileValidation") is not True:
        return [f"{label(trail)} does not validate its log files (enableLogFileValidation)"]
    return []


SETTINGS: dict[str, Callable[[Resource], list[str]]] = {
    DB_INSTANCE: _monitoring,
    FUNCTION: _function,
    REPOSITORY: _repository,
    HEADERS_POLICY: _headers,
    LIFECYCLE: _lifecycle,
    TRAIL: _trail,
}


def check_hardening(graph: Graph) -> list[str]:
    """Each resource's own hardening settings (see the module docstring)."""
    return [
        problem
        for type_token, check in SETTINGS.items()
        for resource in graph.of_type(type_token)
        for problem in check(resource)
    ]


def check_hardening_links(graph: Graph) -> list[str]:
    """What the hardening needs from other resources of the graph."""
    key_arns = {key.outputs.get("arn") for key in graph.of_type(KMS_KEY)}
    problems = check_bucket_lifecycles(graph)
    problems += _monitoring_roles(graph)
    for repository in graph.of_type(REPOSITORY):
        encryption = repository.inputs.get("encryptionConfigurations") or [{}]
        if encryption[0].get("kmsKey") not in key_arns:
            problems.append(f"{label(repository)} is not encrypted with a key of the stack")
    for trail in graph.of_type(TRAIL):
        if trail.inputs.get("kmsKeyId") not in key_arns:
            problems.append(f"{label(trail)} does not encrypt its files with a key of the stack")
    for function in graph.of_type(FUNCTION):
        if (function.inputs.get("environment") or {}).get("variables") and function.inputs.get(
            "kmsKeyArn"
        ) not in key_arns:
            problems.append(f"{label(function)} keeps its environment under an AWS key")
        if (function.inputs.get("tracingConfig") or {}).get("mode") == "Active" and not (
            TRACE_ACTIONS <= _role_actions(graph, function.inputs.get("role"))
        ):
            problems.append(f"{label(function)} traces, but its role may not send traces")
    return problems


def check_bucket_lifecycles(graph: Graph) -> list[str]:
    """Every bucket has a lifecycle rule that aborts incomplete multipart uploads."""
    aborting = {
        lifecycle.inputs.get("bucket")
        for lifecycle in graph.of_type(LIFECYCLE)
        if aborts_incomplete_uploads(lifecycle.inputs)
    }
    return [
        f"{label(bucket)} keeps incomplete multipart uploads: no lifecycle rule aborts them"
        for bucket in graph.of_type(BUCKET)
        if bucket.outputs.get("bucket", bucket.inputs.get("bucket")) not in aborting
    ]


def _monitoring_roles(graph: Graph) -> list[str]:
    roles = {role.outputs.get("arn"): role for role in graph.of_type(ROLE)}
    problems = []
    for instance in graph.of_type(DB_INSTANCE):
        if (instance.inputs.get("monitoringInterval") or 0) <= 0:
            continue
        role = roles.get(instance.inputs.get("monitoringRoleArn"))
        attached = role is not None and any(
            a.inputs.get("role") == role.outputs.get("name", role.inputs.get("name"))
            and a.inputs.get("policyArn") == RDS_MONITORING_POLICY
            for a in graph.of_type(POLICY_ATTACHMENT)
        )
        if not attached:
            problems.append(
                f"{label(instance)} monitors through a role without AmazonRDSEnhancedMonitoringRole"
            )
    return problems


def _role_actions(graph: Graph, role_arn: object) -> set[str]:
    """The actions the inline policies of the role with this ARN allow."""
    role = next((r for r in graph.of_type(ROLE) if r.outputs.get("arn") == role_arn), None)
    if role is None:
        return set()
    actions: set[str] = set()
    for policy in graph.of_type(ROLE_POLICY):
        if policy.inputs.get("role") != role.id or not isinstance(policy.inputs.get("policy"), str):
            continue
        for statement in json.loads(policy.inputs["policy"]).get("Statement", []):
            if statement.get("Effect") == "Allow":
                action = statement.get("Action", [])
                actions.update([action] if isinstance(action, str) else action)
    return actions
