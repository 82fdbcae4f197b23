"""RDS and KMS as keep_data meets them, for its tests: the stack's cluster, the keys, the
snapshot and its copy, each answer queued on botocore's Stubber (the clients are the ``rds`` and
``kms`` fixtures of tests/unit/conftest.py), and a fake clock that waiting polls, so nothing
sleeps.

Each test states the exact calls in order, and an unexpected call fails it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.stub import Stubber

from payments_infra.offline import keep_data
from payments_infra.offline.keep_data import Waiting

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
