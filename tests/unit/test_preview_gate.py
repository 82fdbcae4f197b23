"""The preview gate: `make up` stops before `pulumi up` replaces or deletes what holds data.

The documents below are shaped as `pulumi preview --json` prints them, from the Pulumi CLI's
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

import io
import json
from pathlib import Path
from typing import Any

import pytest

from payments_infra.offline import preview_gate
from payments_infra.offline.graph import Graph

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
    f"urn:pulumi:prod::payments::{PLATFORM}$payments:service:ApiService"
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
    f"urn:pulumi:prod::payments::{PLATFORM}$payments:service:ApiService"
    "$payments:service:ApiLoadBalancer$aws:s3/bucket:Bucket::api-alb-logs"
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
    return preview_gate.run(STACK, text, preview_gate.confirmations(confirm), status)


# -- what goes ahead ---------------------------------------------------------------------------


def test_a_run_of_same_update_and_create_passes_and_is_summarised() -> None:
    scaling = {"maxCapacity": 16, "minCapacity": 1}
    text = document(
        step(
            "update",
            CLUSTER,
            {**CLUSTER_INPUTS, "serverlessv2ScalingConfiguration": scaling},
            {**CLUSTER_INPUTS, "serverlessv2ScalingConfiguration": {**scaling, "maxCapacity": 32}},
            diffReasons=["serverlessv2ScalingConfiguration"],
            detailedDiff={
                "serverlessv2ScalingConfiguration.maxCapacity": {
                    "kind": "update",
                    "inputDiff": True,
                }
            },
        ),
        step("update", SERVICE, {"desiredCount": 3}, {"desiredCount": 3}, diffReasons=["tags"]),
        step("create", ALARM, new={"name": "alarm-db-cpu-prod1", "threshold": 80}),
        update=2,
        create=1,
    )
    status, out, err = gate(text)
    assert (status, err) == (0, [])
    assert out[0] == "preview gate: preview of stack prod: 1 create, 2 update (231 unchanged)"
    assert out[1] == (
        "  ~  update             database-cluster (aws:rds/cluster:Cluster): "
        'serverlessv2ScalingConfiguration {"maxCapacity": 16, "minCapacity": 1} -> '
        '{"maxCapacity": 32, "minCapacity": 1}'
    )
    assert "  +  create             alarm-db-cpu (aws:cloudwatch/metricAlarm:MetricAlarm)" in out
    assert out[-1] == "preview gate: nothing that holds data is replaced or deleted unconfirmed"


def test_a_replaced_stateless_resource_passes() -> None:
    text = document(
        step(
            "replace",
            SUBNET,
            {"cidrBlock": "10.0.0.0/18", "availabilityZone": "us-east-1a"},
            {"cidrBlock": "10.1.0.0/18", "availabilityZone": "us-east-1a"},
            replaceReasons=["cidrBlock"],
            diffReasons=["cidrBlock"],
        ),
        replace=1,
    )
    status, out, err = gate(text)
    assert (status, err) == (0, [])
    assert (
        "  +- replace            network-private-us-east-1a (aws:ec2/subnet:Subnet): "
        "cidrBlock 10.0.0.0/18 -> 10.1.0.0/18"
    ) in out


def test_the_frontend_bucket_is_rebuilt_by_every_up_so_its_replacement_passes() -> None:
    bucket = {"bucket": "frontend-prod1", "forceDestroy": True}
    replaced = step(
        "replace",
        FRONTEND_BUCKET,
        bucket,
        {**bucket, "bucket": "frontend-prod2"},
        replaceReasons=["bucket"],
    )
    assert gate(document(replaced, replace=1))[0] == 0
    # The same change to a bucket of logs stops.
    logs = {"bucket": "alb-logs-prod1", "forceDestroy": True}
    replaced_logs = step(
        "replace",
        ALB_LOGS_BUCKET,
        logs,
        {**logs, "bucket": "alb-logs-prod2"},
        replaceReasons=["bucket"],
    )
    status, _, err = gate(document(replaced, replaced_logs, replace=2))
    assert status == 1
    assert "api-alb-logs" in err[0]
    assert not any("frontend-bucket (" in line for line in err)


# -- what stops --------------------------------------------------------------------------------


def test_a_replaced_cluster_stops_in_one_sentence_naming_it() -> None:
    status, out, err = gate(document(cluster_replaced(), replace=1))
    assert status == 1
    assert err == [
        "preview gate: `pulumi up` would replace the Aurora cluster database-cluster "
        "(aws:rds/cluster:Cluster; because of clusterIdentifier aurora-cluster-prod1 -> "
        "aurora-cluster-prod2): it holds the payments data, a new cluster starts empty, and "
        "unless payments:protectData is on the old one goes with its automated backups and no "
        "final snapshot; if that is intended, confirm it with CONFIRM_REPLACE=database-cluster",
        "preview gate: stopped before `pulumi up`, nothing has changed. If every replacement "
        'and deletion above is intended: make up STACK=prod CONFIRM_REPLACE="database-cluster" '
        "(docs/deploy.md, Changing a deployed stack)",
    ]
    assert (
        "  +- replace            database-cluster (aws:rds/cluster:Cluster): clusterIdentifier "
        "aurora-cluster-prod1 -> aurora-cluster-prod2"
    ) in out


def test_a_deleted_key_stops() -> None:
    status, _, err = gate(document(key_deleted(), delete=1))
    assert status == 1
    assert err[0] == (
        "preview gate: `pulumi up` would delete the KMS key database-key (aws:kms/key:Key): a "
        "replaced or deleted key is scheduled for deletion, after which nothing it encrypted "
        "(the database and its snapshots, a secret, a log group, images) can be read; if that "
        "is intended, confirm it with CONFIRM_REPLACE=database-key"
    )


def test_replacement_steps_shown_one_by_one_stop_once_per_resource() -> None:
    # `pulumi preview --json --show-replacement-steps`: no `replace` step in older CLIs.
    new = {**CLUSTER_INPUTS, "clusterIdentifier": "aurora-cluster-prod2"}
    text = document(
        step(
            "create-replacement", CLUSTER, CLUSTER_INPUTS, new, replaceReasons=["clusterIdentifier"]
        ),
        step("delete-replaced", CLUSTER, CLUSTER_INPUTS),
        replace=1,
    )
    status, _, err = gate(text)
    assert status == 1
    assert len(err) == 2
    assert err[0].startswith(
        "preview gate: `pulumi up` would replace the Aurora cluster database-cluster "
        "(aws:rds/cluster:Cluster; because of clusterIdentifier aurora-cluster-prod1 -> "
        "aurora-cluster-prod2)"
    )


def test_an_operation_the_gate_does_not_know_fails_closed_on_stateful_resources_only() -> None:
    text = document(step("obliterate", CLUSTER, CLUSTER_INPUTS), step("obliterate", SUBNET, {}))
    status, _, err = gate(text)
    assert status == 1
    assert len(err) == 2
    assert err[0].startswith(
        "preview gate: `pulumi up` would run the operation obliterate (unknown to this gate) "
        "on the Aurora cluster database-cluster"
    )


# -- confirmation ------------------------------------------------------------------------------


@pytest.mark.parametrize("confirm", ["database-cluster", CLUSTER, " database-cluster , other "])
def test_a_confirmed_replacement_goes_ahead(confirm: str) -> None:
    status, out, err = gate(document(cluster_replaced(), replace=1), confirm)
    assert (status, err) == (0, [])
    assert "preview gate: replace database-cluster (aws:rds/cluster:Cluster), confirmed" in out


def test_each_stateful_resource_needs_its_own_confirmation() -> None:
    text = document(cluster_replaced(), key_deleted(), replace=1, delete=1)
    status, _, err = gate(text, "database-cluster")
    assert status == 1
    assert [line for line in err if "would" in line] == [
        "preview gate: `pulumi up` would delete the KMS key database-key (aws:kms/key:Key): a "
        "replaced or deleted key is scheduled for deletion, after which nothing it encrypted "
        "(the database and its snapshots, a secret, a log group, images) can be read; if that "
        "is intended, confirm it with CONFIRM_REPLACE=database-key"
    ]
    assert err[-1].startswith(
        "preview gate: stopped before `pulumi up`, nothing has changed. If every replacement "
        'and deletion above is intended: make up STACK=prod CONFIRM_REPLACE="database-cluster,'
        'database-key"'
    )
    assert gate(text, "database-cluster,database-key")[0] == 0


def test_a_name_that_confirms_nothing_is_noted_and_changes_nothing() -> None:
    status, out, err = gate(document(cluster_replaced(), replace=1), "database-clustr")
    assert status == 1
    assert "CONFIRM_REPLACE=database-cluster" in err[0]
    assert (
        "preview gate: CONFIRM_REPLACE names database-clustr, which this preview of stack prod "
        "neither replaces nor deletes as a stateful resource: ignored"
    ) in out


def test_a_logical_name_two_stateful_resources_share_is_confirmed_by_urn() -> None:
    other = CLUSTER.replace("$payments:database:Database$", "$payments:database:Database$x$")
    text = document(cluster_replaced(), step("delete", other, CLUSTER_INPUTS))
    status, _, err = gate(text, "database-cluster")
    assert status == 1
    assert f"confirm it with CONFIRM_REPLACE={CLUSTER}" in err[0]
    assert f"confirm it with CONFIRM_REPLACE={other}" in err[1]
    assert gate(text, f"{CLUSTER},{other}")[0] == 0


# -- input that is not a preview ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "not JSON (Expecting value: line 1 column 1 (char 0))"),
        ("warning: A new version of Pulumi is available\n{}", "not JSON (Expecting value"),
        ("[]", "not a JSON object with steps"),
        ('{"steps": {}}', "steps is not a list"),
        ('{"steps": [{"op": "replace"}]}', "steps[0] has no op and urn strings"),
        (
            json.dumps({"steps": [{"op": "replace", "urn": CLUSTER, "replaceReasons": [{}]}]}),
            "steps[0] has reasons that are not a list of property names",
        ),
        (
            '{"steps": [{"op": "delete", "urn": "database-cluster"}]}',
            "steps[0]: 'database-cluster' is not a Pulumi URN",
        ),
    ],
)
def test_malformed_input_is_a_clear_error_and_stops(text: str, why: str) -> None:
    status, out, [error] = gate(text)
    assert (status, out) == (1, [])
    assert error.startswith(
        f"preview gate: the preview is not what `pulumi preview --json` prints: {why}"
    )
    assert "nothing was checked, so `pulumi up` does not run" in error


def test_a_failed_preview_stops_with_its_errors() -> None:
    text = json.dumps(
        {
            "steps": [root_step()],
            "diagnostics": [
                {"urn": ROOT, "message": "payments:vpcCidr must be ...\n", "severity": "error"},
                {"message": "rotation is off", "severity": "warning"},
            ],
        }
    )
    status, out, err = gate(text, status=255)
    assert status == 1
    assert "  warning: rotation is off" in out
    assert err == [
        "preview gate: `pulumi preview` failed (exit 255): payments:vpcCidr must be ...; fix "
        "that and run `make up` again (nothing has changed)"
    ]
    # A preview that printed nothing says so, and that it failed.
    [error] = gate("", status=255)[2]
    assert error.startswith("preview gate: `pulumi preview` failed (exit 255) and the preview ")


def test_main_reads_a_file_or_stdin_and_exits_with_the_gate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    preview = tmp_path / "preview-prod.json"
    preview.write_text(document(cluster_replaced(), replace=1))
    assert preview_gate.main(["--stack", "prod", str(preview)]) == 1
    assert "database-cluster" in capsys.readouterr().err
    assert (
        preview_gate.main(["--stack", "prod", "--confirm", "database-cluster", str(preview)]) == 0
    )
    monkeypatch.setattr("sys.stdin", io.StringIO("{not json"))
    assert preview_gate.main(["--stack", "prod", "--preview-status", "0"]) == 1
    assert "standard input is not what `pulumi preview --json` prints" in capsys.readouterr().err
    assert preview_gate.main(["--stack", "prod", str(tmp_path / "missing.json")]) == 1
    assert "cannot read" in capsys.readouterr().err


# -- the table against the program -------------------------------------------------------------


def test_every_stateful_type_is_one_the_program_makes(
    recorded_graph: Graph, stack_graphs: Any
) -> None:
    made = {r.type for r in recorded_graph} | {r.type for r in stack_graphs("everything")}
    assert set(preview_gate.STATEFUL) - made == set()


def test_the_frontend_bucket_holds_only_what_every_up_uploads(recorded_graph: Graph) -> None:
    [(type_, name)] = preview_gate.REBUILT
    [bucket] = [r for r in recorded_graph.of_type(type_) if r.name == name]
    assert bucket.inputs["bucket"] == recorded_graph.stack_outputs["frontend_bucket_name"]
    objects = recorded_graph.of_type("aws:s3/bucketObjectv2:BucketObjectv2")
    assert objects, "the web app's files are resources of the stack"
    assert {o.inputs["bucket"] for o in objects} == {bucket.inputs["bucket"]}
    # Every other bucket of the stack counts: they hold logs the stack does not rebuild.
    others = [r for r in recorded_graph.of_type(type_) if r.name != name]
    assert others
