"""keep_data's refusals before anything is made: a key the copy would be lost with or that RDS
cannot use, and a cluster that cannot be snapshotted here (stubs: tests/keep_data_stubs.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from botocore.stub import Stubber

from payments_infra.offline import keep_data
from payments_infra.offline.keep_data import KeepDataError
from tests.keep_data_stubs import (
    ACCOUNT,
    CLUSTER,
    KEEP_KEY,
    STACK,
    STACK_KEY,
    SUFFIX,
    FakeClock,
    cluster,
    expect_cluster,
    expect_key,
    key_metadata,
    run,
)


@pytest.mark.parametrize("key", [STACK_KEY, f"alias/aurora-{SUFFIX}"])
def test_the_stacks_own_key_is_refused_before_anything_is_made(
    rds: tuple[Any, Stubber], kms: tuple[Any, Stubber], key: str
) -> None:
    (rds_client, rds_stub), (kms_client, kms_stub) = rds, kms
    expect_cluster(rds_stub)
    kms_stub.add_response("describe_key", key_metadata(STACK_KEY), {"KeyId": key})
    with pytest.raises(KeepDataError) as refused:
        run(rds_client, kms_client, FakeClock(), key=key)
    assert str(refused.value) == (
        f"{key} is the stack's own database key ({STACK_KEY}), which make down schedules for "
        "deletion with the cluster: a copy under it would be lost too, so pass a key the stack "
        "does not own"
    )
    rds_stub.assert_no_pending_responses()  # and no CreateDBClusterSnapshot: it was not stubbed


@pytest.mark.parametrize(
    ("stack", "fragment"),
    [
        (
            STACK,
            "belongs to stack prod of this project (its Project and Stack tags), and a "
            "destroy of that stack deletes it too",
        ),
        ("staging", "belongs to stack staging of this project"),
    ],
)
def test_another_key_of_a_stack_of_this_project_is_refused(
    rds: tuple[Any, Stubber], kms: tuple[Any, Stubber], stack: str, fragment: str
) -> None:
    (rds_client, rds_stub), (kms_client, kms_stub) = rds, kms
    expect_cluster(rds_stub)
    expect_key(
        kms_stub,
        tags=[
            {"TagKey": "Project", "TagValue": "payments"},
            {"TagKey": "Stack", "TagValue": stack},
        ],
    )
    with pytest.raises(KeepDataError, match=re.escape(fragment)):
        run(rds_client, kms_client, FakeClock())


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"KeyState": "PendingDeletion"}, "is PendingDeletion: pass an enabled key"),
        ({"KeyState": "Disabled"}, "is Disabled"),
        ({"KeySpec": "RSA_2048"}, "symmetric encryption keys (SYMMETRIC_DEFAULT) only"),
        ({"Arn": KEEP_KEY.replace("us-east-1", "eu-west-1")}, "is not in us-east-1"),
    ],
)
def test_a_key_rds_cannot_use_for_the_copy_is_refused(
    rds: tuple[Any, Stubber],
    kms: tuple[Any, Stubber],
    changes: dict[str, str],
    fragment: str,
) -> None:
    (rds_client, rds_stub), (kms_client, kms_stub) = rds, kms
    expect_cluster(rds_stub)
    kms_stub.add_response("describe_key", key_metadata(**changes), {"KeyId": KEEP_KEY})
    with pytest.raises(KeepDataError, match=re.escape(fragment)):
        run(rds_client, kms_client, FakeClock())


def test_an_aws_managed_key_is_accepted_without_asking_for_tags(
    kms: tuple[Any, Stubber],
) -> None:
    kms_client, kms_stub = kms
    aws_rds = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/33333333-3333-3333-3333-333333333333"
    kms_stub.add_response(
        "describe_key", key_metadata(aws_rds, KeyManager="AWS"), {"KeyId": "alias/aws/rds"}
    )
    assert keep_data.target_key_arn(kms_client, "alias/aws/rds", STACK_KEY, STACK) == aws_rds


def test_an_unknown_or_missing_key_is_refused(kms: tuple[Any, Stubber]) -> None:
    kms_client, kms_stub = kms
    kms_stub.add_client_error("describe_key", "NotFoundException", http_status_code=400)
    with pytest.raises(KeepDataError, match=r"KMS cannot describe the key alias/nope \(NotFound"):
        keep_data.target_key_arn(kms_client, "alias/nope", STACK_KEY, STACK)
    with pytest.raises(KeepDataError, match="no key given: pass --key-arn"):
        keep_data.target_key_arn(kms_client, " ", STACK_KEY, STACK)


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        (cluster(status="modifying"), "is modifying, and RDS snapshots an available cluster"),
        (cluster(stack="staging"), "is not stack prod's (its tags say Project=payments, "),
        (cluster(key=None), "is not encrypted"),
    ],
)
def test_a_cluster_that_cannot_be_snapshotted_here_is_refused(
    rds: tuple[Any, Stubber], answer: dict[str, Any], fragment: str
) -> None:
    rds_client, rds_stub = rds
    expect_cluster(rds_stub, answer)
    with pytest.raises(KeepDataError, match=re.escape(fragment)):
        keep_data.describe_cluster(rds_client, CLUSTER, STACK)


def test_a_stack_not_deployed_here_says_so(rds: tuple[Any, Stubber]) -> None:
    rds_client, rds_stub = rds
    rds_stub.add_client_error(
        "describe_db_clusters", "DBClusterNotFoundFault", http_status_code=404
    )
    with pytest.raises(KeepDataError, match=f"there is no Aurora cluster {CLUSTER} in us-east-1"):
        keep_data.describe_cluster(rds_client, CLUSTER, STACK)
