"""keep_data: the snapshot, its copy under a key the stack does not own, and every refusal.

RDS, KMS and STS are botocore clients with Stubber: each test states the exact calls in
order, and an unexpected call fails it. Waiting is polled on a fake clock, so nothing sleeps.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from payments_infra.aws.naming import MAX_SUFFIX_LENGTH, RDS_IDENTIFIER, physical_name
from payments_infra.offline import keep_data
from payments_infra.offline.keep_data import KeepDataError, Waiting
from tests.aws_stubs import stubbed

STACK = "prod"
SUFFIX = "prod1"
CLUSTER = f"aurora-cluster-{SUFFIX}"
ACCOUNT = "123456789012"
STACK_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/11111111-1111-1111-1111-111111111111"
KEEP_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/22222222-2222-2222-2222-222222222222"
NOW = datetime(2025, 3, 14, 15, 9, 26, tzinfo=UTC)
SOURCE = f"{CLUSTER}-snap-20250314-150926"
COPY = f"{CLUSTER}-kept-20250314-150926"
POLL = 5.0


class FakeClock:
    """A monotonic clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now

    def waiting(self, timeout: float = 3600.0) -> Waiting:
        return Waiting(POLL, timeout, self.sleep, self.monotonic)


@pytest.fixture
def rds() -> Iterator[tuple[Any, Stubber]]:
    made, stub = stubbed("rds")
    with stub:
        yield made, stub


@pytest.fixture
def kms() -> Iterator[tuple[Any, Stubber]]:
    made, stub = stubbed("kms")
    with stub:
        yield made, stub


def cluster(
    status: str = "available", stack: str = STACK, key: str | None = STACK_KEY
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "DBClusterIdentifier": CLUSTER,
        "Status": status,
        "StorageEncrypted": key is not None,
        "TagList": [{"Key": "Project", "Value": "payments"}, {"Key": "Stack", "Value": stack}],
    }
    if key is not None:
        found["KmsKeyId"] = key
    return {"DBClusters": [found]}


def key_metadata(arn: str = KEEP_KEY, **changes: str) -> dict[str, Any]:
    meta = {
        "KeyId": arn.rsplit("/", 1)[-1],
        "Arn": arn,
        "KeyState": "Enabled",
        "KeyUsage": "ENCRYPT_DECRYPT",
        "KeySpec": "SYMMETRIC_DEFAULT",
        "KeyManager": "CUSTOMER",
        **changes,
    }
    return {"KeyMetadata": meta}


def snapshot(identifier: str, status: str, key: str = STACK_KEY, progress: int = 0) -> Any:
    return {
        "DBClusterSnapshots": [
            {
                "DBClusterSnapshotIdentifier": identifier,
                "Status": status,
                "PercentProgress": progress,
                "KmsKeyId": key,
                "DBClusterSnapshotArn": f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster-snapshot:"
                f"{identifier}",
            }
        ]
    }


def expect_cluster(stub: Stubber, answer: dict[str, Any] | None = None) -> None:
    stub.add_response("describe_db_clusters", answer or cluster(), {"DBClusterIdentifier": CLUSTER})


def expect_key(
    stub: Stubber, key: str = KEEP_KEY, tags: list[dict[str, str]] | None = None
) -> None:
    stub.add_response("describe_key", key_metadata(), {"KeyId": key})
    stub.add_response(
        "list_resource_tags", {"Tags": tags or [], "Truncated": False}, {"KeyId": KEEP_KEY}
    )


def expect_snapshot(stub: Stubber, *statuses: str) -> None:
    stub.add_response(
        "create_db_cluster_snapshot",
        {"DBClusterSnapshot": {"DBClusterSnapshotIdentifier": SOURCE, "Status": "creating"}},
        {"DBClusterIdentifier": CLUSTER, "DBClusterSnapshotIdentifier": SOURCE},
    )
    for status in statuses:
        stub.add_response(
            "describe_db_cluster_snapshots",
            snapshot(SOURCE, status),
            {"DBClusterSnapshotIdentifier": SOURCE},
        )


def expect_copy(stub: Stubber, *answers: dict[str, Any]) -> None:
    stub.add_response(
        "copy_db_cluster_snapshot",
        {"DBClusterSnapshot": {"DBClusterSnapshotIdentifier": COPY, "Status": "copying"}},
        {
            "SourceDBClusterSnapshotIdentifier": SOURCE,
            "TargetDBClusterSnapshotIdentifier": COPY,
            "KmsKeyId": KEEP_KEY,
            "CopyTags": True,
        },
    )
    for answer in answers:
        stub.add_response(
            "describe_db_cluster_snapshots", answer, {"DBClusterSnapshotIdentifier": COPY}
        )


def run(
    rds: Any, kms: Any, clock: FakeClock, key: str = KEEP_KEY, timeout: float = 3600.0
) -> tuple[str, list[str]]:
    lines: list[str] = []
    copy = keep_data.keep_data(
        rds,
        kms,
        stack=STACK,
        cluster=CLUSTER,
        key=key,
        waiting=clock.waiting(timeout),
        now=NOW,
        log=lines.append,
    )
    return copy, lines


def test_snapshot_then_copy_under_the_other_key_waiting_by_polling(
    rds: tuple[Any, Stubber], kms: tuple[Any, Stubber]
) -> None:
    (rds_client, rds_stub), (kms_client, kms_stub) = rds, kms
    expect_cluster(rds_stub)
    expect_key(kms_stub)
    expect_snapshot(rds_stub, "creating", "creating", "available")
    expect_copy(
        rds_stub,
        snapshot(COPY, "copying", KEEP_KEY, 40),
        snapshot(COPY, "available", KEEP_KEY, 100),
    )
    rds_stub.add_response(
        "delete_db_cluster_snapshot",
        {"DBClusterSnapshot": {"DBClusterSnapshotIdentifier": SOURCE}},
        {"DBClusterSnapshotIdentifier": SOURCE},
    )
    clock = FakeClock()
    copy, lines = run(rds_client, kms_client, clock)
    assert copy == COPY
    rds_stub.assert_no_pending_responses()
    kms_stub.assert_no_pending_responses()
    # Two polls before the snapshot is available, one before the copy is: each waits POLL.
    assert clock.slept == [POLL, POLL, POLL]
    assert f"{COPY} is copying (40%)" in lines
    assert lines[-1].startswith(f"kept: {COPY} (arn:aws:rds:") and lines[-1].endswith(KEEP_KEY)


def test_the_names_fit_rds_at_the_longest_suffix() -> None:
    longest = physical_name("db_cluster", "a" * MAX_SUFFIX_LENGTH)
    for name in keep_data.snapshot_identifiers(longest, NOW):
        assert RDS_IDENTIFIER.problems(name) == []
    assert keep_data.snapshot_identifiers(CLUSTER, NOW) == (SOURCE, COPY)


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


def test_a_refused_snapshot_leaves_nothing(
    rds: tuple[Any, Stubber], kms: tuple[Any, Stubber]
) -> None:
    (rds_client, rds_stub), (kms_client, kms_stub) = rds, kms
    expect_cluster(rds_stub)
    expect_key(kms_stub)
    rds_stub.add_client_error(
        "create_db_cluster_snapshot", "SnapshotQuotaExceeded", http_status_code=400
    )
    with pytest.raises(KeepDataError, match=r"\(SnapshotQuotaExceeded\): nothing was made"):
        run(rds_client, kms_client, FakeClock())


def test_a_failed_snapshot_stops_before_the_copy_and_names_what_is_left(
    rds: tuple[Any, Stubber], kms: tuple[Any, Stubber]
) -> None:
    (rds_client, rds_stub), (kms_client, kms_stub) = rds, kms
    expect_cluster(rds_stub)
    expect_key(kms_stub)
    expect_snapshot(rds_stub, "creating", "failed")
    with pytest.raises(KeepDataError) as failed:
        run(rds_client, kms_client, FakeClock())
    assert str(failed.value) == (
        f"snapshot {SOURCE} is failed instead of available; nothing else was made; delete it "
        f"with `aws rds delete-db-cluster-snapshot --db-cluster-snapshot-identifier {SOURCE}`"
    )
    rds_stub.assert_no_pending_responses()


def test_waiting_gives_up_at_the_timeout_without_sleeping(
    rds: tuple[Any, Stubber], kms: tuple[Any, Stubber]
) -> None:
    (rds_client, rds_stub), (kms_client, kms_stub) = rds, kms
    expect_cluster(rds_stub)
    expect_key(kms_stub)
    # A 12-second limit with a 5-second poll: asked at 0, 5 and 10 s; 15 s would be past it.
    expect_snapshot(rds_stub, "creating", "creating", "creating")
    clock = FakeClock()
    with pytest.raises(KeepDataError, match=f"snapshot {SOURCE} is still creating after 0 minutes"):
        run(rds_client, kms_client, clock, timeout=12.0)
    assert clock.slept == [POLL, POLL]
    rds_stub.assert_no_pending_responses()


def test_a_key_rds_may_not_use_fails_the_copy_with_what_the_policy_needs(
    rds: tuple[Any, Stubber], kms: tuple[Any, Stubber]
) -> None:
    (rds_client, rds_stub), (kms_client, kms_stub) = rds, kms
    expect_cluster(rds_stub)
    expect_key(kms_stub)
    expect_snapshot(rds_stub, "available")
    rds_stub.add_client_error(
        "copy_db_cluster_snapshot", "KMSKeyNotAccessibleFault", http_status_code=400
    )
    with pytest.raises(KeepDataError) as refused:
        run(rds_client, kms_client, FakeClock())
    message = str(refused.value)
    assert message.startswith(f"RDS refused to copy {SOURCE} under {KEEP_KEY} (KMSKeyNotAccess")
    assert "the key's policy must let this account use it through RDS" in message
    assert message.endswith(f"--db-cluster-snapshot-identifier {SOURCE}`")


def test_a_copy_under_another_key_than_asked_is_not_reported_as_kept(
    rds: tuple[Any, Stubber], kms: tuple[Any, Stubber]
) -> None:
    (rds_client, rds_stub), (kms_client, kms_stub) = rds, kms
    expect_cluster(rds_stub)
    expect_key(kms_stub)
    expect_snapshot(rds_stub, "available")
    expect_copy(rds_stub, snapshot(COPY, "available", STACK_KEY))
    with pytest.raises(KeepDataError, match=f"the copy {COPY} is encrypted with {STACK_KEY}"):
        run(rds_client, kms_client, FakeClock())


def test_a_source_snapshot_that_cannot_be_deleted_is_only_a_warning(
    rds: tuple[Any, Stubber], kms: tuple[Any, Stubber]
) -> None:
    (rds_client, rds_stub), (kms_client, kms_stub) = rds, kms
    expect_cluster(rds_stub)
    expect_key(kms_stub)
    expect_snapshot(rds_stub, "available")
    expect_copy(rds_stub, snapshot(COPY, "available", KEEP_KEY))
    rds_stub.add_client_error("delete_db_cluster_snapshot", "AccessDenied", http_status_code=403)
    copy, lines = run(rds_client, kms_client, FakeClock())
    assert copy == COPY
    assert any(
        line.startswith(f"warning: could not delete {SOURCE} (AccessDenied)") for line in lines
    )


def test_main_prints_only_the_copy_on_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Pulumi.prod.yaml").write_text(f"config:\n  payments:environmentSuffix: {SUFFIX}\n")
    sts, sts_stub = stubbed("sts")
    sts_stub.add_response(
        "get_caller_identity",
        {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/ops", "UserId": "AID"},
    )
    rds_client, rds_stub = stubbed("rds")
    kms_client, kms_stub = stubbed("kms")
    expect_cluster(rds_stub)
    expect_key(kms_stub)
    expect_snapshot(rds_stub, "available")
    expect_copy(rds_stub, snapshot(COPY, "available", KEEP_KEY))
    rds_stub.add_response("delete_db_cluster_snapshot", {}, {"DBClusterSnapshotIdentifier": SOURCE})
    clients = {"sts": sts, "rds": rds_client, "kms": kms_client}
    clock = FakeClock()
    with sts_stub, rds_stub, kms_stub:
        code = keep_data.main(
            ["--stack", STACK, "--key-arn", KEEP_KEY],
            root=tmp_path,
            client=clients.__getitem__,
            waiting=clock.waiting(),
            now=lambda: NOW,
        )
    out, err = capsys.readouterr()
    assert (code, out) == (0, f"{COPY}\n")
    assert f"AWS account {ACCOUNT}" in err and clock.slept == []


def test_main_says_what_is_wrong_in_one_line_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = keep_data.main(["--stack", "nosuch", "--key-arn", KEEP_KEY], root=tmp_path)
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert err == (
        "keep-data: Pulumi.nosuch.yaml does not exist: copy Pulumi.dev.yaml to "
        "Pulumi.nosuch.yaml and set payments:environmentSuffix\n"
    )
