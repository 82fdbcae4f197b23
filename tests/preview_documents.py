"""`pulumi preview --json` documents for the preview gate's tests, and the gate run on one as
`make up` runs it.

The documents are shaped as `pulumi preview --json` prints them, from the Pulumi CLI's
source (pulumi/pulumi):

- ``sdk/pkg/display/json.go``: ``PreviewDigest`` (``config``, ``steps``, ``diagnostics``,
  ``duration``, ``changeSummary``, ``maybeCorrupt``), ``PreviewStep`` (``op``, ``urn``,
  ``provider``, ``oldState``, ``newState``, ``diffReasons``, ``replaceReasons``,
  ``detailedDiff``), ``PropertyDiff`` (``kind``, ``inputDiff``), ``PreviewDiagnostic``;
- ``pkg/backend/display/json.go``, ``ShowPreviewDigest``: the root stack's step is always
  there, ``same`` steps only with ``--show-sames``, a replacement is one ``replace`` step
  unless ``--show-replacement-steps`` (then ``create-replacement`` and ``delete-replaced``);
  old and new state are ``apitype.ResourceV3`` (``urn``, ``custom``, ``id``, ``type``,
  ``inputs``, ``outputs``, ``parent``, ``provider``, ...), secrets shown as ``[secret]``;
- ``pkg/resource/deploy/step.go``: the op names (``same``, ``create``, ``update``,
  ``delete``, ``replace``, ``create-replacement``, ``delete-replaced``, ``read``, ...).

No Pulumi CLI runs here; what a real preview of this stack prints is unproven until one does.
"""

from __future__ import annotations

import json
from typing import Any

from payments_infra.offline import preview_gate

STACK = "prod"
PROVIDER = (
    "urn:pulumi:prod::payments::pulumi:providers:aws::aws-provider::"
    "0b9d8c3e-5c1e-4f0e-9a59-2a7c1b7b8f10"
)
PLATFORM = "payments:platform:PaymentsPlatform"
CLUSTER = (
    f"urn:pulumi:prod::payments::{PLATFORM}$payments:database:Database"
    "$aws:rds/cluster:Cluster::database-cluster"
)
WRITER = (
    f"urn:pulumi:prod::payments::{PLATFORM}$payments:database:Database"
    "$aws:rds/clusterInstance:ClusterInstance::database-writer"
)
KEY = (
    f"urn:pulumi:prod::payments::{PLATFORM}$payments:database:Database"
    "$aws:kms/key:Key::database-key"
)
SERVICE = (
    f"urn:pulumi:prod::payments::{PLATFORM}$payments:api:ApiService"
    "$aws:ecs/service:Service::api-service"
)
ALARM = (
    f"urn:pulumi:prod::payments::{PLATFORM}$payments:observability:Observability"
    "$aws:cloudwatch/metricAlarm:MetricAlarm::alarm-db-cpu"
)
SUBNET = (
    f"urn:pulumi:prod::payments::{PLATFORM}$payments:network:Network"
    "$aws:ec2/subnet:Subnet::network-private-us-east-1a"
)
FRONTEND_BUCKET = (
    f"urn:pulumi:prod::payments::{PLATFORM}$payments:frontend:Frontend"
    "$aws:s3/bucket:Bucket::frontend-bucket"
)
ALB_LOGS_BUCKET = (
    f"urn:pulumi:prod::payments::{PLATFORM}$payments:edge:ApiLoadBalancer"
    "$aws:s3/bucket:Bucket::alb-logs"
)
ROOT = "urn:pulumi:prod::payments::pulumi:pulumi:Stack::payments-prod"


def state(urn: str, inputs: dict[str, Any], resource_id: str = "") -> dict[str, Any]:
    """An ``apitype.ResourceV3`` as the preview prints it."""
    type_ = urn.split("::")[2].rsplit("$", 1)[-1]
    return {
        "urn": urn,
        "custom": True,
        "id": resource_id or urn.rsplit("::", 1)[1] + "-0a1b2c",
        "type": type_,
        "inputs": inputs,
        "outputs": {**inputs, "arn": f"arn:aws:placeholder:{urn.rsplit('::', 1)[1]}"},
        "parent": urn.split("::")[2].rsplit("$", 1)[0],
        "provider": PROVIDER,
        "created": "2025-06-01T10:00:00.000000Z",
        "modified": "2025-06-01T10:00:00.000000Z",
    }


def step(
    op: str,
    urn: str,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    found: dict[str, Any] = {"op": op, "urn": urn, "provider": PROVIDER}
    if old is not None:
        found["oldState"] = state(urn, old)
    if new is not None:
        found["newState"] = state(urn, new)
    found["detailedDiff"] = extra.pop("detailedDiff", None)
    found.update(extra)
    return found


def root_step() -> dict[str, Any]:
    outputs = {"vpc_id": "vpc-0123456789abcdef0"}
    return {
        "op": "same",
        "urn": ROOT,
        "oldState": {
            "urn": ROOT,
            "custom": False,
            "type": "pulumi:pulumi:Stack",
            "outputs": outputs,
        },
        "newState": {
            "urn": ROOT,
            "custom": False,
            "type": "pulumi:pulumi:Stack",
            "outputs": outputs,
        },
        "detailedDiff": None,
    }


def document(*steps: dict[str, Any], **summary: int) -> str:
    return json.dumps(
        {
            "config": {"aws:region": "us-east-1", "payments:environmentSuffix": "prod1"},
            "steps": [root_step(), *steps],
            "duration": 41_000_000_000,
            "changeSummary": {"same": 231, **summary},
        },
        indent=4,
    )


CLUSTER_INPUTS = {
    "clusterIdentifier": "aurora-cluster-prod1",
    "engine": "aurora-postgresql",
    "masterPassword": "[secret]",
    "serverlessv2ScalingConfiguration": {"maxCapacity": 16, "minCapacity": 1},
}


def cluster_replaced() -> dict[str, Any]:
    return step(
        "replace",
        CLUSTER,
        CLUSTER_INPUTS,
        {**CLUSTER_INPUTS, "clusterIdentifier": "aurora-cluster-prod2"},
        diffReasons=["clusterIdentifier"],
        replaceReasons=["clusterIdentifier"],
        detailedDiff={"clusterIdentifier": {"kind": "update-replace", "inputDiff": True}},
    )


def key_deleted() -> dict[str, Any]:
    return step("delete", KEY, {"description": "Aurora storage", "enableKeyRotation": True})


def gate(text: str, confirm: str = "", status: int = 0) -> tuple[int, list[str], list[str]]:
    """The gate on ``text`` for stack prod, with CONFIRM_REPLACE ``confirm`` and the preview's exit
    ``status``: (its exit status, its stdout lines, its stderr lines)."""
    return preview_gate.run(STACK, text, preview_gate.confirmations(confirm), status)
