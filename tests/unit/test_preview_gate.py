"""The preview gate: `make up` stops before `pulumi up` replaces or deletes what holds data.

The previews are documents shaped as `pulumi preview --json` prints them (tests/preview_documents.py
says from which source); a preview that is not one is test_preview_gate_input.py's."""

from __future__ import annotations

from typing import Any

import pytest

from payments_infra.offline import preview_gate
from payments_infra.offline.graph import Graph
from tests.preview_documents import (
    ALARM,
    ALB_LOGS_BUCKET,
    CLUSTER,
    CLUSTER_INPUTS,
    FRONTEND_BUCKET,
    SERVICE,
    SUBNET,
    cluster_replaced,
    document,
    gate,
    key_deleted,
    step,
)

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
    assert "alb-logs" in err[0]
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
