"""keep_data: the snapshot, its copy under a key the stack does not own, what is left when either
fails, and the command's output.

RDS, KMS and STS are botocore clients with Stubber (tests/keep_data_stubs.py): each test states
the exact calls in order, and an unexpected call fails it. Waiting is polled on a fake clock,
so nothing sleeps. What is refused before anything is made: test_keep_data_refusals.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from payments_infra.config.name_rules import RDS_IDENTIFIER
from payments_infra.config.naming import MAX_SUFFIX_LENGTH, Names, physical_name
from payments_infra.offline import keep_data
from payments_infra.offline.keep_data import KeepDataError
from tests.aws_stubs import stubbed
from tests.keep_data_stubs import (
    ACCOUNT,
    CLUSTER,
    COPY,
    KEEP_KEY,
    NOW,
    POLL,
    SOURCE,
    STACK,
    STACK_KEY,
    SUFFIX,
    FakeClock,
    expect_cluster,
    expect_copy,
    expect_key,
    expect_snapshot,
    run,
    snapshot,
)


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
    longest = physical_name(Names.db_cluster, "a" * MAX_SUFFIX_LENGTH)
    for name in keep_data.snapshot_identifiers(longest, NOW):
        assert RDS_IDENTIFIER.problems(name) == []
    assert keep_data.snapshot_identifiers(CLUSTER, NOW) == (SOURCE, COPY)


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
