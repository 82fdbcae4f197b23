"""Keep the database's data through a destroy: a cluster snapshot copied under a key the stack
does not own.

    python -m payments_infra.offline.keep_data --stack prod --key-arn <KMS key ARN or alias>
    make keep-data STACK=prod KEY_ARN=<KMS key ARN or alias>

Why a copy, and not just a snapshot: every snapshot of the cluster is encrypted with the
stack's database key (``alias/aurora-{suffix}``), and ``make down`` schedules that key for
deletion (7 days). A manual snapshot outlives the cluster, but not its key: once the key is
gone nobody can restore it. CopyDBClusterSnapshot with ``KmsKeyId`` re-encrypts the copy under
another key of the account (Amazon RDS API Reference, CopyDBClusterSnapshot), so the copy lives
as long as that key does. AWS Backup cannot do this in the account: its Aurora recovery points
are encrypted with the cluster's own key ("Encryption for backups in AWS Backup": no
independent encryption for Aurora), and a vault and plan would be infrastructure to run outside
the stack for a step taken once before a destroy.

What it does, each step waited for by polling (every ``--poll-seconds``, 30 by default, as
botocore's own RDS waiter does; at most ``--timeout-minutes``):

1. finds the stack's cluster, ``aurora-cluster-{environmentSuffix}`` of ``Pulumi.<stack>.yaml``,
   and checks it is this stack's (its ``Project`` and ``Stack`` tags) and available;
2. checks the target key: enabled, a symmetric encryption key in us-east-1, not the
   cluster's own key, and not tagged as any stack of this project's (``Project=payments``), since
   a stack's destroy deletes its keys: the logs, image or audit key would fail the same way;
3. CreateDBClusterSnapshot ``aurora-cluster-{suffix}-snap-<UTC time>``, waits until available;
4. CopyDBClusterSnapshot to ``aurora-cluster-{suffix}-kept-<UTC time>`` under the target key
   (tags copied), waits until available, checks the copy's key;
5. deletes the snapshot of step 3 (under the stack's key it would be unusable after a destroy
   anyway; a refusal there is only a warning);
6. prints the copy's identifier on stdout (progress goes to stderr), so
   ``copy=$(python -m payments_infra.offline.keep_data ...)`` captures it.

Any failure stops it with one sentence (``keep-data: ...``) naming what is left behind. Restoring
from the copy: docs/deploy.md, "Protecting the data".
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from payments_infra import PROJECT, REPO_ROOT
from payments_infra.config import REQUIRED_REGION
from payments_infra.config.name_rules import RDS_IDENTIFIER
from payments_infra.config.naming import Names, physical_name, suffix_problems
from payments_infra.offline.aws_access import aws_client, aws_problems
from payments_infra.offline.stack_file import StackFileError, read_stack_config, stack_file_path

POLL_SECONDS = 30.0
TIMEOUT_MINUTES = 240.0
AVAILABLE = "available"
# botocore's DBClusterSnapshotAvailable waiter gives up on these.
FAILED = frozenset(
    {"deleted", "deleting", "failed", "incompatible-restore", "incompatible-parameters"}
)
Log = Callable[[str], None]


class KeepDataError(Exception):
    """A step that cannot go on; the message is one sentence saying what to do."""


@dataclass(frozen=True)
class Waiting:
    """How a step is waited for: the poll interval, the limit, and the clock (tests pass
    their own, so they never sleep)."""

    poll_seconds: float = POLL_SECONDS
    timeout_seconds: float = TIMEOUT_MINUTES * 60
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


def _code(error: Exception) -> str:
    response = getattr(error, "response", {}) or {}
    return str(response.get("Error", {}).get("Code", type(error).__name__))


def _client_error() -> type[Exception]:
    from botocore.exceptions import ClientError  # noqa: PLC0415 (only this path needs AWS)

    error: type[Exception] = ClientError
    return error


def stack_cluster_identifier(root: Path, stack: str) -> str:
    """``aurora-cluster-{suffix}``, from the stack file's environment suffix."""
    try:
        config = read_stack_config(stack_file_path(root, stack))
    except StackFileError as error:
        raise KeepDataError(str(error)) from None
    suffix = config.get("payments:environmentSuffix", "")
    found = suffix_problems(suffix)
    if found:
        raise KeepDataError(f"Pulumi.{stack}.yaml: {found[0]}")
    return physical_name(Names.db_cluster, suffix)


def snapshot_identifiers(cluster: str, now: datetime) -> tuple[str, str]:
    """The snapshot under the stack's key and its copy under the other key."""
    stamp = now.astimezone(UTC).strftime("%Y%m%d-%H%M%S")
    names = (f"{cluster}-snap-{stamp}", f"{cluster}-kept-{stamp}")
    for name in names:  # naming.py's suffix rule keeps them in bounds; say so if it ever did not
        problems = RDS_IDENTIFIER.problems(name)
        if problems:
            raise KeepDataError(problems[0])
    return names


def describe_cluster(rds: Any, cluster: str, stack: str) -> dict[str, Any]:
    """The stack's cluster, which must be its own, encrypted and available."""
    try:
        (found,) = rds.describe_db_clusters(DBClusterIdentifier=cluster)["DBClusters"]
    except _client_error() as error:
        if _code(error) == "DBClusterNotFoundFault":
            raise KeepDataError(
                f"there is no Aurora cluster {cluster} in {REQUIRED_REGION} in this account: "
                f"is stack {stack} deployed here (make up STACK={stack}), with these credentials?"
            ) from None
        raise KeepDataError(
            f"RDS refused DescribeDBClusters for {cluster} ({_code(error)}): allow the "
            "rds:DescribeDBClusters, rds:CreateDBClusterSnapshot, rds:CopyDBClusterSnapshot, "
            "rds:DescribeDBClusterSnapshots and rds:DeleteDBClusterSnapshot actions, then run again"
        ) from None
    tags = {t["Key"]: t["Value"] for t in found.get("TagList", [])}
    if (tags.get("Project"), tags.get("Stack")) != (PROJECT, stack):
        raise KeepDataError(
            f"{cluster} is not stack {stack}'s (its tags say Project={tags.get('Project')}, "
            f"Stack={tags.get('Stack')}): check STACK and the stack file's environmentSuffix"
        )
    if not found.get("StorageEncrypted") or not found.get("KmsKeyId"):
        raise KeepDataError(f"{cluster} is not encrypted, so it is not what this stack deploys")
    if found.get("Status") != AVAILABLE:
        raise KeepDataError(
            f"{cluster} is {found.get('Status')}, and RDS snapshots an available cluster "
            "only: run again when it is available"
        )
    return dict(found)


def target_key_arn(kms: Any, key: str, cluster_key_arn: str, stack: str) -> str:
    """The ARN of ``key`` (an ARN, key ID or alias), if a copy under it outlives the stack."""
    if not key.strip():
        raise KeepDataError(
            "no key given: pass --key-arn (KEY_ARN= for make) with a KMS key of this account "
            "in us-east-1 that the stack does not own (docs/deploy.md#protecting-the-data)"
        )
    try:
        meta = kms.describe_key(KeyId=key)["KeyMetadata"]
    except _client_error() as error:
        raise KeepDataError(
            f"KMS cannot describe the key {key} ({_code(error)}): pass the ARN or alias of an "
            f"existing key in {REQUIRED_REGION} that you may use (kms:DescribeKey)"
        ) from None
    arn = str(meta["Arn"])
    if arn == cluster_key_arn:
        raise KeepDataError(
            f"{key} is the stack's own database key ({arn}), which make down schedules for "
            "deletion with the cluster: a copy under it would be lost too, so pass a key the "
            "stack does not own"
        )
    if not arn.startswith(f"arn:aws:kms:{REQUIRED_REGION}:"):
        raise KeepDataError(
            f"{arn} is not in {REQUIRED_REGION}: the copy stays in the cluster's region"
        )
    if meta.get("KeyState") != "Enabled":
        raise KeepDataError(f"{arn} is {meta.get('KeyState')}: pass an enabled key")
    if meta.get("KeyUsage") != "ENCRYPT_DECRYPT" or meta.get("KeySpec") != "SYMMETRIC_DEFAULT":
        raise KeepDataError(
            f"{arn} is a {meta.get('KeySpec')} key for {meta.get('KeyUsage')}: RDS encrypts "
            "snapshots with symmetric encryption keys (SYMMETRIC_DEFAULT) only"
        )
    if meta.get("KeyManager") == "CUSTOMER":
        owner = _owning_stack(kms, arn)
        if owner is not None:
            raise KeepDataError(
                f"{arn} belongs to stack {owner} of this project (its Project and Stack tags), "
                f"and a destroy of that stack deletes it{' too' if owner == stack else ''}: "
                "pass a key no stack owns"
            )
    return arn


def _owning_stack(kms: Any, arn: str) -> str | None:
    """The stack of this project whose tags the key carries, if any."""
    tags: dict[str, str] = {}
    try:
        for page in kms.get_paginator("list_resource_tags").paginate(KeyId=arn):
            tags.update({t["TagKey"]: t["TagValue"] for t in page.get("Tags", [])})
    except _client_error() as error:
        raise KeepDataError(
            f"KMS refused to list the tags of {arn} ({_code(error)}), which say whether a stack "
            "of this project owns it: allow kms:ListResourceTags, then run again"
        ) from None
    if tags.get("Project") != PROJECT:
        return None
    return tags.get("Stack", "(unnamed)")


def wait_for_snapshot(
    rds: Any, identifier: str, waiting: Waiting, log: Log, left: str
) -> dict[str, Any]:
    """Poll until the snapshot is available; KeepDataError when it fails or takes too long.

    ``left`` names what stays behind if it does not finish, for the message."""
    started = waiting.clock()
    while True:
        try:
            (snapshot,) = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=identifier)[
                "DBClusterSnapshots"
            ]
        except _client_error() as error:
            raise KeepDataError(
                f"RDS lost track of snapshot {identifier} while it was being made "
                f"({_code(error)}); {left}"
            ) from None
        status = snapshot.get("Status")
        if status == AVAILABLE:
            return dict(snapshot)
        if status in FAILED:
            raise KeepDataError(f"snapshot {identifier} is {status} instead of available; {left}")
        waited = waiting.clock() - started
        if waited + waiting.poll_seconds > waiting.timeout_seconds:
            raise KeepDataError(
                f"snapshot {identifier} is still {status} after {waited / 60:.0f} minutes; "
                f"{left}; follow it with `aws rds describe-db-cluster-snapshots "
                f"--db-cluster-snapshot-identifier {identifier}`, or run again with a longer "
                "--timeout-minutes"
            )
        log(f"{identifier} is {status} ({snapshot.get('PercentProgress', 0)}%)")
        waiting.sleep(waiting.poll_seconds)


def keep_data(
    rds: Any,
    kms: Any,
    *,
    stack: str,
    cluster: str,
    key: str,
    waiting: Waiting,
    now: datetime,
    log: Log,
) -> str:
    """Snapshot the stack's cluster, copy it under ``key``, and return the copy's identifier."""
    found = describe_cluster(rds, cluster, stack)
    key_arn = target_key_arn(kms, key, str(found["KmsKeyId"]), stack)
    source, copy = snapshot_identifiers(cluster, now)
    delete_source = (
        f"`aws rds delete-db-cluster-snapshot --db-cluster-snapshot-identifier {source}`"
    )
    try:
        rds.create_db_cluster_snapshot(
            DBClusterIdentifier=cluster, DBClusterSnapshotIdentifier=source
        )
    except _client_error() as error:
        raise KeepDataError(
            f"RDS refused the snapshot {source} of {cluster} ({_code(error)}): nothing was "
            "made; fix that (a snapshot quota, the cluster's state, permissions), then run again"
        ) from None
    log(f"snapshot {source} of {cluster} requested")
    wait_for_snapshot(
        rds, source, waiting, log, f"nothing else was made; delete it with {delete_source}"
    )
    try:
        rds.copy_db_cluster_snapshot(
            SourceDBClusterSnapshotIdentifier=source,
            TargetDBClusterSnapshotIdentifier=copy,
            KmsKeyId=key_arn,
            CopyTags=True,
        )
    except _client_error() as error:
        hint = (
            "the key's policy must let this account use it through RDS (kms:CreateGrant, "
            "kms:DescribeKey, kms:Encrypt, kms:Decrypt, kms:GenerateDataKey*, kms:ReEncrypt*: "
            "the default key policy does, with those IAM permissions)"
            if _code(error) == "KMSKeyNotAccessibleFault"
            else "fix that, then run again"
        )
        raise KeepDataError(
            f"RDS refused to copy {source} under {key_arn} ({_code(error)}): {hint}; the "
            f"snapshot {source} under the stack's key is left, delete it with {delete_source}"
        ) from None
    log(f"copy {copy} under {key_arn} requested")
    left = (
        f"{source} (under the stack's key) and {copy} are left: delete what you do not keep "
        "with `aws rds delete-db-cluster-snapshot`"
    )
    copied = wait_for_snapshot(rds, copy, waiting, log, left)
    if copied.get("KmsKeyId") != key_arn:
        raise KeepDataError(
            f"the copy {copy} is encrypted with {copied.get('KmsKeyId')}, not {key_arn}; {left}"
        )
    try:
        rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=source)
        log(f"deleted {source}: under the stack's key it would not outlive a destroy")
    except _client_error() as error:
        log(
            f"warning: could not delete {source} ({_code(error)}); the copy is made, delete it "
            f"later with {delete_source}"
        )
    log(f"kept: {copy} ({copied.get('DBClusterSnapshotArn')}), encrypted with {key_arn}")
    return copy


def main(
    argv: list[str] | None = None,
    *,
    root: Path = REPO_ROOT,
    client: Callable[[str], Any] | None = None,
    waiting: Waiting | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> int:
    parser = argparse.ArgumentParser(
        description="Snapshot the stack's database and copy it under a KMS key the stack "
        "does not own, so the data outlives make down"
    )
    parser.add_argument("--stack", default="dev")
    parser.add_argument(
        "--key-arn",
        required=True,
        help="the KMS key (ARN, key ID or alias) of the copy: not one of the stack's",
    )
    parser.add_argument("--poll-seconds", type=float, default=POLL_SECONDS)
    parser.add_argument("--timeout-minutes", type=float, default=TIMEOUT_MINUTES)
    args = parser.parse_args(argv)
    waiting = waiting or Waiting(args.poll_seconds, args.timeout_minutes * 60)

    def log(line: str) -> None:
        print(f"keep-data: {line}", file=sys.stderr)

    aws = client or aws_client
    try:
        cluster = stack_cluster_identifier(root, args.stack)
        with contextlib.redirect_stdout(sys.stderr):  # stdout is for the copy's name only
            found = aws_problems(aws("sts"))
        if found:
            raise KeepDataError(found[0])
        copy = keep_data(
            aws("rds"),
            aws("kms"),
            stack=args.stack,
            cluster=cluster,
            key=args.key_arn,
            waiting=waiting,
            now=now(),
            log=log,
        )
    except KeepDataError as error:
        log(str(error))
        return 1
    print(copy)
    return 0


if __name__ == "__main__":
    sys.exit(main())
